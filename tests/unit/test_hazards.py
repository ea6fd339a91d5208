"""Refused actions dangerous to grant: the table's entries and their scopes (any, self, many)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from analysis import catalog
from analysis.contract import Finding
from analysis.hazards import hazardous_actions, hazards_of
from analysis.identifiers import finding_id

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
# The actions issue 10 names, with the scope it gives them (any unless said).
REQUIRED = {
    "iam:PutUserPolicy": "self",
    "iam:AttachUserPolicy": "self",
    "iam:PutRolePolicy": "any",
    "iam:AttachRolePolicy": "any",
    "iam:CreatePolicyVersion": "any",
    "iam:SetDefaultPolicyVersion": "any",
    "iam:CreateAccessKey": "any",
    "iam:CreateLoginProfile": "any",
    "iam:UpdateLoginProfile": "any",
    "iam:AddUserToGroup": "any",
    "iam:UpdateAssumeRolePolicy": "any",
    "organizations:LeaveOrganization": "any",
    "cloudtrail:StopLogging": "any",
    "cloudtrail:DeleteTrail": "any",
    "cloudtrail:UpdateTrail": "any",
    "cloudtrail:PutEventSelectors": "any",
    "guardduty:DeleteDetector": "any",
    "guardduty:UpdateDetector": "any",
    "config:StopConfigurationRecorder": "any",
    "securityhub:DisableSecurityHub": "any",
    "ec2:GetPasswordData": "many",
}


def finding(*actions: tuple[str, list[str]], arn: str | None = ALICE) -> dict[str, Any]:
    return {
        "id": finding_id(arn or "unknown", ACCOUNT),
        "principal": {"arn": arn, "type": "IAMUser", "account_id": ACCOUNT, "sessions": []},
        "target_account_id": ACCOUNT,
        "cross_account": False,
        "denials": len(actions),
        "severity": "high",
        "actions": [
            {
                "action": a,
                "count": 1,
                "resources": r,
                "reasons": ["no_identity_allow"],
                "first_seen": None,
                "last_seen": None,
            }
            for a, r in actions
        ],
        "remedy": None,
    }


def names(found) -> list[str]:
    return [hazard.action for hazard in found]


def test_every_entry_is_an_action_of_the_catalog_spelled_as_iam_spells_it():
    for entry in hazardous_actions().values():
        assert catalog.canonical_action(entry.action) == entry.action, entry.action


def test_every_entry_has_a_category_a_scope_one_sentence_and_a_source_url():
    categories = {"privilege_escalation", "defence_evasion", "credential_access", "persistence"}
    for entry in hazardous_actions().values():
        assert entry.category in categories, entry.action
        assert entry.scope in {"any", "self", "many"}, entry.action
        assert re.fullmatch(r"[A-Z][^.]*(\.[^.]+)*\.", entry.why) and entry.why.count(". ") == 0, entry.action
        assert re.fullmatch(r"https://[A-Za-z0-9.-]+/\S*", entry.source), entry.action


def test_the_actions_the_issue_names_are_listed_with_their_scope():
    table = hazardous_actions()
    assert {action: table[action.lower()].scope for action in REQUIRED} == REQUIRED


def test_defence_evasion_cites_mitre_cloud_logs_and_escalation_cites_rhino():
    table = hazardous_actions()
    assert table["cloudtrail:stoplogging"].category == "defence_evasion"
    assert table["cloudtrail:stoplogging"].source == "https://attack.mitre.org/techniques/T1562/008/"
    assert table["iam:createpolicyversion"].category == "privilege_escalation"
    assert "rhinosecuritylabs.com" in table["iam:createpolicyversion"].source


def test_self_scope_flags_a_user_writing_policies_on_itself():
    found = hazards_of(finding(("iam:PutUserPolicy", [ALICE]), ("iam:AttachUserPolicy", [ALICE])))
    assert names(found) == ["iam:PutUserPolicy", "iam:AttachUserPolicy"]
    assert found[0].category == "privilege_escalation" and found[0].source.startswith("https://")


def test_self_scope_knows_a_user_whatever_the_path_or_case_either_arn_writes():
    # IAM user names are unique in an account whatever their path, and case-insensitively.
    on_path = f"arn:aws:iam::{ACCOUNT}:user/engineering/alice"
    assert names(hazards_of(finding(("iam:PutUserPolicy", [ALICE]), arn=on_path))) == ["iam:PutUserPolicy"]
    assert names(hazards_of(finding(("iam:PutUserPolicy", [f"arn:aws:iam::{ACCOUNT}:user/Alice"])))) == [
        "iam:PutUserPolicy"
    ]


def test_self_scope_counts_a_wildcard_that_covers_the_principal():
    assert names(hazards_of(finding(("iam:PutUserPolicy", [f"arn:aws:iam::{ACCOUNT}:user/*"])))) == [
        "iam:PutUserPolicy"
    ]
    assert hazards_of(finding(("iam:PutUserPolicy", [f"arn:aws:iam::{ACCOUNT}:user/b*"]))) == []


@pytest.mark.parametrize(
    ("resource", "arn"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/bob", ALICE),  # another user
        ("arn:aws:iam::999988887777:user/alice", ALICE),  # the same name in another account
        (ALICE, f"arn:aws:iam::{ACCOUNT}:role/Deploy"),  # a role writing a user's policy
        (ALICE, None),  # the log does not say who called
    ],
)
def test_self_scope_is_off_for_anyone_else(resource, arn):
    assert hazards_of(finding(("iam:PutUserPolicy", [resource]), arn=arn)) == []


def test_self_scope_needs_a_named_resource():
    assert hazards_of(finding(("iam:AttachUserPolicy", []))) == []


def test_many_scope_needs_more_than_one_resource_or_a_wildcard():
    one = [f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-01"]
    two = [*one, f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-02"]
    assert hazards_of(finding(("ec2:GetPasswordData", one))) == []
    assert hazards_of(finding(("ec2:GetPasswordData", one + one))) == []  # the same instance twice is one
    assert names(hazards_of(finding(("ec2:GetPasswordData", two)))) == ["ec2:GetPasswordData"]
    wildcard = [f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"]
    assert hazards_of(finding(("ec2:GetPasswordData", wildcard)))[0].category == "credential_access"


def test_any_scope_whatever_the_resource():
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    assert names(hazards_of(finding(("iam:CreateAccessKey", [bob])))) == ["iam:CreateAccessKey"]
    assert names(hazards_of(finding(("organizations:LeaveOrganization", ["*"])))) == ["organizations:LeaveOrganization"]


def test_ordinary_actions_are_no_hazard_and_names_ignore_case():
    assert hazards_of(finding(("apprunner:CreateService", ["*"]), ("iam:PassRole", ["*"]))) == []
    assert names(hazards_of(finding(("CloudTrail:stoplogging", ["*"])))) == ["cloudtrail:StopLogging"]


def test_a_finding_model_reads_like_its_data_and_each_action_is_named_once():
    data = finding(
        ("cloudtrail:DeleteTrail", ["a"]), ("cloudtrail:DeleteTrail", ["b"]), ("iam:CreateAccessKey", [ALICE])
    )
    assert names(hazards_of(data)) == ["cloudtrail:DeleteTrail", "iam:CreateAccessKey"]
    assert hazards_of(Finding.model_validate(data)) == hazards_of(data)
