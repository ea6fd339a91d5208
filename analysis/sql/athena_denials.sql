-- Denials of one window from a CloudTrail table in Athena (Trino dialect), one row per denial event.
-- "timestamp" is the delivery folder (yyyy/MM/dd): a file lands in the folder of its delivery
-- date, so the folder range runs from the window's first day to a margin past its end, while
-- the window itself is applied to eventtime.
SELECT
  eventid,
  eventtime,
  eventsource,
  eventname,
  awsregion,
  recipientaccountid,
  errorcode,
  errormessage,
  sourceipaddress,
  useragent,
  useridentity.type AS useridentity_type,
  useridentity.principalid AS useridentity_principalid,
  useridentity.arn AS useridentity_arn,
  useridentity.accountid AS useridentity_accountid,
  useridentity.username AS useridentity_username,
  useridentity.invokedby AS useridentity_invokedby,
  useridentity.onbehalfof.userid AS useridentity_onbehalfof_userid,
  useridentity.onbehalfof.identitystorearn AS useridentity_onbehalfof_identitystorearn,
  useridentity.sessioncontext.sessionissuer.type AS sessionissuer_type,
  useridentity.sessioncontext.sessionissuer.principalid AS sessionissuer_principalid,
  useridentity.sessioncontext.sessionissuer.arn AS sessionissuer_arn,
  useridentity.sessioncontext.sessionissuer.accountid AS sessionissuer_accountid,
  useridentity.sessioncontext.sessionissuer.username AS sessionissuer_username,
  requestparameters,
  json_format(CAST(transform(resources, r -> r.arn) AS JSON)) AS resource_arns
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
