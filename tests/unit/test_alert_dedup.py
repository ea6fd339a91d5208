"""One alert per key and period (analysis.alerting.dedup): the key, the decision, the storm, events not denials."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest

from analysis.alerting.dedup import Decision, Marker, PrincipalMarker, Tally, alert_key, decide, triage
from analysis.alerting.rules import SENSITIVE_ACTION, AlertRules, FiredRule, Observation, fired_rules
from analysis.contract import BUILDING, Finding
from analysis.event_finding import event_finding
from analysis.model import Options
from tests import factories as f

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
FIRED = [FiredRule("root", "the root user of account 111122223333 was refused")]


def finding_of(record: dict) -> Finding:
    return Finding.model_validate(event_finding(record, Options()), context=BUILDING)


def test_the_key_is_a_digest_of_principal_owner_and_lower_case_action():
    user = f.iam_user()
    expected = hashlib.sha256(f"{user['arn']}\n{f.ACCOUNT}\napprunner:describeservice".encode()).hexdigest()[:32]
    assert alert_key(finding_of(f.record(identity=user))) == "k-" + expected


def test_the_key_ignores_time_region_and_event_and_separates_action_owner_and_principal():
    base = alert_key(finding_of(f.record()))
    assert re.fullmatch(r"k-[0-9a-f]{32}", base)
    assert alert_key(finding_of(f.record(event_time="2026-11-29T23:59:59Z", region="eu-west-1"))) == base
    assert alert_key(finding_of(f.record("ListServices"))) != base
    assert alert_key(finding_of(f.record(recipient=f.OTHER_ACCOUNT))) != base
    assert alert_key(finding_of(f.record(identity=f.iam_user("dev-bob")))) != base


def test_a_key_is_one_events():
    data = event_finding(f.record(), Options())
    data["actions"] = data["actions"] * 2
    with pytest.raises(ValueError, match="one action, not 2"):
        alert_key(data)


def test_a_first_alert_carries_no_count_and_marks_the_key():
    newest = PrincipalMarker(T0, "", frozenset({"root"}))  # every alert becomes the principal's newest (rule 2)
    assert decide(FIRED, None, T0, DAY) == Decision(
        "alert", tuple(FIRED), 0, Marker(T0, 0), "a rule fired", latest=newest
    )


def test_within_the_period_an_event_is_only_counted_even_if_no_rule_fires():
    marker = Marker(T0, 3)
    for fired in (FIRED, []):
        decision = decide(fired, marker, T0 + DAY - timedelta(seconds=1), DAY)
        assert (decision.outcome, decision.marker) == ("count", Marker(T0, 4))


def test_a_late_event_older_than_the_alert_is_counted():
    assert decide(FIRED, Marker(T0, 0), T0 - timedelta(minutes=5), DAY).outcome == "count"


def test_at_the_end_of_the_period_the_key_alerts_again_with_the_count():
    decision = decide(FIRED, Marker(T0, 7), T0 + DAY, DAY)
    assert (decision.outcome, decision.suppressed, decision.marker) == ("alert", 7, Marker(T0 + DAY, 0))


def test_no_rule_and_no_recent_alert_is_ignored_and_the_count_kept():
    assert decide([], None, T0, DAY) == Decision("ignore", why="no rule fired")
    assert decide([], Marker(T0, 5), T0 + DAY, DAY).marker is None  # nothing written: the 5 wait for the next alert


def test_the_storm_1000_identical_denials_make_one_alert_and_the_next_period_carries_999():
    """apprunner:TagResource (Tagging) fires sensitive_action on every event, one a second for 1,000 seconds."""
    rules = AlertRules()
    record = f.record("TagResource")
    finding = finding_of(record)
    key = alert_key(finding)
    store: dict[str, Marker] = {}
    tally = Tally()
    for second in range(1000):
        observation = Observation(True, min(second + 1, 300), 1)
        fired = fired_rules(finding, observation, rules, Options())
        assert SENSITIVE_ACTION in [r.name for r in fired]
        decision = decide(fired, store.get(key), T0 + timedelta(seconds=second), rules.period)
        tally.add(decision)
        if decision.marker is not None:
            store[key] = decision.marker
    assert (tally.alerts, tally.deduplicated) == (1, 999)
    assert store[key] == Marker(T0, 999)
    following = decide(fired_rules(finding, Observation(True, 1, 1), rules, Options()), store[key], T0 + DAY, DAY)
    assert (following.outcome, following.suppressed) == ("alert", 999)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (f.record(error_code=None), "not_denial"),  # a success routed by mistake
        (f.record(error_code="ThrottlingException", error_message="Rate exceeded"), "not_denial"),
        (f.record("GetRole", event_source="iam.amazonaws.com", request={"roleName": "Deploy"}), "other_service"),
        (f.record(), "denial"),
        (f.record(error_code="Client.UnauthorizedOperation"), "denial"),  # the CIS filter's other form
    ],
)
def test_triage_lets_only_denials_of_the_audited_service_through(record, expected):
    assert triage(record, "apprunner") == expected


def test_tally_counts_what_is_ignored_and_why():
    tally = Tally()
    for item in ("not_denial", "not_denial", "other_service", "denial", Decision("ignore")):
        tally.add(item)
    assert (tally.alerts, tally.deduplicated, tally.ignored) == (
        0,
        0,
        {"not_denial": 2, "other_service": 1, "no_rule": 1},
    )


# --- folding per principal: worked by hand from the rule in dedup's docstring -----------------------------------------

RECON = FiredRule("reconnaissance", "10 distinct actions")
BURST = FiredRule("burst", "10 denials")
FIRST = FiredRule("first_seen", "first denial")
SENSITIVE = FiredRule("sensitive_action", "a Write action")
ORG = FiredRule("org_policy", "an SCP")
ROOT = FiredRule("root", "the root user")
HERS = PrincipalMarker(T0, "k-list", frozenset({"reconnaissance"}))


def test_an_alert_in_which_burst_or_reconnaissance_fired_is_the_principals_and_names_the_actions():
    for fired in ([RECON], [FIRST, BURST], [BURST, RECON]):
        decision = decide(fired, None, T0, DAY, key="k-list", actions_in_window=("a:List", "a:Get"))
        assert decision.outcome == "alert"
        assert decision.principal == PrincipalMarker(T0, "k-list", frozenset(rule.name for rule in fired))
        assert decision.actions_in_window == ("a:List", "a:Get")
    plain = decide([FIRST, SENSITIVE], None, T0, DAY, key="k-list", actions_in_window=("a:List",))
    assert (plain.outcome, plain.principal, plain.actions_in_window) == ("alert", None, ())


def test_within_the_period_the_principals_other_keys_are_folded_into_its_alert():
    """Rule 1 folds what the sweep's alert listed, and first_seen and burst whatever it listed."""
    for fired in ([FIRST], [RECON], [FIRST, BURST], [FIRST, BURST, RECON]):
        decision = decide(fired, None, T0 + timedelta(hours=23, minutes=59), DAY, key="k-get", principal=HERS)
        assert (decision.outcome, decision.folded_into, decision.principal) == ("count", "k-list", None)
        assert decision.why == "folded into the principal's reconnaissance alert of 2026-11-28T09:00:00Z (key k-list)"
    # an earlier alert of the key, past its period: its marker goes on counting
    decision = decide([FIRST], Marker(T0 - DAY, 3), T0 + timedelta(minutes=1), DAY, key="k-get", principal=HERS)
    assert (decision.outcome, decision.marker) == ("count", Marker(T0 - DAY, 4))


