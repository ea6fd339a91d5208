"""Permission sets: an IAM Identity Center user's permissions live in the permission set, not in the
``AWSReservedSSO_`` role, which Identity Center owns and re-creates (its name ends in a hash).

The sso-admin commands run in the organization's management account or Identity Center's delegated
administrator account, in the Region of the Identity Center instance (the role's path carries it:
/aws-reserved/sso.amazonaws.com/REGION/). https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsetsconcept.html
"""

from __future__ import annotations

from typing import Any

from analysis.principals import identity_center_region
from analysis.remedies.commands import shell_word
from analysis.remedies.situation import Situation, texts

_LOOKUP = "awk -v name={name} '$1 == name {{print $2}}'"


def permission_set_commands(situation: Situation, documents: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(commands, notes) adding the grant to the caller's permission set, or to a new one for a broad set."""
    finding = situation.finding
    permission_set = situation.principal["permission_set"]
    region, commands, notes = _instance(situation)
    target = shell_word(finding["target_account_id"])
    if len(documents) > 1:
        notes.append("A permission set holds one inline policy: put the statements of every document in policy.json.")
    if permission_set in texts()["broad_permission_sets"]["names"]:
        new_name = f"AppRunner-{finding['id'][2:14]}"
        commands += [
            f'NEW_PERMISSION_SET_ARN=$(aws sso-admin create-permission-set {region} --instance-arn "$INSTANCE_ARN" '
            f"--name {new_name} --description 'App Runner access for finding {finding['id']}' "
            "--query 'PermissionSet.PermissionSetArn' --output text)",
            f'aws sso-admin put-inline-policy-to-permission-set {region} --instance-arn "$INSTANCE_ARN" '
            '--permission-set-arn "$NEW_PERMISSION_SET_ARN" --inline-policy file://policy.json',
            f'aws sso-admin list-account-assignments {region} --instance-arn "$INSTANCE_ARN" --account-id {target} '
            f'--permission-set-arn "$PERMISSION_SET_ARN"  # who holds {permission_set} in {target}',
            f'aws sso-admin create-account-assignment {region} --instance-arn "$INSTANCE_ARN" --target-id {target} '
            '--target-type AWS_ACCOUNT --permission-set-arn "$NEW_PERMISSION_SET_ARN" --principal-type PRINCIPAL_TYPE '
            "--principal-id PRINCIPAL_ID  # USER or GROUP and its id, from the list above",
        ]
        notes.append(
            f"{permission_set} is a broad permission set, usually provisioned to many accounts: widening it would "
            "change it in every one of them, for everyone assigned it (list-accounts-for-provisioned-permission-set "
            f"shows where). A new permission set {new_name} holding only this grant is proposed instead, assigned "
            f"in account {target} to the user (or group) who needs it."
        )
        return commands, notes
    commands += _replace_inline_policy(region, "policy.json")
    notes.append(
        f"Changing {permission_set} changes it in every account it is provisioned to, for everyone assigned it "
        "there (list-accounts-for-provisioned-permission-set shows where): if only account "
        f"{target} needs this, create a separate permission set instead."
    )
    return commands, notes


def caller_commands(situation: Situation) -> tuple[list[str], list[str]]:
    """(commands, notes) giving an Identity Center caller sts:AssumeRole: through its permission set."""
    region, commands, notes = _instance(situation)
    commands += _replace_inline_policy(region, "caller-policy.json")
    notes.append(
        f"The caller is an IAM Identity Center role: sts:AssumeRole goes in its permission set "
        f"{situation.principal['permission_set']}, not on the AWSReservedSSO_ role, which Identity Center owns."
    )
    return commands, notes


def principal_arn_pattern(situation: Situation) -> str:
    """Every version of the caller's Identity Center role, whatever Region path and hash re-provisioning gives it."""
    principal = situation.principal
    return (
        f"arn:{situation.partition}:iam::{principal['account_id']}:role/aws-reserved/sso.amazonaws.com/"
        f"*AWSReservedSSO_{principal['permission_set']}_*"
    )


def _instance(situation: Situation) -> tuple[str, list[str], list[str]]:
    """(--region flag, commands finding the instance and the permission set's ARN, notes)."""
    permission_set = situation.principal["permission_set"]
    found = identity_center_region(situation.principal.get("arn"))
    region = f"--region {found or 'IDENTITY_CENTER_REGION'}"
    notes = [
        "Run the sso-admin commands in the organization's management account or in IAM Identity Center's "
        "delegated administrator account"
        + (f", in {found}, the Region of the Identity Center instance." if found else ".")
    ]
    if not found:
        notes.append("The role's path does not carry Identity Center's Region: replace IDENTITY_CENTER_REGION.")
    commands = [
        f"INSTANCE_ARN=$(aws sso-admin list-instances {region} --query 'Instances[0].InstanceArn' --output text)",
        f"PERMISSION_SET_ARN=$(for ps in $(aws sso-admin list-permission-sets {region} --instance-arn "
        "\"$INSTANCE_ARN\" --query 'PermissionSets[]' --output text); do aws sso-admin describe-permission-set "
        f'{region} --instance-arn "$INSTANCE_ARN" --permission-set-arn "$ps" --query '
        "'PermissionSet.[Name,PermissionSetArn]' --output text; done | "
        + _LOOKUP.format(name=shell_word(permission_set))
        + ")",
        f'aws sso-admin list-accounts-for-provisioned-permission-set {region} --instance-arn "$INSTANCE_ARN" '
        '--permission-set-arn "$PERMISSION_SET_ARN"  # every account a change to it reaches',
    ]
    return region, commands, notes


def _replace_inline_policy(region: str, file_name: str) -> list[str]:
    return [
        f'aws sso-admin get-inline-policy-for-permission-set {region} --instance-arn "$INSTANCE_ARN" '
        f'--permission-set-arn "$PERMISSION_SET_ARN"  # merge {file_name} into what is there: the next command '
        "replaces it",
        f'aws sso-admin put-inline-policy-to-permission-set {region} --instance-arn "$INSTANCE_ARN" '
        f'--permission-set-arn "$PERMISSION_SET_ARN" --inline-policy file://{file_name}',
        f'aws sso-admin provision-permission-set {region} --instance-arn "$INSTANCE_ARN" '
        '--permission-set-arn "$PERMISSION_SET_ARN" --target-type ALL_PROVISIONED_ACCOUNTS',
    ]
