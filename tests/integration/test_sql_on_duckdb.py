"""The Athena and CloudTrail Lake SQL, proven on DuckDB over generated trail files.

moto runs no Athena SQL and has no CloudTrail Lake, so the exact query string each source sends
is transpiled with sqlglot (Trino -> DuckDB) and run over the same gzip trail files, laid out as an
organization trail writes them, through a DuckDB view shaped like the AWS-documented table
(``useridentity`` a struct, ``requestparameters`` JSON text, ``resources`` an array of structs, and
the partition columns ``account``, ``region`` and ``timestamp`` taken from each file's path).

Checked: the rows returned are exactly the audited denials of the window (by eventID), and the
findings built from them equal those of the in-process path (FileSource over the same files).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from analysis.denials import audits_service, is_denial
from analysis.model import Window
from analysis.pipeline import Options, analyse
from analysis.records import RecordOrProblem
from analysis.sources import athena, lake
from analysis.sources.files import FileSource
from analysis.sources.rows import record_from_row
from analysis.sql.columns import RECORD_COLUMNS
from tests import factories as f

ORG_ID = "o-a1b2c3d4e5"
ACCOUNTS = ("111122223333", "444455556666", "777788889999")
REGIONS = ("us-east-1", "eu-west-1")
DATABASE, TABLE = "audit", "cloudtrail_logs"
DAY = datetime(2026, 11, 28, tzinfo=UTC)
WINDOW = Window(DAY, DAY + timedelta(days=1))


# --- generated trail ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    record: dict[str, Any]
    delivered_at: datetime


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def app_runner_denials(rng: random.Random, account: str, region: str, moment: datetime) -> list[dict[str, Any]]:
    """App Runner denials of several kinds at one moment, in one account and region."""
    at = _time(moment)
    partner = f.aws_account(f.OTHER_ACCOUNT if account != f.OTHER_ACCOUNT else f.ACCOUNT)
    pass_role = f.message(
        f"arn:aws:sts::{account}:assumed-role/Deploy/ci", "iam:PassRole", f"arn:aws:iam::{account}:role/AppRunnerECR"
    )
    kinds = [
        lambda: f.record(identity=f.iam_user("dev-alice", account), recipient=account, region=region, event_time=at),
        lambda: f.record(
            "CreateService",
            identity=f.assumed_role("Deploy", "ci", account),
            error_message=pass_role,
            request={"serviceName": "api", "sourceConfiguration": {"imageRepository": {"imageIdentifier": "x"}}},
            recipient=account,
            region=region,
            event_time=at,
        ),
        lambda: f.record(
            "ListServices",
            identity=f.identity_center_role(),
            recipient=account,
            region=region,
            event_time=at,
            request={},
        ),
        lambda: f.record(identity=partner, error_message=None, recipient=account, region=region, event_time=at),
        lambda: f.record(
            "DeleteService",
            identity=f.assumed_role("Ops", "sam", account),
            error_message=f.message(
                f"arn:aws:sts::{account}:assumed-role/Ops/sam",
                "apprunner:DeleteService",
                f.service_arn(account=account, region=region),
                "with an explicit deny in a service control policy: arn:aws:organizations::o:policy/p-1",
            ),
            recipient=account,
            region=region,
            event_time=at,
        ),
        lambda: f.record(
            identity=f.root(account),
            error_code="AccessDenied",
            error_message="Access Denied",
            recipient=account,
            region=region,
            event_time=at,
        ),
        lambda: f.record(identity=f.aws_service(), recipient=account, region=region, event_time=at),
        lambda: _with_resources(
            f.record(
                "TagResource",
                identity=f.federated_user("bob", account),
                error_message=None,
                request={},
                recipient=account,
                region=region,
                event_time=at,
            )
        ),
    ]
    return [rng.choice(kinds)() for _ in range(rng.randint(1, 3))]


def _with_resources(record: dict[str, Any]) -> dict[str, Any]:
    arn = f.service_arn(account=record["recipientAccountId"], region=record["awsRegion"])
    record["resources"] = [{"ARN": arn, "accountId": record["recipientAccountId"], "type": "AWS::AppRunner::Service"}]
    return record


def noise(rng: random.Random, account: str, region: str, moment: datetime) -> list[dict[str, Any]]:
    """What an audit must not report: successes, other services' denials, other errors."""
    at = _time(moment)
    return [
        f.record(error_code=None, recipient=account, region=region, event_time=at),
        f.record(
            "GetObject",
            event_source="s3.amazonaws.com",
            error_code="AccessDenied",
            recipient=account,
            region=region,
            event_time=at,
        ),
        f.record(
            "RunInstances",
            event_source="ec2.amazonaws.com",
            error_code="Client.UnauthorizedOperation",
            error_message="You are not authorized to perform this operation.",
            recipient=account,
            region=region,
            event_time=at,
        ),
        f.record(
            "DescribeService",
            error_code="ValidationException",
            error_message="bad",
            recipient=account,
            region=region,
            event_time=at,
        ),
    ][: rng.randint(1, 4)]


