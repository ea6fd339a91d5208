"""The Athena table the DDL generator writes is CloudTrail's table as AWS documents it, and the denial query
reads only columns that table has.

DOCUMENTED is the column list of the Athena User Guide's "Create the table for CloudTrail logs in Athena using
partition projection" (docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html),
written out by hand: names in lower case as Athena keeps them, a STRUCT as a dict of its fields, an ARRAY as a
one-element list, anything else by its type name.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from analysis.sql.columns import RECORD_COLUMNS
from analysis.sql.ddl import create_table_ddl

S = "STRING"
DOCUMENTED: dict[str, Any] = {
    "eventversion": S,
    "useridentity": {
        "type": S,
        "principalid": S,
        "arn": S,
        "accountid": S,
        "invokedby": S,
        "accesskeyid": S,
        "username": S,
        "onbehalfof": {"userid": S, "identitystorearn": S},
        "sessioncontext": {
            "attributes": {"mfaauthenticated": S, "creationdate": S},
            "sessionissuer": {"type": S, "principalid": S, "arn": S, "accountid": S, "username": S},
            "ec2roledelivery": S,
            "webidfederationdata": {"federatedprovider": S, "attributes": "MAP<STRING, STRING>"},
        },
    },
    "eventtime": S,
    "eventsource": S,
    "eventname": S,
    "awsregion": S,
    "sourceipaddress": S,
    "useragent": S,
    "errorcode": S,
    "errormessage": S,
    "requestparameters": S,
    "responseelements": S,
    "additionaleventdata": S,
    "requestid": S,
    "eventid": S,
    "readonly": S,
    "resources": [{"arn": S, "accountid": S, "type": S}],
    "eventtype": S,
    "apiversion": S,
    "recipientaccountid": S,
    "serviceeventdetails": S,
    "sharedeventid": S,
    "vpcendpointid": S,
    "vpcendpointaccountid": S,
    "eventcategory": S,
    "addendum": {"reason": S, "updatedfields": S, "originalrequestid": S, "originaleventid": S},
    "sessioncredentialfromconsole": S,
    "edgedevicedetails": S,
    "tlsdetails": {"tlsversion": S, "ciphersuite": S, "clientprovidedhostheader": S},
}


def shape(kind: exp.DataType) -> Any:
    """A column type in DOCUMENTED's notation."""
    if kind.this == exp.DataType.Type.STRUCT:
        return {field.name: shape(field.args["kind"]) for field in kind.expressions}
    if kind.this == exp.DataType.Type.ARRAY:
        return [shape(kind.expressions[0])]
    return kind.sql(dialect="hive")


def table_columns(ddl: str) -> dict[str, Any]:
    create = sqlglot.parse_one(ddl, read="hive")
    assert isinstance(create, exp.Create) and create.kind == "TABLE"
    return {column.name: shape(column.args["kind"]) for column in create.this.expressions}


@pytest.mark.parametrize(
    "arguments",
    [
        {"bucket": "trail-bucket"},
        {"bucket": "trail-bucket", "prefix": "org", "org_id": "o-a1b2c3d4e5", "regions": ["eu-west-1"]},
        {"bucket": "trail-bucket", "accounts": ["111122223333"]},
    ],
)
def test_the_table_has_the_documented_columns_in_order(arguments):
    columns = table_columns(create_table_ddl(**arguments))
    assert list(columns.items()) == list(DOCUMENTED.items())


def _documented(path: str) -> Any:
    node: Any = DOCUMENTED
    for part in path.lower().split("."):
        node = node[part]
    return node


@pytest.mark.parametrize(("result", "path"), sorted(RECORD_COLUMNS.items()))
def test_every_field_the_denial_query_reads_is_a_documented_string_column(result, path):
    assert _documented(path) == S, f"{result} reads {path}"


def test_the_resources_the_query_reads_are_the_documented_array_of_arns():
    assert _documented("resources")[0]["arn"] == S
    assert _documented("requestparameters") == S  # JSON text, which the query passes on as it is
