"""Issue 9's real-time alerts, the pure part: which rules a denial fires (``rules``) and whether its key alerts now,
is only counted (folded into an alert of its principal, too), or is ignored (``dedup``), and the same decisions
replayed from plain data (``replay``). No I/O: the state store and the publishers are the handler's."""

from analysis.alerting.dedup import (
    OWN_RULES,
    PRINCIPAL_RULES,
    SWEEP_WINDOW,
    Decision,
    Marker,
    PrincipalMarker,
    Tally,
    alert_key,
    decide,
    triage,
)
from analysis.alerting.rules import (
    ALERT_SETTINGS,
    RULE_NAMES,
    AlertRules,
    FiredRule,
    Observation,
    Seen,
    actions_in_window,
    alert_rules,
    fired_rules,
    is_reconnaissance,
    observe,
)

__all__ = [
    "ALERT_SETTINGS",
    "OWN_RULES",
    "PRINCIPAL_RULES",
    "RULE_NAMES",
    "SWEEP_WINDOW",
    "AlertRules",
    "Decision",
    "FiredRule",
    "Marker",
    "Observation",
    "PrincipalMarker",
    "Seen",
    "Tally",
    "actions_in_window",
    "alert_key",
    "alert_rules",
    "decide",
    "fired_rules",
    "is_reconnaissance",
    "observe",
    "triage",
]