def test_own_rules_alert_on_their_own_unless_the_principals_alert_listed_them():
    """root, unknown_account, org_policy, sensitive_action: each alerts under a sweep alert that did not list it, and
    the sweep's alert stays the principal's (reconnaissance, which it listed, fired too)."""
    unknown = FiredRule("unknown_account", "outside")
    for own in (ROOT, ORG, unknown, SENSITIVE):
        decision = decide([RECON, own], None, T0 + timedelta(minutes=1), DAY, key="k-get", principal=HERS)
        assert (decision.outcome, decision.principal) == ("alert", None)  # not the principal's: the marker stays
        assert decision.why == f"a rule the principal's alert did not list fired: {own.name}"
        listed = PrincipalMarker(T0, "k-list", frozenset({"reconnaissance", own.name}))
        covered = decide([RECON, own], None, T0 + timedelta(minutes=1), DAY, key="k-get", principal=listed)
        assert covered.outcome == "count"


def test_reconnaissance_after_a_burst_alert_takes_the_marker_unless_older():
    burst = PrincipalMarker(T0, "k-list", frozenset({"burst"}))
    recon = decide([BURST, RECON], None, T0 + timedelta(minutes=1), DAY, key="k-get", principal=burst)
    assert recon.outcome == "alert"
    assert recon.principal == PrincipalMarker(T0 + timedelta(minutes=1), "k-get", frozenset({"burst", RECON.name}))
    # with an own rule too: the same, both named
    both = decide([BURST, RECON, ORG], None, T0 + timedelta(minutes=1), DAY, key="k-get", principal=burst)
    assert both.why == "a rule the principal's alert did not list fired: org_policy, reconnaissance"
    assert both.principal is not None and both.principal.key == "k-get"
    # delivered late, older than the burst's alert: it alerts and leaves the sweep's alert as it is
    late = decide([BURST, RECON], None, T0 - timedelta(minutes=1), DAY, key="k-get", principal=burst)
    assert (late.outcome, late.principal) == ("alert", None)