def recon_burst(account: str, region: str, moment: datetime) -> list[dict[str, Any]]:
    """One role denied twelve distinct actions within minutes: the investigate rule."""
    names = [
        "ListServices",
        "DescribeService",
        "DeleteService",
        "PauseService",
        "ResumeService",
        "StartDeployment",
        "ListConnections",
        "ListVpcConnectors",
        "DescribeCustomDomains",
        "ListOperations",
        "UpdateService",
        "ListTagsForResource",
    ]
    identity = f.assumed_role("Scanner", "probe", account)
    return [
        f.record(
            name,
            identity=identity,
            recipient=account,
            region=region,
            event_time=_time(moment + timedelta(seconds=20 * i)),
        )
        for i, name in enumerate(names)
    ]


def generate(seed: int = 7, days: int = 3, start: datetime = DAY - timedelta(days=1)) -> list[Delivered]:
    """Events over ``days`` days in every account and region, each with a delivery time (5 min - 14 h)."""
    rng = random.Random(seed)
    delivered: list[Delivered] = []
    for account in ACCOUNTS:
        for region in REGIONS:
            for _ in range(days * 12):
                moment = start + timedelta(seconds=rng.randrange(days * 86400))
                for record in app_runner_denials(rng, account, region, moment) + noise(rng, account, region, moment):
                    delivered.append(Delivered(record, moment + timedelta(minutes=rng.randint(5, 14 * 60))))
    edges = [DAY, DAY + timedelta(days=1) - timedelta(seconds=1), DAY + timedelta(days=1), DAY - timedelta(seconds=1)]
    for moment in edges:  # the window's first and last second, and the seconds either side of it
        record = f.record(recipient=ACCOUNTS[0], region=REGIONS[0], event_time=_time(moment))
        delivered.append(Delivered(record, moment + timedelta(hours=3)))
    untracked = f.record(
        event_id=None, recipient=ACCOUNTS[1], region=REGIONS[1], event_time=_time(DAY + timedelta(hours=5))
    )
    delivered.append(Delivered(untracked, DAY + timedelta(hours=5, minutes=10)))
    burst_at = DAY + timedelta(hours=13)
    delivered.extend(
        Delivered(r, burst_at + timedelta(minutes=15)) for r in recon_burst(ACCOUNTS[2], REGIONS[0], burst_at)
    )
    return delivered


def trail_path(root: Path, account: str, region: str, delivered_at: datetime, index: int) -> Path:
    folder = root / "AWSLogs" / ORG_ID / account / "CloudTrail" / region / delivered_at.strftime("%Y/%m/%d")
    stamp = delivered_at.strftime("%Y%m%dT%H%MZ")
    return folder / f"{account}_CloudTrail_{region}_{stamp}_{index:06d}.json.gz"


