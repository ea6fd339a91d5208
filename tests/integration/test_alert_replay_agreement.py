"""The two methods of the alert decisions agree: the alert handler with its DynamoDB store (moto, the table
template.yaml deploys) and the pure replay (analysis.alerting.replay), on the bundled sample day in time order and on
small random streams (few principals, actions and times; redeliveries; arrivals out of order by a few seconds, taken
in time order as the replay takes them). Outcome (alert/count/ignore, None for a redelivery), the rules that fired,
the count an alert carries, the key a folded event went into, the actions a principal's alert covers and the
principal's markers an alert writes (its sweep alert, its newest alert), event by event."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from moto import mock_aws

from analysis.alert_service import alert_on_event
from analysis.alerting.dedup import Decision
from analysis.alerting.replay import replay
from analysis.alerting.rules import AlertRules, alert_rules, fired_rules
from analysis.alerting.store import AlertStore, Denial
from analysis.contract import BUILDING, Finding
from analysis.demo import DEMO_ORGANIZATION, DEMO_TRUSTED_ACCOUNTS
from analysis.denials import audits_service, is_denial
from analysis.event_finding import event_finding
from analysis.model import Options
from analysis.settings import advice_options, load_settings
from analysis.sources.files import sample_source
from tests import factories as f
from tests.stack import source_template

pytestmark = pytest.mark.integration

TABLE = "apprunner-audit-state"
REGION = "us-east-1"
STATE_TABLE = source_template()["Resources"]["StateTable"]["Properties"]
KEY = STATE_TABLE["KeySchema"][0]["AttributeName"]
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        BillingMode=STATE_TABLE["BillingMode"],
        AttributeDefinitions=STATE_TABLE["AttributeDefinitions"],
        KeySchema=STATE_TABLE["KeySchema"],
    )


def summary(decision: Decision | None) -> tuple[Any, ...] | None:
    if decision is None:
        return None
    return (
        decision.outcome,
        tuple(rule.name for rule in decision.rules) if decision.outcome != "ignore" else (),
        decision.suppressed,
        decision.folded_into,
        decision.actions_in_window,
        decision.principal,
        decision.latest,
    )


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        yield client


def test_the_sample_day_gives_the_same_decisions_through_the_handler_and_the_replay(aws, monkeypatch):
    settings = load_settings(
        {},
        state_table=TABLE,
        trusted_accounts=DEMO_TRUSTED_ACCOUNTS,
        organization_accounts=DEMO_ORGANIZATION,
        organization_id="o-a1b2c3d4e5",
    )
    options = advice_options(settings)
    records = [record for record in sample_source().read() if isinstance(record, dict)]
    records.sort(key=lambda record: moment(record["eventTime"]))  # stable: ties keep the files' order
    denials = [record for record in records if is_denial(record) and audits_service(record, settings.service)]

    settled: list[Decision] = []
    original = AlertStore.settle

    def spy(store: AlertStore, recorded: Any, fired: Any) -> Decision:
        decision = original(store, recorded, fired)
        settled.append(decision)
        return decision

    monkeypatch.setattr(AlertStore, "settle", spy)
    handled: list[Decision | None] = []
    for record in records:
        before = len(settled)
        run = alert_on_event(record, settings, None, aws)
        assert run.problems == []
        if run.denials:
            handled.append(settled[before] if len(settled) > before else None)
            assert (run.tally.redelivered == 1) == (handled[-1] is None)

    findings = [
        (Finding.model_validate(event_finding(record, options), context=BUILDING), record["eventID"],
         moment(record["eventTime"]))
        for record in denials
    ]  # fmt: skip
    replayed = replay(findings, alert_rules(settings), options)
    assert [r.event_id for r in replayed] == [record["eventID"] for record in denials]
    assert [summary(decision) for decision in handled] == [summary(r.decision) for r in replayed]

    # the figures of the README (counted by the replay, checked above against the handler), derived by hand from
    # the sample day's events (docs/alerts-replay.md of the first pass listed 31 alerts, 7 folded):
    # - user/svc-legacy (02:14:07 to 02:17:01): ListServices alerts (first_seen) and is its newest alert; its next
    #   new actions within 10 minutes fire first_seen only and are folded into it (rule 2): ListConnections,
    #   ListAutoScalingConfigurations, ListObservabilityConfigurations, ListVpcConnectors, ListVpcIngressConnections,
    #   DescribeService (02:15:25): 6. ListVpcConnectors again at 02:15:08: its key never alerted, seen 11 s before,
    #   9 denials in 5 minutes, 5 actions: no rule, ignored. DescribeService again at 02:15:36 is the 10th denial in
    #   5 minutes (02:14:07, :18, :31, :36, :47, :57, 02:15:08, :14, :25, :36): burst, a rule the newest alert did not
    #   list: it alerts, the sweep's alert (rule 1). Its next 4 denials (ListOperations twice, ListTagsForResource
    #   twice, 02:15:45 to 02:16:19: burst, and first_seen on a new key; 8, then 9 distinct actions in 10 minutes,
    #   under the threshold of 10) are folded into it.
    #   DescribeCustomDomains at 02:16:31 is the 10th distinct action within 10 minutes (ListServices,
    #   ListConnections, ListAutoScalingConfigurations, ListObservabilityConfigurations, ListVpcConnectors,
    #   ListVpcIngressConnections, DescribeService, ListOperations, ListTagsForResource, DescribeCustomDomains) and
    #   the 15th denial in 5 minutes: first_seen, burst, reconnaissance. reconnaissance is a rule the sweep's alert
    #   ({burst}) did not list, so rule 1 does not fold it, nor rule 2 (not a subset of {burst}): it alerts, and
    #   becomes the principal's sweep alert. Its 4 later denials (DescribeAutoScalingConfiguration,
    #   DescribeObservabilityConfiguration, DescribeVpcConnector, DescribeWebAclForService, the same three rules) are
    #   folded into it. 3 alerts (8 before), 6 + 4 + 4 = 14 folded.
    # - role/ExternalAuditor: ListServices at 04:37:05 alerts (first_seen, unknown_account); DescribeService at
    #   04:38:11 (the same two rules), 04:38:40 and 04:39:22 (unknown_account: its key never alerted) are folded
    #   into it: 1 alert (2 before), 3 folded.
    # - every other principal's alerts are more than 10 minutes apart, and no other principal has a burst or
    #   reconnaissance alert: unchanged, 21 alerts of 18 principals.
    # So 25 alerts (31 - 5 - 1), 17 folded, 1 fires no rule, 85 - 3 - 25 - 1 = 56 counted of which 17 folded.
    outcomes = Counter(r.decision.outcome if r.decision else "redelivered" for r in replayed)
    assert (len(denials), outcomes["alert"], outcomes["count"], outcomes["ignore"], outcomes["redelivered"]) == (
        85,
        25,
        56,
        1,
        3,
    )
    alerts = [r for r in replayed if r.decision and r.decision.outcome == "alert"]
    by_principal = Counter(r.finding.principal.arn for r in alerts)
    legacy = [(r.at.strftime("%H:%M:%S"), r.finding.actions[0].action, [rule.name for rule in r.decision.rules])
              for r in alerts if r.finding.principal.arn == "arn:aws:iam::777788889999:user/svc-legacy"]  # fmt: skip
    assert legacy == [
        ("02:14:07", "apprunner:ListServices", ["first_seen"]),
        ("02:15:36", "apprunner:DescribeService", ["burst"]),
        ("02:16:31", "apprunner:DescribeCustomDomains", ["first_seen", "burst", "reconnaissance"]),
    ]
    assert [arn for arn in by_principal.elements() if arn and arn.endswith("/ExternalAuditor")] == [
        "arn:aws:iam::999988887777:role/ExternalAuditor"
    ]
    assert len(by_principal) == 20 and sorted(by_principal.values()) == [1] * 16 + [2] * 3 + [3]
    folded = Counter(
        r.finding.principal.arn.rsplit("/", 1)[-1] for r in replayed if r.decision and r.decision.folded_into
    )
    assert folded == {"svc-legacy": 14, "ExternalAuditor": 3}
    assert len({(r.finding.principal.arn, r.finding.target_account_id, r.finding.actions[0].action.lower())
                for r in alerts}) == len(alerts)  # fmt: skip  # none twice


# --- small random streams --------------------------------------------------------------------------------------------

RULES = AlertRules(
    retention_days=1, burst_denials=3, burst_minutes=2, recon_distinct_actions=3, recon_window_minutes=3, period_hours=1
)
SCP = "with an explicit deny in a service control policy"


def _finding(action: str, identity: dict[str, Any], tail: str | None = None) -> Finding:
    message = f.message(identity["arn"], f"apprunner:{action}", f.service_arn(), tail) if tail else "default"
    record = f.record(action, identity=identity, error_message=message)
    return Finding.model_validate(event_finding(record, Options()), context=BUILDING)


POOL = [
    _finding(action, identity, tail)
    for identity in (f.iam_user(), f.root())
    for action, tail in (("ListServices", None), ("DescribeService", None), ("UpdateService", None),
                         ("ListOperations", SCP), ("ListConnections", None), ("PauseService", None))
]  # fmt: skip
# mostly seconds apart (the windows: 2 and 3 minutes), now and then past the period (1 h) or the retention (1 day)
GAPS = [0, 1, 5, 10, 20, 30] * 3 + [45, 59, 60, 61, 90, 119, 120, 121, 179, 180, 181, 1800, 3599, 3600, 3601, 86400]

EVENTS = st.lists(
    st.tuples(
        st.integers(0, len(POOL) - 1),
        st.sampled_from(GAPS),
        st.integers(-3, 0),  # arrival jitter: out of order by a few seconds
        st.sampled_from([False, False, False, True]),  # redelivered after it
    ),
    min_size=8,
    max_size=50,
)


@hypothesis_settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS)
def test_the_store_and_the_replay_agree_on_random_streams(events: list[tuple[int, int, int, bool]]) -> None:
    stream: list[tuple[Finding, str, datetime]] = []
    at = T0
    for n, (index, gap, jitter, again) in enumerate(events):
        at += timedelta(seconds=gap)
        item = (POOL[index], f"ev-{n}", at + timedelta(seconds=jitter))
        stream.append(item)
        if again:
            stream.append(item)
    in_time_order = sorted(stream, key=lambda item: item[2])  # stable, as the replay's
    options = Options()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION, aws_access_key_id="testing",
                              aws_secret_access_key="testing")  # fmt: skip
        create_table(client)
        store = AlertStore(client, TABLE, RULES, key_attribute=KEY)
        decisions: list[Decision | None] = []
        for finding, event_id, moment_ in in_time_order:
            recorded = store.record(Denial.of(finding, event_id, moment_))
            if recorded.redelivered:
                decisions.append(None)
                continue
            assert recorded.observation is not None
            decisions.append(store.settle(recorded, fired_rules(finding, recorded.observation, RULES, options)))
    replayed = replay(stream, RULES, options)
    assert [r.event_id for r in replayed] == [event_id for _, event_id, _ in in_time_order]
    assert [summary(decision) for decision in decisions] == [summary(r.decision) for r in replayed]
