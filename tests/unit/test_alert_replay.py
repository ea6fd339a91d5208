"""The pure replay of alert decisions (analysis.alerting.replay): expected values counted by hand from the issue (a
key alerts at most once per period, later events of the key are counted and carried by its next alert, a redelivered
eventID counts once) and from the rules' thresholds (burst: 10 denials in 5 minutes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analysis.alerting.dedup import alert_key
from analysis.alerting.replay import replay
from analysis.alerting.rules import AlertRules
from analysis.contract import BUILDING, Finding
from analysis.event_finding import event_finding
from analysis.model import Options
from tests import factories as f

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def finding_of(action: str = "DescribeService", identity: dict | None = None) -> Finding:
    return Finding.model_validate(event_finding(f.record(action, identity=identity), Options()), context=BUILDING)


def outcomes(replayed) -> list[str | None]:
    return [r.decision.outcome if r.decision else None for r in replayed]


def test_a_storm_of_one_key_alerts_once_and_the_next_period_carries_the_count():
    alice = finding_of("UpdateService")  # a Write action in the IAM catalog: sensitive_action fires every time
    stream = [(alice, f"e{i}", T0 + timedelta(seconds=i)) for i in range(1000)]
    stream.append((alice, "next-day", T0 + timedelta(hours=25)))
    replayed = replay(stream, AlertRules(), Options())
    assert outcomes(replayed) == ["alert"] + ["count"] * 999 + ["alert"]
    assert [r.name for r in replayed[0].decision.rules] == ["first_seen", "sensitive_action"]
    assert [r.name for r in replayed[9].decision.rules] == ["sensitive_action", "burst"]  # the 10th in 5 minutes
    assert [r.name for r in replayed[8].decision.rules] == ["sensitive_action"]  # the 9th: no burst yet
    assert replayed[0].decision.suppressed == 0
    assert replayed[-1].decision.suppressed == 999  # the 999 counted in the first period
    assert [r.name for r in replayed[-1].decision.rules] == ["sensitive_action"]  # seen the day before, alone


def test_a_redelivered_event_is_counted_once_and_its_decision_is_none():
    alice = finding_of()
    stream = [(alice, "a", T0), (alice, "a", T0), (alice, "b", T0 + timedelta(seconds=5))]
    replayed = replay(stream, AlertRules(), Options())
    assert outcomes(replayed) == ["alert", None, "count"]


def test_denials_are_taken_in_time_order_stable_for_ties():
    alice, listing = finding_of(), finding_of("ListServices")
    stream = [(listing, "late", T0 + timedelta(seconds=30)), (alice, "tie-1", T0), (listing, "tie-2", T0)]
    replayed = replay(stream, AlertRules(), Options())
    assert [r.event_id for r in replayed] == ["tie-1", "tie-2", "late"]
    # by hand: tie-1 alerts (first_seen) and is alice's newest alert; tie-2, a new key at the same second firing
    # first_seen only, tells nothing new within 10 minutes: folded into tie-1; "late" (seen 30 s before, its key
    # never alerted, no rule fires) is ignored
    assert outcomes(replayed) == ["alert", "count", "ignore"]
    assert replayed[1].decision is not None and replayed[1].decision.folded_into == alert_key(alice)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        replay([(finding_of(), "a", datetime(2026, 11, 28, 9, 0))], AlertRules(), Options())


def test_a_sweep_alerts_once_for_the_principal_and_folds_the_rest():
    """dev-alice denied 14 read actions 40 s apart two days after being denied each (seen: no first_seen). By hand
    with the defaults (reconnaissance: 10 distinct actions in 10 minutes; burst: 10 denials in 5, never reached at
    40 s apart): 1-9 ignored, the 10th alerts for the principal and covers the 10 actions, 11-14 are folded into it;
    an SCP-refused CreateService then alerts on its own (org_policy and sensitive_action, which the principal's alert
    did not list); reconnaissance fires in it too (11 distinct actions), but the sweep's alert listed it: the sweep's
    alert stays the principal's."""
    user = f.iam_user()
    seen = [(finding_of(action), f"seen-{i}", T0 - timedelta(days=2, hours=-i))
            for i, action in enumerate(f.APPRUNNER_READ_EVENTS)]  # fmt: skip
    sweep = [(finding_of(action), f"sweep-{i}", T0 + timedelta(seconds=40 * i))
             for i, action in enumerate(f.APPRUNNER_READ_EVENTS)]  # fmt: skip
    scp = f.message(user["arn"], "apprunner:CreateService", f.service_arn(), "with an explicit deny in a service "
                    "control policy")  # fmt: skip
    create = Finding.model_validate(
        event_finding(f.record("CreateService", error_message=scp), Options()), context=BUILDING
    )
    replayed = replay([*seen, *sweep, (create, "scp", T0 + timedelta(seconds=570))], AlertRules(), Options())[14:]
    assert outcomes(replayed) == ["ignore"] * 9 + ["alert"] + ["count"] * 4 + ["alert"]
    recon = replayed[9].decision
    assert [r.name for r in recon.rules] == ["reconnaissance"]
    assert recon.actions_in_window == tuple(f"apprunner:{a}" for a in f.APPRUNNER_READ_EVENTS[:10])
    assert recon.principal is not None and recon.principal.rules == frozenset({"reconnaissance"})
    assert {r.decision.folded_into for r in replayed[10:14]} == {recon.principal.key}
    own = replayed[14].decision
    assert [r.name for r in own.rules] == ["first_seen", "sensitive_action", "reconnaissance", "org_policy"]
    assert own.outcome == "alert"
    assert own.why == "a rule the principal's alert did not list fired: org_policy, sensitive_action"
    assert own.principal is None
