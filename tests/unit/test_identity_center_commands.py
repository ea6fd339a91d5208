"""The sso-admin commands a user pastes, checked whole: each written from the AWS CLI reference for sso-admin
(list-instances, list-permission-sets, describe-permission-set, list-accounts-for-provisioned-permission-set,
create-permission-set, put-inline-policy-to-permission-set, list-account-assignments, create-account-assignment,
get-inline-policy-for-permission-set, provision-permission-set)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from analysis.model import Options
from tests import factories as f
from tests.analysed import findings_of
from tests.conftest import DATA

EDGE = DATA / "edge"
OWNER, PARTNER = "111122223333", "444455556666"


def edge(name: str) -> dict[str, Any]:
    [finding] = findings_of(json.loads((EDGE / f"{name}.json").read_text())["Records"], Options(service="all"))
    return finding


def lookup(region: str, permission_set: str) -> list[str]:
    """Find the instance, then the permission set's ARN by its name (list-permission-sets returns ARNs only)."""
    flags = f'--region {region} --instance-arn "$INSTANCE_ARN"'
    return [
        f"INSTANCE_ARN=$(aws sso-admin list-instances --region {region} --query 'Instances[0].InstanceArn' "
        "--output text)",
        f"PERMISSION_SET_ARN=$(for ps in $(aws sso-admin list-permission-sets {flags} --query 'PermissionSets[]' "
        f'--output text); do aws sso-admin describe-permission-set {flags} --permission-set-arn "$ps" --query '
        "'PermissionSet.[Name,PermissionSetArn]' --output text; done | awk -v name="
        + shlex.quote(permission_set)  # a value from the log, one shell word whatever it holds
        + " '$1 == name {print $2}')",
        f'aws sso-admin list-accounts-for-provisioned-permission-set {flags} --permission-set-arn "$PERMISSION_SET_ARN"'
        "  # every account a change to it reaches",
    ]


def test_a_broad_permission_set_gets_a_new_one_assigned_in_the_one_account():
    finding = edge("identity_center_broad_set")
    new = f"AppRunner-{finding['id'][2:14]}"
    flags = '--region eu-west-1 --instance-arn "$INSTANCE_ARN"'
    assert finding["remedy"]["commands"] == [
        *lookup("eu-west-1", "ReadOnlyAccess"),
        f"NEW_PERMISSION_SET_ARN=$(aws sso-admin create-permission-set {flags} --name {new} --description "
        f"'App Runner access for finding {finding['id']}' --query 'PermissionSet.PermissionSetArn' --output text)",
        f'aws sso-admin put-inline-policy-to-permission-set {flags} --permission-set-arn "$NEW_PERMISSION_SET_ARN" '
        "--inline-policy file://policy.json",
        f"aws sso-admin list-account-assignments {flags} --account-id {OWNER} "
        f'--permission-set-arn "$PERMISSION_SET_ARN"  # who holds ReadOnlyAccess in {OWNER}',
        f"aws sso-admin create-account-assignment {flags} --target-id {OWNER} --target-type AWS_ACCOUNT "
        '--permission-set-arn "$NEW_PERMISSION_SET_ARN" --principal-type PRINCIPAL_TYPE --principal-id PRINCIPAL_ID'
        "  # USER or GROUP and its id, from the list above",
    ]
    assert finding["remedy"]["notes"][-2:] == [
        "Run the sso-admin commands in the organization's management account or in IAM Identity Center's delegated "
        "administrator account, in eu-west-1, the Region of the Identity Center instance.",
        "ReadOnlyAccess is a broad permission set, usually provisioned to many accounts: widening it would change it "
        "in every one of them, for everyone assigned it (list-accounts-for-provisioned-permission-set shows where). "
        f"A new permission set {new} holding only this grant is proposed instead, assigned in account {OWNER} to the "
        "user (or group) who needs it.",
    ]


