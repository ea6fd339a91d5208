"""The CloudTrail Lake source against botocore's Stubber, shaped like the documented API
(moto has no CloudTrail Lake): StartQuery, DescribeQuery polling, GetQueryResults pages."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from analysis.model import Window
from analysis.pipeline import Options, analyse
from analysis.sources import lake
from analysis.sources.base import SourceError
from analysis.sources.files import FileSource
from analysis.sources.lake import LakeSource, lake_source, parse_spec
from analysis.sources.query import Backoff
from analysis.sources.rows import normalise_event_time, record_from_row
from tests import factories as f
from tests.integration.test_sql_on_duckdb import (
    LAKE_STORE,
    WINDOW,
    comparable,
    generate,
    lake_on_duckdb,
    run,
    write_trail,
)

QID = "0d7e3b2a-5c1f-4e8b-9a6d-1f2e3d4c5b6a"  # QueryId is a 36-character UUID
STORE_ID = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
STORE_ARN = f"arn:aws:cloudtrail:us-east-2:{f.ACCOUNT}:eventdatastore/{STORE_ID}"


def lake_rows(rows: list[dict[str, str | None]]) -> list[list[dict[str, str]]]:
    """Rows as GetQueryResults returns them: a list of one-entry {column: text} maps (NULLs left out)."""
    return [[{column: value} for column, value in row.items() if value is not None] for row in rows]


@pytest.fixture
def stubbed():
    client = boto3.client("cloudtrail", region_name="us-east-2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _source(client: Any, sleeps: list[float] | None = None, timeout: float = 60, spec: str = STORE_ARN) -> LakeSource:
    backoff = Backoff(
        first=1.0, factor=2.0, ceiling=4.0, timeout=timeout, sleep=(sleeps if sleeps is not None else []).append
    )
    return LakeSource(
        client=client, spec=parse_spec(f"lake:{spec}"), window=WINDOW, service="apprunner", backoff=backoff
    )


def _described(status: str, **extra: Any) -> dict[str, Any]:
    return {"QueryId": QID, "QueryStatus": status, **extra}


def test_lake_source_pages_rebuild_records_that_give_the_findings_of_the_file_path(stubbed, tmp_path):
    client, stubber = stubbed
    files = write_trail(tmp_path, generate(seed=5))
    sleeps: list[float] = []
    source = _source(client, sleeps)
    # What Lake would return for this query, computed by DuckDB over the same files.
    rows = run(lake_on_duckdb(files), lake.denial_query(LAKE_STORE, WINDOW, service="apprunner"))
    pages = [lake_rows(rows[:10]), lake_rows(rows[10:25]), lake_rows(rows[25:])]
    assert all(pages)

    stubber.add_response("start_query", {"QueryId": QID}, {"QueryStatement": source.query})
    stubber.add_response("describe_query", _described("QUEUED"), {"QueryId": QID})
    stubber.add_response("describe_query", _described("RUNNING"), {"QueryId": QID})
    stubber.add_response(
        "describe_query",
        _described("FINISHED", QueryStatistics={"EventsMatched": len(rows), "EventsScanned": 5000, "BytesScanned": 9}),
        {"QueryId": QID},
    )
    for index, page in enumerate(pages):
        response: dict[str, Any] = {"QueryStatus": "FINISHED", "QueryResultRows": page}
        expected: dict[str, Any] = {"QueryId": QID, "MaxQueryResults": 1000}
        if index < len(pages) - 1:
            response["NextToken"] = f"token-{index + 1}"
        if index:
            expected["NextToken"] = f"token-{index}"
        stubber.add_response("get_query_results", response, expected)

    result = analyse([source], WINDOW, Options())

    assert sleeps == [1.0, 2.0]
    in_process = analyse([FileSource(tmp_path)], WINDOW, Options())
    assert comparable(result.report) == comparable(in_process.report)
    assert result.report.document()["totals"]["denials"] == len(rows)
    assert result.sources[0].records_read == 5000  # the rows returned plus the events Lake scanned and filtered out


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "TIMED_OUT"])
def test_failed_cancelled_and_timed_out_queries_fail_the_source_with_lakes_message(stubbed, status):
    client, stubber = stubbed
    stubber.add_response("start_query", {"QueryId": QID}, {"QueryStatement": ANY})
    stubber.add_response("describe_query", _described("RUNNING"))
    stubber.add_response("describe_query", _described(status, ErrorMessage="Query exceeded the time limit"))
    with pytest.raises(SourceError, match=f"{QID} {status}: Query exceeded the time limit"):
        list(_source(client).read())


def test_the_pipeline_reports_a_failed_lake_query_as_a_failed_source(stubbed):
    client, stubber = stubbed
    stubber.add_response("start_query", {"QueryId": QID})
    stubber.add_response("describe_query", _described("FAILED", ErrorMessage="Column 'foo' cannot be resolved"))
    result = analyse([_source(client)], WINDOW, Options())
    [status] = result.sources
    assert status.status == "failed"
    assert "Column 'foo' cannot be resolved" in status.error


def test_a_query_that_outlives_the_timeout_is_cancelled(stubbed):
    client, stubber = stubbed
    sleeps: list[float] = []
    stubber.add_response("start_query", {"QueryId": QID})
    for _ in range(4):  # polls after 0, 1, 3, 7 s; the next pause (4 s) would pass 10 s
        stubber.add_response("describe_query", _described("RUNNING"))
    stubber.add_response("cancel_query", {"QueryId": QID, "QueryStatus": "CANCELLED"}, {"QueryId": QID})
    with pytest.raises(SourceError, match="did not finish within 10s"):
        list(_source(client, sleeps, timeout=10).read())
    assert sleeps == [1.0, 2.0, 4.0]


def test_an_invalid_query_error_names_the_source(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("start_query", "InvalidQueryStatementException", "FROM clause names no event data store")
    with pytest.raises(SourceError, match=f"lake:{STORE_ID}: .*FROM clause names no event data store"):
        list(_source(client).read())


def test_the_query_names_the_store_id_and_filters_denials_service_and_window():
    query = lake.denial_query(STORE_ID, WINDOW, service="apprunner")
    assert f"FROM {STORE_ID}\n" in query
    assert "(errorCode LIKE 'AccessDenied%' OR errorCode LIKE '%UnauthorizedOperation')" in query
    assert "eventTime >= TIMESTAMP '2026-11-28 00:00:00'" in query
    assert "eventTime < TIMESTAMP '2026-11-29 00:00:00'" in query
    assert "(eventSource = 'apprunner' OR eventSource LIKE 'apprunner.%')" in query
    every = lake.denial_query(STORE_ID, Window(), service="all")
    assert "eventTime >=" not in every and "eventSource" not in every.split("WHERE")[1]
    with pytest.raises(ValueError):
        lake.denial_query("x; DROP", WINDOW)


def test_specs_take_an_arn_or_an_id():
    assert parse_spec(f"lake:{STORE_ARN}") == lake.LakeSpec(STORE_ID, "us-east-2", None)
    assert parse_spec(f"lake:{STORE_ID}?service=ECS") == lake.LakeSpec(STORE_ID, None, "ecs")
    for bad in ("lake:", "lake:a b", f"lake:{STORE_ID}?colour=red", "lake:arn:aws:s3:::bucket"):
        with pytest.raises(SourceError):
            parse_spec(bad)


def test_lake_source_from_a_session_uses_the_arns_region():
    session = boto3.Session(region_name="eu-west-1")
    assert lake_source(f"lake:{STORE_ARN}", WINDOW, session).client.meta.region_name == "us-east-2"
    plain = lake_source(f"lake:{STORE_ID}", WINDOW, session, service="apprunner")
    assert plain.client.meta.region_name == "eu-west-1"
    assert (plain.name, plain.service) == (f"lake:{STORE_ID}", "apprunner")


def test_lake_times_and_maps_come_back_as_cloudtrail_writes_them():
    assert normalise_event_time("2026-11-28 09:15:00.000") == "2026-11-28T09:15:00Z"
    assert normalise_event_time("2026-11-28 09:15:00.250") == "2026-11-28T09:15:00.25Z"
    assert normalise_event_time("2026-11-28T09:15:00Z") == "2026-11-28T09:15:00Z"
    record = record_from_row({"eventid": "e", "requestparameters": '{"serviceArn": "arn:x", "tags": "[{\\"k\\": 1}]"}'})
    assert record["requestParameters"] == {"serviceArn": "arn:x", "tags": [{"k": 1}]}
