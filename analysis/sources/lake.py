"""CloudTrail Lake: ``lake:EVENT_DATA_STORE[?service=PREFIX]`` (an event data store ARN or ID).

CloudTrail Lake is closed to new customers since 2026-05-31 and serves those who have it; Athena
over the trail bucket is the path for everyone else. The query runs in Lake (denial codes, the
audited service when known, the window on ``eventTime``) and only denial rows come back, each
turned back into a CloudTrail record for the usual engine.

``records_read`` counts the rows returned plus the events Lake reports having scanned without
returning them (``DescribeQuery``'s ``QueryStatistics.EventsScanned``), yielded as ``Skipped``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any
from urllib.parse import parse_qsl

from analysis import sql
from analysis.model import Window
from analysis.records import RecordOrProblem, Skipped
from analysis.sources.athena import Backoff, record_from_row
from analysis.sources.base import SourceError

log = logging.getLogger(__name__)

RESULT_PAGE_SIZE = 1000  # Lake's maximum for GetQueryResults
_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):cloudtrail:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
    r":eventdatastore/(?P<id>[A-Za-z0-9-]+)$"
)
_ID = re.compile(r"^[A-Za-z0-9-]{1,128}$")
_FAILED = ("FAILED", "CANCELLED", "TIMED_OUT")
_OPTIONS = frozenset({"service", "region"})


@dataclass(frozen=True)
class LakeSpec:
    event_data_store: str  # the ID: the last part of the ARN, what FROM names
    region: str | None = None
    service: str | None = None


def parse_spec(spec: str) -> LakeSpec:
    body = spec.removeprefix("lake:")
    name, _, query = body.partition("?")
    options = dict(parse_qsl(query)) if query else {}
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise SourceError(f"{spec}: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(_OPTIONS))})")
    service = (options.get("service") or "").lower() or None
    arn = _ARN.match(name)
    if arn:
        return LakeSpec(arn.group("id"), options.get("region") or arn.group("region"), service)
    if _ID.match(name):
        return LakeSpec(name, options.get("region") or None, service)
    raise SourceError(f"{spec}: expected lake:EVENT_DATA_STORE (an event data store ARN or ID)")


def _timestamp(moment: datetime | None, *, up: bool) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if moment.microsecond and up:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def denial_query(event_data_store: str, window: Window, *, service: str | None = None) -> str:
    """The Lake SQL for the denials of ``window``; FROM names the event data store ID, as Lake requires."""
    if not _ID.match(event_data_store):
        raise ValueError(f"not an event data store ID: {event_data_store!r}")
    start = _timestamp(window.start, up=False)
    end = _timestamp(window.end, up=True)
    return sql.render(
        "lake_denials.sql",
        event_data_store=event_data_store,
        denial_condition=sql.denial_condition("errorCode"),
        service_condition=sql.service_condition(service, "eventSource"),
        start=sql.literal(start) if start else None,
        end=sql.literal(end) if end else None,
    )


def wait_for_query(client: Any, query_id: str, backoff: Backoff) -> dict[str, Any]:
    """Poll DescribeQuery until FINISHED; FAILED, CANCELLED, TIMED_OUT or our timeout raise SourceError."""
    for delay in chain(backoff.delays(), [None]):
        described = client.describe_query(QueryId=query_id)
        status = described.get("QueryStatus")
        if status == "FINISHED":
            return described
        if status in _FAILED:
            reason = described.get("ErrorMessage") or "no reason given"
            raise SourceError(f"CloudTrail Lake query {query_id} {status}: {reason}")
        if delay is None:
            break
        log.debug("CloudTrail Lake query %s is %s; next poll in %.1fs", query_id, status, delay)
        backoff.sleep(delay)
    _cancel(client, query_id)
    raise SourceError(f"CloudTrail Lake query {query_id} did not finish {backoff.limit_text()} (cancelled)")


def _cancel(client: Any, query_id: str) -> None:
    try:
        client.cancel_query(QueryId=query_id)
    except Exception as error:  # best effort; the timeout is what gets reported
        log.warning("could not cancel CloudTrail Lake query %s: %s", query_id, error)


def result_rows(client: Any, query_id: str, page_size: int = RESULT_PAGE_SIZE) -> Iterator[dict[str, str | None]]:
    """Every result row as {column: text}; Lake writes each row as a list of one-entry maps."""
    token: str | None = None
    while True:
        request: dict[str, Any] = {"QueryId": query_id, "MaxQueryResults": page_size}
        if token:
            request["NextToken"] = token
        page = client.get_query_results(**request)
        if page.get("QueryStatus") in _FAILED:
            raise SourceError(f"CloudTrail Lake query {query_id} {page['QueryStatus']}: {page.get('ErrorMessage')}")
        for row in page.get("QueryResultRows", []):
            yield _row(row)
        token = page.get("NextToken")
        if not token:
            return


def _row(columns: list[Mapping[str, str]]) -> dict[str, str | None]:
    row: dict[str, str | None] = {}
    for column in columns:
        row.update({key.lower(): (value if value != "" else None) for key, value in column.items()})
    return row


@dataclass
class LakeSource:
    client: Any
    spec: LakeSpec
    window: Window
    service: str | None = None
    backoff: Backoff = field(default_factory=Backoff)
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"lake:{self.spec.event_data_store}"
        self.service = self.spec.service or self.service

    @property
    def query(self) -> str:
        return denial_query(self.spec.event_data_store, self.window, service=self.service)

    def read(self) -> Iterator[RecordOrProblem]:
        try:
            query_id = self.client.start_query(QueryStatement=self.query)["QueryId"]
            described = wait_for_query(self.client, query_id, self.backoff)
            returned = 0
            for row in result_rows(self.client, query_id):
                returned += 1
                yield record_from_row(row)
        except SourceError:
            raise
        except Exception as error:  # botocore ClientError and the like: name the source
            raise SourceError(f"{self.name}: {error}") from error
        scanned = (described.get("QueryStatistics") or {}).get("EventsScanned")
        if isinstance(scanned, int) and scanned > returned:
            yield Skipped(scanned - returned)


def lake_source(
    spec: str, window: Window, session: Any = None, *, service: str | None = None, backoff: Backoff | None = None
) -> LakeSource:
    """The source for ``lake:EVENT_DATA_STORE``; the ARN's region picks the endpoint.

    ``service`` (or the spec's ``service=`` option) narrows the query to the audited service; without
    it Lake returns the denials of every service and the pipeline keeps the audited one.
    ``backoff`` sets the polling schedule and the time allowed (default: 30 minutes; less in a Lambda).
    """
    parsed = parse_spec(spec)
    if session is None:
        import boto3

        session = boto3.Session()
    client = session.client("cloudtrail", region_name=parsed.region) if parsed.region else session.client("cloudtrail")
    return LakeSource(client=client, spec=parsed, window=window, service=service, backoff=backoff or Backoff())