def write_trail(root: Path, delivered: list[Delivered], per_file: int = 5) -> list[Path]:
    """Gzip ``{"Records": [...]}`` files in the organization layout; the folder is the delivery date."""
    by_stream: dict[tuple[str, str], list[Delivered]] = {}
    for item in sorted(delivered, key=lambda d: d.delivered_at):
        by_stream.setdefault((item.record["recipientAccountId"], item.record["awsRegion"]), []).append(item)
    paths = []
    for (account, region), items in sorted(by_stream.items()):
        for offset in range(0, len(items), per_file):
            chunk = items[offset : offset + per_file]
            path = trail_path(root, account, region, chunk[-1].delivered_at, len(paths))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gzip.compress(json.dumps({"Records": [d.record for d in chunk]}).encode()))
            paths.append(path)
    return paths


def delivery_folders(files: list[Path]) -> dict[str | None, str]:
    """eventID -> the yyyy/MM/dd folder of the file that holds it."""
    folders = {}
    for path in files:
        for record in json.loads(gzip.decompress(path.read_bytes()))["Records"]:
            folders[record["eventID"]] = "/".join(path.parent.parts[-3:])
    return folders


def expected_ids(delivered: list[Delivered], window: Window, service: str) -> set[str | None]:
    return {
        d.record["eventID"]
        for d in delivered
        if is_denial(d.record)
        and audits_service(d.record, service)
        and window.start <= datetime.fromisoformat(d.record["eventTime"].replace("Z", "+00:00")) < window.end
    }


# --- DuckDB standing in for Athena -------------------------------------------------------------

_PATH_PARTS = r"/AWSLogs/(?:o-[a-z0-9]+/)?([0-9]{12})/CloudTrail/([a-z0-9-]+)/([0-9]{4}/[0-9]{2}/[0-9]{2})/"
_ISSUER = "$.userIdentity.sessionContext.sessionIssuer"
ATHENA_VIEW = f"""
CREATE VIEW {DATABASE}.{TABLE} AS
WITH raw AS (
  SELECT filename, unnest(Records) AS r
  FROM read_json($files, columns = {{'Records': 'JSON[]'}}, filename = true, format = 'auto')
)
SELECT
  r->>'$.eventVersion' AS eventversion,
  struct_pack(
    type := r->>'$.userIdentity.type', principalid := r->>'$.userIdentity.principalId',
    arn := r->>'$.userIdentity.arn', accountid := r->>'$.userIdentity.accountId',
    invokedby := r->>'$.userIdentity.invokedBy', accesskeyid := r->>'$.userIdentity.accessKeyId',
    username := r->>'$.userIdentity.userName',
    onbehalfof := struct_pack(userid := r->>'$.userIdentity.onBehalfOf.userId',
                              identitystorearn := r->>'$.userIdentity.onBehalfOf.identityStoreArn'),
    sessioncontext := struct_pack(sessionissuer := struct_pack(
      type := r->>'{_ISSUER}.type', principalid := r->>'{_ISSUER}.principalId', arn := r->>'{_ISSUER}.arn',
      accountid := r->>'{_ISSUER}.accountId', username := r->>'{_ISSUER}.userName'))
  ) AS useridentity,
  r->>'$.eventTime' AS eventtime,
  r->>'$.eventSource' AS eventsource,
  r->>'$.eventName' AS eventname,
  r->>'$.awsRegion' AS awsregion,
  r->>'$.sourceIPAddress' AS sourceipaddress,
  r->>'$.userAgent' AS useragent,
  r->>'$.errorCode' AS errorcode,
  r->>'$.errorMessage' AS errormessage,
  CASE WHEN json_type(r->'$.requestParameters') = 'NULL' THEN NULL
       ELSE CAST(r->'$.requestParameters' AS VARCHAR) END AS requestparameters,
  r->>'$.eventID' AS eventid,
  list_transform(CAST(r->'$.resources' AS JSON[]), lambda x: struct_pack(
    arn := x->>'$.ARN', accountid := x->>'$.accountId', type := x->>'$.type')) AS resources,
  r->>'$.recipientAccountId' AS recipientaccountid,
  regexp_extract(filename, '{_PATH_PARTS}', 1) AS account,
  regexp_extract(filename, '{_PATH_PARTS}', 2) AS region,
  regexp_extract(filename, '{_PATH_PARTS}', 3) AS "timestamp"
FROM raw
"""


