"""analysis.explore.drill: one principal of the bundled sample day (expected values by hand from
scripts/SAMPLE_DAY.md), and hand-written findings for the edges (local files only: unit tests)."""

from __future__ import annotations

import json
import re
import sys

import pytest

from analysis.contract import Finding, Report, as_finding, as_report
from analysis.explore.day import Exploration, explore
from analysis.explore.drill import (
    EVENT_COLUMNS,
    STORED_EVENT_COLUMNS,
    export_remedy,
    find_principal,
    pick,
    principal_events,
    principal_profile,
    proof_text,
    prove_remedy,
    remedy_documents,
)
from analysis.pipeline import analyse
from analysis.sources.base import RecordsSource
from analysis.sources.files import bundled_sample_path
from tests import factories
from tests import reports as hand

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not bundled_sample_path().exists(), reason="the sample day is not generated yet"),
]

ALICE_ARN = "arn:aws:iam::111122223333:user/dev-alice"
GITHUB_SESSIONS = [
    "GitHubActions-run-12345",
    "GitHubActions-run-12350",
    "GitHubActions-run-12361",
    "GitHubActions-run-12377",
]


@pytest.fixture(scope="module")
def sample() -> Exploration:
    return explore("sample")


@pytest.fixture(scope="module")
def stored(sample: Exploration, tmp_path_factory: pytest.TempPathFactory) -> Exploration:
    path = tmp_path_factory.mktemp("stored") / "report.json"
    path.write_text(sample.report.dumps(), encoding="utf-8")
    return explore(str(path))


def one(sample: Exploration, text: str) -> Finding:
    return find_principal(sample.report, text)


def hand_report(*findings: dict) -> Report:
    return as_report(hand.report(list(findings)))


# --- find_principal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "arn"),
    [
        ("alice", ALICE_ARN),
        ("DEV-ALICE", ALICE_ARN),
        ("Developer_Access", "arn:aws:iam::444455556666:role/aws-reserved/sso.amazonaws.com/"
         "AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789"),
        ("root @444455556666", "arn:aws:iam::444455556666:root"),
        ("partner", "arn:aws:iam::123456789012:role/PartnerReadOnly"),
        ("apprunner.amazonaws.com", None),  # scenario 9: the service, by its key
    ],
)  # fmt: skip
def test_a_piece_of_the_name_finds_the_principal(sample, text, arn):
    finding = one(sample, text)
    assert finding.principal.arn == arn
    if arn is None:
        assert finding.principal.key == "service:apprunner.amazonaws.com"


def test_the_finding_id_finds_it(sample):
    alice = one(sample, "dev-alice")
    assert one(sample, alice.id.upper()) is alice


def test_several_matches_are_listed(sample):
    with pytest.raises(ValueError, match="2 principals match 'bob'") as raised:
        one(sample, "bob")
    assert "user/bob @111122223333" in str(raised.value)
    assert "user/contractor-bob @111122223333" in str(raised.value)


def test_an_exact_name_wins_among_several():
    bob = hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:user/bob")
    bobby = hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:user/bobby")
    report = hand_report(bob, bobby)
    assert find_principal(report, f"arn:aws:iam::{hand.ACCOUNT}:user/bob").principal.arn.endswith("/bob")
    assert find_principal(report, "user/bob @111122223333").principal.arn.endswith("/bob")
    with pytest.raises(ValueError, match="2 principals"):
        find_principal(report, "user/bob")


def test_no_match_lists_close_labels(sample):
    with pytest.raises(KeyError, match=re.escape("close: user/dev-alice @111122223333")):
        one(sample, "alise")


def test_no_match_in_an_empty_report_says_so():
    with pytest.raises(KeyError, match="no findings"):
        find_principal(hand_report(), "alice")


# --- pick -----------------------------------------------------------------------------------------


def test_pick_without_a_name_is_the_busiest_principal(sample):
    busiest = pick(sample.report)  # 10: svc-legacy's 19 denials, then dev-alice's 12
    assert busiest is not None and busiest.principal.arn == "arn:aws:iam::777788889999:user/svc-legacy"
    assert busiest.denials == 19