def test_reconnaissance_after_a_burst_alert_alerts_once_and_the_rest_of_the_sweep_folds_into_it():
    """svc-legacy on the sample day, by hand: burst alert at 02:15:36 (its sweep alert and newest, rules {burst});
    reconnaissance first fires at 02:16:31 with first_seen and burst: not listed, so not folded by rule 1, nor by rule
    2 (not a subset of {burst}): it alerts and replaces both markers; the four later ones fold into it (rule 1)."""
    burst_at = datetime(2026, 11, 28, 2, 15, 36, tzinfo=UTC)
    swept = PrincipalMarker(burst_at, "k-describe", frozenset({"burst"}))
    recon_at = datetime(2026, 11, 28, 2, 16, 31, tzinfo=UTC)
    first = decide([FIRST, BURST, RECON], None, recon_at, DAY, key="k-domains", principal=swept, latest=swept,
                   actions_in_window=("a:List", "a:Describe"))  # fmt: skip
    mark = PrincipalMarker(recon_at, "k-domains", frozenset({"first_seen", "burst", "reconnaissance"}))
    assert (first.outcome, first.principal, first.latest) == ("alert", mark, mark)
    assert first.actions_in_window == ("a:List", "a:Describe")
    assert first.why == "a rule the principal's alert did not list fired: reconnaissance"
    for seconds in (7, 12, 19, 30):  # 02:16:38, :43, :50, 02:17:01
        later = decide([FIRST, BURST, RECON], None, recon_at + timedelta(seconds=seconds), DAY, key=f"k-{seconds}",
                       principal=mark, latest=mark)  # fmt: skip
        assert (later.outcome, later.folded_into) == ("count", "k-domains")
        assert later.why == (
            "folded into the principal's burst, reconnaissance alert of 2026-11-28T02:16:31Z (key k-domains)"
        )


def test_a_write_after_a_sweep_alerts_at_any_time_of_the_period():
    """The reviewer's probe (review2 finding 2): iam:PassRole (first_seen, sensitive_action) 6 minutes, 5 h and
    23.9 h after a sweep alert that listed neither: it alerts each time (no newest alert listed sensitive_action)."""
    sweep = PrincipalMarker(T0, "k-read", frozenset({"first_seen", "burst", "reconnaissance"}))
    for after in (timedelta(minutes=6), timedelta(hours=5), timedelta(hours=23, minutes=54)):
        write = decide([FIRST, SENSITIVE], None, T0 + after, DAY, key="k-passrole", principal=sweep, latest=sweep)
        assert (write.outcome, write.principal, write.folded_into) == ("alert", None, "")
        assert write.why == "a rule the principal's alert did not list fired: sensitive_action"
        assert write.latest == PrincipalMarker(T0 + after, "k-passrole", frozenset({"first_seen", "sensitive_action"}))


def test_folding_ends_with_the_period_and_needs_a_rule_and_another_key():
    after = decide([RECON], None, T0 + DAY, DAY, key="k-get", principal=HERS)
    assert after.outcome == "alert" and after.principal == PrincipalMarker(T0 + DAY, "k-get", frozenset({RECON.name}))
    assert decide([], None, T0 + timedelta(minutes=1), DAY, key="k-get", principal=HERS).outcome == "ignore"
    late = decide([FIRST], None, T0 - timedelta(minutes=1), DAY, key="k-get", principal=HERS)
    assert late.outcome == "count"  # older than the alert, delivered late: within, as for a key
    # the principal's own key is the key's business: its marker says count
    same = decide([RECON], Marker(T0, 0), T0 + timedelta(minutes=1), DAY, key="k-list", principal=HERS)
    assert (same.outcome, same.folded_into) == ("count", "")


