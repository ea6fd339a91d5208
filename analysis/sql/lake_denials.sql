-- Denials of one window from a CloudTrail Lake event data store (Trino dialect), one row per
-- denial event. Lake stores eventTime as a timestamp and requestParameters as map<string,string>
-- (nested values as JSON text): the map is returned as one JSON object, and eventTime comes back
-- as 'yyyy-MM-dd HH:mm:ss.SSS' in UTC. The columns are analysis/sql/columns.py's, shared with Athena.
SELECT
  {{ columns }}
FROM {{ event_data_store }}
WHERE {{ denial_condition }}
{% if start %}
  AND eventTime >= TIMESTAMP {{ start }}
{% endif %}
{% if end %}
  AND eventTime < TIMESTAMP {{ end }}
{% endif %}
{% if service_condition %}
  AND {{ service_condition }}
{% endif %}
