"""A finding's severity, docs/CONTRACT.md's rule, on findings written by hand: one test per branch.

Access levels are the AWS Service Authorization Reference's ("Actions defined by …" tables of App Runner and
IAM), written here by hand in a comment beside each action.
"""

from __future__ import annotations

from typing import Any

import pytest

from analysis import catalog
from analysis.contract import BUILDING, Finding
from analysis.identifiers import finding_id
from analysis.model import Options
from analysis.severity import severity_of, with_severity

OWNER = "111122223333"
TRUSTED = "123456789012"
IN_ORG = "444455556666"
STRANGER = "999988887777"
OPTIONS = Options(trusted_accounts=frozenset({TRUSTED}), organization_accounts=frozenset({OWNER, IN_ORG}))
SERVICE = f"arn:aws:apprunner:us-east-1:{OWNER}:service/web/8fe1e10304f84fd2b0df550fe98a71fa"
ALICE = f"arn:aws:iam::{OWNER}:user/alice"


def denied(name: str, *reasons: str, resources: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "action": name,
        "count": 1,
        "resources": [SERVICE] if resources is None else resources,
        "reasons": list(reasons) or ["no_identity_allow"],
        "first_seen": None,
        "last_seen": None,
        **extra,
    }


def finding(
    *actions: dict[str, Any],
    arn: str | None = ALICE,
    type_: str = "IAMUser",
    account: str | None = OWNER,
    kind: str = "grant",
) -> dict[str, Any]:
    return {
        "id": finding_id(arn or f"account:{account}", OWNER),
        "principal": {"arn": arn, "type": type_, "account_id": account, "sessions": []},
        "target_account_id": OWNER,
        "cross_account": bool(account and account != OWNER),
        "denials": len(actions),
        "actions": list(actions),
        "remedy": {"kind": kind, "policy": None, "trust_policy": None, "caller_policy": None, "notes": []},
    }


READ = denied("apprunner:DescribeService")  # Read
LIST = denied("apprunner:ListServices", resources=["*"])  # List


def test_the_access_levels_these_tests_assume_are_the_catalogs():
    # The Service Authorization Reference's access level of each action used below.
    assert {
        action: catalog.access_level(action)
        for action in (
            "apprunner:DescribeService",
            "apprunner:ListServices",
            "apprunner:CreateService",
            "apprunner:DeleteService",
            "apprunner:TagResource",
            "iam:CreatePolicy",
            "iam:PassRole",
            "cloudtrail:StopLogging",
            "ec2:GetPasswordData",
        )
    } == {
        "apprunner:DescribeService": "Read",
        "apprunner:ListServices": "List",
        "apprunner:CreateService": "Write",
        "apprunner:DeleteService": "Write",
        "apprunner:TagResource": "Tagging",
        "iam:CreatePolicy": "Permissions management",
        "iam:PassRole": "Permissions management",
        "cloudtrail:StopLogging": "Write",
        "ec2:GetPasswordData": "Read",
    }
    assert catalog.access_level("APPRUNNER:describeservice") == "Read"  # IAM action names ignore case
    assert catalog.access_level("apprunner:NoSuchAction") is None


def test_the_root_user_is_critical_even_for_a_read():
    root = finding(READ, arn=f"arn:aws:iam::{OWNER}:root", type_="Root", kind="org_policy")
    assert severity_of(root, OPTIONS) == "critical"


def test_reconnaissance_is_critical_though_every_action_only_reads():
    assert severity_of(finding(READ, LIST, kind="investigate"), OPTIONS) == "critical"


def test_a_caller_from_an_account_neither_trusted_nor_in_the_organization_is_critical():
    stranger = finding(LIST, arn=f"arn:aws:iam::{STRANGER}:role/Partner", type_="AssumedRole", account=STRANGER)
    assert severity_of(stranger, OPTIONS) == "critical"
    # without organization data, every account not trusted is outside it (docs/CONTRACT.md rule 4)
    member = finding(LIST, arn=f"arn:aws:iam::{IN_ORG}:role/Partner", type_="AssumedRole", account=IN_ORG)
    assert severity_of(member, Options()) == "critical"


@pytest.mark.parametrize("account", [TRUSTED, IN_ORG])
def test_a_cross_account_caller_trusted_or_in_the_organization_is_medium(account):
    caller = finding(READ, arn=f"arn:aws:iam::{account}:role/Partner", type_="AssumedRole", account=account)
    assert severity_of(caller, OPTIONS) == "medium"


def test_an_account_caller_known_only_by_its_account_counts_by_that_account():
    caller = finding(LIST, arn=None, type_="AWSAccount", account=STRANGER, kind="cross_account_role")
    assert severity_of(caller, OPTIONS) == "critical"