def athena_on_duckdb(files: list[Path]) -> Any:
    connection = duckdb.connect()
    connection.execute(f"CREATE SCHEMA {DATABASE}")
    connection.execute(ATHENA_VIEW.replace("$files", repr([str(p) for p in files])))
    return connection


def run(connection: Any, trino_sql: str) -> list[dict[str, str | None]]:
    """The Athena query, transpiled to DuckDB, with every value as text (as Athena returns it)."""
    [statement] = sqlglot.transpile(trino_sql, read="athena", write="duckdb")
    cursor = connection.execute(statement)
    names = [column[0] for column in cursor.description]
    return [{n: (None if v is None else str(v)) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


@dataclass
class RowSource:
    """A source yielding what the Athena source yields: one rebuilt record per returned row."""

    rows: list[dict[str, str | None]]
    name: str = "athena-on-duckdb"

    def read(self) -> Iterator[RecordOrProblem]:
        return (record_from_row(row) for row in self.rows)


def comparable(report: Any) -> dict[str, Any]:
    """A report without what legitimately differs between paths: generated_at, sources, records_read."""
    report = report.document()
    totals = {k: v for k, v in report["totals"].items() if k != "records_read"}
    return {**{k: v for k, v in report.items() if k not in ("generated_at", "sources", "totals")}, "totals": totals}


def sorted_frame(frame: Any) -> list[dict[str, Any]]:
    rows = frame.sort_values(["event_id", "event_time"], na_position="last").to_dict("records")
    return [{k: (str(v) if k == "event_time" else v) for k, v in row.items()} for row in rows]


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], list[Delivered]]:
    root = tmp_path_factory.mktemp("trail")
    delivered = generate()
    return root, write_trail(root, delivered), delivered


# --- Athena ------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["apprunner", "all", "ec2"])
def test_athena_sql_returns_exactly_the_windows_denials_and_the_same_findings(trail, service):
    root, files, delivered = trail
    query = athena.denial_query(
        athena.qualified_table(DATABASE, TABLE), WINDOW, service=service, accounts=ACCOUNTS, regions=REGIONS
    )
    rows = run(athena_on_duckdb(files), query)

    expected = expected_ids(delivered, WINDOW, service)
    assert {row["eventid"] for row in rows} == expected
    assert len(rows) == len(expected)  # every denial once; the one without an eventID included
    assert len(expected) > (20 if service != "ec2" else 5)

    options = Options(service=service)
    from_sql = analyse([RowSource(rows)], WINDOW, options)
    in_process = analyse([FileSource(root)], WINDOW, options)
    assert sorted_frame(from_sql.frame) == sorted_frame(in_process.frame)
    assert comparable(from_sql.report) == comparable(in_process.report)
    assert from_sql.report.document()["findings"], "the comparison must rest on findings"


def test_the_generated_findings_cover_the_remedy_kinds_the_sql_must_preserve(trail):
    _, files, _ = trail
    query = athena.denial_query(athena.qualified_table(DATABASE, TABLE), WINDOW, service="apprunner")
    report = analyse([RowSource(run(athena_on_duckdb(files), query))], WINDOW, Options()).report.document()
    kinds = {finding["remedy"]["kind"] for finding in report["findings"]}
    assert {"grant", "cross_account_role", "permission_set", "review_deny", "org_policy", "investigate"} <= kinds
    actions = {a["action"] for finding in report["findings"] for a in finding["actions"]}
    assert "iam:PassRole" in actions


