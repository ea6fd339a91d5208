"""The Athena source against moto (canned results) and botocore's Stubber (states moto cannot show),
and the CREATE TABLE it documents for a trail bucket."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import sqlglot
from botocore.stub import Stubber
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID
from sqlglot import exp

from analysis import cli
from analysis.model import Window
from analysis.pipeline import Options, analyse
from analysis.sources import athena
from analysis.sources.athena import AthenaSource, athena_source, parse_spec
from analysis.sources.base import SourceError
from analysis.sources.files import FileSource
from analysis.sources.query import Backoff
from analysis.sources.rows import record_from_row
from analysis.sql.ddl import create_table_ddl
from tests import factories as f
from tests.integration.test_sql_on_duckdb import (
    ACCOUNTS,
    DATABASE,
    REGIONS,
    TABLE,
    WINDOW,
    athena_on_duckdb,
    comparable,
    generate,
    run,
    write_trail,
)

REGION = "us-east-1"
NO_WAIT = Backoff(first=0.01, ceiling=0.01, timeout=1.0, sleep=lambda _: None)


def athena_result_set(rows: list[dict[str, str | None]], columns: list[str]) -> tuple[list[dict], list[dict]]:
    """Rows as Athena returns them: a header row, then every value as VarCharValue ({} for NULL)."""
    header = {"Data": [{"VarCharValue": name} for name in columns]}
    data = [{"Data": [{"VarCharValue": row[c]} if row[c] is not None else {} for c in columns]} for row in rows]
    info = [{"Name": name, "Label": name, "Type": "varchar"} for name in columns]
    return [header, *data], info


class FakeSession:
    def __init__(self, client: Any) -> None:
        self.client_made: list[tuple[str, str | None]] = []
        self._client = client

    def client(self, service: str, region_name: str | None = None, config: Any = None) -> Any:
        self.client_made.append((service, region_name))
        return self._client


# --- moto: the source end to end with canned results -------------------------------------------


@pytest.fixture
def trail(tmp_path):
    delivered = generate(seed=11)
    return tmp_path, write_trail(tmp_path, delivered)


def test_athena_source_through_moto_gives_the_findings_of_the_file_path(trail):
    root, files = trail
    spec = (
        f"athena:{DATABASE}.{TABLE}?workgroup=primary&output=s3://athena-results/audit/&accounts={','.join(ACCOUNTS)}"
    )
    with mock_aws():
        client = boto3.client("athena", region_name=REGION)
        source = AthenaSource(client=client, spec=parse_spec(spec), window=WINDOW, service="apprunner", backoff=NO_WAIT)
        rows = run(athena_on_duckdb(files), source.query)  # what Athena would compute, computed by DuckDB
        columns = list(rows[0])
        canned, info = athena_result_set(rows, columns)
        backend = athena_backends[DEFAULT_ACCOUNT_ID][REGION]
        backend.query_results_queue.append(QueryResults(rows=canned, column_info=info))

        result = analyse([source], WINDOW, Options())

        [execution] = backend.executions.values()
        assert execution.query == source.query
        assert execution.context == {"Database": DATABASE}
        assert execution.config["OutputLocation"].startswith("s3://athena-results/audit/")
        assert execution.workgroup.name == "primary"
    in_process = analyse([FileSource(root)], WINDOW, Options())
    assert comparable(result.report) == comparable(in_process.report)
    assert result.sources[0].status == "ok"
    assert result.sources[0].records_read == len(rows)  # Athena: records_read counts the rows returned


def test_athena_source_built_from_a_session_uses_the_spec_region():
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        source = athena_source("athena:audit.trail?region=us-west-2", WINDOW, session, service="apprunner")
        assert source.client.meta.region_name == "us-west-2"
        assert source.service == "apprunner"
        assert source.name == "athena:audit.trail"
    fake = FakeSession(client=object())
    athena_source("athena:audit.trail", WINDOW, fake)
    assert fake.client_made == [("athena", None)]


# --- Stubber: polling, pagination, failures -----------------------------------------------------

COLUMNS = ["eventid", "eventtime", "eventsource", "eventname", "errorcode", "useridentity_type", "useridentity_arn"]


def _page(rows: list[list[str | None]], *, header: bool, token: str | None = None) -> dict[str, Any]:
    data = [{"Data": [{"VarCharValue": v} if v is not None else {} for v in row]} for row in rows]
    if header:
        data.insert(0, {"Data": [{"VarCharValue": c} for c in COLUMNS]})
    page = {
        "ResultSet": {
            "Rows": data,
            "ResultSetMetadata": {"ColumnInfo": [{"Name": c, "Type": "varchar"} for c in COLUMNS]},
        }
    }
    if token:
        page["NextToken"] = token
    return page


def _row(i: int) -> list[str | None]:
    return [
        f"id-{i}",
        "2026-11-28T09:15:00Z",
        "apprunner.amazonaws.com",
        "ListServices",
        "AccessDeniedException",
        "IAMUser",
        f"arn:aws:iam::{f.ACCOUNT}:user/u{i}",
    ]


def _execution(state: str, **status: Any) -> dict[str, Any]:
    return {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {"State": state, **status}}}


@pytest.fixture
def stubbed():
    client = boto3.client("athena", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _source(client: Any, spec: str = "athena:audit.trail", sleeps: list[float] | None = None, timeout: float = 60):
    backoff = Backoff(
        first=0.5, factor=2.0, ceiling=2.0, timeout=timeout, sleep=(sleeps if sleeps is not None else []).append
    )
    return AthenaSource(client=client, spec=parse_spec(spec), window=WINDOW, service="apprunner", backoff=backoff)


def test_polls_with_exponential_backoff_and_reads_every_page(stubbed):
    client, stubber = stubbed
    sleeps: list[float] = []
    source = _source(client, "athena:audit.trail?workgroup=audit", sleeps)
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q-1"},
        {"QueryString": source.query, "QueryExecutionContext": {"Database": "audit"}, "WorkGroup": "audit"},
    )
    for state in ("QUEUED", "QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"):
        stubber.add_response("get_query_execution", _execution(state), {"QueryExecutionId": "q-1"})
    stubber.add_response(
        "get_query_results",
        _page([_row(0), _row(1)], header=True, token="t1"),
        {"QueryExecutionId": "q-1", "MaxResults": 1000},
    )
    stubber.add_response(
        "get_query_results",
        _page([_row(2)], header=False, token="t2"),
        {"QueryExecutionId": "q-1", "MaxResults": 1000, "NextToken": "t1"},
    )
    stubber.add_response(
        "get_query_results",
        _page([_row(3), _row(4)], header=False),
        {"QueryExecutionId": "q-1", "MaxResults": 1000, "NextToken": "t2"},
    )

    records = list(source.read())

    assert sleeps == [0.5, 1.0, 2.0, 2.0]
    assert [r["eventID"] for r in records] == [f"id-{i}" for i in range(5)]
    assert records[0]["userIdentity"] == {"type": "IAMUser", "arn": f"arn:aws:iam::{f.ACCOUNT}:user/u0"}


def test_a_page_one_row_that_is_not_the_header_is_kept(stubbed):
    client, stubber = stubbed
    source = _source(client)
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stubber.add_response("get_query_execution", _execution("SUCCEEDED"))
    stubber.add_response("get_query_results", _page([_row(7)], header=False))
    assert [r["eventID"] for r in source.read()] == ["id-7"]


@pytest.mark.parametrize(
    ("state", "status", "message"),
    [
        (
            "FAILED",
            {
                "StateChangeReason": "TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.audit.trail' does not exist",
                "AthenaError": {"ErrorCategory": 2, "ErrorType": 1301},
            },
            "FAILED: TABLE_NOT_FOUND",
        ),
        (
            "FAILED",
            {
                "AthenaError": {
                    "ErrorCategory": 2,
                    "ErrorType": 1306,
                    "ErrorMessage": "CONSTRAINT_VIOLATION: For the injected projected partition column account, "
                    "the WHERE clause must contain only static equality conditions",
                }
            },
            "FAILED: CONSTRAINT_VIOLATION",
        ),
        ("CANCELLED", {"StateChangeReason": "Query cancelled by user"}, "CANCELLED: Query cancelled by user"),
        ("CANCELLED", {}, "CANCELLED: no reason given"),
    ],
)
def test_failed_and_cancelled_queries_fail_the_source_with_the_reason(stubbed, state, status, message):
    client, stubber = stubbed
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stubber.add_response("get_query_execution", _execution("RUNNING"))
    stubber.add_response("get_query_execution", _execution(state, **status))
    with pytest.raises(SourceError, match=message):
        list(_source(client).read())


def test_the_pipeline_reports_a_failed_query_and_goes_on_with_other_sources(stubbed, tmp_path):
    client, stubber = stubbed
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stubber.add_response("get_query_execution", _execution("FAILED", StateChangeReason="HIVE_BAD_DATA: bad JSON"))
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "one.json").write_text(json.dumps(f.trail_file([f.record()])))
    result = analyse([_source(client), FileSource(folder)], WINDOW, Options())
    failed, ok = result.sources
    assert (failed.status, ok.status) == ("failed", "ok")
    assert "HIVE_BAD_DATA: bad JSON" in failed.error
    assert result.report.document()["totals"]["denials"] == 1


def test_a_query_that_outlives_the_timeout_is_stopped_and_reported(stubbed):
    client, stubber = stubbed
    sleeps: list[float] = []
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    for _ in range(4):  # polls after 0, 0.5, 1.5, 3.5 s; the next pause would pass 5 s
        stubber.add_response("get_query_execution", _execution("RUNNING"))
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-1"})
    with pytest.raises(SourceError, match="did not finish within 5s"):
        list(_source(client, sleeps=sleeps, timeout=5).read())
    assert sleeps == [0.5, 1.0, 2.0]


def test_an_aws_error_names_the_source(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("start_query_execution", "InvalidRequestException", "Database audit not found")
    expected = r"athena:audit.trail: An error occurred \(InvalidRequestException\).*Database audit not found"
    with pytest.raises(SourceError, match=expected):
        list(_source(client).read())


# --- the spec and the query ----------------------------------------------------------------------


def test_spec_options():
    spec = parse_spec(
        "athena:db.tbl?workgroup=wg&output=s3://b/p/&catalog=cat&region=eu-west-1"
        "&accounts=444455556666,111122223333&regions=us-east-1&service=AppRunner&margin_hours=6"
    )
    assert spec == athena.AthenaSpec(
        database="db",
        table="tbl",
        workgroup="wg",
        output_location="s3://b/p/",
        catalog="cat",
        region="eu-west-1",
        accounts=("111122223333", "444455556666"),
        regions=("us-east-1",),
        service="apprunner",
        margin=timedelta(hours=6),
    )


@pytest.mark.parametrize(
    "spec",
    [
        "athena:db",
        "athena:.t",
        "athena:db.t;drop",
        "athena:db.t?colour=red",
        "athena:db.t?accounts=12",
        "athena:db.t?output=/tmp/x",
        "athena:db.t?margin_hours=-1",
        "athena:db.t?regions=mars",
        "athena:db.t?margin_hours=soon",
    ],
)
def test_bad_specs_are_source_errors(spec):
    with pytest.raises(SourceError):
        parse_spec(spec)


def test_the_query_reads_folders_from_the_first_day_to_a_margin_past_the_end():
    window = Window(datetime(2026, 11, 28, 5, tzinfo=UTC), datetime(2026, 11, 29, 5, 0, 0, 500, tzinfo=UTC))
    query = athena.denial_query('"d"."t"', window, service="apprunner", margin=timedelta(hours=6))
    assert "\"timestamp\" >= '2026/11/28'" in query
    assert "\"timestamp\" <= '2026/11/29'" in query
    assert "substr(eventtime, 1, 19) >= '2026-11-28T05:00:00'" in query
    assert "substr(eventtime, 1, 19) < '2026-11-29T05:00:01'" in query  # sub-second ends round up; the pipeline trims
    unbounded = athena.denial_query('"d"."t"', Window(), service=None)
    assert "timestamp" not in unbounded and "eventsource" not in unbounded.split("WHERE")[1]
    parsed = sqlglot.parse_one(query, read="athena")
    assert parsed.find(exp.From).sql(dialect="athena") == 'FROM "d"."t"'


def test_the_service_filter_follows_the_event_source_mapping():
    query = athena.denial_query('"d"."t"', WINDOW, service="cloudwatch")
    assert "eventsource LIKE 'cloudwatch.%' OR eventsource IN ('monitoring.amazonaws.com')" in query
    with pytest.raises(ValueError):
        athena.denial_query('"d"."t"', WINDOW, service="x' OR 1=1 --")


def test_rows_become_records_the_engine_reads_like_the_originals():
    row = {
        "eventid": "e-1",
        "eventtime": "2026-11-28T09:15:00Z",
        "eventsource": "apprunner.amazonaws.com",
        "eventname": "CreateService",
        "awsregion": "us-east-1",
        "recipientaccountid": f.ACCOUNT,
        "errorcode": "AccessDeniedException",
        "errormessage": None,
        "sourceipaddress": "198.51.100.7",
        "useragent": "aws-cli",
        "useridentity_type": "AssumedRole",
        "useridentity_arn": f"arn:aws:sts::{f.ACCOUNT}:assumed-role/Deploy/ci",
        "useridentity_accountid": f.ACCOUNT,
        "useridentity_principalid": "AROA:ci",
        "sessionissuer_arn": f"arn:aws:iam::{f.ACCOUNT}:role/Deploy",
        "sessionissuer_type": "Role",
        "useridentity_onbehalfof_userid": None,
        "requestparameters": '{"serviceName": "api", "tags": [{"key": "a"}]}',
        "resource_arns": '["arn:aws:apprunner:us-east-1:111122223333:service/api/1"]',
    }
    record = record_from_row(row)
    assert record["userIdentity"] == {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{f.ACCOUNT}:assumed-role/Deploy/ci",
        "accountId": f.ACCOUNT,
        "principalId": "AROA:ci",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{f.ACCOUNT}:role/Deploy"}},
    }
    assert record["requestParameters"] == {"serviceName": "api", "tags": [{"key": "a"}]}
    assert record["resources"] == [{"ARN": "arn:aws:apprunner:us-east-1:111122223333:service/api/1"}]
    assert "errorMessage" not in record
    empty = record_from_row({"eventid": "e-2", "requestparameters": None, "resource_arns": None})
    assert empty == {"eventID": "e-2"}


# --- the table -----------------------------------------------------------------------------------


def _properties(ddl: str) -> dict[str, str]:
    create = sqlglot.parse_one(ddl, read="hive")
    assert isinstance(create, exp.Create) and create.kind == "TABLE"
    return {p.name: p.text("value") for p in create.find_all(exp.Property) if p.name}


def test_organization_ddl_parses_and_projects_account_region_and_delivery_date():
    ddl = create_table_ddl(
        "trail-bucket", prefix="/org/", org_id="o-a1b2c3d4e5", table="audit.trail", regions=["us-east-1", "eu-west-1"]
    )
    create = sqlglot.parse_one(ddl, read="hive")
    assert create.this.this.sql(dialect="hive") == "`audit`.`trail`"
    partitions = create.find(exp.PartitionedByProperty)
    assert [c.name for c in partitions.find_all(exp.ColumnDef)] == ["account", "region", "timestamp"]
    properties = _properties(ddl)
    assert properties["projection.enabled"] == "true"
    assert properties["projection.account.type"] == "injected"
    assert properties["projection.region.type"] == "enum"
    assert properties["projection.region.values"] == "eu-west-1,us-east-1"
    assert properties["projection.timestamp.type"] == "date"
    assert properties["projection.timestamp.format"] == "yyyy/MM/dd"
    assert properties["projection.timestamp.interval"] == "1"
    assert properties["projection.timestamp.interval.unit"] == "DAYS"
    assert properties["projection.timestamp.range"] == "2020/01/01,NOW"
    assert properties["storage.location.template"] == (
        "s3://trail-bucket/org/AWSLogs/o-a1b2c3d4e5/${account}/CloudTrail/${region}/${timestamp}"
    )
    assert "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'" in ddl
    assert "INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'" in ddl
    assert "LOCATION 's3://trail-bucket/org/AWSLogs/o-a1b2c3d4e5/'" in ddl
    columns = {c.name: c.args["kind"].sql(dialect="hive") for c in create.this.expressions}
    assert columns["requestparameters"] == "STRING"
    assert columns["useridentity"].startswith("STRUCT<type: STRING")
    assert "sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING" in columns["useridentity"]
    assert columns["resources"] == "ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>"


def test_single_account_ddl_enumerates_the_account_and_every_region():
    ddl = create_table_ddl("trail-bucket", accounts=["111122223333"])
    properties = _properties(ddl)
    assert properties["projection.account.type"] == "enum"
    assert properties["projection.account.values"] == "111122223333"
    assert "us-east-1" in properties["projection.region.values"].split(",")
    assert properties["storage.location.template"] == (
        "s3://trail-bucket/AWSLogs/${account}/CloudTrail/${region}/${timestamp}"
    )


@pytest.mark.parametrize(
    "arguments",
    [
        {"bucket": "Bad_Bucket"},
        {"bucket": "b-1", "org_id": "123"},
        {"bucket": "b-1", "table": "x;y"},
        {"bucket": "b-1", "projection_start": "2020-01-01"},
        {"bucket": "b-1", "accounts": ["1"]},
        {"bucket": "b-1", "prefix": "logs'\\"},
    ],
)
def test_ddl_refuses_bad_arguments(arguments):
    with pytest.raises(ValueError):
        create_table_ddl(**arguments)


def test_athena_ddl_command_prints_the_ddl(capsys):
    code = cli.main(
        [
            "athena-ddl",
            "--bucket",
            "trail-bucket",
            "--org-id",
            "o-a1b2c3d4e5",
            "--regions",
            ",".join(REGIONS),
            "--accounts",
            ",".join(ACCOUNTS),
            "--table",
            "audit.trail",
        ]
    )
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out == create_table_ddl(
        "trail-bucket", org_id="o-a1b2c3d4e5", regions=REGIONS, accounts=ACCOUNTS, table="audit.trail"
    )
    assert _properties(out)["projection.account.values"] == ",".join(sorted(ACCOUNTS))


def test_athena_ddl_command_with_a_bad_bucket_is_exit_2(capsys):
    assert cli.main(["athena-ddl", "--bucket", "B"]) == 2
    assert "not an S3 bucket name" in capsys.readouterr().err


def test_a_lambda_deadline_stops_polling_before_the_function_is_killed(stubbed):
    """A Lambda function with 4 s of polling left: the query is stopped and the source fails by name,
    although the configured timeout (60 s) is far away. The clock advances by each pause taken."""
    client, stubber = stubbed
    clock = {"now": 100.0}

    def sleep(seconds: float) -> None:
        clock["now"] += seconds

    backoff = Backoff(first=0.5, factor=2.0, ceiling=2.0, timeout=60, sleep=sleep, deadline=104.0,
                      clock=lambda: clock["now"])  # fmt: skip
    source = AthenaSource(client=client, spec=parse_spec("athena:audit.trail"), window=WINDOW, backoff=backoff)
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    # polls at 100, 100.5, 101.5, 103.5; the next pause (2 s) would end past 104
    for _ in range(4):
        stubber.add_response("get_query_execution", _execution("RUNNING"))
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-1"})
    with pytest.raises(SourceError, match="before the run's deadline"):
        list(source.read())
    assert clock["now"] == 103.5