def test_pick_of_grants_is_the_busiest_with_a_policy_to_grant(sample):
    # 1 dev-alice 12 (grant); then 3 Developer_Access 8 (permission_set), 2 GitHubActionsDeploy 7 (grant), 4a and
    # 4b 5 each (cross_account_role); svc-legacy's investigate has no policy
    chosen = pick(sample.report, grants=True)
    assert chosen is not None and chosen.principal.arn == ALICE_ARN
    assert chosen.remedy is not None and chosen.remedy.kind == "grant" and chosen.denials == 12


def test_pick_by_name_is_find_principal(sample):
    assert pick(sample.report, "dev-alice", grants=False) is one(sample, "dev-alice")
    assert pick(sample.report, "svc-legacy", grants=True) is one(sample, "svc-legacy")  # the name decides
    with pytest.raises(KeyError, match="no principal matches"):
        pick(sample.report, "nobody-at-all")


def test_pick_ties_go_to_the_more_severe_then_by_label(sample):
    partner, auditor = one(sample, "PartnerReadOnly"), one(sample, "ExternalAuditor")  # 4a, 4b: 5 denials each
    assert (partner.severity, auditor.severity) == ("medium", "critical")
    both = sample.report.model_copy(update={"findings": [partner, auditor]})
    assert pick(both) is auditor and pick(both, grants=True) is auditor
    amy = hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:user/amy")
    zed = hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:user/zed")
    chosen = pick(hand_report(zed, amy))
    assert chosen is not None and chosen.principal.arn.endswith("/amy")  # both low: by label
    zed["severity"] = "high"
    chosen = pick(hand_report(amy, zed))
    assert chosen is not None and chosen.principal.arn.endswith("/zed")  # the more severe, before the label


def test_pick_in_an_empty_report_is_none():
    assert pick(hand_report()) is None
    assert pick(hand_report(), grants=True) is None


def test_pick_of_grants_without_any_is_none():
    do_not_grant = [
        hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:user/{name}", kind=kind)
        for name, kind in [("a", "review_deny"), ("b", "org_policy"), ("c", "investigate"), ("d", None)]
    ]
    no_policy = hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:user/e", remedy=hand.REMEDIES["grant"](None))
    no_policy["remedy"]["policy"] = None  # a grant with nothing to prove or export
    report = hand_report(*do_not_grant, no_policy)
    assert pick(report, grants=True) is None
    assert pick(report) is not None


# --- profile --------------------------------------------------------------------------------------


def test_profile_of_svc_legacy(sample):
    profile = dict(principal_profile(one(sample, "svc-legacy")).itertuples(index=False))
    assert profile["type"] == "IAMUser"
    assert profile["arn"] == "arn:aws:iam::777788889999:user/svc-legacy"
    assert profile["account"] == profile["target account"] == "777788889999"
    assert profile["cross account"] is False
    assert profile["source IPs"] == ["203.0.113.66"]  # its refused calls; 198.51.100.23 was its normal use
    assert profile["user agents"] == ["python-requests/2.31"]
    assert profile["sessions"] == []
    assert (profile["denials"], profile["actions"]) == (19, 14)
    assert (profile["severity"], profile["remedy"]) == ("critical", "investigate")
    assert profile["first seen"] == "2026-11-28T02:14:07Z"


def test_profile_of_the_sso_role_and_the_partner(sample):
    sso = dict(principal_profile(one(sample, "Developer_Access")).itertuples(index=False))
    assert sso["permission set"] == "Developer_Access"
    assert sso["sessions"] == ["jane.doe@example.com"]
    assert sso["remedy"] == "permission_set"
    partner = dict(principal_profile(one(sample, "PartnerReadOnly")).itertuples(index=False))
    assert partner["type"] == "AWSAccount"
    assert (partner["account"], partner["target account"], partner["cross account"]) == (
        "123456789012",
        "111122223333",
        True,
    )


# --- events ---------------------------------------------------------------------------------------


def test_events_of_dev_alice(sample):
    events = principal_events(sample, one(sample, "dev-alice"))
    assert events.columns.tolist() == EVENT_COLUMNS
    assert len(events) == 12  # the 10:03:09 duplicate delivery counted once
    assert events["action"].value_counts().to_dict() == {
        "apprunner:DescribeService": 8,
        "apprunner:ListOperations": 4,
    }
    assert events["time"].is_monotonic_increasing
    assert events["time"].iloc[0].strftime("%H:%M") == "08:42"
    assert events["time"].iloc[-1].strftime("%H:%M") == "11:49"
    assert str(events["time"].dt.tz) == "UTC"
    assert set(events["reason"]) == {"no_identity_allow"}
    assert events["event_id"].is_unique
    assert set(events["region"]) == {"us-east-1"}


