"""The proof of a fix (analysis.proof): hand-written findings and policies, each expected outcome worked out by hand
from IAM's evaluation logic (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an Allow matches when its action, resource and every condition match; an explicit Deny, an SCP or a permissions
boundary that does not allow the request refuses it whatever identity policies say."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

import analysis
from analysis.cli import main
from analysis.proof import Counterexample, Proof, Request, allowed_with, proof_line, prove_finding
from tests import reports as r

pytestmark = pytest.mark.unit

ACCOUNT = r.ACCOUNT
SERVICE = r.SERVICE  # …:service/web/8fe1e10304f84fd2b0df550fe98a71fa
OTHER_SERVICE = f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/api/2c5b7e09a4d34f1e8b6a90c3d7f5e214"
WEB_SERVICES = f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/web/*"
INSTANCE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AppRunnerInstanceRole"
APPRUNNER = "apprunner.amazonaws.com"
ECS_TASKS = "ecs-tasks.amazonaws.com"


def statement(action: str | list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def grant(policy: dict[str, Any] | None, *more: dict[str, Any], kind: str = "grant") -> dict[str, Any]:
    return {
        "kind": kind,
        "policy": policy,
        "trust_policy": None,
        "caller_policy": None,
        "notes": [],
        "more_policies": list(more),
    }


def finding(actions: list[dict[str, Any]], remedy: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    return r.finding(actions=actions, remedy=remedy, severity="low", **extra)


def refused(name: str, resources: list[str], **extra: Any) -> dict[str, Any]:
    return r.action(name, resources=resources, **extra)


def proof_of(actions: list[dict[str, Any]], *policies: dict[str, Any]) -> Proof:
    return prove_finding(finding(actions, grant(*policies)))


def only(proof: Proof) -> Counterexample:
    assert proof.status == "not_proven"
    assert len(proof.counterexamples) == 1, proof.counterexamples
    return proof.counterexamples[0]


# Coverage and exactness


def test_an_exact_grant_is_proven():
    proof = proof_of(
        [refused("apprunner:DescribeService", [SERVICE])],
        document(statement("apprunner:DescribeService", SERVICE)),
    )
    assert proof.status == "proven"
    assert proof.counterexamples == () and proof.problems == ()
    assert (proof.documents, proof.statements, proof.actions, proof.requests) == (1, 1, 1, 1)


def test_an_action_is_matched_whatever_its_case_as_iam_does():
    proof = proof_of(
        [refused("apprunner:DescribeService", [SERVICE])],
        document(statement("AppRunner:describeservice", SERVICE)),
    )
    assert proof.status == "proven"


def test_any_resource_for_an_action_refused_on_one_service_shows_another_resource():
    counterexample = only(
        proof_of(
            [refused("apprunner:DescribeService", [SERVICE])], document(statement("apprunner:DescribeService", "*"))
        )
    )
    assert counterexample.check == "exactness"
    assert counterexample.action == "apprunner:describeservice"
    assert counterexample.resource != SERVICE


def test_an_action_wildcard_shows_another_action():
    counterexample = only(
        proof_of([refused("apprunner:DescribeService", [SERVICE])], document(statement("apprunner:Describe*", SERVICE)))
    )
    assert counterexample.check == "exactness"
    assert counterexample.action.startswith("apprunner:describe")
    assert counterexample.action != "apprunner:describeservice"
    assert counterexample.resource == SERVICE


def test_pass_role_without_its_service_condition_shows_another_service():
    denied = refused("iam:PassRole", [INSTANCE_ROLE], context={"iam:PassedToService": [APPRUNNER]})
    counterexample = only(proof_of([denied], document(statement("iam:PassRole", INSTANCE_ROLE))))
    assert counterexample.check == "exactness"
    assert (counterexample.action, counterexample.resource) == ("iam:passrole", INSTANCE_ROLE)
    assert counterexample.context.get("iam:passedtoservice") not in (None, APPRUNNER)


def test_pass_role_with_its_service_condition_is_proven():
    denied = refused("iam:PassRole", [INSTANCE_ROLE], context={"iam:PassedToService": [APPRUNNER]})
    condition = {"StringEquals": {"iam:PassedToService": APPRUNNER}}
    proof = proof_of([denied], document(statement("iam:PassRole", INSTANCE_ROLE, Condition=condition)))
    assert proof.status == "proven"


def test_pass_role_refused_for_two_services_is_covered_for_each_in_turn():
    denied = refused("iam:PassRole", [INSTANCE_ROLE], context={"iam:PassedToService": [APPRUNNER, ECS_TASKS]})
    condition = {"StringEquals": {"iam:PassedToService": APPRUNNER}}
    counterexample = only(proof_of([denied], document(statement("iam:PassRole", INSTANCE_ROLE, Condition=condition))))
    assert counterexample.check == "coverage"
    assert counterexample.context == {"iam:passedtoservice": ECS_TASKS}
    both = {"StringEquals": {"iam:PassedToService": [APPRUNNER, ECS_TASKS]}}
    proof = proof_of([denied], document(statement("iam:PassRole", INSTANCE_ROLE, Condition=both)))
    assert proof.status == "proven" and proof.requests == 2


def test_a_name_scoped_pattern_for_create_service_is_proven():
    proof = proof_of(
        [refused("apprunner:CreateService", [WEB_SERVICES])],
        document(statement("apprunner:CreateService", WEB_SERVICES)),
    )
    assert proof.status == "proven"


def test_a_wider_pattern_than_the_name_scoped_one_shows_a_service_of_another_name():
    counterexample = only(
        proof_of(
            [refused("apprunner:CreateService", [WEB_SERVICES])],
            document(statement("apprunner:CreateService", f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/*")),
        )
    )
    assert counterexample.check == "exactness"
    assert counterexample.resource.startswith(f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/")
    assert not counterexample.resource.startswith(f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/web/")


def test_a_policy_missing_one_refused_resource_fails_coverage_on_that_resource():
    counterexample = only(
        proof_of(
            [refused("apprunner:DescribeService", [SERVICE, OTHER_SERVICE])],
            document(statement("apprunner:DescribeService", SERVICE)),
        )
    )
    assert counterexample.check == "coverage"
    assert (counterexample.action, counterexample.resource) == ("apprunner:describeservice", OTHER_SERVICE)


def test_a_name_scoped_pattern_is_not_covered_by_one_service_of_that_name():
    counterexample = only(
        proof_of(
            [refused("apprunner:CreateService", [WEB_SERVICES])],
            document(statement("apprunner:CreateService", SERVICE)),
        )
    )
    assert counterexample.check == "coverage"
    assert counterexample.resource.startswith(f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/web/")
    assert counterexample.resource != SERVICE


def test_an_action_that_takes_no_resource_is_granted_on_star_and_nothing_narrower():
    list_services = [refused("apprunner:ListServices", ["*"])]
    assert proof_of(list_services, document(statement("apprunner:ListServices", "*"))).status == "proven"
    narrower = document(statement("apprunner:ListServices", f"arn:aws:apprunner:us-east-1:{ACCOUNT}:*"))
    assert only(proof_of(list_services, narrower)).check == "coverage"


def test_documents_split_into_more_policies_are_proven_together():
    proof = proof_of(
        [refused("apprunner:DescribeService", [SERVICE]), refused("apprunner:ListServices", ["*"])],
        document(statement("apprunner:DescribeService", SERVICE)),
        document(statement("apprunner:ListServices", "*")),
    )
    assert proof.status == "proven"
    assert (proof.documents, proof.statements, proof.actions, proof.requests) == (2, 2, 2, 2)


def test_only_the_actions_a_policy_names_are_meant_to_be_fixed():
    # DeleteService was refused by an explicit deny: the policy leaves it out, and that is not a gap.
    actions = [
        refused("apprunner:DescribeService", [SERVICE]),
        refused("apprunner:DeleteService", [SERVICE], reasons=["explicit_identity_deny"]),
    ]
    proof = prove_finding(finding(actions, grant(document(statement("apprunner:DescribeService", SERVICE)))))
    assert proof.status == "proven" and proof.actions == 1


def test_an_action_granted_that_was_never_refused_is_excess():
    counterexample = only(
        proof_of(
            [refused("apprunner:DescribeService", [SERVICE])],
            document(statement(["apprunner:DescribeService", "apprunner:DeleteService"], SERVICE)),
        )
    )
    assert (counterexample.check, counterexample.action) == ("exactness", "apprunner:deleteservice")


def test_a_condition_the_evaluator_does_not_model_is_never_taken_as_coverage():
    # A DateLessThan condition may be false at the time of the request: iamprover does not model dates, so the
    # grant is not counted towards coverage (and still counts as allowing, for exactness).
    timed = {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}
    counterexample = only(
        proof_of(
            [refused("apprunner:DescribeService", [SERVICE])],
            document(statement("apprunner:DescribeService", SERVICE, Condition=timed)),
        )
    )
    assert (counterexample.check, counterexample.resource) == ("coverage", SERVICE)


def test_a_finding_without_a_policy_has_nothing_to_prove():
    proof = prove_finding(r.finding(kind="review_deny", severity="high"))
    assert (proof.status, proof.kind, proof.queries) == ("no_policy", "review_deny", 0)
    assert prove_finding(r.finding(kind=None, remedy=None, severity="low")).status == "no_policy"


# A cross-account role: its permissions, the trust policy and the caller's policy


def cross_account(**changes: Any) -> dict[str, Any]:
    value = r.finding(
        f"arn:aws:iam::{r.PARTNER}:role/Partner",
        kind="cross_account_role",
        type_="AssumedRole",
        account=r.PARTNER,
        actions=[refused("apprunner:ListServices", ["*"])],
        severity="critical",
    )
    value["remedy"].update(changes)
    return value


ROLE = f"arn:aws:iam::{ACCOUNT}:role/AppRunnerAccessFrom{r.PARTNER}"


def test_a_cross_account_role_its_trust_and_caller_policies_are_proven():
    proof = prove_finding(cross_account())
    assert proof.status == "proven", proof.counterexamples


def test_a_trust_policy_naming_someone_else_is_not_proven():
    trust = document({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{r.PARTNER}:role/Other"}})
    trust["Statement"][0]["Action"] = "sts:AssumeRole"
    counterexample = only(prove_finding(cross_account(trust_policy=trust)))
    assert (counterexample.check, counterexample.document, counterexample.resource) == ("trust", "trust_policy", ROLE)


def test_a_trust_policy_naming_the_callers_account_lets_the_caller_assume_the_role():
    trust = document({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{r.PARTNER}:root"}})
    trust["Statement"][0]["Action"] = "sts:AssumeRole"
    assert prove_finding(cross_account(trust_policy=trust)).status == "proven"


def test_an_action_without_a_resource_granted_where_the_caller_is_is_proven_in_the_caller_policy():
    # docs/CONTRACT.md rule 4: ListServices acts in the caller's own account, so the caller's policy grants it, beside
    # sts:AssumeRole on the new role; the role itself grants DescribeService on the owner's service.
    caller_policy = document(statement("sts:AssumeRole", ROLE), statement("apprunner:ListServices", "*"))
    value = cross_account(policy=document(statement("apprunner:DescribeService", SERVICE)), caller_policy=caller_policy)
    value["actions"] = [refused("apprunner:DescribeService", [SERVICE]), refused("apprunner:ListServices", ["*"])]
    assert prove_finding(value).status == "proven"
    value["actions"] = value["actions"][:1]  # ListServices never refused: granting it is excess
    counterexample = only(prove_finding(value))
    assert (counterexample.check, counterexample.document) == ("exactness", "caller_policy")
    assert counterexample.action == "apprunner:listservices"


def test_a_caller_policy_on_every_role_is_not_proven():
    counterexample = only(prove_finding(cross_account(caller_policy=document(statement("sts:AssumeRole", "*")))))
    assert (counterexample.check, counterexample.document) == ("exactness", "caller_policy")
    assert counterexample.action == "sts:assumerole" and counterexample.resource != ROLE


# Property 3: where an SCP or a permissions boundary refuses, the proposed grant does not help


DELETE = Request("apprunner:DeleteService", SERVICE)
UPDATE = Request("apprunner:UpdateService", SERVICE)
DESCRIBE = Request("apprunner:DescribeService", SERVICE)


def test_an_scp_deny_is_not_outweighed_by_the_grant():
    grant_delete = [document(statement("apprunner:DeleteService", SERVICE))]
    scp = document(
        statement("*", "*"),
        {"Effect": "Deny", "Action": "apprunner:DeleteService", "Resource": "*"},
    )
    assert allowed_with(grant_delete, DELETE) is True
    assert allowed_with(grant_delete, DELETE, scps=[scp]) is False


def test_an_scp_that_does_not_allow_the_action_is_not_outweighed_either():
    grant_delete = [document(statement("apprunner:DeleteService", SERVICE))]
    read_only = document(statement(["apprunner:Describe*", "apprunner:List*"], "*"))
    assert allowed_with(grant_delete, DELETE, scps=[read_only]) is False


def test_a_boundary_allowing_only_reads_caps_a_write_grant():
    boundary = document(statement(["apprunner:Describe*", "apprunner:List*"], "*"))
    grants = [document(statement(["apprunner:UpdateService", "apprunner:DescribeService"], SERVICE))]
    assert allowed_with(grants, UPDATE) is True
    assert allowed_with(grants, UPDATE, boundary=boundary) is False
    assert allowed_with(grants, DESCRIBE, boundary=boundary) is True


def test_a_session_policy_caps_the_grant_as_a_boundary_does():
    grants = [document(statement("apprunner:UpdateService", SERVICE))]
    session = document(statement("apprunner:DescribeService", "*"))
    assert allowed_with(grants, UPDATE, session_policies=[session]) is False


def test_the_request_context_decides_a_conditional_grant():
    condition = {"StringEquals": {"iam:PassedToService": APPRUNNER}}
    grants = [document(statement("iam:PassRole", INSTANCE_ROLE, Condition=condition))]
    assert allowed_with(grants, Request("iam:PassRole", INSTANCE_ROLE, {"iam:PassedToService": APPRUNNER})) is True
    assert allowed_with(grants, Request("iam:PassRole", INSTANCE_ROLE, {"iam:PassedToService": ECS_TASKS})) is False


# What `apprunner-audit verify` prints


def test_the_line_names_the_finding_principal_kind_status_and_first_counterexample():
    proof = Proof(
        "f-0123456789abcdef",
        "arn:aws:iam::111122223333:user/dev-alice",
        "grant",
        "not_proven",
        counterexamples=(
            Counterexample("exactness", "apprunner:describeservice", "arn:aws:apprunner:x"),
            Counterexample("coverage", "iam:passrole", INSTANCE_ROLE, {"iam:passedtoservice": ECS_TASKS}),
        ),
    )
    assert proof_line(proof) == (
        "f-0123456789abcdef  arn:aws:iam::111122223333:user/dev-alice  grant  not proven  "
        "exactness: apprunner:describeservice on arn:aws:apprunner:x is allowed too (and 1 more)"
    )
    assert proof.counterexamples[1].describe() == (
        f"coverage: iam:passrole on {INSTANCE_ROLE} iam:passedtoservice='{ECS_TASKS}' is still refused"
    )


def _report_file(tmp_path, *findings: dict[str, Any]):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(r.report(list(findings))))
    return path


def test_verify_prints_proven_and_exits_0(tmp_path, capsys):
    exact = finding([refused("apprunner:DescribeService", [SERVICE])], grant(r.policy("apprunner:DescribeService")))
    denied = r.finding(f"arn:aws:iam::{ACCOUNT}:role/Ops", kind="review_deny", severity="high")
    assert main(["verify", str(_report_file(tmp_path, exact, denied))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line.split("  ")[2:] for line in lines) == [["grant", "proven"], ["review_deny", "no policy"]]
    assert {line.split("  ")[0] for line in lines} == {exact["id"], denied["id"]}


def test_verify_prints_not_proven_with_the_counterexample_and_exits_1(tmp_path, capsys):
    wide = finding([refused("apprunner:DescribeService", [SERVICE])], grant(r.policy("apprunner:DescribeService", "*")))
    assert main(["verify", str(_report_file(tmp_path, wide))]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{wide['id']}  arn:aws:iam::{ACCOUNT}:user/dev-alice  grant  not proven  exactness: ")
    assert "apprunner:describeservice on " in line and line.endswith(" is allowed too")


def test_verify_as_json_gives_each_proof_with_its_counts(tmp_path, capsys):
    exact = finding([refused("apprunner:DescribeService", [SERVICE])], grant(r.policy("apprunner:DescribeService")))
    assert main(["verify", str(_report_file(tmp_path, exact)), "--format", "json"]) == 0
    (proof,) = json.loads(capsys.readouterr().out)
    assert proof["finding_id"] == exact["id"] and proof["status"] == "proven"
    assert (proof["documents"], proof["statements"], proof["actions"], proof["requests"]) == (1, 1, 1, 1)
    assert proof["counterexamples"] == [] and proof["queries"] >= 2  # at least coverage and exactness


def test_verify_exits_2_on_a_missing_file_or_one_that_is_not_a_report(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "missing.json")]) == 2
    (tmp_path / "not-a-report.json").write_text('{"findings": []}')
    assert main(["verify", str(tmp_path / "not-a-report.json")]) == 2
    (tmp_path / "not-json.json").write_text("{")
    assert main(["verify", str(tmp_path / "not-json.json")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and all(line.startswith("apprunner-audit: error: ") for line in errors)


def test_verify_without_the_evaluator_says_to_install_the_extra(tmp_path, capsys, monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "iamprover"] + ["iamprover"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed: importing it fails
    monkeypatch.delitem(sys.modules, "analysis.proof", raising=False)
    monkeypatch.delattr(analysis, "proof", raising=False)
    assert main(["verify", str(_report_file(tmp_path))]) == 2
    assert "pip install 'apprunner-access-auditor[verify]'" in capsys.readouterr().err