def test_the_tally_counts_folded_events_among_the_deduplicated():
    tally = Tally()
    tally.add(decide([RECON], None, T0, DAY, key="k-list"))
    tally.add(decide([FIRST], None, T0, DAY, key="k-get", principal=HERS))
    tally.add(decide([FIRST], Marker(T0, 0), T0, DAY, key="k-list", principal=HERS))
    assert (tally.alerts, tally.deduplicated, tally.folded) == (1, 2, 1)


# --- rule 2, nothing new within the sweep window: worked by hand from dedup's docstring (defaults: 10 minutes) -------

READ = PrincipalMarker(T0, "k-list", frozenset({"first_seen"}))  # the principal's newest alert: a first_seen read


def test_a_sweep_of_8_new_reads_10_seconds_apart_gives_one_alert_and_7_folded():
    """By hand: the 1st alerts and is the newest; the 2nd..8th (10..70 s later, under 10 minutes) fire first_seen
    only, listed by it: folded into it, none becomes the newest."""
    latest = None
    decisions = []
    for n in range(8):
        decision = decide([FIRST], None, T0 + timedelta(seconds=10 * n), DAY, key=f"k-{n}", latest=latest)
        decisions.append(decision)
        latest = decision.latest or latest
    assert [d.outcome for d in decisions] == ["alert"] + ["count"] * 7
    assert {d.folded_into for d in decisions[1:]} == {"k-0"}
    assert latest == PrincipalMarker(T0, "k-0", frozenset({"first_seen"}))
    assert decisions[1].why == (
        "folded into the principal's alert of 2026-11-28T09:00:00Z (key k-0): nothing new within 10 minutes, "
        "its rules (first_seen) were listed"
    )
    assert Tally().folded == 0
    tally = Tally()
    for decision in decisions:
        tally.add(decision)
    assert (tally.alerts, tally.deduplicated, tally.folded) == (1, 7, 7)


def test_a_read_then_a_write_a_minute_later_gives_two_alerts_the_write_the_newest():
    write = decide([FIRST, SENSITIVE], None, T0 + timedelta(minutes=1), DAY, key="k-update", latest=READ)
    assert write.outcome == "alert" and write.principal is None
    assert write.latest == PrincipalMarker(
        T0 + timedelta(minutes=1), "k-update", frozenset({"first_seen", SENSITIVE.name})
    )
    assert write.why == "a rule the principal's alert of 2026-11-28T09:00:00Z did not list fired: sensitive_action"
    # a read after it: covered by the write's alert (first_seen listed)
    read = decide([FIRST], None, T0 + timedelta(minutes=2), DAY, key="k-get", latest=write.latest)
    assert (read.outcome, read.folded_into) == ("count", "k-update")


def test_the_same_rules_11_minutes_later_alert_again_and_the_window_is_counted_from_the_alert():
    assert decide([FIRST], None, T0 + timedelta(minutes=11), DAY, key="k-get", latest=READ).outcome == "alert"
    assert decide([FIRST], None, T0 + timedelta(minutes=10), DAY, key="k-get", latest=READ).outcome == "alert"
    last = decide([FIRST], None, T0 + timedelta(minutes=9, seconds=59), DAY, key="k-get", latest=READ)
    assert last.outcome == "count"
    wider = decide([FIRST], None, T0 + timedelta(minutes=11), DAY, key="k-get", latest=READ,
                   sweep_window=timedelta(minutes=15))  # fmt: skip
    assert wider.outcome == "count"  # RECON_MINUTES=15


def test_rule_2_needs_another_key_a_rule_and_a_subset_and_an_own_rule_is_not_special_when_listed():
    outsider = PrincipalMarker(T0, "k-list", frozenset({"first_seen", "unknown_account"}))
    unknown = FiredRule("unknown_account", "outside")
    assert decide([unknown], None, T0 + timedelta(minutes=1), DAY, key="k-get", latest=outsider).outcome == "count"
    assert decide([unknown], None, T0 + timedelta(minutes=1), DAY, key="k-get", latest=READ).outcome == "alert"
    assert decide([], None, T0 + timedelta(minutes=1), DAY, key="k-get", latest=READ).outcome == "ignore"
    # the key of the newest alert itself: with no key marker (its alert was lost to a racer, say) it alerts
    assert decide([FIRST], None, T0 + timedelta(minutes=1), DAY, key="k-list", latest=READ).outcome == "alert"
    # burst after the read: new; it becomes both the sweep's alert and the newest
    burst = decide([BURST], None, T0 + timedelta(minutes=1), DAY, key="k-get", latest=READ)
    assert burst.principal == burst.latest == PrincipalMarker(T0 + timedelta(minutes=1), "k-get", frozenset({"burst"}))


