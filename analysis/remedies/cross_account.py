"""Rule 4: access from another account goes through a role in the owning account that the caller assumes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from analysis import policies
from analysis.remedies import identity_center
from analysis.remedies.commands import attach_commands, policy_name, shell_word
from analysis.remedies.notes import policy_resource_type
from analysis.remedies.situation import Situation, texts

_EXTERNAL_ID_NAMESPACE = uuid.UUID("6f1c2a52-5d0e-4a4b-9a57-2f3c1f0e8a11")


def cross_account(
    situation: Situation, remedy: dict[str, Any], callers_own: dict[str, Any] | None, withheld: bool = False
) -> None:
    """Fill the role's trust policy, the caller's policy (sts:AssumeRole, and ``callers_own``: the actions that act
    in the caller's account), the notes and the commands. ``withheld``: dangerous actions were left out."""
    finding = situation.finding
    target = finding["target_account_id"]
    caller_account = finding["principal"]["account_id"]
    service = _service_label(finding)
    # One role per finding: two principals of one account must not share (and widen) each other's role.
    role_name = f"{service}AccessFrom{caller_account or 'Partner'}-{finding['id'][2:10]}"
    role_arn = f"arn:{situation.partition}:iam::{target}:role/{role_name}"
    trusted = caller_account in situation.options.trusted_accounts
    in_organization = caller_account in situation.options.organization_accounts
    external_id = None
    if not trusted and not in_organization:
        external_id = str(uuid.uuid5(_EXTERNAL_ID_NAMESPACE, f"{target}:{caller_account}"))
    org_id = situation.options.organization_id if in_organization else None
    remedy["role_name"] = role_name
    remedy["trust_policy"] = _trust_policy(situation, external_id, org_id)
    remedy["caller_policy"] = policies.assume_role_policy(role_arn, callers_own)
    notes = remedy["notes"]
    notes.append(
        f"Access from account {caller_account} to account {target} goes through a role in {target} "
        f"({role_name}) that the caller assumes"
        + (": App Runner has no resource-based policies." if service == "AppRunner" else ".")
    )
    notes.extend(_caller_notes(situation, external_id, org_id, caller_account))
    if callers_own:
        notes.append(
            "Actions that take no resource (only '*') act in the caller's own account: they are granted to the "
            "caller, in caller-policy.json, not to the role."
        )
    if remedy["policy"] is None and not withheld:
        notes.append("No permission could be scoped from the log: add the role's permissions by hand.")
    notes.extend(_resource_policy_alternative(situation))
    remedy["commands"] = _commands(situation, remedy, role_arn, external_id)


def _trust_policy(situation: Situation, external_id: str | None, org_id: str | None) -> dict[str, Any]:
    principal = situation.principal
    caller_arn = principal["arn"]
    account_root = f"arn:{situation.partition}:iam::{principal['account_id']}:root"
    if principal.get("permission_set"):
        return policies.trust_policy(
            account_root,
            external_id=external_id,
            organization_id=org_id,
            principal_arn_like=identity_center.principal_arn_pattern(situation),
        )
    trusted = caller_arn if caller_arn and ":root" not in caller_arn else account_root
    return policies.trust_policy(trusted, external_id=external_id, organization_id=org_id)


def _caller_notes(situation: Situation, external_id: str | None, org_id: str | None, caller: str | None) -> list[str]:
    principal = situation.principal
    principals = texts()["principals"]
    notes = []
    if principal.get("permission_set"):
        notes.append(
            "The trust policy names the caller's account and narrows it with aws:PrincipalArn (ArnLike, with "
            "wildcards): Identity Center re-creates the AWSReservedSSO_ role with a new suffix when the permission "
            "set is re-provisioned, and a trust policy naming the role itself would then stop matching."
        )
    elif not principal["arn"]:
        notes.append(
            f"The log names only the caller's account {caller}: the trust policy trusts that "
            "account, whose administrators then decide which of their principals may assume the role."
        )
    elif principal["type"] == "AWSAccount":
        notes.append(
            f"The owner's log names the caller only through its session ({principal['arn']} comes from the error "
            "message): if that role has a path, put the full ARN in the trust policy, since IAM refuses a "
            "principal that does not exist."
        )
    if principal["type"] == "FederatedUser":
        notes.append(principals["federated_user_cross_account"])
    if external_id:
        notes.append(
            f"Account {caller} is neither trusted (--trusted-accounts) nor in the organization: "
            "confirm who owns that account before creating the role. The trust policy requires "
            f"sts:ExternalId; replace {external_id} with the external ID agreed with that account's owner."
        )
        if principal.get("permission_set") or principal["type"] in ("AssumedRole", "IAMUser"):
            notes.append(
                "A role that requires sts:ExternalId cannot be used from the console's Switch Role: the caller "
                "must assume it with the CLI or an SDK, passing --external-id."
            )
    elif org_id:
        notes.append(
            f"Account {caller} is in the organization {org_id}: the trust policy also requires aws:PrincipalOrgID."
        )
    else:
        notes.append(f"Account {caller} is trusted: no sts:ExternalId is required.")
    return notes


def _service_label(finding: dict[str, Any]) -> str:
    prefixes = sorted({a["action"].split(":", 1)[0] for a in finding["actions"]})
    if "apprunner" in prefixes or not prefixes:
        return "AppRunner"
    return "".join(part.title() for part in prefixes[0].split("-"))


def _resource_policy_alternative(situation: Situation) -> list[str]:
    """For a resource whose type takes a resource-based policy, the statement that would allow the caller directly."""
    finding = situation.finding
    root = f"arn:{situation.partition}:iam::{finding['principal']['account_id']}:root"
    caller = finding["principal"]["arn"] or root
    notes = []
    for action in finding["actions"]:
        resources = [r for r in action["resources"] if r != "*"]
        resource_type = policy_resource_type(action["action"], resources)
        if resource_type is None:
            continue
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": caller},
            "Action": action["action"],
            "Resource": resources[0] if len(resources) == 1 else resources,
        }
        callers_side = {"Effect": "Allow", "Action": action["action"], "Resource": statement["Resource"]}
        notes.append(
            f"{action['action']}: its resource ({resource_type}) takes a resource-based policy: instead of the role, "
            f"this statement in the resource's policy would allow the caller: {json.dumps(statement)}. A request "
            "from another account needs both sides, so the caller's own identity-based policy must allow it too: "
            f"{json.dumps(callers_side)}"
        )
    return notes


