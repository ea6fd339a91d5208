"""The application layer of the alerts: one EventBridge event in, its denials decided and published.

``functions/denial_alert`` and the CLI's ``alert`` command are a few lines over ``alert_on_event``. For each denial
of the audited service in the event: its finding (``analysis.event_finding``, the daily report's advice for one
event), then a matching suppression (``analysis.alerting.suppressions``) makes it counted and never published; with
the state table the rules and the one-alert-per-key-and-period store decide (``analysis.alerting``); what alerts is
published (``analysis.alert_delivery``: SNS, and Security Hub when switched on). Nothing here loads pandas.

Delivery is at least once (``analysis.alerting.store``'s requests 3b, 4 and 1r): an alert the store claimed stays
pending until it is published. When Publish raises, the other records of the event are still handled, then
``AlertsNotPublished`` is raised (the first error its cause), so the invocation fails and Lambda retries it (twice,
a minute and two minutes later; then the function's dead-letter queue: EventBridge does not redeliver a failed
invocation): its records are redeliveries then, and those whose alert is still pending (claimed longer than the
store's lease ago) are published again. A DynamoDB error of the alert state fails the invocation the same way
(``AlertStateFailed``, metric StateErrors), never counted as a malformed record. An EventBridge event holds one
record; a bare list of records (the CLI, tests) may hold several.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from analysis.contract import BUILDING, Finding
from analysis.settings import Settings, advice_options, redaction_key

if TYPE_CHECKING:
    from analysis.alerting.dedup import Tally
    from analysis.alerting.rules import AlertRules
    from analysis.alerting.suppressions import Suppressions

NO_STATE = "off: no STATE_TABLE, one alert per denial"
RECONNAISSANCE = "reconnaissance"  # the rule (analysis.alerting.rules) whose alert gets the report's advice
WITH_STATE = "on: one alert per key (principal x account x action) and period"


@dataclass(frozen=True)
class AlertClients:
    """The boto3 clients an alert may use; None: that part is off (no state, nothing published there)."""

    sns: Any = None
    dynamodb: Any = None
    securityhub: Any = None


@dataclass
class AlertRun:
    """What one EventBridge event gave: its denials' findings, the messages published for them, and (with the
    state table) the tally of alerts raised, suppressed, de-duplicated, redelivered and ignored."""

    records: int = 0
    denials: int = 0
    findings: list[Finding] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    tally: Tally = field(default_factory=lambda: _new_tally())
    deduplication: str = ""
    suppressed: int = 0
    expired_suppressions: list[str] = field(default_factory=list)
    security_hub: list[str] = field(default_factory=list)  # the ASFF finding Ids imported
    malformed: int = 0  # of ``problems``: records that could not be read (the others: suppressions, publishing)
    suppression_problems: int = 0
    publish_problems: int = 0
    republished: int = 0  # redeliveries whose alert the first delivery claimed and did not finish publishing
    suppression_overridden: int = 0  # denials a suppression matched but could not hide (root, SCP/RCP, cross-account)
    state_problems: int = 0  # of ``problems``: DynamoDB requests of the alert state that failed (after retries)

    def summary(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "denials": self.denials,
            "alerts": len(self.published),
            "message_ids": self.published,
            "security_hub_findings": self.security_hub,
            "problems": self.problems,
            "deduplication": self.deduplication,
            "deduplicated": self.tally.deduplicated,
            "folded": self.tally.folded,  # of the deduplicated: folded into their principal's alert
            "redelivered": self.tally.redelivered,
            "republished": self.republished,
            "suppressed": self.suppressed,
            "suppression_overridden": self.suppression_overridden,
            "expired_suppressions": self.expired_suppressions,
            "ignored": dict(self.tally.ignored),
            "findings": [
                {
                    "principal": f.principal.arn,
                    "actions": [a.action for a in f.actions],
                    "kind": f.remedy.kind if f.remedy else None,
                }
                for f in self.findings
            ],
        }

    def metrics(self) -> dict[str, int]:
        return {
            "Denials": self.denials,
            "Alerts": len(self.published),
            "AlertsSuppressed": self.suppressed,
            "AlertsDeduplicated": self.tally.deduplicated,
            "AlertsFolded": self.tally.folded,  # of AlertsDeduplicated: folded into their principal's alert
            "EventsRedelivered": self.tally.redelivered,
            "AlertsRepublished": self.republished,
            "EventsIgnored": sum(self.tally.ignored.values()),
            "SuppressionsExpired": len(self.expired_suppressions),
            "SecurityHubFindings": len(self.security_hub),
            "SuppressionProblems": self.suppression_problems,
            "PublishProblems": self.publish_problems,
            "SuppressionsOverridden": self.suppression_overridden,
            "MalformedRecords": self.malformed,
            "StateErrors": self.state_problems,
        }


def _new_tally() -> Tally:
    from analysis.alerting.dedup import Tally

    return Tally()


def alert_on_event(
    event: Any,
    settings: Settings,
    sns: Any = None,
    dynamodb: Any = None,
    *,
    securityhub: Any = None,
    suppressions: Suppressions | None = None,
    now: datetime | None = None,
) -> AlertRun:
    """Hand each denial of the audited service in one event to the remedy engine, and alert.

    The event is what EventBridge delivers (``detail`` the CloudTrail record); a bare record works too.
    A denial a suppression matches (principal, action or account; not expired at ``now``) is counted and
    dropped. With ``settings.state_table`` and a DynamoDB client, a denial alerts only when an alert rule
    fires (``analysis.alerting.rules``) and its key has not alerted within the period; the others are counted
    (``analysis.alerting.store``), and a redelivered eventID is counted once. Without them (the CLI, a local
    run. ``sns``/``securityhub`` None: nothing is published there.

    With the state table an alert is pending until published (the store's request 4 clears it); a redelivered event
    whose alert is still pending is published again. When Publish raised, ``AlertsNotPublished`` is raised once the
    event's other records are handled (the first error its cause, the run on it), so the invocation fails and is
    retried.
    """
    from analysis.alerting.rules import alert_rules
    from analysis.alerting.store import AlertStateError, AlertStore
    from analysis.denials import audits_service, is_denial
    from analysis.event_finding import event_finding
    from analysis.records import Malformed, unwrap
    from analysis.redact import random_redact_key

    now = now or datetime.now(UTC)
    clients = AlertClients(sns, dynamodb, securityhub)
    run = AlertRun()
    if suppressions is not None:  # what could not be read is named; expired suppressions no longer apply
        run.problems += list(suppressions.problems)
        run.suppression_problems = len(suppressions.problems)
        run.expired_suppressions = [str(expired) for expired in suppressions.expired(now)]
    options = advice_options(settings)
    rules = alert_rules(settings)
    store = AlertStore(dynamodb, settings.state_table, rules) if dynamodb and settings.state_table else None
    run.deduplication = WITH_STATE if store else NO_STATE
    redact_key = redaction_key(settings) or random_redact_key()  # one event's findings: one key, even a random one
    failure: Exception | None = None  # the first Publish error
    state_failure: Exception | None = None  # the first DynamoDB error of the alert state
    for item in unwrap(event, "event"):
        if isinstance(item, Malformed):
            run.problems.append(str(item))
            run.malformed += 1
            continue
        if not isinstance(item, dict):
            continue
        run.records += 1
        try:
            if not (is_denial(item) and audits_service(item, settings.service)):
                _ignore(run, item, settings, counted=store is not None)
                continue
            finding = Finding.model_validate(event_finding(item, options), context=BUILDING)
            if suppressions is not None:
                if suppressions.matching(finding, now) is not None:
                    run.denials += 1
                    run.suppressed += 1
                    continue
                run.suppression_overridden += _overridden(suppressions, finding, now)
            decision, recorded = _decide(store, finding, item, options, run, now) if store else (None, None)
        except AlertStateError as error:  # not the record's fault: the invocation fails below, Lambda retries it
            run.problems.append(f"alert state: {error}; the event is left to the retry")
            run.state_problems += 1
            state_failure = state_failure or error
            continue
        except Exception as error:  # a bug meeting one event: counted and named, never a lost invocation
            run.problems.append(f"event: cannot be read ({type(error).__name__}: {error})")
            run.malformed += 1
            continue
        run.denials += 1
        if store and (decision is None or decision.outcome != "alert"):
            continue
        if decision is not None and RECONNAISSANCE in {rule.name for rule in decision.rules}:
            # the state saw the report's threshold crossed: the report's advice, "do not grant: investigate"
            finding = Finding.model_validate(event_finding(item, options, reconnaissance=True), context=BUILDING)
        if settings.redact:
            from analysis.redact import redact_report

            redacted = redact_report({"findings": [finding.model_dump(mode="json")]}, redact_key)
            finding = Finding.model_validate(redacted["findings"][0], context=BUILDING)
        run.findings.append(finding)
        first_seen = recorded.first_seen if recorded is not None else None
        try:
            _publish(clients, settings, rules, finding, decision, run, first_seen)
        except Exception as error:  # the alert stays pending: raised again below, the retry publishes it
            run.problems.append(f"alert: not published, left pending for the retry ({type(error).__name__})")
            run.publish_problems += 1
            failure = failure or error
            continue
        if store and recorded is not None:
            _settled(store, recorded, run)
    if state_failure is not None:
        raise AlertStateFailed(run) from state_failure
    if failure is not None:
        raise AlertsNotPublished(run) from failure
    return run


class AlertsFailed(RuntimeError):
    """The event's records are handled, but the invocation must fail so that Lambda delivers the event again.
    ``run`` is what the event gave (its metrics count the failures), for the handler to emit before failing."""

    def __init__(self, message: str, run: AlertRun) -> None:
        super().__init__(message)
        self.run = run


class AlertsNotPublished(AlertsFailed):
    """Publish raised for at least one alert of the event (the first error is the cause): the alerts stay pending and
    the retry publishes them (the store's request 1r). Metric PublishProblems."""

    def __init__(self, run: AlertRun) -> None:
        super().__init__(f"{run.publish_problems} alert(s) not published, left pending for the retry", run)


class AlertStateFailed(AlertsFailed):
    """A DynamoDB request of the alert state failed for at least one record (``store.AlertStateError``, the first
    the cause; raised in preference to ``AlertsNotPublished`` when both happened). Metric StateErrors. What the retry
    does depends on the request that failed (``analysis.alerting.store``'s docstring): an alert claimed (3b) is
    published by it; an error before the claim leaves the event counted at most, never a principal's marker."""

    def __init__(self, run: AlertRun) -> None:
        super().__init__(
            f"{run.state_problems} record(s) failed on the alert state, {run.publish_problems} alert(s) not "
            "published; left to the retry",
            run,
        )


def _overridden(suppressions: Suppressions, finding: Finding, now: datetime) -> int:
    """1 when a suppression in force matches the denial by its fields but cannot hide it (it is protected: the root
    user, an SCP/RCP refusal, another or an unknown account, and the entry does not name the principal literally)."""
    from analysis.alerting.suppressions import protected

    if not protected(finding):
        return 0
    return int(any(item.matches(finding) and not item.is_expired(now) for item in suppressions.items))


def _settled(store: Any, recorded: Any, run: AlertRun) -> None:
    """Request 4: the alert is published, no longer pending. A failure here is a problem (a DynamoDB one counted in
    StateErrors), never an exception (the retry would publish the alert again)."""
    from analysis.alerting.store import AlertStateError

    try:
        store.published(recorded)
    except Exception as error:
        run.problems.append(f"alert: published, but still marked pending ({type(error).__name__}: {error})")
        run.state_problems += isinstance(error, AlertStateError)


def _ignore(run: AlertRun, record: Mapping[str, Any], settings: Settings, *, counted: bool) -> None:
    from analysis.alerting.dedup import triage

    if counted:
        run.tally.add(triage(record, settings.service))


def _decide(
    store: Any, finding: Finding, record: Mapping[str, Any], options: Any, run: AlertRun, now: datetime
) -> tuple[Any, Any]:
    """The store's answer for one denial and what it read: the decision None for a redelivery (tallied), or the
    pending alert of a redelivery whose first delivery did not finish publishing it, else ``dedup.Decision``
    (tallied)."""
    from analysis.alerting.rules import fired_rules
    from analysis.alerting.store import Denial

    at = _event_moment(record.get("eventTime"))
    recorded = store.record(Denial.of(finding, str(record.get("eventID") or ""), at), now)
    if recorded.redelivered:
        run.tally.add("redelivered")
        if recorded.pending is not None:
            run.republished += 1
        return recorded.pending, recorded
    decision = store.settle(recorded, fired_rules(finding, recorded.observation, store.rules, options))
    run.tally.add(decision)
    return decision, recorded


def _event_moment(value: Any) -> datetime:
    """The record's ``eventTime`` (CloudTrail writes ``2026-11-28T09:15:02Z``), aware, in UTC."""
    from analysis.times import moment

    at = moment(value)
    if at is None:
        raise ValueError(f"the record has no readable eventTime ({str(value)[:40]!r})")
    return at


def _publish(
    clients: AlertClients,
    settings: Settings,
    rules: AlertRules,
    finding: Finding,
    decision: Any,
    run: AlertRun,
    first_seen: datetime | None = None,
) -> None:
    """SNS (and Security Hub when switched on): ``analysis.alert_delivery``. A principal's alert (burst or
    reconnaissance fired) names the actions it covers, denied within the longest of the two windows (as the store
    counts them), and the period its principal's other denials are folded into it."""
    from analysis.alert_delivery import AlertOutput, publish_alert

    output = AlertOutput(
        settings.alert_topic_arn,
        settings.service,
        settings.alert_sns_format,
        settings.alert_security_hub,
        settings.alert_security_hub_product_arn,
        settings.redact,
        window_minutes=max(rules.burst_minutes, rules.recon_window_minutes),
        period_hours=rules.period_hours,
    )
    covered = tuple(decision.actions_in_window) if decision is not None else ()
    published = publish_alert(
        clients, output, finding, _fired(decision), _carried(decision), actions_in_window=covered, first_seen=first_seen
    )
    run.published += published.message_ids
    run.security_hub += published.security_hub_ids
    run.problems += published.problems
    run.publish_problems += len(published.problems)


def _fired(decision: Any) -> Sequence[Any]:
    return tuple(decision.rules) if decision is not None else ()


def _carried(decision: Any) -> int | None:
    return decision.suppressed if decision is not None else None