def test_partition_filters_prune_folders_accounts_and_regions(trail):
    _, files, _ = trail
    connection = athena_on_duckdb(files)
    table = athena.qualified_table(DATABASE, TABLE)
    one = run(
        connection,
        athena.denial_query(table, WINDOW, service="apprunner", accounts=[ACCOUNTS[0]], regions=[REGIONS[1]]),
    )
    assert one
    assert {(r["recipientaccountid"], r["awsregion"]) for r in one} == {(ACCOUNTS[0], REGIONS[1])}
    # No delivery margin: events of the window's last hours whose files landed the next day are not read.
    no_margin = run(connection, athena.denial_query(table, WINDOW, service="apprunner", margin=timedelta(0)))
    with_margin = run(connection, athena.denial_query(table, WINDOW, service="apprunner"))
    folders = delivery_folders(files)
    late = {r["eventid"] for r in with_margin if folders[r["eventid"]] >= WINDOW.end.strftime("%Y/%m/%d")}
    assert late
    assert {r["eventid"] for r in no_margin} == {r["eventid"] for r in with_margin} - late


def test_a_file_delivered_past_the_margin_is_outside_the_partition_range(tmp_path):
    record = f.record(event_time=_time(DAY + timedelta(hours=23)))
    files = write_trail(tmp_path, [Delivered(record, DAY + timedelta(days=2, hours=1))])
    table = athena.qualified_table(DATABASE, TABLE)
    connection = athena_on_duckdb(files)
    assert run(connection, athena.denial_query(table, WINDOW)) == []
    wider = run(connection, athena.denial_query(table, WINDOW, margin=timedelta(days=2)))
    assert [r["eventid"] for r in wider] == [record["eventID"]]


# --- CloudTrail Lake ---------------------------------------------------------------------------

LAKE_STORE = "EXAMPLEf8524e8f8bd1bcf6cEXAMPLE"  # a store ID without dashes, so DuckDB can name a table after it


def lake_on_duckdb(files: list[Path]) -> Any:
    """A table shaped like Lake's CloudTrail schema: eventtime a timestamp, requestparameters a
    map<string,string> whose nested values are JSON text, resources with arn."""
    connection = athena_on_duckdb(files)
    connection.execute(f"""
        CREATE VIEW {LAKE_STORE} AS
        SELECT * REPLACE (
          CAST(strptime(eventtime, '%Y-%m-%dT%H:%M:%SZ') AS TIMESTAMP) AS eventtime,
          CASE WHEN requestparameters IS NULL THEN NULL ELSE map_from_entries(list_transform(
            json_keys(requestparameters),
            lambda k: struct_pack(k := k, v := CASE WHEN json_type(requestparameters, '$."' || k || '"') = 'VARCHAR'
                                                    THEN requestparameters->>('$."' || k || '"')
                                                    ELSE CAST(requestparameters->('$."' || k || '"') AS VARCHAR) END)))
          END AS requestparameters
        ) FROM {DATABASE}.{TABLE}
    """)
    return connection


@pytest.mark.parametrize("service", ["apprunner", "all"])
def test_lake_sql_returns_exactly_the_windows_denials_and_the_same_findings(trail, service):
    root, files, delivered = trail
    rows = run(lake_on_duckdb(files), lake.denial_query(LAKE_STORE, WINDOW, service=service))
    expected = expected_ids(delivered, WINDOW, service)
    assert {row["eventid"] for row in rows} == expected
    assert len(rows) == len(expected)

    options = Options(service=service)
    from_sql = analyse([RowSource(rows)], WINDOW, options)
    in_process = analyse([FileSource(root)], WINDOW, options)
    assert sorted_frame(from_sql.frame) == sorted_frame(in_process.frame)
    assert comparable(from_sql.report) == comparable(in_process.report)


def test_athena_and_lake_select_one_column_list_the_rows_are_read_by():
    def selected(query: str) -> list[str]:
        return [column.alias_or_name for column in sqlglot.parse_one(query, read="athena").expressions]

    from_athena = selected(athena.denial_query(athena.qualified_table(DATABASE, TABLE), WINDOW))
    from_lake = selected(lake.denial_query(LAKE_STORE, WINDOW))
    assert from_athena == from_lake
    assert set(from_athena) == {*RECORD_COLUMNS, "requestparameters", "resource_arns"}
    assert len(from_athena) == len(set(from_athena)) == 25
