"""Issue 9's real-time alerts, the pure part: which rules a denial fires (``rules``) and whether its key alerts now,
is only counted, or is ignored (``dedup``). No I/O: the state store and the publishers are the handler's."""

from analysis.alerting.dedup import Decision, Marker, Tally, alert_key, decide, triage
from analysis.alerting.rules import (
    ALERT_SETTINGS,
    RULE_NAMES,
    AlertRules,
    FiredRule,
    Observation,
    Seen,
    alert_rules,
    fired_rules,
    is_reconnaissance,
    observe,
)

__all__ = [
    "ALERT_SETTINGS",
    "RULE_NAMES",
    "AlertRules",
    "Decision",
    "FiredRule",
    "Marker",
    "Observation",
    "Seen",
    "Tally",
    "alert_key",
    "alert_rules",
    "decide",
    "fired_rules",
    "is_reconnaissance",
    "observe",
    "triage",
]
