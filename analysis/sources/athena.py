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
``margin_hours`` (late-delivery margin, default 24).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any
from urllib.parse import parse_qsl

from analysis import sql
from analysis.identifiers import ACCOUNT_ID, REGION
from analysis.model import Window
from analysis.records import RecordOrProblem
from analysis.sources.base import SourceError

log = logging.getLogger(__name__)

DEFAULT_DELIVERY_MARGIN = timedelta(hours=24)
DEFAULT_TABLE = "cloudtrail_logs"
DEFAULT_PROJECTION_START = "2020/01/01"
RESULT_PAGE_SIZE = 1000  # Athena's maximum for GetQueryResults
FOLDER_FORMAT = "%Y/%m/%d"
_INSTANT = timedelta(microseconds=1)  # the window's end is exclusive
_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9._/-]*$")
_OPTIONS = frozenset({"workgroup", "output", "catalog", "region", "accounts", "regions", "service", "margin_hours"})


# --- polling -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff for polling a query: ``first``, ``first*factor``, … capped at ``ceiling``."""

    first: float = 0.5
    factor: float = 2.0
    ceiling: float = 10.0
    timeout: float = 30 * 60.0
    sleep: Callable[[float], None] = time.sleep
    deadline: float | None = None  # a ``clock()`` reading not to poll past (a Lambda's remaining time)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.first <= 0 or self.factor < 1 or self.ceiling < self.first:
            raise ValueError("backoff needs first > 0, factor >= 1 and ceiling >= first")

    def delays(self) -> Iterator[float]:
        """The pauses between polls, until their sum would pass ``timeout``."""
        waited, delay = 0.0, self.first
        while waited + delay <= self.timeout:
            if self.deadline is not None and self.clock() + delay > self.deadline:
                return
            yield delay
            waited += delay
            delay = min(delay * self.factor, self.ceiling)

    def limit_text(self) -> str:
        """How long polling was allowed, for error messages."""
        if self.deadline is not None and self.deadline - self.clock() < self.ceiling:
            return "before the run's deadline (the time the Lambda function had left)"
        return f"within {self.timeout:.0f}s"


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
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False)) if query else {}
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise SourceError(f"{spec}: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(_OPTIONS))})")
    try:
        parsed = AthenaSpec(
            database=_checked_identifier(database),
            table=_checked_identifier(table),
            workgroup=options.get("workgroup") or None,
            output_location=_output_location(options.get("output")),
            catalog=options.get("catalog") or None,
            region=options.get("region") or None,
            accounts=split_accounts(options.get("accounts", "")),
            regions=split_regions(options.get("regions", "")),
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


def split_accounts(value: str) -> tuple[str, ...]:
    accounts = tuple(sorted({a.strip() for a in value.split(",") if a.strip()}))
    bad = [a for a in accounts if not ACCOUNT_ID.match(a)]
    if bad:
        raise ValueError(f"not a 12-digit AWS account ID: {', '.join(bad)}")
    return accounts


def split_regions(value: str) -> tuple[str, ...]:
    regions = tuple(sorted({r.strip() for r in value.split(",") if r.strip()}))
    bad = [r for r in regions if not REGION.match(r)]
    if bad:
        raise ValueError(f"not an AWS region: {', '.join(bad)}")
    return regions


# --- the query ---------------------------------------------------------------------------------


def folder_range(window: Window, margin: timedelta = DEFAULT_DELIVERY_MARGIN) -> tuple[date | None, date | None]:
    """Delivery folders (UTC dates) that can hold events of the window: its first day .. end + margin.

    A file is delivered after its events happen, so no earlier folder holds any; later folders do,
    up to the delivery delay allowed for by ``margin``.
    """
    first = window.start.astimezone(UTC).date() if window.start else None
    last = (window.end - _INSTANT + margin).astimezone(UTC).date() if window.end else None
    return first, last


def _event_time_bound(moment: datetime | None, *, up: bool) -> str | None:
    """A window bound as CloudTrail writes eventTime to the second (rounded outwards)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if moment.microsecond and up:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


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
    start = _event_time_bound(window.start, up=False)
    end = _event_time_bound(window.end, up=True)
    return sql.render(
        "athena_denials.sql",
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


# --- rows back into records -------------------------------------------------------------------

_IDENTITY_FIELDS = {
    "useridentity_type": "type",
    "useridentity_principalid": "principalId",
    "useridentity_arn": "arn",
    "useridentity_accountid": "accountId",
    "useridentity_username": "userName",
    "useridentity_invokedby": "invokedBy",
}
_ON_BEHALF_OF_FIELDS = {
    "useridentity_onbehalfof_userid": "userId",
    "useridentity_onbehalfof_identitystorearn": "identityStoreArn",
}
_ISSUER_FIELDS = {
    "sessionissuer_type": "type",
    "sessionissuer_principalid": "principalId",
    "sessionissuer_arn": "arn",
    "sessionissuer_accountid": "accountId",
    "sessionissuer_username": "userName",
}
_RECORD_FIELDS = {
    "eventid": "eventID",
    "eventsource": "eventSource",
    "eventname": "eventName",
    "awsregion": "awsRegion",
    "recipientaccountid": "recipientAccountId",
    "errorcode": "errorCode",
    "errormessage": "errorMessage",
    "sourceipaddress": "sourceIPAddress",
    "useragent": "userAgent",
}
_SQL_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]00:?00| UTC)?$")


def record_from_row(row: Mapping[str, str | None]) -> dict[str, Any]:
    """A CloudTrail record rebuilt from one result row (Athena's or CloudTrail Lake's columns)."""
    record: dict[str, Any] = {key: row.get(column) for column, key in _RECORD_FIELDS.items()}
    record["eventTime"] = normalise_event_time(row.get("eventtime"))
    record["userIdentity"] = _identity(row)
    record["requestParameters"] = _request_parameters(row.get("requestparameters"))
    arns = _json_value(row.get("resource_arns"))
    if isinstance(arns, list) and arns:
        record["resources"] = [{"ARN": arn} for arn in arns if isinstance(arn, str)]
    return {key: value for key, value in record.items() if value is not None}


def normalise_event_time(value: str | None) -> str | None:
    """'2026-11-28 09:15:00.000' (Lake) or '2026-11-28T09:15:00Z' -> '2026-11-28T09:15:00Z' (fractions kept)."""
    if not value:
        return value
    match = _SQL_TIME.match(value.strip())
    if not match:
        return value
    day, clock, fraction, _ = match.groups()
    fraction = (fraction or "").rstrip("0").rstrip(".")
    return f"{day}T{clock}{fraction}Z"


def _identity(row: Mapping[str, str | None]) -> dict[str, Any] | None:
    identity: dict[str, Any] = {key: row[col] for col, key in _IDENTITY_FIELDS.items() if row.get(col) is not None}
    on_behalf_of = {key: row[col] for col, key in _ON_BEHALF_OF_FIELDS.items() if row.get(col) is not None}
    issuer = {key: row[col] for col, key in _ISSUER_FIELDS.items() if row.get(col) is not None}
    if on_behalf_of:
        identity["onBehalfOf"] = on_behalf_of
    if issuer:
        identity["sessionContext"] = {"sessionIssuer": issuer}
    return identity or None


def _request_parameters(text: str | None) -> Any:
    """Athena gives the request as JSON text; Lake gives a flat map whose nested values are JSON text."""
    value = _json_value(text)
    if isinstance(value, dict):
        return {key: _nested(item) for key, item in value.items()}
    return value


def _nested(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        parsed = _json_value(value)
        return parsed if parsed is not None else value
    return value


def _json_value(text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


# --- Athena calls ------------------------------------------------------------------------------

_TERMINAL_FAILURES = ("FAILED", "CANCELLED")


def start_query(client: Any, query: str, spec: AthenaSpec) -> str:
    """StartQueryExecution in the spec's database, workgroup and output location; the execution id."""
    context = {"Database": spec.database}
    if spec.catalog:
        context["Catalog"] = spec.catalog
    request: dict[str, Any] = {"QueryString": query, "QueryExecutionContext": context}
    if spec.workgroup:
        request["WorkGroup"] = spec.workgroup
    if spec.output_location:
        request["ResultConfiguration"] = {"OutputLocation": spec.output_location}
    return client.start_query_execution(**request)["QueryExecutionId"]


def wait_for_query(client: Any, execution_id: str, backoff: Backoff) -> dict[str, Any]:
    """Poll GetQueryExecution until SUCCEEDED; FAILED, CANCELLED or the timeout raise SourceError."""
    for delay in chain(backoff.delays(), [None]):
        execution = client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        status = execution.get("Status", {})
        state = status.get("State")
        if state == "SUCCEEDED":
            return execution
        if state in _TERMINAL_FAILURES:
            raise SourceError(f"Athena query {execution_id} {state}: {_failure_reason(status)}")
        if delay is None:
            break
        log.debug("Athena query %s is %s; next poll in %.1fs", execution_id, state, delay)
        backoff.sleep(delay)
    _stop(client, execution_id)
    raise SourceError(f"Athena query {execution_id} did not finish {backoff.limit_text()} (stopped)")


def _failure_reason(status: Mapping[str, Any]) -> str:
    error = status.get("AthenaError") or {}
    parts = [status.get("StateChangeReason"), error.get("ErrorMessage")]
    reasons = [p for i, p in enumerate(parts) if p and p not in parts[:i]]
    return "; ".join(reasons) or "no reason given"


def _stop(client: Any, execution_id: str) -> None:
    try:
        client.stop_query_execution(QueryExecutionId=execution_id)
    except Exception as error:  # stopping is best effort; the timeout is what gets reported
        log.warning("could not stop Athena query %s: %s", execution_id, error)


def result_rows(client: Any, execution_id: str, page_size: int = RESULT_PAGE_SIZE) -> Iterator[dict[str, str | None]]:
    """Every result row as {column: text or None}, page by page; the header row of page one is dropped."""
    token: str | None = None
    first_page = True
    while True:
        request: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": page_size}
        if token:
            request["NextToken"] = token
        page = client.get_query_results(**request)
        result = page.get("ResultSet", {})
        columns = [c.get("Label") or c["Name"] for c in result.get("ResultSetMetadata", {}).get("ColumnInfo", [])]
        rows = [[datum.get("VarCharValue") for datum in r.get("Data", [])] for r in result.get("Rows", [])]
        if first_page and rows and rows[0] == columns:
            rows = rows[1:]
        for values in rows:
            yield dict(zip(columns, values, strict=False))
        token = page.get("NextToken")
        first_page = False
        if not token:
            return


# --- the source --------------------------------------------------------------------------------


@dataclass
class AthenaSource:
    """Runs the denial query for ``window`` and yields one rebuilt record per denial row."""

    client: Any
    spec: AthenaSpec
    window: Window
    service: str | None = None
    backoff: Backoff = field(default_factory=Backoff)
    name: str = ""

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

    def read(self) -> Iterator[RecordOrProblem]:
        try:
            execution_id = start_query(self.client, self.query, self.spec)
            wait_for_query(self.client, execution_id, self.backoff)
            for row in result_rows(self.client, execution_id):
                yield record_from_row(row)
        except SourceError:
            raise
        except Exception as error:  # botocore ClientError, endpoint errors: name the source
            raise SourceError(f"{self.name}: {error}") from error


def athena_source(
    spec: str, window: Window, session: Any = None, *, service: str | None = None, backoff: Backoff | None = None
) -> AthenaSource:
    """The source for ``athena:DATABASE.TABLE[?…]``.

    ``service`` (or the spec's ``service=`` option) narrows the query to the audited service; without
    it the engine returns the denials of every service and the pipeline keeps the audited one.
    ``backoff`` sets the polling schedule and the time allowed (default: 30 minutes; less in a Lambda).
    """
    parsed = parse_spec(spec)
    if session is None:
        import boto3

        session = boto3.Session()
    client = session.client("athena", region_name=parsed.region) if parsed.region else session.client("athena")
    return AthenaSource(client=client, spec=parsed, window=window, service=service, backoff=backoff or Backoff())


def backoff_until(deadline: float | None) -> Backoff:
    """The default polling schedule, stopping at ``deadline`` (a ``time.monotonic()`` reading) if given."""
    return Backoff(deadline=deadline)


# --- the table ---------------------------------------------------------------------------------


def default_regions() -> tuple[str, ...]:
    """Every region of the ``aws`` partition where CloudTrail runs, per botocore's bundled endpoint data."""
    import botocore.session

    return tuple(sorted(botocore.session.get_session().get_available_regions("cloudtrail")))


def create_table_ddl(
    bucket: str,
    *,
    prefix: str = "",
    org_id: str | None = None,
    table: str = DEFAULT_TABLE,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    projection_start: str = DEFAULT_PROJECTION_START,
) -> str:
    """``CREATE EXTERNAL TABLE`` for a trail bucket, with account, region and date projected.

    Without ``accounts`` the account key is ``injected``: every query must then name its accounts
    (``athena:DB.TABLE?accounts=A,B``). Without ``regions``, every CloudTrail region is enumerated.
    """
    if not _BUCKET.match(bucket):
        raise ValueError(f"not an S3 bucket name: {bucket!r}")
    if not _PREFIX.match(prefix):
        raise ValueError(f"not an S3 key prefix this DDL accepts (letters, digits, . _ - /): {prefix!r}")
    if org_id is not None and not _ORG_ID.match(org_id):
        raise ValueError(f"not an organization ID (o-…): {org_id!r}")
    datetime.strptime(projection_start, FOLDER_FORMAT)  # ValueError unless yyyy/MM/dd
    accounts = split_accounts(",".join(accounts))
    regions = split_regions(",".join(regions)) or default_regions()
    root = "/".join(part for part in (f"s3://{bucket}", prefix.strip("/"), "AWSLogs", org_id) if part)
    ddl = sql.render(
        "athena_ddl.sql",
        table=".".join(sql.identifier(part, quote="`") for part in table.split(".")),
        location=sql.literal(f"{root}/"),
        accounts=sql.literal(",".join(accounts)) if accounts else None,
        regions=sql.literal(",".join(regions)),
        date_range=sql.literal(f"{projection_start},NOW"),
        location_template=sql.literal(f"{root}/${{account}}/CloudTrail/${{region}}/${{timestamp}}"),
    )
    return _ddl_notes(accounts, org_id) + ddl


def _ddl_notes(accounts: Sequence[str], org_id: str | None) -> str:
    trail = f"organization trail {org_id}" if org_id else "trail"
    notes = [f"-- Athena table over the {trail}: partitions projected by account, region and delivery date."]
    if not accounts:
        notes.append("-- account is projected as 'injected': queries must name accounts (athena:DB.T?accounts=A,B).")
    return "\n".join(notes) + "\n"
