"""CloudTrail Lake: ``lake:EVENT_DATA_STORE[?service=PREFIX]`` (an event data store ARN or ID).

CloudTrail Lake is closed to new customers since 2026-05-31 and serves those who have it; Athena
over the trail bucket is the path for everyone else. The query runs in Lake (denial codes, the
audited service when known, the window on ``eventTime``) and only denial rows come back, each
turned back into a CloudTrail record for the usual engine.

``records_read`` counts the rows returned plus the events Lake reports having scanned without
returning them (``DescribeQuery``'s ``QueryStatistics.EventsScanned``), yielded as ``Skipped``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from analysis import aws_clients, sql
from analysis.model import Window
from analysis.records import RecordOrProblem, Skipped
from analysis.sources.base import SourceError
from analysis.sources.query import Backoff, QuerySource, spec_options, time_bound
from analysis.sql.columns import select_list

RESULT_PAGE_SIZE = 1000  # Lake's maximum for GetQueryResults
EVENT_TIME_LAYOUT = "%Y-%m-%d %H:%M:%S"  # a TIMESTAMP literal
REQUEST_PARAMETERS_SQL = "json_format(CAST(requestparameters AS JSON))"  # Lake's map<string,string> as JSON text
_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):cloudtrail:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
    r":eventdatastore/(?P<id>[A-Za-z0-9-]+)$"
)
_ID = re.compile(r"^[A-Za-z0-9-]{1,128}$")
_OPTIONS = frozenset({"service", "region"})


@dataclass(frozen=True)
class LakeSpec:
    event_data_store: str  # the ID: the last part of the ARN, what FROM names
    region: str | None = None
    service: str | None = None


def parse_spec(spec: str) -> LakeSpec:
    body = spec.removeprefix("lake:")
    name, _, query = body.partition("?")
    options = spec_options(spec, query, _OPTIONS)
    service = (options.get("service") or "").lower() or None
    arn = _ARN.match(name)
    if arn:
        return LakeSpec(arn.group("id"), options.get("region") or arn.group("region"), service)
    if _ID.match(name):
        return LakeSpec(name, options.get("region") or None, service)
    raise SourceError(f"{spec}: expected lake:EVENT_DATA_STORE (an event data store ARN or ID)")


def denial_query(event_data_store: str, window: Window, *, service: str | None = None) -> str:
    """The Lake SQL for the denials of ``window``; FROM names the event data store ID, as Lake requires."""
    if not _ID.match(event_data_store):
        raise ValueError(f"not an event data store ID: {event_data_store!r}")
    start = time_bound(window.start, EVENT_TIME_LAYOUT, up=False)
    end = time_bound(window.end, EVENT_TIME_LAYOUT, up=True)
    return sql.render(
        "lake_denials.sql",
        columns=select_list(request_parameters=REQUEST_PARAMETERS_SQL),
        event_data_store=event_data_store,
        denial_condition=sql.denial_condition("errorCode"),
        service_condition=sql.service_condition(service, "eventSource"),
        start=sql.literal(start) if start else None,
        end=sql.literal(end) if end else None,
    )


@dataclass(kw_only=True)
class LakeSource(QuerySource):
    """Runs the denial query for ``window`` in CloudTrail Lake and yields one rebuilt record per denial row."""

    spec: LakeSpec
    engine: ClassVar[str] = "CloudTrail Lake"
    finished_state: ClassVar[str] = "FINISHED"
    failed_states: ClassVar[tuple[str, ...]] = ("FAILED", "CANCELLED", "TIMED_OUT")
    stopped_word: ClassVar[str] = "cancelled"

    def __post_init__(self) -> None:
        self.name = self.name or f"lake:{self.spec.event_data_store}"
        self.service = self.spec.service or self.service

    @property
    def query(self) -> str:
        return denial_query(self.spec.event_data_store, self.window, service=self.service)

    def start(self) -> str:
        return str(self.client.start_query(QueryStatement=self.query)["QueryId"])

    def state(self, query_id: str) -> tuple[str | None, Mapping[str, Any]]:
        described = self.client.describe_query(QueryId=query_id)
        return described.get("QueryStatus"), described

    def failure_reason(self, described: Mapping[str, Any]) -> str:
        return described.get("ErrorMessage") or "no reason given"

    def stop(self, query_id: str) -> None:
        self.client.cancel_query(QueryId=query_id)

    def page(self, query_id: str, token: str | None) -> tuple[list[dict[str, str | None]], str | None]:
        """Rows as {column: text}; Lake writes each row as a list of one-entry maps."""
        request: dict[str, Any] = {"QueryId": query_id, "MaxQueryResults": RESULT_PAGE_SIZE}
        if token:
            request["NextToken"] = token
        page = self.client.get_query_results(**request)
        if page.get("QueryStatus") in self.failed_states:
            raise SourceError(f"CloudTrail Lake query {query_id} {page['QueryStatus']}: {page.get('ErrorMessage')}")
        return [_row(row) for row in page.get("QueryResultRows", [])], page.get("NextToken")

    def unreturned(self, described: Mapping[str, Any], returned: int) -> Iterator[RecordOrProblem]:
        """The events Lake scanned without returning them, counted as read (``Skipped``)."""
        scanned = (described.get("QueryStatistics") or {}).get("EventsScanned")
        if isinstance(scanned, int) and scanned > returned:
            yield Skipped(scanned - returned)


def _row(columns: list[Mapping[str, str]]) -> dict[str, str | None]:
    row: dict[str, str | None] = {}
    for column in columns:
        row.update({key.lower(): (value if value != "" else None) for key, value in column.items()})
    return row


def lake_source(
    spec: str, window: Window, session: Any = None, *, service: str | None = None, backoff: Backoff | None = None
) -> LakeSource:
    """The source for ``lake:EVENT_DATA_STORE``; the ARN's region picks the endpoint.

    ``service`` (or the spec's ``service=`` option) narrows the query to the audited service; without
    it Lake returns the denials of every service and the pipeline keeps the audited one.
    ``backoff`` sets the polling schedule and the time allowed (default: 30 minutes; less in a Lambda).
    """
    parsed = parse_spec(spec)
    client = aws_clients.client(session, "cloudtrail", parsed.region)
    return LakeSource(client=client, spec=parsed, window=window, service=service, backoff=backoff or Backoff())