def test_a_late_alert_older_than_the_newest_leaves_it_and_a_late_subset_within_the_window_is_folded():
    late = decide([FIRST, SENSITIVE], None, T0 - timedelta(minutes=1), DAY, key="k-update", latest=READ)
    assert (late.outcome, late.latest) == ("alert", None)
    assert decide([FIRST], None, T0 - timedelta(minutes=9), DAY, key="k-get", latest=READ).outcome == "count"
    assert decide([FIRST], None, T0 - timedelta(minutes=10), DAY, key="k-get", latest=READ).outcome == "alert"


def test_a_write_during_the_sweep_does_not_take_the_marker_so_a_later_write_alerts_too():
    """Recon then act: PassRole 6 minutes into a reconnaissance sweep (reconnaissance still firing) alerts and leaves
    the sweep's alert the principal's; DeleteService 5 h later (sensitive_action, not listed by the sweep's alert nor
    within rule 2's window) alerts as well. Had the PassRole alert taken the marker, it would have been folded."""
    sweep = PrincipalMarker(T0, "k-read", frozenset({"first_seen", "burst", "reconnaissance"}))
    at = T0 + timedelta(minutes=6)
    passrole = decide([FIRST, SENSITIVE, RECON], None, at, DAY, key="k-passrole", principal=sweep, latest=sweep)
    assert (passrole.outcome, passrole.principal) == ("alert", None)
    assert passrole.latest is not None
    later = T0 + timedelta(hours=5, minutes=6)
    delete = decide([FIRST, SENSITIVE], None, later, DAY, key="k-delete", principal=sweep, latest=passrole.latest)
    assert (delete.outcome, delete.folded_into) == ("alert", "")


def test_rule_1_comes_first_and_rule_2_covers_what_it_does_not():
    """The sweep's alert (reconnaissance at T0) and a newer alert of an own rule (root at T0 + 1 min): a later
    first_seen is folded by rule 1 into the sweep's alert; a later root alone by rule 2 into the root alert; a
    sensitive_action (listed by neither) alerts."""
    rooted = PrincipalMarker(T0 + timedelta(minutes=1), "k-root", frozenset({"root"}))
    at = T0 + timedelta(minutes=2)
    read = decide([FIRST], None, at, DAY, key="k-g", principal=HERS, latest=rooted)
    assert (read.outcome, read.folded_into) == ("count", "k-list")
    write = decide([SENSITIVE], None, at, DAY, key="k-w", principal=HERS, latest=rooted)
    assert (write.outcome, write.folded_into, write.principal) == ("alert", "", None)
    again = decide([ROOT], None, at, DAY, key="k-r2", principal=HERS, latest=rooted)
    assert (again.outcome, again.folded_into) == ("count", "k-root")
    later = decide([ROOT], None, T0 + timedelta(minutes=12), DAY, key="k-r2", principal=HERS, latest=rooted)
    assert (later.outcome, later.principal) == ("alert", None)  # the root rule after rule 2's window: alerts


def test_rule_2_folds_a_second_sensitive_action_with_the_same_rules_within_the_window_whatever_its_severity():
    """Documented (dedup's docstring, rule 2): DeleteService 9 minutes after an UpdateService alert, both firing
    first_seen and sensitive_action, with no sweep alert: folded into the UpdateService alert; at 10 minutes it
    alerts."""
    update = PrincipalMarker(T0, "k-update", frozenset({"first_seen", "sensitive_action"}))
    delete = decide([FIRST, SENSITIVE], None, T0 + timedelta(minutes=9), DAY, key="k-delete", latest=update)
    assert (delete.outcome, delete.folded_into) == ("count", "k-update")
    assert delete.why == (
        "folded into the principal's alert of 2026-11-28T09:00:00Z (key k-update): nothing new within 10 minutes, "
        "its rules (first_seen, sensitive_action) were listed"
    )
    after = decide([FIRST, SENSITIVE], None, T0 + timedelta(minutes=10), DAY, key="k-delete", latest=update)
    assert after.outcome == "alert"
