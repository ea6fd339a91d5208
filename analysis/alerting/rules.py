"""Which of issue 9's alert rules one denial fires: pure functions of the event's finding and what the state knows.

The finding is one event's (``analysis.event_finding``); the ``Observation`` is what the state store tells about
its principal and key. Each rule that fires says why in words built only from checked values (an action matching
IAM's spelling, 12-digit accounts, counts), never from free text of the log.

The windows are half-open and end at the event: a count "within M minutes" holds the events at times
``(t - M, t]`` (this event included). That is the report's reconnaissance window seen from its last event
(``analysis.remedies.reconnaissance``: ``[s, s + T)`` from a first event ``s``), so the alert fires on some event of a
principal exactly when the report calls that principal a prober (tests/unit/test_alert_rules.py checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from analysis.catalog import access_level
from analysis.contract import Finding, as_finding
from analysis.model import Options
from analysis.remedies.situation import Situation
from analysis.severity import CHANGING_LEVELS

FIRST_SEEN = "first_seen"
SENSITIVE_ACTION = "sensitive_action"
UNKNOWN_ACCOUNT = "unknown_account"
ROOT = "root"
BURST = "burst"
RECONNAISSANCE = "reconnaissance"
ORG_POLICY = "org_policy"
RULE_NAMES = (FIRST_SEEN, SENSITIVE_ACTION, UNKNOWN_ACCOUNT, ROOT, BURST, RECONNAISSANCE, ORG_POLICY)

SENSITIVE_LEVELS = CHANGING_LEVELS | {"Tagging"}  # the IAM catalog's access levels that change something
PASS_ROLE = "iam:passrole"  # always sensitive: it hands a role's permissions to a service
_POLICY_NAMES = {"scp": "a service control policy (SCP)", "rcp": "a resource control policy (RCP)"}


@dataclass(frozen=True)
class AlertRules:
    """The rules' settings. Burst: CIS AWS Foundations' unauthorized-API-calls alarm sums denials over 300 seconds
    and alarms at 1, for the whole account, and its own "Impact" note says console pages trip it; per principal we
    keep its 5-minute period and ask for 10 denials (the report's reconnaissance threshold), which a person's retries
    or a console page's optional reads do not reach and a looping script does."""

    retention_days: int = 30
    burst_denials: int = 10
    burst_minutes: int = 5
    recon_distinct_actions: int = Options.recon_distinct_actions
    recon_window_minutes: int = Options.recon_window_minutes
    period_hours: int = 24
    enabled: frozenset[str] = frozenset(RULE_NAMES)

    def __post_init__(self) -> None:
        unknown = sorted(self.enabled - set(RULE_NAMES))
        if unknown:
            raise ValueError(f"not an alert rule: {', '.join(unknown)} (the rules: {', '.join(RULE_NAMES)})")
        for name in ("retention_days", "burst_denials", "burst_minutes", "recon_distinct_actions",
                     "recon_window_minutes", "period_hours"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    @property
    def burst_window(self) -> timedelta:
        return timedelta(minutes=self.burst_minutes)

    @property
    def recon_window(self) -> timedelta:
        return timedelta(minutes=self.recon_window_minutes)

    @property
    def period(self) -> timedelta:
        return timedelta(hours=self.period_hours)


class RunSettings(Protocol):
    """What ``alert_rules`` reads of ``analysis.settings.Settings`` (a protocol: this layer sits below settings)."""

    @property
    def recon_distinct_actions(self) -> int: ...

    @property
    def recon_window_minutes(self) -> int: ...


# The settings the lead adds to analysis.settings.Settings (field, environment variable); until then the defaults.
ALERT_SETTINGS = {
    "alert_retention_days": "ALERT_RETENTION_DAYS",
    "alert_burst_denials": "ALERT_BURST_DENIALS",
    "alert_burst_minutes": "ALERT_BURST_MINUTES",
    "alert_period_hours": "ALERT_PERIOD_HOURS",
    "alert_rules": "ALERT_RULES",
}


def alert_rules(settings: RunSettings) -> AlertRules:
    """The rules of a run: reconnaissance exactly as the report's settings say, the rest from the alert settings."""
    defaults = AlertRules()
    enabled = getattr(settings, "alert_rules", None)
    return AlertRules(
        retention_days=getattr(settings, "alert_retention_days", defaults.retention_days),
        burst_denials=getattr(settings, "alert_burst_denials", defaults.burst_denials),
        burst_minutes=getattr(settings, "alert_burst_minutes", defaults.burst_minutes),
        recon_distinct_actions=settings.recon_distinct_actions,
        recon_window_minutes=settings.recon_window_minutes,
        period_hours=getattr(settings, "alert_period_hours", defaults.period_hours),
        enabled=defaults.enabled if enabled is None else frozenset(enabled),
    )


@dataclass(frozen=True)
class Observation:
    """What the state store knows when the event arrives (each count includes the event itself)."""

    seen_before: bool  # the key (principal x owning account x action) was denied within the retention
    denials_in_burst_window: int  # the principal's denials at (t - burst_minutes, t]
    distinct_actions_in_recon_window: int  # distinct actions denied to the principal at (t - recon_minutes, t]


@dataclass(frozen=True)
class FiredRule:
    name: str
    reason: str


@dataclass(frozen=True)
class Seen:
    """One earlier denial of the principal, as the reference ``observe`` reads the history."""

    at: datetime
    action: str
    owner: str | None = None


def is_reconnaissance(distinct_actions: int, threshold: int) -> bool:
    """The report's test (``reconnaissance_principals``: ``present.max() >= distinct_actions``) on one window."""
    return distinct_actions >= threshold


def fired_rules(
    finding: Finding | Mapping[str, Any], observation: Observation, rules: AlertRules, options: Options
) -> list[FiredRule]:
    """The enabled rules the event fires, in ``RULE_NAMES`` order, each with its reason."""
    model = as_finding(finding)
    checks = {
        FIRST_SEEN: _first_seen,
        SENSITIVE_ACTION: _sensitive_action,
        UNKNOWN_ACCOUNT: _unknown_account,
        ROOT: _root,
        BURST: _burst,
        RECONNAISSANCE: _reconnaissance,
        ORG_POLICY: _org_policy,
    }
    fired = []
    for name in RULE_NAMES:
        if name in rules.enabled:
            reason = checks[name](model, observation, rules, options)
            if reason:
                fired.append(FiredRule(name, reason))
    return fired


def _first_seen(finding: Finding, observation: Observation, rules: AlertRules, options: Options) -> str | None:
    if observation.seen_before:
        return None
    return f"first denial of {_actions(finding)} to this principal in {rules.retention_days} days"


def _sensitive_action(finding: Finding, observation: Observation, rules: AlertRules, options: Options) -> str | None:
    for denied in finding.actions:
        if denied.action.lower() == PASS_ROLE:
            return f"{denied.action} hands a role's permissions to a service"
        level = access_level(denied.action)
        if level in SENSITIVE_LEVELS:
            return f"{denied.action} is a {level} action in the IAM catalog"
    return None


def _unknown_account(finding: Finding, observation: Observation, rules: AlertRules, options: Options) -> str | None:
    # the report's own test (remedies' rule 4, severity's "critical"): another account, neither trusted nor in the org
    untrusted = Situation(finding.model_dump(), [], options, reconnaissance=False).caller_untrusted
    if not (finding.cross_account and untrusted):
        return None
    return (
        f"the caller's account {finding.principal.account_id} is neither the owner ({finding.target_account_id}), "
        "trusted, nor in the organization"
    )


def _root(finding: Finding, observation: Observation, rules: AlertRules, options: Options) -> str | None:
    if finding.principal.type != "Root":
        return None
    return f"the root user of account {finding.principal.account_id or 'unknown'} was refused"


def _burst(finding: Finding, observation: Observation, rules: AlertRules, options: Options) -> str | None:
    count = observation.denials_in_burst_window
    if count < rules.burst_denials:
        return None
    return f"{count} denials for this principal within {rules.burst_minutes} minutes (threshold {rules.burst_denials})"


def _reconnaissance(finding: Finding, observation: Observation, rules: AlertRules, options: Options) -> str | None:
    distinct = observation.distinct_actions_in_recon_window
    if not is_reconnaissance(distinct, rules.recon_distinct_actions):
        return None
    return (
        f"{distinct} distinct actions denied to this principal within {rules.recon_window_minutes} minutes "
        f"(threshold {rules.recon_distinct_actions}): this looks like reconnaissance"
    )


def _org_policy(finding: Finding, observation: Observation, rules: AlertRules, options: Options) -> str | None:
    reasons = {reason for denied in finding.actions for reason in denied.reasons}
    named = [_POLICY_NAMES[reason] for reason in ("scp", "rcp") if reason in reasons]
    return f"refused by {' and '.join(named)} of AWS Organizations" if named else None


def _actions(finding: Finding) -> str:
    return ", ".join(denied.action for denied in finding.actions)


def observe(earlier: Iterable[Seen], at: datetime, action: str, owner: str | None, rules: AlertRules) -> Observation:
    """The reference of what the state store answers: ``earlier`` holds the principal's denials before this one
    (at ``at``, of ``action`` on ``owner``'s resources). Times after ``at`` are not counted (a late event sees only
    its past). A key's action compares case-insensitively, as ``alert_key`` does; distinct actions compare as the
    report's ``groupby("action")`` does, as written (the denial row already spells a known action as the catalog)."""
    past = [seen for seen in earlier if seen.at <= at]
    seen_before = any(
        seen.action.lower() == action.lower() and seen.owner == owner and at - seen.at < rules.retention
        for seen in past
    )
    in_burst = [seen for seen in past if at - seen.at < rules.burst_window]
    in_recon = {seen.action for seen in past if at - seen.at < rules.recon_window} | {action}
    return Observation(seen_before, len(in_burst) + 1, len(in_recon))


def actions_in_window(earlier: Iterable[Seen], at: datetime, action: str, window: timedelta) -> tuple[str, ...]:
    """The distinct actions denied to a principal at ``(at - window, at]``, ``action`` (the event's) included, as
    written, in the order of their first denial in the window (ties by name): what a principal's alert covers."""
    first: dict[str, datetime] = {action: at}
    for seen in earlier:
        if seen.at <= at and at - seen.at < window and seen.at < first.get(seen.action, at + window):
            first[seen.action] = seen.at
    return tuple(sorted(first, key=lambda name: (first[name], name)))


__all__ = [
    "ALERT_SETTINGS",
    "RULE_NAMES",
    "AlertRules",
    "FiredRule",
    "Observation",
    "Seen",
    "actions_in_window",
    "alert_rules",
    "fired_rules",
    "is_reconnaissance",
    "observe",
]