def test_a_narrow_permission_set_is_changed_and_provisioned_saying_who_else_it_reaches():
    finding = edge("identity_center_region")
    flags = '--region eu-west-1 --instance-arn "$INSTANCE_ARN" --permission-set-arn "$PERMISSION_SET_ARN"'
    assert finding["remedy"]["commands"] == [
        *lookup("eu-west-1", "AppRunnerDeploy"),
        f"aws sso-admin get-inline-policy-for-permission-set {flags}  # merge policy.json into what is there: the "
        "next command replaces it",
        f"aws sso-admin put-inline-policy-to-permission-set {flags} --inline-policy file://policy.json",
        f"aws sso-admin provision-permission-set {flags} --target-type ALL_PROVISIONED_ACCOUNTS",
    ]
    assert finding["remedy"]["notes"][-1] == (
        "Changing AppRunnerDeploy changes it in every account it is provisioned to, for everyone assigned it there "
        "(list-accounts-for-provisioned-permission-set shows where): if only account 111122223333 needs this, create "
        "a separate permission set instead."
    )


def test_an_identity_center_caller_of_another_account_gets_assume_role_through_its_permission_set():
    finding = edge("identity_center_cross_account")
    path = "aws-reserved/sso.amazonaws.com/us-east-1"
    key = f"arn:aws:iam::{PARTNER}:role/{path}/AWSReservedSSO_PartnerOps_2b3c4d5e6f7a8b9c"
    role = f.cross_account_role_name(key, PARTNER, OWNER)
    name = f"AppRunnerAudit-{f.finding_id_of(key, OWNER)}-20261128"
    external_id = finding["remedy"]["trust_policy"]["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"]
    flags = '--region us-east-1 --instance-arn "$INSTANCE_ARN" --permission-set-arn "$PERMISSION_SET_ARN"'
    assert finding["remedy"]["commands"] == [
        f"# in account {OWNER} (owner of the resources):",
        f"aws iam create-role --role-name {role} --assume-role-policy-document file://trust-policy.json",
        f"aws iam put-role-policy --role-name {role} --policy-name {name} --policy-document file://policy.json",
        f"# for the caller's permission set (account {PARTNER} is assigned it), in the organization's management "
        "account or Identity Center's delegated administrator account:",
        *lookup("us-east-1", "PartnerOps"),
        f"aws sso-admin get-inline-policy-for-permission-set {flags}  # merge caller-policy.json into what is there: "
        "the next command replaces it",
        f"aws sso-admin put-inline-policy-to-permission-set {flags} --inline-policy file://caller-policy.json",
        f"aws sso-admin provision-permission-set {flags} --target-type ALL_PROVISIONED_ACCOUNTS",
        f"aws sts assume-role --role-arn arn:aws:iam::{OWNER}:role/{role} --role-session-name app-runner-access "
        f"--external-id {external_id}",
    ]
    assert finding["remedy"]["notes"] == [
        f"Access from account {PARTNER} to account {OWNER} goes through a role in {OWNER} ({role}) that the caller "
        "assumes: App Runner has no resource-based policies.",
        "The trust policy names the caller's account and narrows it with aws:PrincipalArn (ArnLike, with wildcards): "
        "Identity Center re-creates the AWSReservedSSO_ role with a new suffix when the permission set is "
        "re-provisioned, and a trust policy naming the role itself would then stop matching.",
        f"Account {PARTNER} is neither trusted (--trusted-accounts) nor in the organization: confirm who owns that "
        f"account before creating the role. The trust policy requires sts:ExternalId; replace {external_id} with the "
        "external ID agreed with that account's owner.",
        "A role that requires sts:ExternalId cannot be used from the console's Switch Role: the caller must assume it "
        "with the CLI or an SDK, passing --external-id.",
        "Run the sso-admin commands in the organization's management account or in IAM Identity Center's delegated "
        "administrator account, in us-east-1, the Region of the Identity Center instance.",
        "The caller is an IAM Identity Center role: sts:AssumeRole goes in its permission set PartnerOps, not on the "
        "AWSReservedSSO_ role, which Identity Center owns.",
    ]


def test_a_role_path_without_a_region_asks_for_it():
    # Older Identity Center roles live at /aws-reserved/sso.amazonaws.com/ without the Region.
    records = [f.record("UpdateService", identity=f.identity_center_role("Data_Science", "jane@example.com"))]
    [finding] = findings_of(records, Options(service="all"))
    assert finding["remedy"]["commands"][0].startswith(
        "INSTANCE_ARN=$(aws sso-admin list-instances --region IDENTITY_CENTER_REGION "
    )
    assert (
        "The role's path does not carry Identity Center's Region: replace IDENTITY_CENTER_REGION."
        in finding["remedy"]["notes"]
    )