def _commands(situation: Situation, remedy: dict[str, Any], role_arn: str, external_id: str | None) -> list[str]:
    finding = situation.finding
    role_name = remedy["role_name"]
    name = policy_name(finding)
    commands = [
        f"# in account {shell_word(finding['target_account_id'])} (owner of the resources):",
        f"aws iam create-role --role-name {role_name} --assume-role-policy-document file://trust-policy.json",
    ]
    if remedy["policy"] is not None:
        documents = [remedy["policy"], *remedy["more_policies"]]
        attach, notes = attach_commands(role_arn, documents, name, situation.partition)
        commands += attach
        remedy["notes"].extend(notes)
    caller_arn = situation.principal.get("arn") or ""
    if situation.principal.get("permission_set"):
        commands.append(
            f"# for the caller's permission set (account {situation.principal['account_id']} is assigned it), in the "
            "organization's management account or Identity Center's delegated administrator account:"
        )
        caller_commands, notes = identity_center.caller_commands(situation)
        commands += caller_commands
        remedy["notes"].extend(notes)
    else:
        commands.append(f"# in account {shell_word(situation.principal['account_id'])} (the caller):")
        attach, notes = attach_commands(
            caller_arn, [remedy["caller_policy"]], f"{name}-AssumeRole", situation.partition, "caller-policy.json"
        )
        commands += attach or ["# attach caller-policy.json to the principals that should assume the role"]
        remedy["notes"].extend(notes)
    assume = f"aws sts assume-role --role-arn {shell_word(role_arn)} --role-session-name app-runner-access"
    commands.append(assume + (f" --external-id {external_id}" if external_id else ""))
    return commands
