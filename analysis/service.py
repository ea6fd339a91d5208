"""The application layer of the reports: a window's report, a day's report.

``analysis.cli`` and the Lambda handlers in ``functions/`` are a few lines over these functions; every
rule they share lives here:

- which sources a run reads (the request's, else ``TRAIL_SOURCE``, else the bundled sample day) and the
  default window of AWS sources (the last 24 hours);
- that a run whose every source failed is an error (``AllSourcesFailed``), not an empty report;
- the daily run: the day that just ended in the report's time zone unless one is named, read with the
  lookback for late deliveries and counted once in a ledger (a folder for the CLI, DynamoDB for the
  service);
- redaction *before* delivery, so what ``--redact`` sends is redacted too;
- delivery exactly once per window and channel (``analysis.delivery``);
- a Lambda function's remaining time: query sources stop polling before it runs out.

One event's alert is ``analysis.alert_service``'s.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from analysis.contract import BUILDING, Report, SourceStatus
from analysis.progress import NO_PROGRESS, Progress
from analysis.settings import Settings, advice_options, redaction_key

if TYPE_CHECKING:
    from analysis.config import DeliveryConfig
    from analysis.delivery import Clients, DeliveryError, DeliveryResult
    from analysis.ledger import Ledger
    from analysis.model import Window
    from analysis.sources.base import ReadOptions, Source

log = logging.getLogger(__name__)

DEFAULT_AWS_LOOKBACK = timedelta(hours=24)
DEADLINE_MARGIN = timedelta(seconds=60)  # left for building, storing and sending the report
TimeLeft = Callable[[], int]  # milliseconds, as ``context.get_remaining_time_in_millis``
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ServiceError(Exception):
    """A run that cannot be done as asked; the message says why."""


class RequestError(ServiceError):
    """Arguments that do not go together (the CLI's exit status 2)."""


class AllSourcesFailed(ServiceError):
    """Every source failed: there is no report to trust. ``statuses``: the sources' statuses."""

    def __init__(self, message: str, statuses: Sequence[SourceStatus] = ()) -> None:
        super().__init__(message)
        self.statuses = list(statuses)


# --- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowRequest:
    """A report over ``[since, until)`` or one UTC ``day`` (``--day``); sources default to the settings'."""

    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    day: date | None = None


@dataclass(frozen=True)
class DailyRequest:
    """The daily report of ``day`` in the settings' time zone (default: the day that just ended)."""

    day: date | None = None
    sources: tuple[str, ...] = ()

    @classmethod
    def from_event(cls, event: Any) -> DailyRequest:
        """What a scheduled invocation asks: ``{"day": "YYYY-MM-DD"}`` reports that day; anything else
        (Scheduler's own payload, ``{}``) the day that just ended."""
        day = event.get("day") if isinstance(event, Mapping) else None
        if day is None:
            return cls()
        if not isinstance(day, str) or not _DAY.fullmatch(day):
            raise RequestError(f"'day' must be YYYY-MM-DD, not {day!r}")
        try:
            return cls(day=date.fromisoformat(day))
        except ValueError as error:
            raise RequestError(f"'day' must be a date (YYYY-MM-DD), not {day!r}") from error


@dataclass
class Run:
    """What a run produced: the report and, when delivered, what went out."""

    report: Report
    delivery: DeliveryResult | None = None
    delivery_error: DeliveryError | None = None

    def warnings(self) -> list[str]:
        """Problems to tell the operator: unreadable files or records, failed sources."""
        return source_warnings(self.report.sources)

    def metrics(self) -> dict[str, int]:
        """Counts for CloudWatch: records read, denials, findings, failed sources, failed channels, and channels
        not sent because another run holds them (it is sending them, or it was killed before recording them)."""
        totals = self.report.totals
        undelivered = self.delivery_error.result if self.delivery_error else None
        return {
            "RecordsRead": totals.records_read,
            "MalformedRecords": totals.malformed_records,
            "Denials": totals.denials,
            "LateDenials": totals.late_denials or 0,
            "Findings": len(self.report.findings),
            "SourcesFailed": sum(1 for s in self.report.sources if s.status == "failed"),
            "DeliveryFailures": len(undelivered.failed) if undelivered else 0,
            "DeliveryInProgress": len(undelivered.in_progress) if undelivered else 0,
        }

    def summary(self) -> dict[str, Any]:
        """A small JSON summary (what the daily function returns)."""
        report = self.report
        delivery = self.delivery_error.result if self.delivery_error else self.delivery
        return {
            "window": report.window.model_dump(),
            "day": report.daily.key if report.daily else None,
            "time_zone": report.daily.time_zone if report.daily else None,
            "denials": report.totals.denials,
            "late_denials": report.totals.late_denials or 0,
            "findings": len(report.findings),
            "sources": [{"name": s.name, "status": s.status} for s in report.sources],
            "delivered": {o.channel: o.status for o in delivery.outcomes} if delivery else {},
            "objects": {fmt: loc.uri for fmt, loc in delivery.locations.items()} if delivery else {},
        }

    def raise_for_delivery(self) -> None:
        """Raise the delivery error, if any channel failed or is held by another run (so Lambda retries; sent
        channels are not resent)."""
        if self.delivery_error is not None:
            raise self.delivery_error


# --- settings to the layers below ------------------------------------------------------------------


def read_options(
    settings: Settings, session: Any = None, deadline: float | None = None, progress: Progress = NO_PROGRESS
) -> ReadOptions:
    from analysis.sources.base import ReadOptions

    return ReadOptions(
        service=settings.service,
        accounts=tuple(sorted(settings.lookup_accounts)),
        accounts_from_organizations=settings.lookup_organization,
        role_name=settings.lookup_role_name,
        session=session,
        deadline=deadline,
        progress=progress,
    )


def source_specs(requested: Sequence[str], settings: Settings) -> list[str]:
    """The request's sources, else the configured ``TRAIL_SOURCE``, else the bundled sample day."""
    if requested:
        return list(requested)
    return [settings.trail_source] if settings.trail_source else ["sample"]


def deadline_of(time_left: TimeLeft | None, clock: Callable[[], float] = time.monotonic) -> float | None:
    """The ``clock()`` reading that query sources must stop polling at, leaving time to finish the run."""
    if time_left is None:
        return None
    return clock() + time_left() / 1000 - DEADLINE_MARGIN.total_seconds()


def report_window(request: WindowRequest, specs: Sequence[str], now: datetime) -> Window:
    """``--day`` (UTC), ``--since``/``--until``, or for AWS sources without either the last 24 hours."""
    from analysis.identifiers import AWS_PREFIXES
    from analysis.model import Window

    if request.day is not None:
        if request.since is not None or request.until is not None:
            raise RequestError("--day cannot be combined with --since or --until")
        reportable_day(request.day, now)
        start = datetime.combine(request.day, datetime.min.time(), tzinfo=UTC)
        return Window(start, start + timedelta(days=1))
    since, until = request.since, request.until
    for moment in (since, until):
        if moment is not None:
            reportable_time(moment)
    if since and until and since >= until:
        raise RequestError("--since must be before --until")
    if since is None and until is None and any(spec.startswith(AWS_PREFIXES) for spec in specs):
        end = now.replace(microsecond=0)
        return Window(end - DEFAULT_AWS_LOOKBACK, end)
    return Window(since, until)


def reportable_day(day: date, now: datetime) -> None:
    """RequestError for a day CloudTrail cannot have logged (before its launch, or not begun anywhere yet)."""
    from analysis.windows import check_reportable_day

    try:
        check_reportable_day(day, now)
    except ValueError as error:
        raise RequestError(str(error)) from error


def reportable_time(moment: datetime) -> None:
    """RequestError for a --since/--until CloudTrail cannot have logged, or with no UTC form."""
    from analysis.windows import check_reportable_time

    try:
        check_reportable_time(moment)
    except ValueError as error:
        raise RequestError(str(error)) from error


def open_sources(specs: Sequence[str], window: Window, options: ReadOptions) -> list[Source]:
    """The sources of the specs, each that can, telling ``options.progress`` what it reads."""
    from analysis.sources import sources_from_spec
    from analysis.sources.base import with_progress

    return with_progress(
        (source for spec in specs for source in sources_from_spec(spec, window, options)), options.progress
    )


# --- runs --------------------------------------------------------------------------------------


def run_window(
    request: WindowRequest,
    settings: Settings,
    *,
    session: Any = None,
    time_left: TimeLeft | None = None,
    now: datetime | None = None,
    progress: Progress = NO_PROGRESS,
) -> Run:
    """The report of a window (no ledger: every denial of the window is counted). ``progress`` is told what the
    sources read as they read it (the CLI's reporter on a terminal)."""
    from analysis.pipeline import analyse

    now = now or datetime.now(UTC)
    specs = source_specs(request.sources, settings)
    window = report_window(request, specs, now)
    sources = open_sources(specs, window, read_options(settings, session, deadline_of(time_left), progress))
    report = analyse(sources, window, advice_options(settings), now=now).report
    return _finished(report, settings)


def run_daily(
    request: DailyRequest,
    settings: Settings,
    ledger: Ledger,
    *,
    session: Any = None,
    time_left: TimeLeft | None = None,
    now: datetime | None = None,
    progress: Progress = NO_PROGRESS,
) -> Run:
    """One day's report in the settings' time zone, each denial counted once across days (the ledger);
    ``progress`` as for :func:`run_window`."""
    from analysis.daily import daily_report
    from analysis.windows import daily_window, day_of, last_complete_day

    now = now or datetime.now(UTC)
    day = request.day or last_complete_day(now, settings.time_zone)
    if day >= day_of(now, settings.time_zone):
        # its report would be partial, and would mark the day sent before the scheduled run could send it whole
        raise RequestError(f"{day} has not ended in {settings.time_zone}: only a past day can be reported")
    reportable_day(day, now)
    lookback = timedelta(hours=settings.lookback_hours)
    window = daily_window(day, settings.time_zone, lookback)
    specs = source_specs(request.sources, settings)
    options = read_options(settings, session, deadline_of(time_left), progress)
    sources = open_sources(specs, window.read_window, options)
    report = daily_report(
        sources,
        day,
        ledger,
        advice_options(settings),
        tz=settings.time_zone,
        lookback=lookback,
        now=now,
        redact=settings.redact,  # the ledger stores what is shown: with REDACT on, the redacted report
        redact_key=redaction_key(settings),
    )
    return _finished(report, settings)


def _finished(report: Report, settings: Settings) -> Run:
    statuses = report.sources
    if statuses and all(status.status == "failed" for status in statuses):
        failed = "; ".join(f"{status.name}: {status.error}" for status in statuses)
        raise AllSourcesFailed(f"every source failed ({failed})", statuses)
    if settings.redact:
        from analysis.redact import redact_report

        report = Report.model_validate(redact_report(report.document(), redaction_key(settings)), context=BUILDING)
    return Run(report)


def deliver_run(
    run: Run,
    config: DeliveryConfig,
    clients: Clients | None = None,
    *,
    force: bool = False,
    now: datetime | None = None,
    time_left: TimeLeft | None = None,
) -> Run:
    """Store and send the (already redacted, when asked) report once per window and channel.

    A channel that fails or that another run holds is kept in ``run.delivery_error`` with what did go out;
    the report gains its ``delivery`` section either way. In a Lambda function, ``time_left`` makes each
    claim's lease the invocation's remaining time.
    """
    from analysis.delivery import DeliveryError, default_clients, deliver, delivery_record

    clients = clients or default_clients()
    try:
        result = deliver(run.report, clients=clients, config=config, force=force, now=now, time_left=time_left)
    except DeliveryError as error:
        log.warning("%s", error)
        delivered = run.report.model_copy(update={"delivery": delivery_record(error.result)})
        return Run(delivered, error.result, error)
    return Run(run.report.model_copy(update={"delivery": delivery_record(result)}), result)


def dynamodb_ledger(table_name: str, session: Any = None) -> Ledger:
    """The ledger in the service's state table (partition key ``id``, shared with delivery's idempotency)."""
    import boto3

    from analysis.aws_clients import RETRIES
    from analysis.ledger_stores import DynamoDBLedger

    resource = (session or boto3.session.Session()).resource("dynamodb", config=RETRIES)
    return DynamoDBLedger(resource.Table(table_name), key="id")


def daily_job(
    request: DailyRequest,
    settings: Settings,
    delivery: DeliveryConfig,
    *,
    session: Any = None,
    clients: Clients | None = None,
    time_left: TimeLeft | None = None,
    now: datetime | None = None,
) -> Run:
    """What the scheduled function does: the day's report, counted in the state table, delivered once."""
    import boto3

    from analysis.delivery import default_clients

    if not settings.state_table:
        raise ServiceError("the daily job needs a state table (STATE_TABLE) for its ledger")
    session = session or boto3.session.Session()  # one session for the ledger, the sources and delivery
    ledger = dynamodb_ledger(settings.state_table, session)
    run = run_daily(request, settings, ledger, session=session, time_left=time_left, now=now)
    return deliver_run(run, delivery, clients or default_clients(session), now=now, time_left=time_left)


# --- telling the operator ----------------------------------------------------------------------


def source_warnings(statuses: Sequence[SourceStatus]) -> list[str]:
    """One line per problem, safe for a terminal: file names, S3 keys and errors are shown, never obeyed."""
    from analysis.pipeline import UNREADABLE_ITEMS
    from analysis.redact import printable

    warnings = [problem for status in statuses for problem in status.problems]
    # a partial source too when an error stopped it part way (its unreadable items are named above)
    stopped = [s for s in statuses if s.status == "partial" and s.error and not s.error.endswith(UNREADABLE_ITEMS)]
    warnings += [f"{s.name}: {s.error}" for s in statuses if (s.error and s.status == "failed") or s in stopped]
    return [printable(warning, keep="") for warning in warnings]
