"""The CLI's ``alerts`` command: which alerts a window of CloudTrail would have raised, and why.

The alert function decides one event at a time against its state table; this replays a window from the sources the
report reads (``analysis.sources``) the same way, in memory (``analysis.alerting.replay``: the store's decisions,
documented differences none), as the function would have taken them on an empty table:

1. each record of the window that is a denial of the audited service (``analysis.denials``), in ``eventTime``
   order, becomes its finding (``analysis.event_finding``, the daily report's advice for one event);
2. a suppression (``--suppressions FILE``, ``analysis.suppression_config``) that matches it at the event's time
   makes it *suppressed*, and it never reaches the state, as in the handler;
3. the others are replayed: each *alerts* (with the rules that fired, their reasons and the key's count carried), is
   *counted* (its key alerted within the period), *folded* (into its principal's burst or reconnaissance alert),
   fires *no_rule* (no rule fired: named so, not "ignored", which the handler's EventsIgnored metric uses for records
   that are not denials) or is a *redelivery* (an eventID already counted).

A suppression document the run was given but cannot use at all (it cannot be read, is not JSON, or is not a
suppression document) stops the run (:class:`AlertsRequestError`): the user named it, so going on without it (as the
unattended function does, fail open) would show alerts the user meant to suppress. Entries it refuses are problems of
the run, and the others apply.

Expired suppressions are named (at the time of the run: they no longer apply and should be removed or renewed). A
suppressed eventID delivered twice is suppressed once (the second is a redelivery), where the handler, which decides
before its state is read, counts it suppressed twice.
Records are read without pandas: nothing here builds the report's frame.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from analysis.model import Window
from analysis.times import iso, moment

if TYPE_CHECKING:
    from analysis.alerting.replay import Replayed
    from analysis.alerting.suppressions import Suppression, Suppressions
    from analysis.contract import Finding
    from analysis.settings import Settings

Fate = Literal["alert", "counted", "folded", "no_rule", "redelivered", "suppressed"]
FATES: tuple[Fate, ...] = ("alert", "counted", "folded", "no_rule", "redelivered", "suppressed")
DEFAULT_AWS_LOOKBACK = timedelta(hours=24)  # an AWS source without --day/--since: the last 24 hours, as the report


class AlertsRequestError(ValueError):
    """A request that cannot be run (a window that cannot hold anything, a suppression document that cannot be
    used): one line for the CLI."""


@dataclass(frozen=True)
class AlertsRequest:
    """The window (``day``, or ``[since, until)``), the sources (default: TRAIL_SOURCE, else the sample day) and the
    suppression document (a file, ``s3://`` or ``ssm:``), if any."""

    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    day: date | None = None
    suppressions: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one denial (one delivery of it)."""

    event_id: str
    at: datetime
    finding: Finding
    fate: Fate
    rules: tuple[tuple[str, str], ...] = ()  # (name, reason) of the rules that fired
    why: str = ""
    carried: int = 0  # an alert: the key's events counted since its previous alert

    def as_dict(self) -> dict[str, Any]:
        from analysis.principals import short_name

        principal = self.finding.principal
        remedy = self.finding.remedy
        return {
            "time": iso(self.at),
            "event_id": self.event_id,
            "fate": self.fate,
            "principal": principal.arn or principal.key or principal.type,
            "principal_name": short_name(principal.arn) if principal.arn else (principal.key or principal.type),
            "account": self.finding.target_account_id,
            "caller_account": principal.account_id,
            "action": self.finding.actions[0].action if self.finding.actions else None,
            "severity": self.finding.severity,
            "fix": remedy.kind if remedy else None,
            "rules": [{"name": name, "reason": reason} for name, reason in self.rules],
            "events_since_last_alert": self.carried if self.fate == "alert" else None,
            "why": self.why,
        }


@dataclass
class AlertsRun:
    window: Window
    sources: list[str]
    records_read: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    expired_suppressions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    suppression_origin: str | None = None

    @property
    def alerts(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.fate == "alert"]

    def counts(self) -> dict[str, int]:
        fates = Counter(outcome.fate for outcome in self.outcomes)
        return {
            "records_read": self.records_read,
            "denials": len(self.outcomes) - fates["redelivered"],
            **{fate: fates[fate] for fate in FATES},
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": {"start": iso(self.window.start), "end": iso(self.window.end)},
            "sources": self.sources,
            "suppressions": self.suppression_origin,
            "counts": self.counts(),
            "rules": dict(sorted(Counter(name for a in self.alerts for name, _ in a.rules).items())),
            "alerts": [outcome.as_dict() for outcome in self.alerts],
            "not_alerted": [outcome.as_dict() for outcome in self.outcomes if outcome.fate != "alert"],
            "expired_suppressions": self.expired_suppressions,
            "problems": self.problems,
        }


def run_alerts(
    request: AlertsRequest,
    settings: Settings,
    *,
    session: Any = None,
    s3: Any = None,
    ssm: Any = None,
    now: datetime | None = None,
) -> AlertsRun:
    """Read the window's denials from the request's sources and replay them through the alert rules; a source that
    fails is a problem of the run (the others go on). ``s3``/``ssm``: clients for a suppression document there."""
    from analysis.sources import sources_from_spec
    from analysis.sources.base import ReadOptions

    now = now or datetime.now(UTC)
    specs = list(request.sources) or ([settings.trail_source] if settings.trail_source else ["sample"])
    window = alerts_window(request, specs, now)
    run = AlertsRun(window=window, sources=specs)
    suppressions = _suppressions(request.suppressions, s3, ssm, now, run)
    options = ReadOptions(service=settings.service, session=session)
    denials: list[tuple[dict[str, Any], datetime]] = []
    for spec in specs:
        for source in sources_from_spec(spec, window, options):
            denials += _denials(source, settings.service, window, run)
    _replay(denials, settings, suppressions, run)
    return run


def alerts_window(request: AlertsRequest, specs: Sequence[str], now: datetime) -> Window:
    """``day`` (UTC), ``[since, until)``, or for an AWS source without either the last 24 hours (as the report)."""
    from analysis.identifiers import AWS_PREFIXES

    if request.day is not None:
        if request.since is not None or request.until is not None:
            raise AlertsRequestError("--day cannot be combined with --since or --until")
        start = datetime.combine(request.day, datetime.min.time(), tzinfo=UTC)
        return Window(start, start + timedelta(days=1))
    if request.since and request.until and request.since >= request.until:
        raise AlertsRequestError("--since must be before --until")
    if request.since is None and request.until is None and any(spec.startswith(AWS_PREFIXES) for spec in specs):
        end = now.replace(microsecond=0)
        return Window(end - DEFAULT_AWS_LOOKBACK, end)
    return Window(request.since, request.until)


def _suppressions(spec: str | None, s3: Any, ssm: Any, now: datetime, run: AlertsRun) -> Suppressions | None:
    if not spec:
        return None
    from analysis.suppression_config import load_suppressions

    suppressions = load_suppressions(spec, s3, ssm, now=now)
    unusable = _unusable(suppressions)
    if unusable is not None:
        raise AlertsRequestError(f"--suppressions {unusable}")
    run.suppression_origin = spec
    run.problems += list(suppressions.problems)
    run.expired_suppressions = [str(expired) for expired in suppressions.expired(now)]
    return suppressions


DOCUMENT_UNUSABLE = "; no suppression applies"  # how analysis.suppression_config/alerting.suppressions end a
# problem of the whole document (cannot be read, not JSON, not a suppression document), never one of an entry


def _unusable(suppressions: Suppressions) -> str | None:
    """Why the document as a whole cannot be used (its one problem, without the fail-open words), or None."""
    if suppressions.items or len(suppressions.problems) != 1:
        return None
    [problem] = suppressions.problems
    return problem.removesuffix(DOCUMENT_UNUSABLE) if problem.endswith(DOCUMENT_UNUSABLE) else None


def organization_note(run: AlertsRun, settings: Settings) -> str | None:
    """Without trusted accounts or the organization's accounts, every caller from another account is unknown to the
    rules (unknown_account; the report's severity): one note saying so, with how many of the window's denials it
    concerns. None when either is set (an organization id alone tells no account apart)."""
    if settings.trusted_accounts or settings.organization_accounts:
        return None
    outsiders = sum(1 for o in run.outcomes if o.fate != "redelivered" and o.finding.cross_account)
    return (
        "no --trusted-accounts or --org-accounts (TRUSTED_ACCOUNTS, ORG_ACCOUNTS): every caller from another account "
        f"counts as unknown (the unknown_account rule); {outsiders} of the {run.counts()['denials']} denial(s) here "
        "are by such callers"
    )


def _denials(source: Any, service: str, window: Window, run: AlertsRun) -> Iterator[tuple[dict[str, Any], datetime]]:
    """The source's denials of ``service`` in the window, each with its time; what cannot be read is a problem."""
    from analysis.denials import audits_service, is_denial
    from analysis.records import Malformed, Skipped

    try:
        for item in source.read():
            if isinstance(item, Skipped):
                run.records_read += item.count
                continue
            if isinstance(item, Malformed):
                run.problems.append(str(item))
                continue
            if not isinstance(item, dict):
                continue
            run.records_read += 1
            if not (is_denial(item) and audits_service(item, service)):
                continue
            at = moment(item.get("eventTime"))
            if at is None:
                run.problems.append(f"{source.name}: a denial without a readable eventTime (eventID {_id(item)})")
                continue
            if (window.start is None or at >= window.start) and (window.end is None or at < window.end):
                yield item, at
    except Exception as error:  # a failing source is the run's problem; the other sources go on
        from analysis.aws_errors import describe_error

        run.problems.append(f"{source.name}: failed ({describe_error(error)})")


def _replay(
    denials: list[tuple[dict[str, Any], datetime]],
    settings: Settings,
    suppressions: Suppressions | None,
    run: AlertsRun,
) -> None:
    from analysis.alerting.replay import replay
    from analysis.alerting.rules import alert_rules
    from analysis.contract import BUILDING, Finding
    from analysis.event_finding import event_finding
    from analysis.settings import advice_options

    options = advice_options(settings)
    kept: list[tuple[Finding, str, datetime]] = []
    suppressed: list[Outcome] = []
    suppressed_ids: set[str] = set()
    for record, at in sorted(denials, key=lambda denial: denial[1]):  # stable: ties keep the sources' order
        try:
            finding = Finding.model_validate(event_finding(record, options), context=BUILDING)
        except Exception as error:  # a bug meeting one record: named, never the whole run
            run.problems.append(f"eventID {_id(record)}: cannot be read ({type(error).__name__}: {error})")
            continue
        matched = suppressions.matching(finding, at) if suppressions is not None else None
        if matched is not None and _id(record) in suppressed_ids:  # delivered twice: counted once, as replay does
            suppressed.append(Outcome(_id(record), at, finding, "redelivered", why="an eventID already counted"))
        elif matched is not None:
            suppressed_ids.add(_id(record))
            suppressed.append(Outcome(_id(record), at, finding, "suppressed", why=_suppressed_by(matched)))
        else:
            kept.append((finding, _id(record), at))
    replayed = replay(kept, alert_rules(settings), options)
    records = {_id(record): record for record, _ in denials}
    outcomes = [_outcome(_probed(one, records, options)) for one in replayed] + suppressed
    run.outcomes = sorted(outcomes, key=lambda outcome: outcome.at)  # stable: suppressed after same-time others


def _probed(one: Replayed, records: dict[str, dict[str, Any]], options: Any) -> Replayed:
    """An alert in which reconnaissance fired gets the report's advice ("do not grant: investigate"), as the alert
    function gives it (``analysis.alert_service``)."""
    from dataclasses import replace

    from analysis.contract import BUILDING, Finding
    from analysis.event_finding import event_finding

    decision = one.decision
    if decision is None or decision.outcome != "alert" or "reconnaissance" not in {r.name for r in decision.rules}:
        return one
    probing = event_finding(records[one.event_id], options, reconnaissance=True)
    return replace(one, finding=Finding.model_validate(probing, context=BUILDING))


def _outcome(one: Replayed) -> Outcome:
    decision = one.decision
    if decision is None:
        return Outcome(one.event_id, one.at, one.finding, "redelivered", why="an eventID already counted")
    rules = tuple((rule.name, rule.reason) for rule in decision.rules)
    if decision.outcome == "alert":
        return Outcome(one.event_id, one.at, one.finding, "alert", rules, decision.why, decision.suppressed)
    if decision.outcome == "count":
        fate: Fate = "folded" if getattr(decision, "folded_into", "") else "counted"
        return Outcome(one.event_id, one.at, one.finding, fate, rules, decision.why)
    return Outcome(one.event_id, one.at, one.finding, "no_rule", rules, decision.why or "no rule fired")


def _suppressed_by(suppression: Suppression) -> str:
    return str(suppression)


def _id(record: dict[str, Any]) -> str:
    value = record.get("eventID")
    return value if isinstance(value, str) else ""


# --- what the command prints ------------------------------------------------------------------------------------


def alerts_json(run: AlertsRun) -> str:
    return json.dumps(run.as_dict(), indent=2, ensure_ascii=False) + "\n"


def alerts_text(run: AlertsRun) -> str:
    """For a person: the window and its counts, each alert with why, then what did not alert, grouped."""
    counts = run.counts()
    lines = [
        f"{_what_was_read(run)}; sources: {', '.join(run.sources)}",
        f"{counts['records_read']} records read, {counts['denials']} denials: {counts['alert']} alerts, "
        f"{counts['counted']} counted, {counts['folded']} folded, {counts['no_rule']} no rule fired, "
        f"{counts['suppressed']} suppressed, {counts['redelivered']} redelivered",
        "",
    ]
    for number, alert in enumerate(run.alerts, 1):
        shown = alert.as_dict()
        caller = shown["caller_account"]
        account = shown["account"] or "unknown"
        if caller and caller != account:
            account = f"{account} (caller {caller})"
        lines.append(
            f"{number:>3}. {shown['time']}  {shown['principal_name']} in {account} denied {shown['action']} "
            f"[{shown['severity']}, fix: {shown['fix']}]"
            + (f"; carries {alert.carried} earlier event(s) of the key, counted" if alert.carried else "")
        )
        lines += [f"       {name}: {reason}" for name, reason in alert.rules]
    if not run.alerts:
        lines.append("no alert")
    others = [outcome for outcome in run.outcomes if outcome.fate in ("counted", "folded", "suppressed")]
    if others:
        lines += ["", "not alerted (counted, folded into an alert, or suppressed):"]
        grouped = Counter(_grouped(outcome) for outcome in others)
        lines += [f"  {count:>4} x {what}" for what, count in sorted(grouped.items())]
    return "\n".join(lines) + "\n"


def _what_was_read(run: AlertsRun) -> str:
    """The window, or what a run without one read: every record of the sources (and when its denials happened)."""
    start, end = iso(run.window.start), iso(run.window.end)
    if start and end:
        return f"window {start} .. {end}"
    if start:
        return f"window from {start} (no end)"
    if end:
        return f"window before {end} (no start)"
    times = [outcome.at for outcome in run.outcomes]
    if not times:
        return "all records in the sources (no denial among them)"
    return f"all records in the sources (denials from {iso(min(times))} to {iso(max(times))})"


def _grouped(outcome: Outcome) -> str:
    shown = outcome.as_dict()
    return f"{outcome.fate}: {shown['principal_name']} {shown['action']} ({outcome.why})"


__all__ = [
    "FATES",
    "AlertsRequest",
    "AlertsRequestError",
    "AlertsRun",
    "Outcome",
    "alerts_json",
    "alerts_text",
    "alerts_window",
    "organization_note",
    "run_alerts",
]
