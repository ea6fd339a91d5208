-- Denials of one window from a CloudTrail table in Athena (Trino dialect), one row per denial event.
-- "timestamp" is the delivery folder (yyyy/MM/dd): a file lands in the folder of its delivery
-- date, so the folder range runs from the window's first day to a margin past its end, while
-- the window itself is applied to eventtime. The columns are analysis/sql/columns.py's, shared with Lake.
SELECT
  {{ columns }}
FROM {{ table }}
WHERE {{ denial_condition }}
{% if first_folder %}
  AND "timestamp" >= {{ first_folder }}
{% endif %}
{% if last_folder %}
  AND "timestamp" <= {{ last_folder }}
{% endif %}
{% if start %}
  AND substr(eventtime, 1, 19) >= {{ start }}
{% endif %}
{% if end %}
  AND substr(eventtime, 1, 19) < {{ end }}
{% endif %}
{% if service_condition %}
  AND {{ service_condition }}
{% endif %}
{% if accounts %}
  AND account IN ({{ accounts }})
{% endif %}
{% if regions %}
  AND region IN ({{ regions }})
{% endif %}
