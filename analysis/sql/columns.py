"""The columns both denial queries (Athena, CloudTrail Lake) select: one list, and where each lands in a record.

Athena's table and Lake's schema name CloudTrail's fields in lower case (``useridentity.sessioncontext…``),
so each column is read by its record path in lower case and returned under a flat name.
"""

from __future__ import annotations

# result column -> the CloudTrail record field it holds (dotted: nested)
RECORD_COLUMNS: dict[str, str] = {
    "eventid": "eventID",
    "eventtime": "eventTime",
    "eventsource": "eventSource",
    "eventname": "eventName",
    "awsregion": "awsRegion",
    "recipientaccountid": "recipientAccountId",
    "errorcode": "errorCode",
    "errormessage": "errorMessage",
    "sourceipaddress": "sourceIPAddress",
    "useragent": "userAgent",
    "useridentity_type": "userIdentity.type",
    "useridentity_principalid": "userIdentity.principalId",
    "useridentity_arn": "userIdentity.arn",
    "useridentity_accountid": "userIdentity.accountId",
    "useridentity_username": "userIdentity.userName",
    "useridentity_invokedby": "userIdentity.invokedBy",
    "useridentity_onbehalfof_userid": "userIdentity.onBehalfOf.userId",
    "useridentity_onbehalfof_identitystorearn": "userIdentity.onBehalfOf.identityStoreArn",
    "sessionissuer_type": "userIdentity.sessionContext.sessionIssuer.type",
    "sessionissuer_principalid": "userIdentity.sessionContext.sessionIssuer.principalId",
    "sessionissuer_arn": "userIdentity.sessionContext.sessionIssuer.arn",
    "sessionissuer_accountid": "userIdentity.sessionContext.sessionIssuer.accountId",
    "sessionissuer_username": "userIdentity.sessionContext.sessionIssuer.userName",
}
REQUEST_PARAMETERS = "requestparameters"  # JSON text of the request (its SQL differs between the engines)
RESOURCE_ARNS = "resource_arns"  # a JSON array of the ARNs in ``resources``
_RESOURCE_ARNS_SQL = "json_format(CAST(transform(resources, r -> r.arn) AS JSON))"


def select_list(request_parameters: str) -> str:
    """The SELECT list, one column a line; ``request_parameters`` is the engine's SQL for the request's JSON text."""
    columns = [_column(path.lower(), name) for name, path in RECORD_COLUMNS.items()]
    columns += [_column(request_parameters, REQUEST_PARAMETERS), _column(_RESOURCE_ARNS_SQL, RESOURCE_ARNS)]
    return ",\n  ".join(columns)


def _column(expression: str, name: str) -> str:
    return expression if expression == name else f"{expression} AS {name}"
