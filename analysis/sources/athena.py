"""Athena over the trail bucket: ``athena:DATABASE.TABLE[?option=value&…]``.

The filter runs in the engine (denial codes, the audited service when known, the window on
``eventTime`` and the delivery-date partitions) and only denial rows come back, one per event,
with the columns the engine needs; each row is turned back into a CloudTrail record so
``analysis.denials`` and ``analysis.findings`` treat it exactly as a record read from a file.

``records_read`` for this source counts the rows returned (the denials the query matched): Athena
reports bytes scanned, not records, so the records it scanned and filtered out are not counted.

Spec options (all optional, after ``?``, ``&``-separated): ``workgroup``, ``output``
(``ResultConfiguration.OutputLocation``, an ``s3://`` URI), ``catalog``, ``region`` (the Athena
region), ``accounts`` and ``regions`` (comma-separated; ``accounts`` is required when the table
projects ``account`` as ``injected``), ``service`` (the audited service; overrides the keyword),
``margin_hours`` (late-delivery margin, default 24). The table itself: :mod:`analysis.sql.ddl`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any, ClassVar

from analysis import aws_clients, sql
from analysis.identifiers import parse_accounts, parse_regions
from analysis.model import Window
from analysis.sources.base import SourceError
from analysis.sources.query import Backoff, QuerySource, spec_options, time_bound
from analysis.sql.columns import select_list
from analysis.sql.ddl import FOLDER_FORMAT

DEFAULT_DELIVERY_MARGIN = timedelta(hours=24)
RESULT_PAGE_SIZE = 1000  # Athena's maximum for GetQueryResults
EVENT_TIME_LAYOUT = "%Y-%m-%dT%H:%M:%S"  # eventTime as CloudTrail writes it, to the second
_INSTANT = timedelta(microseconds=1)  # the window's end is exclusive
_OPTIONS = frozenset({"workgroup", "output", "catalog", "region", "accounts", "regions", "service", "margin_hours"})


# --- the spec ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AthenaSpec:
    database: str
    table: str
    workgroup: str | None = None
    output_location: str | None = None
    catalog: str | None = None
    region: str | None = None
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    service: str | None = None
    margin: timedelta = DEFAULT_DELIVERY_MARGIN


def parse_spec(spec: str) -> AthenaSpec:
    """``athena:DATABASE.TABLE[?workgroup=W&output=s3://…&accounts=A,B&…]``; a bad spec is a SourceError."""
    body = spec.removeprefix("athena:")
    name, _, query = body.partition("?")
    database, dot, table = name.partition(".")
    if not dot or not database or not table:
        raise SourceError(f"{spec}: expected athena:DATABASE.TABLE")
    options = spec_options(spec, query, _OPTIONS)
    try:
        parsed = AthenaSpec(
            database=_checked_identifier(database),
            table=_checked_identifier(table),
            workgroup=options.get("workgroup") or None,
            output_location=_output_location(options.get("output")),
            catalog=options.get("catalog") or None,
            region=options.get("region") or None,
            accounts=tuple(sorted(parse_accounts(options.get("accounts", "")))),
            regions=tuple(sorted(parse_regions(options.get("regions", "")))),
            service=(options.get("service") or "").lower() or None,
            margin=timedelta(hours=float(options.get("margin_hours", DEFAULT_DELIVERY_MARGIN.total_seconds() / 3600))),
        )
    except ValueError as error:
        raise SourceError(f"{spec}: {error}") from error
    if parsed.margin < timedelta(0):
        raise SourceError(f"{spec}: margin_hours cannot be negative")
    return parsed


def _checked_identifier(name: str) -> str:
    sql.identifier(name)  # raises ValueError on anything but letters, digits and underscores
    return name


def _output_location(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith("s3://"):
        raise ValueError(f"output must be an s3:// URI, not {value!r}")
    return value


# --- the query ---------------------------------------------------------------------------------


def folder_range(window: Window, margin: timedelta = DEFAULT_DELIVERY_MARGIN) -> tuple[date | None, date | None]:
    """Delivery folders (UTC dates) that can hold events of the window: its first day .. end + margin.

    A file is delivered after its events happen, so no earlier folder holds any; later folders do,
    up to the delivery delay allowed for by ``margin``.
    """
    first = window.start.astimezone(UTC).date() if window.start else None
    last = (window.end - _INSTANT + margin).astimezone(UTC).date() if window.end else None
    return first, last


def denial_query(
    table: str,
    window: Window,
    *,
    service: str | None = None,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    margin: timedelta = DEFAULT_DELIVERY_MARGIN,
) -> str:
    """The Athena SQL (Trino dialect) for the denials of ``window``; ``table`` is already quoted."""
    first, last = folder_range(window, margin)
    start = time_bound(window.start, EVENT_TIME_LAYOUT, up=False)
    end = time_bound(window.end, EVENT_TIME_LAYOUT, up=True)
    return sql.render(
        "athena_denials.sql",
        columns=select_list(request_parameters="requestparameters"),
        table=table,
        denial_condition=sql.denial_condition("errorcode"),
        service_condition=sql.service_condition(service, "eventsource"),
        first_folder=sql.literal(first.strftime(FOLDER_FORMAT)) if first else None,
        last_folder=sql.literal(last.strftime(FOLDER_FORMAT)) if last else None,
        start=sql.literal(start) if start else None,
        end=sql.literal(end) if end else None,
        accounts=sql.literals(accounts) if accounts else None,
        regions=sql.literals(regions) if regions else None,
    )


def qualified_table(database: str, table: str) -> str:
    return f"{sql.identifier(database)}.{sql.identifier(table)}"


# --- the source --------------------------------------------------------------------------------


@dataclass(kw_only=True)
class AthenaSource(QuerySource):
    """Runs the denial query for ``window`` in Athena and yields one rebuilt record per denial row."""

    spec: AthenaSpec
    engine: ClassVar[str] = "Athena"
    finished_state: ClassVar[str] = "SUCCEEDED"
    failed_states: ClassVar[tuple[str, ...]] = ("FAILED", "CANCELLED")
    stopped_word: ClassVar[str] = "stopped"

    def __post_init__(self) -> None:
        self.name = self.name or f"athena:{self.spec.database}.{self.spec.table}"
        self.service = self.spec.service or self.service

    @property
    def query(self) -> str:
        return denial_query(
            qualified_table(self.spec.database, self.spec.table),
            self.window,
            service=self.service,
            accounts=self.spec.accounts,
            regions=self.spec.regions,
            margin=self.spec.margin,
        )

    def start(self) -> str:
        """StartQueryExecution in the spec's database, workgroup and output location."""
        context = {"Database": self.spec.database}
        if self.spec.catalog:
            context["Catalog"] = self.spec.catalog
        request: dict[str, Any] = {"QueryString": self.query, "QueryExecutionContext": context}
        if self.spec.workgroup:
            request["WorkGroup"] = self.spec.workgroup
        if self.spec.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.spec.output_location}
        return str(self.client.start_query_execution(**request)["QueryExecutionId"])

    def state(self, query_id: str) -> tuple[str | None, Mapping[str, Any]]:
        execution = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        return execution.get("Status", {}).get("State"), execution

    def failure_reason(self, described: Mapping[str, Any]) -> str:
        status = described.get("Status", {})
        error = status.get("AthenaError") or {}
        parts = [status.get("StateChangeReason"), error.get("ErrorMessage")]
        reasons = [p for i, p in enumerate(parts) if p and p not in parts[:i]]
        return "; ".join(reasons) or "no reason given"

    def stop(self, query_id: str) -> None:
        self.client.stop_query_execution(QueryExecutionId=query_id)

    def page(self, query_id: str, token: str | None) -> tuple[list[dict[str, str | None]], str | None]:
        """Rows as {column: text or None}; the header row that starts the first page is dropped."""
        request: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": RESULT_PAGE_SIZE}
        if token:
            request["NextToken"] = token
        page = self.client.get_query_results(**request)
        result = page.get("ResultSet", {})
        columns = [c.get("Label") or c["Name"] for c in result.get("ResultSetMetadata", {}).get("ColumnInfo", [])]
        rows = [[datum.get("VarCharValue") for datum in r.get("Data", [])] for r in result.get("Rows", [])]
        if token is None and rows and rows[0] == columns:
            rows = rows[1:]
        return [dict(zip(columns, values, strict=False)) for values in rows], page.get("NextToken")


def athena_source(
    spec: str, window: Window, session: Any = None, *, service: str | None = None, backoff: Backoff | None = None
) -> AthenaSource:
    """The source for ``athena:DATABASE.TABLE[?…]``.

    ``service`` (or the spec's ``service=`` option) narrows the query to the audited service; without
    it the engine returns the denials of every service and the pipeline keeps the audited one.
    ``backoff`` sets the polling schedule and the time allowed (default: 30 minutes; less in a Lambda).
    """
    parsed = parse_spec(spec)
    client = aws_clients.client(session, "athena", parsed.region)
    return AthenaSource(client=client, spec=parsed, window=window, service=service, backoff=backoff or Backoff())
