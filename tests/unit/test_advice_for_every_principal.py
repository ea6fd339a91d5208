"""Issue 10: advice that is right for every principal. Each case is a hand-written record under tests/data/edge/,
and each expectation is written from the AWS documentation cited beside it, not from the code's output."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from analysis import policies
from analysis.model import Options
from tests.analysed import findings_of
from tests.conftest import DATA

EDGE = DATA / "edge"
OWNER, PARTNER = "111122223333", "444455556666"
SERVICE = f"arn:aws:apprunner:us-east-1:{OWNER}:service/web/8fe1e10304f84fd2b0df550fe98a71fa"
EVERYTHING = Options(service="all")
PARTNER_TRUSTED = Options(service="all", trusted_accounts=frozenset({PARTNER}))


def edge(name: str, options: Options = EVERYTHING) -> dict[str, Any]:
    [finding] = findings_of(json.loads((EDGE / f"{name}.json").read_text())["Records"], options)
    return finding


def notes_of(finding: dict[str, Any]) -> str:
    return "\n".join(finding["remedy"]["notes"])


def statements(policy: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((policy or {}).get("Statement", []))


# --- AWS's own example: App Runner's troubleshooting page --------------------------------------------------
# "User: arn:aws:iam::123456789012:user/marymajor is not authorized to perform: apprunner:DescribeService on
# resource: my-example-service" (docs.aws.amazon.com/apprunner/latest/dg/security_iam_troubleshoot.html).


def test_a_bare_name_resolves_to_the_requests_arn_of_that_name():
    finding = edge("aws_example_bare_name_with_request")
    arn = "arn:aws:apprunner:us-east-1:123456789012:service/my-example-service/0123456789abcdef0123456789abcdef"
    assert finding["actions"][0]["resources"] == [arn]
    assert finding["remedy"]["kind"] == "grant"
    assert [s["Resource"] for s in statements(finding["remedy"]["policy"])] == [arn]


def test_a_bare_name_without_a_request_is_the_name_scoped_arn():
    # Service ARN format (Service Authorization Reference): arn:${Partition}:apprunner:${Region}:${Account}:
    # service/${ServiceName}/${ServiceId}; the id is unknown, so the name scopes it.
    finding = edge("aws_example_bare_name")
    pattern = "arn:aws:apprunner:us-east-1:123456789012:service/my-example-service/*"
    assert finding["actions"][0]["resources"] == [pattern]
    assert [s["Resource"] for s in statements(finding["remedy"]["policy"])] == [pattern]


# --- the root user: "You can't attach policies to the root user" (IAM User Guide, root user) ----------------


def test_root_with_no_identity_allow_gets_no_grant_and_is_told_to_use_a_role():
    finding = edge("root_no_identity_allow")
    remedy = finding["remedy"]
    assert remedy["kind"] == "org_policy"
    assert (remedy["policy"], remedy["more_policies"], remedy["commands"]) == (None, [], [])
    notes = notes_of(finding)
    assert "through an IAM role" in notes and "review why the root user was used" in notes
    # Root has neither identity-based policies nor a boundary: nothing blames a missing grant or a boundary.
    assert "granting it is the fix" not in notes
    assert "does not allow it" not in notes and "boundary of" not in notes
    assert finding["severity"] == "critical"


def test_root_of_another_account_gets_no_role_it_could_not_assume():
    # IAM User Guide: the root user cannot assume roles (it is rule 2 before rule 4).
    remedy = edge("root_cross_account")["remedy"]
    assert remedy["kind"] == "org_policy"
    assert (remedy["trust_policy"], remedy["caller_policy"], remedy["policy"]) == (None, None, None)
    notes = "\n".join(remedy["notes"])
    assert "the root user cannot assume an IAM role" in notes
    assert "App Runner has no resource-based policies" in notes  # nothing in the owner can allow it directly


# --- principals whose permissions nobody edits ---------------------------------------------------------------


def test_a_service_linked_role_is_reviewed_not_granted():
    # IAM User Guide, service-linked roles: "you can't edit the permissions"; SCPs do not affect them.
    finding = edge("service_linked_role")
    remedy = finding["remedy"]
    assert remedy["kind"] == "review_deny"
    assert remedy["policy"] is None
    assert not [c for c in remedy["commands"] if "put-role-policy" in c]
    assert "service-linked role" in notes_of(finding) and "KMS key policy" in notes_of(finding)


def test_an_aws_service_principal_is_reviewed_with_what_to_check():
    # App Runner guide: the instance role is trusted by tasks.apprunner.amazonaws.com, the ECR access role by
    # build.apprunner.amazonaws.com.
    finding = edge("aws_service")
    assert finding["remedy"]["kind"] == "review_deny" and finding["remedy"]["policy"] is None
    notes = notes_of(finding)
    assert "granting it is the fix" not in notes
    assert "key policy" in notes
    assert "tasks.apprunner.amazonaws.com" in notes and "build.apprunner.amazonaws.com" in notes


def test_a_refused_web_identity_federation_points_at_the_trust_policy():
    # IAM User Guide, OIDC federation: the role's trust policy names the provider and conditions on aud and sub.
    finding = edge("web_identity")
    assert finding["remedy"]["kind"] == "review_deny"
    assert finding["remedy"]["policy"] is None
    notes = notes_of(finding)
    assert "trust policy" in notes and ":aud" in notes and ":sub" in notes
    assert "aws iam get-role --role-name GitHubDeploy" in notes


def test_a_refused_saml_federation_points_at_the_trust_policy():
    finding = edge("saml")
    assert (finding["remedy"]["kind"], finding["remedy"]["policy"]) == ("review_deny", None)
    assert "SAML:aud" in notes_of(finding)


# --- IAM Identity Center ---------------------------------------------------------------------------------------


def test_permission_set_commands_carry_the_region_of_the_role_path_and_match_the_name():
    # Identity Center roles live at /aws-reserved/sso.amazonaws.com/REGION/ (Identity Center user guide,
    # "Referencing permission sets in resource policies"); sso-admin runs in that Region, in the management or
    # delegated administrator account, and list-permission-sets returns ARNs only: describe-permission-set names them.
    finding = edge("identity_center_region")
    remedy = finding["remedy"]
    assert remedy["kind"] == "permission_set"
    sso = [c for c in remedy["commands"] if "sso-admin" in c]
    assert sso and all("--region eu-west-1" in c for c in sso)
    assert any("describe-permission-set" in c and "awk -v name=AppRunnerDeploy " in c for c in sso)
    assert not [c for c in remedy["commands"] if "put-role-policy" in c]
    assert "management account" in notes_of(finding) and "delegated administrator" in notes_of(finding)


def test_a_broad_permission_set_is_not_widened_silently():
    finding = edge("identity_center_broad_set")
    remedy = finding["remedy"]
    assert not [
        c for c in remedy["commands"] if "put-inline-policy-to-permission-set" in c and '$PERMISSION_SET_ARN"' in c
    ]
    assert any("create-permission-set" in c for c in remedy["commands"])
    assert any("create-account-assignment" in c and "--target-id 111122223333" in c for c in remedy["commands"])
    notes = notes_of(finding)
    assert (
        "ReadOnlyAccess is a broad permission set" in notes and "list-accounts-for-provisioned-permission-set" in notes
    )


def test_an_identity_center_caller_from_another_account_is_trusted_by_principal_arn_pattern():
    # Identity Center guide: reference the role with aws:PrincipalArn and a wildcard, since re-provisioning changes
    # the role's suffix; the console's Switch Role cannot pass an external ID (IAM User Guide, sts:ExternalId).
    finding = edge("identity_center_cross_account")
    remedy = finding["remedy"]
    assert remedy["kind"] == "cross_account_role"
    [statement] = remedy["trust_policy"]["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PARTNER}:root"}
    assert statement["Condition"]["ArnLike"] == {
        "aws:PrincipalArn": f"arn:aws:iam::{PARTNER}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_PartnerOps_*"
    }
    assert not [c for c in remedy["commands"] if "put-role-policy --role-name AWSReservedSSO" in c]
    assert any("put-inline-policy-to-permission-set" in c and "caller-policy.json" in c for c in remedy["commands"])
    assert "cannot be used from the console's Switch Role" in notes_of(finding)


# --- cross-account edges ---------------------------------------------------------------------------------------


def test_pass_role_of_another_accounts_role_is_no_cross_account_role():
    # IAM User Guide, iam:PassRole: a role can only be passed to a service in the role's own account.
    finding = edge("pass_role_of_another_account")
    remedy = finding["remedy"]
    assert remedy["kind"] == "review_deny"
    assert (remedy["policy"], remedy["trust_policy"]) == (None, None)
    notes = notes_of(finding)
    assert "can only be passed to a service in its own account" in notes
    assert "iam:PassRole is granted only" not in notes


def test_list_services_acts_in_the_callers_account_and_is_granted_there():
    # Service Authorization Reference: apprunner:ListServices takes no resource ("*").
    finding = edge("list_services_from_another_account")
    remedy = finding["remedy"]
    assert remedy["kind"] == "grant" and remedy["trust_policy"] is None
    assert statements(remedy["policy"]) == [
        {"Sid": "AllowApprunnerListServices", "Effect": "Allow", "Action": "apprunner:ListServices", "Resource": "*"}
    ]
    assert remedy["commands"][0].startswith("aws iam put-role-policy --role-name Ops ")
    assert f"acts in the caller's own account ({PARTNER})" in notes_of(finding)


def test_a_federation_token_caller_is_told_it_cannot_assume_the_role():
    # AWS STS, GetFederationToken: the session "can't call any STS API operations except GetCallerIdentity".
    finding = edge("federation_token_from_another_account")
    assert finding["remedy"]["kind"] == "cross_account_role"
    assert "cannot call sts:AssumeRole" in notes_of(finding)
    assert finding["remedy"]["trust_policy"]["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{PARTNER}:user/bob"}


# --- wording that must not contradict itself ------------------------------------------------------------------


def test_do_not_grant_kinds_never_ask_to_confirm_before_granting():
    for name in ("scp_one_off", "boundary_explicit_deny", "vpc_endpoint_on_app_runner"):
        finding = edge(name)
        assert finding["remedy"]["kind"] in ("review_deny", "org_policy")
        assert "before granting" not in notes_of(finding), name


def test_an_explicit_deny_in_a_boundary_is_removed_not_outweighed():
    # IAM policy evaluation logic: an explicit deny in any policy overrides any allow.
    notes = notes_of(edge("boundary_explicit_deny"))
    assert "remove or narrow that Deny statement in the boundary" in notes
    assert "must allow" not in notes and "does not allow it" not in notes


def test_app_runner_resources_have_no_resource_policy_to_change():
    # IAM User Guide, "AWS services that work with IAM": App Runner, resource-based policies: No.
    notes = notes_of(edge("resource_policy_on_app_runner"))
    assert "App Runner resources have none" in notes
    assert "change the resource's policy" not in notes


def test_app_runner_has_no_endpoint_policy_and_other_endpoints_are_named_from_the_record():
    app_runner = notes_of(edge("vpc_endpoint_on_app_runner"))
    assert "App Runner's VPC endpoints take no endpoint policy" in app_runner
    assert "com.amazonaws.REGION.apprunner" not in app_runner
    # CloudTrail record contents: vpcEndpointId and vpcEndpointAccountId name the endpoint and its owner.
    s3 = notes_of(edge("vpc_endpoint_on_s3"))
    assert "vpce-0f1e2d3c4b5a69788 (owned by account 999988887777)" in s3
    assert "--vpc-endpoint-ids vpce-0f1e2d3c4b5a69788" in s3


def test_pass_role_notes_never_say_it_was_not_refused_when_it_was():
    finding = edge("pass_role_refused_in_create_service")
    notes = notes_of(finding)
    assert "iam:PassRole" in [a["action"] for a in finding["actions"]]
    assert "Neither is granted because neither was refused" not in notes
    assert "needs iam:PassRole with" not in notes
    assert "iam:PassRole is granted only for the refused role" in notes


def test_the_resource_policy_alternative_names_the_queue_the_url_names():
    # SQS queue URL https://sqs.REGION.amazonaws.com/ACCOUNT/NAME is queue ARN arn:aws:sqs:REGION:ACCOUNT:NAME.
    finding = edge("sqs_queue_url_from_another_account")
    queue = f"arn:aws:sqs:eu-west-1:{OWNER}:jobs"
    assert finding["actions"][0]["resources"] == [queue]
    [alternative] = [n for n in finding["remedy"]["notes"] if "takes a resource-based policy" in n]
    assert f'"Resource": "{queue}"' in alternative and '"Resource": "*"' not in alternative


def test_the_scp_command_walks_up_to_the_root():
    # Organizations: SCPs attached to the root and to every OU above the account apply to it.
    notes = notes_of(edge("scp_one_off"))
    assert "aws organizations list-parents --child-id" in notes
    assert "--filter SERVICE_CONTROL_POLICY" in notes


def test_pass_role_to_ecs_is_passed_to_ecs_tasks():
    # ECS guide, task IAM roles: the task role is passed to ecs-tasks.amazonaws.com.
    finding = edge("pass_role_to_ecs_tasks")
    assert finding["actions"][0]["context"] == {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}
    [statement] = statements(finding["remedy"]["policy"])
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


# --- commands that do not break what is there -----------------------------------------------------------------


def test_a_user_grant_past_the_inline_limit_becomes_a_managed_policy():
    # IAM quotas: a user's inline policies total at most 2,048 characters; a managed policy 6,144.
    finding = edge("user_grant_past_the_inline_limit")
    remedy = finding["remedy"]
    size = policies.policy_size(remedy["policy"])
    assert 2048 < size <= 6144
    name = f"AppRunnerAudit-{finding['id']}-20261128"
    assert remedy["commands"] == [
        f"aws iam create-policy --policy-name {name} --policy-document file://policy.json",
        f"aws iam attach-user-policy --user-name dev-bob --policy-arn arn:aws:iam::{OWNER}:policy/{name}",
    ]


def test_a_small_role_grant_stays_inline_under_its_own_name():
    finding = edge("pass_role_refused_in_create_service")
    assert finding["remedy"]["commands"] == [
        f"aws iam put-role-policy --role-name Deploy --policy-name AppRunnerAudit-{finding['id']}-20261128 "
        "--policy-document file://policy.json"
    ]


# --- dangerous grants ------------------------------------------------------------------------------------------


def test_a_user_writing_its_own_policy_is_warned_about_and_raises_severity():
    # Rhino Security Labs, AWS privilege escalation: iam:PutUserPolicy on oneself.
    finding = edge("hazard_put_user_policy_on_oneself")
    assert [h["action"] for h in finding["hazards"]] == ["iam:PutUserPolicy"]
    assert finding["severity"] in ("high", "critical")
    assert "Warning: iam:PutUserPolicy is a privilege escalation risk" in notes_of(finding)


def test_a_do_not_grant_finding_carries_no_policy_for_a_dangerous_action():
    finding = edge("hazard_in_a_review_deny_finding")
    assert finding["remedy"]["kind"] == "review_deny"
    assert "cloudtrail:StopLogging" not in json.dumps(finding["remedy"]["policy"])
    assert "cloudtrail:StopLogging is a defence evasion risk" in notes_of(finding)


# --- property 3 of the proof: "do not grant" is right where the refusing policy is known ----------------------


def test_where_the_refusing_scp_or_boundary_is_known_a_grant_would_not_help():
    # The messages say an SCP and a boundary explicitly deny apprunner:DeleteService; written here as such
    # (IAM policy evaluation logic: an explicit deny in an SCP or a boundary overrides any allow).
    from analysis.proof import Request, allowed_with

    deny_delete = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "apprunner:DeleteService", "Resource": "*"},
        ],
    }
    for name, layer in (
        ("scp_one_off", {"scps": [deny_delete]}),
        ("boundary_explicit_deny", {"boundary": deny_delete}),
    ):
        finding = edge(name)
        assert finding["remedy"]["kind"] in ("org_policy", "review_deny") and finding["remedy"]["policy"] is None
        [action] = finding["actions"]
        naive = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action["action"], "Resource": action["resources"]}],
        }
        request = Request(action["action"], action["resources"][0])
        assert allowed_with([naive], request) is True
        assert allowed_with([naive], request, **layer) is False, name


def test_an_explicit_deny_in_a_session_policy_is_removed_from_what_the_caller_passes():
    notes = notes_of(edge("session_policy_explicit_deny"))
    assert "an explicit Deny in the session policy" in notes and "remove or narrow that Deny" in notes
    assert "does not allow it" not in notes


# --- the finding's id: the same principal and owning account give the same id on every run ---------------------


def test_a_findings_id_is_stable_across_runs_and_differs_by_owner():
    records = json.loads((EDGE / "root_no_identity_allow.json").read_text())["Records"]
    first = findings_of(records, EVERYTHING)[0]["id"]
    later = findings_of(list(reversed(records))[:2], EVERYTHING)[0]["id"]  # another run: fewer events, other order
    # Worked out here: "f-" and the first 16 hex digits of sha-256("<canonical ARN>\n<owning account>").
    expected = "f-" + hashlib.sha256(f"arn:aws:iam::{OWNER}:root\n{OWNER}".encode()).hexdigest()[:16]
    assert first == later == expected
    other_owner = edge("root_cross_account")
    assert other_owner["id"] != expected


# --- the review's cases -------------------------------------------------------------------------------------------


def test_another_accounts_action_in_a_do_not_grant_finding_gets_no_policy_that_fits_nowhere():
    # App Runner has no resource-based policies: a grant to a caller of another account allows nothing there.
    finding = edge("cross_account_with_a_deny")
    remedy = finding["remedy"]
    assert remedy["kind"] == "review_deny"
    assert (remedy["policy"], remedy["trust_policy"], remedy["commands"]) == (None, None, [])
    assert "access goes through a role in 111122223333 that the caller assumes" in notes_of(finding)


def test_a_bare_name_is_not_put_into_an_arn_that_holds_an_id_or_a_suffix():
    # Service Authorization Reference: secret ARNs end in ${SecretId} (the name and a random 6-character suffix).
    finding = edge("bare_secret_name")
    assert finding["actions"][0]["resources"] == ["prod/db-password"]
    assert finding["remedy"]["policy"] is None


def test_an_scp_refusing_a_caller_of_another_account_is_looked_up_in_the_callers_account():
    # Organizations: an SCP bounds the principals of the account it applies to, here the caller's.
    notes = notes_of(edge("scp_from_another_account"))
    assert f"id={PARTNER};" in notes and f"id={OWNER};" not in notes


def test_a_dangerous_action_is_not_handed_to_an_untrusted_account_and_is_warned_about_for_a_trusted_one():
    untrusted = edge("hazard_from_an_untrusted_account")
    assert untrusted["remedy"]["kind"] == "cross_account_role"
    assert untrusted["remedy"]["policy"] is None
    notes = notes_of(untrusted)
    assert "left out of the policy because the caller's account is neither trusted nor in the organization" in notes
    assert "No permission could be scoped" not in notes
    trusted = edge("hazard_from_an_untrusted_account", PARTNER_TRUSTED)
    [statement] = statements(trusted["remedy"]["policy"])
    assert statement["Action"] == "cloudtrail:StopLogging"
    assert "Warning: cloudtrail:StopLogging is a defence evasion risk" in notes_of(trusted)


def test_an_identity_center_deny_is_changed_in_the_permission_set_not_on_the_role():
    notes = notes_of(edge("identity_center_explicit_deny"))
    assert "a policy of the permission set AppRunnerDeploy explicitly denies it" in notes
    assert "get-inline-policy-for-permission-set" in notes
    assert "list-attached-role-policies" not in notes


def test_two_callers_of_one_account_get_a_role_each():
    findings = findings_of(json.loads((EDGE / "two_callers_of_one_partner.json").read_text())["Records"], EVERYTHING)
    names = {f["principal"]["arn"]: f["remedy"]["role_name"] for f in findings}
    digests = {arn: hashlib.sha256((arn + "\n" + OWNER).encode()).hexdigest()[:8] for arn in names}
    assert set(names) == {f"arn:aws:iam::{PARTNER}:role/Ops", f"arn:aws:iam::{PARTNER}:role/Audit"}
    assert names == {arn: f"AppRunnerAccessFrom{PARTNER}-{digest}" for arn, digest in digests.items()}


def test_a_pass_role_to_a_service_the_table_does_not_list_says_so():
    finding = edge("pass_role_to_an_unlisted_service")
    [statement] = statements(finding["remedy"]["policy"])
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "airflow.amazonaws.com"}}
    assert "does not list airflow.amazonaws.com" in notes_of(finding)


def test_the_callers_permission_set_commands_say_where_they_run():
    commands = edge("identity_center_cross_account")["remedy"]["commands"]
    header = next(i for i, c in enumerate(commands) if c.startswith("# for the caller's permission set"))
    assert "management account" in commands[header] and "sso-admin" in commands[header + 1]


def test_an_identity_center_boundary_is_changed_in_the_permission_set_and_its_deny_removed():
    # Identity Center: a permission set carries the permissions boundary its roles get
    # (PutPermissionsBoundaryToPermissionSet / GetPermissionsBoundaryForPermissionSet).
    missing = notes_of(edge("identity_center_boundary"))
    assert "the permissions boundary of the permission set AppRunnerDeploy does not allow it" in missing
    assert "get-permissions-boundary-for-permission-set" in missing and "aws iam get-role" not in missing
    denied = notes_of(edge("identity_center_boundary_deny"))
    assert "an explicit Deny in the permissions boundary of the permission set AppRunnerDeploy refuses it" in denied
    assert "remove or narrow that Deny in the boundary" in denied


def test_an_explicit_deny_in_another_services_endpoint_policy_is_removed():
    notes = notes_of(edge("vpc_endpoint_deny_on_s3"))
    assert "an explicit Deny in the policy of the VPC endpoint the call went through refuses it" in notes
    assert "--vpc-endpoint-ids vpce-0f1e2d3c4b5a69788" in notes


def test_a_role_refused_by_its_trust_policy_points_at_the_trust_policy():
    # IAM: a role's trust policy is the resource-based policy sts:AssumeRole is evaluated against.
    finding = edge("assume_role_refused_by_trust_policy")
    assert finding["remedy"]["kind"] == "review_deny"
    assert "for sts:AssumeRole, the role's trust policy" in notes_of(finding)
    assert "resources have none" not in notes_of(finding)


def test_root_refused_by_a_resource_policy_is_told_to_change_that_policy():
    # docs/CONTRACT.md rule 2: root is org_policy "unless a resource-based policy refused it: rule 3".
    finding = edge("root_refused_by_a_resource_policy")
    assert finding["remedy"]["kind"] == "review_deny" and finding["remedy"]["policy"] is None
    assert "change the resource's policy" in notes_of(finding)