@pytest.mark.parametrize("reason", ["explicit_identity_deny", "explicit_deny"])
def test_an_explicit_deny_of_a_write_action_is_high(reason):
    delete = denied("apprunner:DeleteService", reason)  # Write
    assert severity_of(finding(delete, kind="review_deny"), OPTIONS) == "high"


def test_a_boundary_that_denied_explicitly_counts_as_an_explicit_deny():
    create = denied("apprunner:CreateService", "permissions_boundary", denied_explicitly=True)  # Write
    assert severity_of(finding(create, kind="review_deny"), OPTIONS) == "high"
    not_allowed = denied("apprunner:CreateService", "permissions_boundary")  # the boundary only did not allow it
    assert severity_of(finding(not_allowed, kind="review_deny"), OPTIONS) == "medium"


@pytest.mark.parametrize("reason", ["scp", "rcp"])
def test_an_organization_policy_refusing_permissions_management_is_high(reason):
    create = denied("iam:CreatePolicy", reason, resources=[f"arn:aws:iam::{OWNER}:policy/Deploy"])  # Permissions mgmt
    assert severity_of(finding(create, kind="org_policy"), OPTIONS) == "high"


def test_an_explicit_deny_of_a_read_is_low():
    read = denied("apprunner:DescribeService", "explicit_identity_deny")  # Read
    assert severity_of(finding(read, kind="review_deny"), OPTIONS) == "low"


def test_a_refused_pass_role_is_high_whatever_the_reason():
    role = f"arn:aws:iam::{OWNER}:role/AppRunnerInstance"
    assert severity_of(finding(denied("iam:PassRole", resources=[role])), OPTIONS) == "high"


def test_a_write_refused_for_want_of_a_grant_is_medium():
    assert severity_of(finding(READ, denied("apprunner:CreateService")), OPTIONS) == "medium"  # Write


def test_a_tagging_refusal_is_medium():
    assert severity_of(finding(denied("apprunner:TagResource")), OPTIONS) == "medium"  # Tagging


@pytest.mark.parametrize("reason", ["no_identity_allow", "unknown", "resource_policy"])
def test_reads_and_lists_are_low(reason):
    read = denied("apprunner:DescribeService", reason)  # Read
    listing = denied("apprunner:ListServices", reason, resources=["*"])  # List
    assert severity_of(finding(read, listing), OPTIONS) == "low"


def test_an_action_the_catalog_does_not_know_is_low():
    assert severity_of(finding(denied("apprunner:NoSuchAction")), OPTIONS) == "low"


def test_a_hazard_makes_a_finding_at_least_high():
    # ec2:GetPasswordData is Read, so without its hazard (on more than one instance) the finding would be low.
    instances = [f"arn:aws:ec2:us-east-1:{OWNER}:instance/i-0{n}" for n in (1, 2)]
    assert severity_of(finding(denied("ec2:GetPasswordData", resources=instances[:1])), OPTIONS) == "low"
    assert severity_of(finding(denied("ec2:GetPasswordData", resources=instances)), OPTIONS) == "high"
    # cloudtrail:StopLogging is Write: medium for want of a grant, high for its hazard.
    trail = f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/management"
    assert severity_of(finding(denied("cloudtrail:StopLogging", resources=[trail])), OPTIONS) == "high"


def test_a_defence_evasion_or_escalation_hazard_stopped_by_a_guardrail_is_critical():
    trail = f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/management"
    stopped = denied("cloudtrail:StopLogging", "scp", resources=[trail])
    assert severity_of(finding(stopped, kind="org_policy"), OPTIONS) == "critical"
    own_policy = denied("iam:PutUserPolicy", "explicit_identity_deny", resources=[ALICE])
    assert severity_of(finding(own_policy, kind="review_deny"), OPTIONS) == "critical"
    # a credential-access hazard stopped by a guardrail stays high
    instances = [f"arn:aws:ec2:us-east-1:{OWNER}:instance/*"]
    password = denied("ec2:GetPasswordData", "explicit_identity_deny", resources=instances)
    assert severity_of(finding(password, kind="review_deny"), OPTIONS) == "high"
    # and a hazard's action out of scope (someone else's user) is no hazard: an explicit deny of it is high
    other = denied("iam:PutUserPolicy", "explicit_identity_deny", resources=[f"arn:aws:iam::{OWNER}:user/bob"])
    assert severity_of(finding(other, kind="review_deny"), OPTIONS) == "high"


def test_with_severity_fills_hazards_and_severity_and_the_finding_keeps_the_contract():
    own_policy = denied("iam:PutUserPolicy", resources=[ALICE])
    filled = with_severity(finding(own_policy), OPTIONS)
    assert filled["severity"] == "high"
    assert [h["action"] for h in filled["hazards"]] == ["iam:PutUserPolicy"]
    model = Finding.model_validate(filled, context=BUILDING)
    assert severity_of(model, OPTIONS) == "high"  # the model reads as its data
