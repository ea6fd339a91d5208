-- Denials of one window from a CloudTrail Lake event data store (Trino dialect), one row per
-- denial event. Lake stores eventTime as a timestamp and requestParameters as map<string,string>
-- (nested values as JSON text): the map is returned as one JSON object, and eventTime comes back
-- as 'yyyy-MM-dd HH:mm:ss.SSS' in UTC.
SELECT
  eventID AS eventid,
  eventTime AS eventtime,
  eventSource AS eventsource,
  eventName AS eventname,
  awsRegion AS awsregion,
  recipientAccountId AS recipientaccountid,
  errorCode AS errorcode,
  errorMessage AS errormessage,
  sourceIPAddress AS sourceipaddress,
  userAgent AS useragent,
  userIdentity.type AS useridentity_type,
  userIdentity.principalid AS useridentity_principalid,
  userIdentity.arn AS useridentity_arn,
  userIdentity.accountid AS useridentity_accountid,
  userIdentity.username AS useridentity_username,
  userIdentity.invokedby AS useridentity_invokedby,
  userIdentity.onbehalfof.userid AS useridentity_onbehalfof_userid,
  userIdentity.onbehalfof.identitystorearn AS useridentity_onbehalfof_identitystorearn,
  userIdentity.sessioncontext.sessionissuer.type AS sessionissuer_type,
  userIdentity.sessioncontext.sessionissuer.principalid AS sessionissuer_principalid,
  userIdentity.sessioncontext.sessionissuer.arn AS sessionissuer_arn,
  userIdentity.sessioncontext.sessionissuer.accountid AS sessionissuer_accountid,
  userIdentity.sessioncontext.sessionissuer.username AS sessionissuer_username,
  json_format(CAST(requestParameters AS JSON)) AS requestparameters,
  json_format(CAST(transform(resources, r -> r.arn) AS JSON)) AS resource_arns
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