def test_events_of_github_actions_carry_its_four_sessions(sample):
    events = principal_events(sample, one(sample, "GitHubActionsDeploy"))
    assert len(events) == 7
    assert sorted(set(events["session"])) == GITHUB_SESSIONS
    assert events["action"].value_counts().to_dict() == {"apprunner:StartDeployment": 4, "iam:PassRole": 3}


def test_events_of_a_cross_account_caller_and_a_late_one(sample):
    assert len(principal_events(sample, one(sample, "PartnerReadOnly"))) == 5
    jenkins = principal_events(sample, one(sample, "LegacyJenkins"))
    assert [t.strftime("%H:%M") for t in jenkins["time"]] == ["07:15", "23:58"]  # the second delivered on the 29th
    assert jenkins["time"].iloc[1].second == 41


def test_every_denial_is_some_finding_s_event(sample):
    assert sum(len(principal_events(sample, f)) for f in sample.report.findings) == 82


def test_a_stored_report_gives_the_event_ids_per_action(sample, stored):
    alice = find_principal(stored.report, "dev-alice")
    events = principal_events(stored, alice)
    assert events.columns.tolist() == STORED_EVENT_COLUMNS
    assert len(events) == 12
    fresh = principal_events(sample, one(sample, "dev-alice"))
    assert set(events["event_id"]) == set(fresh["event_id"])
    listing = events[events["action"] == "apprunner:ListOperations"]
    assert set(listing["denials"]) == {4}
    first = fresh.loc[fresh["action"] == "apprunner:ListOperations", "time"].min()  # a second method: the rows
    assert set(listing["first_seen"]) == {first.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_a_stored_action_without_event_ids_keeps_its_row():
    finding = as_finding(
        hand.finding(
            actions=[
                hand.action("apprunner:DescribeService", count=3, event_ids=[]),
                hand.action("apprunner:ListServices", count=2),
            ]
        )
    )
    exploration = Exploration(report=hand_report(), frame=None, source="hand")
    events = principal_events(exploration, finding)
    described = events[events["action"] == "apprunner:DescribeService"]
    assert described["event_id"].tolist() == [None]
    assert described["denials"].tolist() == [3]
    assert len(events) == 3


# --- remedy documents ----------------------------------------------------------------------------


def test_documents_of_a_cross_account_role(sample):
    partner = one(sample, "PartnerReadOnly")
    documents = remedy_documents(partner)
    assert list(documents) == ["policy.json", "trust-policy.json", "caller-policy.json"]
    remedy = partner.remedy
    assert remedy is not None and remedy.trust_policy is not None
    assert documents["trust-policy.json"] == json.loads(remedy.trust_policy.model_dump_json())
    for document in documents.values():
        assert set(document) == {"Version", "Statement"}
        assert document["Version"] == "2012-10-17"
        assert json.loads(json.dumps(document)) == document
    assert "123456789012" in json.dumps(documents["trust-policy.json"])


def test_the_commands_name_only_documents_given(sample):
    for finding in sample.report.findings:
        named = {m for command in finding.remedy.commands for m in re.findall(r"file://([\w.-]+)", command)}
        assert named <= set(remedy_documents(finding)), finding.id


def test_a_grant_has_one_document_and_reconnaissance_none(sample):
    assert list(remedy_documents(one(sample, "dev-alice"))) == ["policy.json"]
    assert remedy_documents(one(sample, "svc-legacy")) == {}
    assert remedy_documents(as_finding(hand.finding(kind=None))) == {}


def test_a_split_policy_is_numbered_as_its_commands_read_it():
    value = hand.finding()
    value["remedy"]["more_policies"] = [hand.policy("apprunner:ListServices", "*")]
    documents = remedy_documents(as_finding(value))
    assert list(documents) == ["policy.json", "policy-2.json"]
    assert documents["policy-2.json"]["Statement"][0]["Action"] == "apprunner:ListServices"


# --- proof ----------------------------------------------------------------------------------------


def test_the_remedies_of_the_sample_day_are_proven(sample):
    pytest.importorskip("iamprover")
    for text in ("dev-alice", "PartnerReadOnly", "GitHubActionsDeploy"):
        finding = one(sample, text)
        proof = prove_remedy(finding)
        assert proof is not None and proof.status == "proven", proof_text(proof)
        assert proof_text(proof).startswith(finding.id) and "proven" in proof_text(proof)


def test_no_evaluator_gives_none(sample, monkeypatch):
    monkeypatch.setitem(sys.modules, "analysis.proof", None)  # importing it raises ImportError
    assert prove_remedy(one(sample, "dev-alice")) is None
    assert "verify extra" in proof_text(None)


# --- export ---------------------------------------------------------------------------------------


def test_export_writes_the_documents_commands_and_readme(sample, tmp_path):
    partner = one(sample, "PartnerReadOnly")
    paths = export_remedy(partner, tmp_path)
    folder = tmp_path / partner.id
    assert paths == [
        folder / "policy.json",
        folder / "trust-policy.json",
        folder / "caller-policy.json",
        folder / "commands.sh",
        folder / "README.md",
    ]
    documents = remedy_documents(partner)
    for path in paths[:3]:
        assert json.loads(path.read_text(encoding="utf-8")) == documents[path.name]
    script = paths[3].read_text(encoding="utf-8")
    assert script.startswith("#!/bin/sh\n")
    assert all(command in script.splitlines() for command in partner.remedy.commands)
    readme = paths[4].read_text(encoding="utf-8")
    assert partner.id in readme and "arn:aws:iam::123456789012:role/PartnerReadOnly" in readme
    assert "## Why, and what to check before acting" in readme
    assert "Account 123456789012 is trusted: no sts:ExternalId is required." in readme  # 4a, --trusted-accounts
    assert "## AWS documentation" in readme and "(https://docs.aws.amazon.com/" in readme


def test_export_of_reconnaissance_is_the_readme_only(sample, tmp_path):
    legacy = one(sample, "svc-legacy")
    assert export_remedy(legacy, tmp_path) == [tmp_path / legacy.id / "README.md"]


def test_export_names_come_from_the_tool_not_the_log(tmp_path):
    report = as_report(hand.hostile())
    for finding in report.findings:
        for path in export_remedy(finding, tmp_path):
            assert path.parent == tmp_path / finding.id
            assert re.fullmatch(r"(policy(-\d+)?|trust-policy|caller-policy)\.json|commands\.sh|README\.md", path.name)
    readme = (tmp_path / report.findings[0].id / "README.md").read_text(encoding="utf-8")
    assert "](javascript:" not in readme and "<script>" not in readme  # notes and titles escaped
    assert "(javascript:alert(document.domain))" not in readme  # a link only to a checked https:// address
    assert hand.ACCESS_KEY not in readme  # masked


def test_export_refuses_an_id_that_is_no_finding_id(tmp_path):
    finding = as_finding(hand.finding()).model_copy(update={"id": "../../etc"})
    with pytest.raises(ValueError, match="not a finding id"):
        export_remedy(finding, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_an_id_with_a_trailing_newline(tmp_path):
    finding = as_finding(hand.finding())
    finding = finding.model_copy(update={"id": f"{finding.id}\n"})
    with pytest.raises(ValueError, match="not a finding id"):
        export_remedy(finding, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_events_are_those_of_the_finding_s_owning_account():
    records = [
        factories.record(event_time="2026-11-28T09:00:00Z"),
        factories.record(event_time="2026-11-28T09:05:00Z"),
        factories.record(event_time="2026-11-28T09:10:00Z", recipient=factories.OTHER_ACCOUNT),
    ]
    run = analyse([RecordsSource(records)])
    exploration = Exploration(report=run.report, frame=run.frame, source="memory")
    own = find_principal(run.report, "user/dev-alice @111122223333")
    other = find_principal(run.report, f"→ {factories.OTHER_ACCOUNT}")
    assert own is not other
    assert [t.strftime("%H:%M") for t in principal_events(exploration, own)["time"]] == ["09:00", "09:05"]
    assert [t.strftime("%H:%M") for t in principal_events(exploration, other)["time"]] == ["09:10"]
