"""Issue 9's alert rules on one event's finding (analysis.alerting.rules): each fires, and stops at its edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.alerting.rules import (
    BURST,
    FIRST_SEEN,
    ORG_POLICY,
    RECONNAISSANCE,
    ROOT,
    RULE_NAMES,
    SENSITIVE_ACTION,
    UNKNOWN_ACCOUNT,
    AlertRules,
    Observation,
    Seen,
    actions_in_window,
    alert_rules,
    fired_rules,
    observe,
)
from analysis.contract import BUILDING, Finding
from analysis.event_finding import event_finding
from analysis.model import Options
from analysis.settings import load_settings
from tests import factories as f

pytestmark = pytest.mark.unit

QUIET = Observation(seen_before=True, denials_in_burst_window=1, distinct_actions_in_recon_window=1)
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ACTION = "apprunner:DescribeService"


def finding_of(record: dict, options: Options | None = None) -> Finding:
    return Finding.model_validate(event_finding(record, options or Options()), context=BUILDING)


def names(record: dict, observation: Observation = QUIET, rules: AlertRules | None = None, **options) -> list[str]:
    opts = Options(**options)
    return [r.name for r in fired_rules(finding_of(record, opts), observation, rules or AlertRules(), opts)]


def test_a_read_by_a_known_principal_in_its_own_account_fires_nothing():
    assert names(f.record("DescribeService")) == []


def test_first_seen_fires_only_when_the_store_has_not_seen_the_key():
    first = Observation(seen_before=False, denials_in_burst_window=1, distinct_actions_in_recon_window=1)
    assert names(f.record(), first) == [FIRST_SEEN]
    assert names(f.record(), QUIET) == []


# Access levels as the Service Authorization Reference lists them for App Runner and IAM.
@pytest.mark.parametrize(
    ("event_name", "source", "sensitive"),
    [
        ("TagResource", "apprunner.amazonaws.com", True),  # Tagging
        ("UpdateService", "apprunner.amazonaws.com", True),  # Write
        ("DeleteService", "apprunner.amazonaws.com", True),  # Write
        ("DescribeService", "apprunner.amazonaws.com", False),  # Read
        ("ListServices", "apprunner.amazonaws.com", False),  # List
        ("PutRolePolicy", "iam.amazonaws.com", True),  # Permissions management
        ("GetRole", "iam.amazonaws.com", False),  # Read
    ],
)
def test_sensitive_action_follows_the_catalog_access_level(event_name, source, sensitive):
    request = {"roleName": "Deploy"} if source.startswith("iam") else None
    record = f.record(event_name, event_source=source, request=request)
    assert (SENSITIVE_ACTION in names(record)) is sensitive


def test_pass_role_is_always_sensitive_and_the_reason_says_why():
    user = f.iam_user()
    role = f"arn:aws:iam::{f.ACCOUNT}:role/AppRunnerECRAccessRole"
    record = f.record("CreateService", error_message=f.pass_role_message(user["arn"], role), request={})
    fired = fired_rules(finding_of(record), QUIET, AlertRules(), Options())
    sensitive = [r.reason for r in fired if r.name == SENSITIVE_ACTION]
    assert sensitive == ["iam:PassRole hands a role's permissions to a service"]


def test_unknown_account_fires_for_a_stranger_and_not_for_trusted_organization_or_owner():
    stranger = f.record(identity=f.iam_user(account=f.OTHER_ACCOUNT))
    assert names(stranger) == [UNKNOWN_ACCOUNT]
    assert names(stranger, trusted_accounts=frozenset({f.OTHER_ACCOUNT})) == []
    assert names(stranger, organization_accounts=frozenset({f.OTHER_ACCOUNT})) == []
    assert names(f.record(identity=f.iam_user(account=f.ACCOUNT))) == []  # the owner's own user
    reason = fired_rules(finding_of(stranger), QUIET, AlertRules(), Options())[0].reason
    assert reason == (
        f"the caller's account {f.OTHER_ACCOUNT} is neither the owner ({f.ACCOUNT}), trusted, nor in the organization"
    )


def test_root_fires_for_the_root_user_only():
    assert names(f.record(identity=f.root())) == [ROOT]
    assert names(f.record(identity=f.assumed_role())) == []
    assert names(f.record(identity=f.root(f.OTHER_ACCOUNT))) == [UNKNOWN_ACCOUNT, ROOT]


# The forms of docs/messages.md (reason scp / rcp), on App Runner's DescribeService.
@pytest.mark.parametrize(
    ("tail", "policy"),
    [
        ("with an explicit deny in a service control policy", "a service control policy (SCP)"),
        (
            "with an explicit deny in a service control policy: "
            "arn:aws:organizations::987654321098:policy/o-qv5af4abcd/service_control_policy/p-2kgnabcd",
            "a service control policy (SCP)",
        ),
        ("because no service control policy allows the {action} action", "a service control policy (SCP)"),
        ("with an explicit deny in a resource control policy", "a resource control policy (RCP)"),
        (
            "with an explicit deny in a VPC endpoint policy transitively through a service control policy",
            "a service control policy (SCP)",
        ),
    ],
)
def test_org_policy_fires_on_scp_and_rcp_messages(tail, policy):
    user = f.iam_user()
    record = f.record(error_message=f.message(user["arn"], ACTION, f.service_arn(), tail))
    fired = fired_rules(finding_of(record), QUIET, AlertRules(), Options())
    assert [(r.name, r.reason) for r in fired] == [(ORG_POLICY, f"refused by {policy} of AWS Organizations")]


@pytest.mark.parametrize(
    "tail",
    [
        "because no identity-based policy allows the {action} action",
        "with an explicit deny in an identity-based policy",
        "because no permissions boundary allows the {action} action",
        "with an explicit deny in a VPC endpoint policy",
    ],
)
def test_org_policy_does_not_fire_on_other_policies(tail):
    record = f.record(error_message=f.message(f.iam_user()["arn"], ACTION, f.service_arn(), tail))
    assert ORG_POLICY not in names(record)


@pytest.mark.parametrize(("denials", "fires"), [(9, False), (10, True), (11, True)])
def test_burst_fires_at_n_denials(denials, fires):
    observation = Observation(seen_before=True, denials_in_burst_window=denials, distinct_actions_in_recon_window=1)
    assert (BURST in names(f.record(), observation)) is fires


@pytest.mark.parametrize(("distinct", "fires"), [(9, False), (10, True)])
def test_reconnaissance_fires_at_k_distinct_actions(distinct, fires):
    observation = Observation(seen_before=True, denials_in_burst_window=1, distinct_actions_in_recon_window=distinct)
    assert (RECONNAISSANCE in names(f.record(), observation)) is fires


def test_a_rule_switched_off_never_fires():
    rules = AlertRules(enabled=frozenset(RULE_NAMES) - {ROOT})
    assert names(f.record(identity=f.root()), rules=rules) == []
    with pytest.raises(ValueError, match="not an alert rule: bursts"):
        AlertRules(enabled=frozenset({"bursts"}))


def test_reconnaissance_thresholds_come_from_the_reports_settings():
    rules = alert_rules(load_settings({"RECON_ACTIONS": "4", "RECON_MINUTES": "3"}))
    assert (rules.recon_distinct_actions, rules.recon_window_minutes) == (4, 3)
    defaults = alert_rules(load_settings({}))
    assert (defaults.recon_distinct_actions, defaults.recon_window_minutes) == (10, 10)  # docs/CONTRACT.md
    assert (defaults.retention_days, defaults.burst_denials, defaults.burst_minutes, defaults.period_hours) == (
        30,
        10,
        5,
        24,
    )


# --- the windows, counted by the reference observe: (t - M, t], this event included ---------------------------


def test_burst_window_edge_by_hand():
    """Burst 10 within 5 minutes. Nine earlier denials at 09:00:01 … 09:00:09 and this one at 09:05:00: 09:00:01 is
    4 min 59 s back, inside; moved to 09:00:00 (exactly 5 minutes back) it falls out and the count is 9."""
    rules = AlertRules()
    now = T0 + timedelta(minutes=5)
    inside = [Seen(T0 + timedelta(seconds=s), ACTION, f.ACCOUNT) for s in range(1, 10)]
    assert observe(inside, now, ACTION, f.ACCOUNT, rules).denials_in_burst_window == 10
    edge = [Seen(T0, ACTION, f.ACCOUNT), *inside[1:]]
    assert observe(edge, now, ACTION, f.ACCOUNT, rules).denials_in_burst_window == 9


def test_recon_window_edge_by_hand():
    """Recon 10 distinct within 10 minutes. Nine other actions from 09:00:00 and this one at 09:10:00: the one at
    09:00:00 is exactly 10 minutes back, outside (9 distinct); at 09:00:01 it is inside (10)."""
    rules = AlertRules()
    now = T0 + timedelta(minutes=10)
    others = [f"apprunner:{name}" for name in f.APPRUNNER_READ_EVENTS[:9]]
    at_edge = [Seen(T0 + timedelta(seconds=i), a) for i, a in enumerate(others)]
    assert observe(at_edge, now, "apprunner:DescribeCustomDomains", None, rules).distinct_actions_in_recon_window == 9
    inside = [Seen(T0 + timedelta(seconds=i + 1), a) for i, a in enumerate(others)]
    assert observe(inside, now, "apprunner:DescribeCustomDomains", None, rules).distinct_actions_in_recon_window == 10


def test_first_seen_window_is_the_retention_and_the_key():
    rules = AlertRules()  # 30 days
    earlier = [Seen(T0, "APPRUNNER:describeservice", f.ACCOUNT)]
    assert observe(earlier, T0 + timedelta(days=30) - timedelta(seconds=1), ACTION, f.ACCOUNT, rules).seen_before
    assert not observe(earlier, T0 + timedelta(days=30), ACTION, f.ACCOUNT, rules).seen_before
    assert not observe(earlier, T0 + timedelta(days=1), ACTION, f.OTHER_ACCOUNT, rules).seen_before  # another owner
    assert not observe(earlier, T0 + timedelta(days=1), "apprunner:ListServices", f.ACCOUNT, rules).seen_before


# --- the report and the alert never disagree about reconnaissance -------------------------------------------------

# Whole minutes often, so that two events fall exactly a window apart; any second too.
OFFSETS = st.one_of(st.integers(min_value=0, max_value=40).map(lambda m: m * 60), st.integers(0, 40 * 60))
EVENTS = st.lists(
    st.tuples(OFFSETS, st.sampled_from(f.APPRUNNER_READ_EVENTS[:8])),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS, distinct=st.integers(min_value=1, max_value=6), minutes=st.integers(min_value=1, max_value=15))
def test_the_alert_reconnaissance_rule_agrees_with_the_report(events, distinct, minutes):
    """For one principal's denials replayed in time order, some event fires the alert's rule exactly when the
    report's reconnaissance_principals names the principal."""
    from analysis.grouping import reconnaissance_principals

    timed = sorted((T0 + timedelta(seconds=s), f"apprunner:{name}") for s, name in events)
    rows = [{"time": at, "action": action, "principal_key": "p"} for at, action in timed]
    report = "p" in reconnaissance_principals(rows, distinct, minutes)

    rules = AlertRules(recon_distinct_actions=distinct, recon_window_minutes=minutes)
    options = Options(recon_distinct_actions=distinct, recon_window_minutes=minutes)
    finding = finding_of(f.record())
    alerted = False
    for index, (at, action) in enumerate(timed):
        earlier = [Seen(t, a, f.ACCOUNT) for t, a in timed[:index]]
        observation = observe(earlier, at, action, f.ACCOUNT, rules)
        alerted |= RECONNAISSANCE in [r.name for r in fired_rules(finding, observation, rules, options)]
    assert alerted == report


def test_the_actions_a_principals_alert_covers_are_those_of_the_window_in_order_of_first_denial():
    t = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    earlier = [
        Seen(t - timedelta(minutes=10), "a:Old"),  # at the window's open end: out
        Seen(t - timedelta(minutes=9), "a:List"),
        Seen(t - timedelta(minutes=5), "a:Get"),
        Seen(t - timedelta(minutes=4), "a:List"),
        Seen(t - timedelta(minutes=5), "a:Describe"),  # a tie with a:Get: by name
        Seen(t + timedelta(seconds=1), "a:Later"),  # after the event: out
    ]
    window = timedelta(minutes=10)
    assert actions_in_window(earlier, t, "a:Put", window) == ("a:List", "a:Describe", "a:Get", "a:Put")
    assert actions_in_window(earlier, t, "a:List", window) == ("a:List", "a:Describe", "a:Get")
