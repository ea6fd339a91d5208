"""The advice for each finding: CONTRACT.md's remedy rules, in their order.

1. investigate (reconnaissance)  2. org_policy  3. review_deny  4. cross_account_role
5. permission_set  6. grant. A finding takes the first rule that applies to any of its actions;
unless it is ``investigate``, its policy still grants what a grant would fix, and notes explain the rest.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from analysis import catalog, policies
from analysis.identifiers import partition_for_region
from analysis.policies import Grant

if TYPE_CHECKING:  # the frame functions import pandas when called: one event's advice needs none
    import pandas as pd

    from analysis.model import Options

KINDS = ("investigate", "org_policy", "review_deny", "cross_account_role", "permission_set", "grant")
GRANTABLE_REASONS = frozenset({"no_identity_allow", "unknown"})
ORG_REASONS = frozenset({"scp", "rcp"})
REVIEW_REASONS = frozenset(
    {"explicit_identity_deny", "explicit_deny", "permissions_boundary", "session_policy", "vpc_endpoint_policy"}
)
_EXTERNAL_ID_NAMESPACE = uuid.UUID("6f1c2a52-5d0e-4a4b-9a57-2f3c1f0e8a11")


@cache
def _texts() -> dict[str, Any]:
    texts: dict[str, Any] = json.loads(resources.files("analysis.data").joinpath("remedy_texts.json").read_text())
    return texts


@dataclass
class _Context:
    finding: dict[str, Any]
    rows: list[dict[str, Any]]  # the finding's denial rows (analysis.denials.denial_row)
    options: Options
    reconnaissance: bool

    @property
    def principal(self) -> dict[str, Any]:
        principal: dict[str, Any] = self.finding["principal"]
        return principal


def advise(findings: list[dict[str, Any]], frame: pd.DataFrame, options: Options) -> list[dict[str, Any]]:
    """Each finding's remedy, in the findings' order (``frame`` holds their denial rows)."""
    if not findings:
        return []
    suspects = reconnaissance_principals(frame, options.recon_distinct_actions, options.recon_window_minutes)
    rows_by_finding = dict(iter(frame.groupby(["principal_key", "target_account_id"], sort=False, dropna=False)))
    advice = []
    for finding in findings:
        key = (finding["principal"]["key"], finding["target_account_id"] or "unknown")
        rows: list[dict[str, Any]] = rows_by_finding[key][list(_ROW_FIELDS)].to_dict("records")  # type: ignore[assignment]
        advice.append(remedy_for(_Context(finding, rows, options, finding["principal"]["key"] in suspects)))
    return advice


_ROW_FIELDS = ("action", "event_source", "event_name", "truncated", "encoded_message")


def advise_one(finding: dict[str, Any], rows: list[dict[str, Any]], options: Options) -> dict[str, Any]:
    """The remedy of a finding built from ``rows`` alone (one event, as the alert path sees it): no
    reconnaissance is judged from so little, and pandas is not needed."""
    return remedy_for(_Context(finding, rows, options, reconnaissance=False))


def reconnaissance_principals(frame: pd.DataFrame, distinct_actions: int, window_minutes: int) -> set[str]:
    """Principals denied ``distinct_actions`` or more distinct actions within any ``window_minutes``."""
    import numpy as np

    suspects: set[str] = set()
    timed = frame.dropna(subset=["event_time"])
    counts = timed.groupby("principal_key")["action"].nunique()
    window = np.timedelta64(window_minutes, "m")
    for key in counts[counts >= distinct_actions].index:
        rows = timed[timed["principal_key"] == key]
        starts = np.sort(rows["event_time"].to_numpy(dtype="datetime64[ns]"))
        present = np.zeros(len(starts), dtype=int)
        for _, times in rows.groupby("action")["event_time"]:
            ordered = np.sort(times.to_numpy(dtype="datetime64[ns]"))
            first_at_or_after = np.searchsorted(ordered, starts, side="left")
            first_after_window = np.searchsorted(ordered, starts + window, side="left")
            present += first_after_window > first_at_or_after
        if present.max() >= distinct_actions:
            suspects.add(key)
    return suspects


def _action_rule(context: _Context, action: dict[str, Any]) -> str:
    reasons = set(action["reasons"])
    principal = context.principal
    if reasons & ORG_REASONS or (principal["type"] == "Root" and "unknown" in reasons):
        return "org_policy"
    if (
        reasons & REVIEW_REASONS
        or ("resource_policy" in reasons and not context.finding["cross_account"])
        or principal["type"] == "AWSService"
        or action["non_iam_failures"]
    ):
        return "review_deny"
    if context.finding["cross_account"]:
        return "cross_account_role"
    if principal.get("permission_set"):
        return "permission_set"
    return "grant"


def _grant_fixes(context: _Context, action: dict[str, Any], rule: str) -> bool:
    """Whether a grant is (part of) the fix for this action."""
    if action["non_iam_failures"] or not action.get("action_in_catalog", True):
        return False
    if rule in ("cross_account_role", "permission_set", "grant"):
        return True
    return (
        rule == "review_deny"
        and context.principal["type"] != "AWSService"
        and bool(set(action["reasons"]) & GRANTABLE_REASONS)
        and not set(action["reasons"]) - GRANTABLE_REASONS
    )


def remedy_for(context: _Context) -> dict[str, Any]:
    finding = context.finding
    rules = {a["action"]: _action_rule(context, a) for a in finding["actions"]}
    kind = "investigate" if context.reconnaissance else min(rules.values(), key=KINDS.index)
    remedy: dict[str, Any] = {
        "kind": kind,
        "policy": None,
        "trust_policy": None,
        "caller_policy": None,
        "notes": [],
        "more_policies": [],
        "permission_set": finding["principal"].get("permission_set"),
        "role_name": None,
        "commands": [],
        "docs": _docs(kind, finding),
    }
    if kind == "investigate":
        remedy["notes"] = _investigate_notes(context)
        return remedy
    notes = remedy["notes"]
    grants = _grants(context, [a for a in finding["actions"] if _grant_fixes(context, a, rules[a["action"]])], notes)
    documents = policies.split_policy(policies.grant_policy(grants))
    remedy["policy"] = documents[0] if documents else None
    if len(documents) > 1:
        remedy["more_policies"] = documents[1:]
        notes.append(
            f"The grant exceeds IAM's {policies.MANAGED_POLICY_LIMIT}-character policy size: attach all "
            f"{len(documents)} documents."
        )
    for action in finding["actions"]:
        notes.extend(_action_notes(context, action, rules[action["action"]]))
    if kind == "cross_account_role":
        _cross_account(context, remedy)
    elif remedy["policy"] is not None:
        remedy["commands"] = _attach_commands(context, remedy, kind)
    notes.extend(_finding_notes(context))
    remedy["notes"] = list(dict.fromkeys(notes))
    return remedy


def _grants(context: _Context, actions: list[dict[str, Any]], notes: list[str]) -> list[Grant]:
    finding = context.finding
    account = finding["target_account_id"]
    partition = _partition(finding)
    grants = []
    for action in actions:
        scoped = policies.scope_resources(
            action["action"], action["resources"], account=account, partition=partition,
            principal_arn=finding["principal"]["arn"],
        )  # fmt: skip
        notes.extend(scoped.notes)
        if not scoped.resources:
            notes.append(
                f"{action['action']} is not in the policy: the log does not name a resource it could be "
                "scoped to. Grant it on the specific resource the principal needs."
            )
            continue
        services = _passed_to_services(context, action["action"])
        grants.append(Grant(action["action"], tuple(scoped.resources), services))
    return grants


def _passed_to_services(context: _Context, action: str) -> tuple[str, ...]:
    if action != policies.PASS_ROLE:
        return ()
    sources = {row["event_source"] for row in _rows_of(context, action)}
    return tuple(sorted(s for s in sources if _present(s) and s != "iam.amazonaws.com"))


def _rows_of(context: _Context, action: str) -> list[dict[str, Any]]:
    return [row for row in context.rows if row["action"] == action]


def _present(value: Any) -> bool:
    """Not None, not NaN (pandas' missing value), not empty."""
    return value is not None and value == value and value != ""


def _partition(finding: dict[str, Any]) -> str:
    regions = finding.get("regions") or []
    return partition_for_region(regions[0] if regions else None)


def _action_notes(context: _Context, action: dict[str, Any], rule: str) -> list[str]:
    texts = _texts()
    name = action["action"]
    notes = []
    for reason in action["reasons"]:
        if rule == "cross_account_role" and reason == "resource_policy":
            reason = "resource_policy_cross_account"
        template = texts["reasons"].get(reason)
        if template and (reason != "no_identity_allow" or rule in ("review_deny", "org_policy")):
            notes.append(
                template.format(action=name, principal=_who(context), account=context.finding["target_account_id"])
            )
    for policy_arn in action.get("policy_arns", []):
        notes.append(f"{name}: the message names the refusing policy {policy_arn}.")
    for failure in action["non_iam_failures"]:
        notes.append(f"{name}: {failure}. This is not a missing permission: no grant is proposed for it.")
    if not action.get("action_in_catalog", True):
        notes.append(f"{name} is not an action of the IAM catalog: no grant is proposed for it.")
    origins = set(action.get("resource_origin", []))
    if origins & {"request", "record"}:
        notes.append(f"{name}: the message names no resource; the resource was inferred from the request.")
    if "none" in origins:
        notes.append(f"{name}: neither the message nor the request names the resource.")
    if not action.get("action_from_message", True):
        notes.append(f"{name}: the message names no action; the action was taken from the event name.")
    uncovered = _uncovered_required_types(name, action["resources"])
    if uncovered:
        notes.append(
            f"{name} is also authorised against {', '.join(uncovered)} resources (the catalog marks them required); "
            "the log names none, so none is granted: a later denial may name them."
        )
    for related_to in [name, *_event_actions(context, name)]:
        notes.extend(texts["related_permissions"].get(related_to, []))
    return notes


def _uncovered_required_types(action: str, resources_refused: list[str]) -> list[str]:
    required = [r for r in catalog.resource_types(action) if r.required]
    if len(required) < 2:
        return []
    return [r.name for r in required if not any(r.arn_pattern.fullmatch(arn) for arn in resources_refused)]


def _event_actions(context: _Context, action: str) -> list[str]:
    """The actions the events themselves stand for (CreateService for an iam:PassRole refused in it)."""
    pairs = {(row["event_source"], row["event_name"]) for row in _rows_of(context, action)}
    found = {catalog.action_for_event(source, name) for source, name in pairs if _present(source) and _present(name)}
    return sorted(found - {action})


def _finding_notes(context: _Context) -> list[str]:
    finding = context.finding
    notes = []
    if finding.get("confidence") == "low":
        notes.append(
            f"Low confidence: {finding['denials']} event(s); a one-off is not a pattern. Confirm the "
            "principal needs this access before granting."
        )
    rows = context.rows
    truncated = sum(1 for row in rows if _present(row["truncated"]) and bool(row["truncated"]))
    if truncated:
        notes.append(
            f"{truncated} message(s) were cut at about 1,024 characters: the reason and resource are read "
            "as far as the message goes."
        )
    encoded = [row["encoded_message"] for row in rows if _present(row["encoded_message"])]
    if encoded:
        notes.append(
            "Decode the authorization failure message (needs sts:DecodeAuthorizationMessage): aws sts "
            f"decode-authorization-message --encoded-message {encoded[0]} --query DecodedMessage "
            "--output text"
        )
    return notes


def _investigate_notes(context: _Context) -> list[str]:
    finding = context.finding
    options = context.options
    actions = len(finding["actions"])
    notes = [
        f"{actions} distinct actions were denied to this principal, at least {options.recon_distinct_actions} of "
        f"them within {options.recon_window_minutes} minutes: this looks like reconnaissance, not a missing "
        "permission. Do not grant.",
        "Check who holds these credentials: source IPs "
        + (", ".join(finding.get("source_ips", [])[:5]) or "unknown")
        + "; user agents "
        + ("; ".join(finding.get("user_agents", [])[:3]) or "unknown")
        + ".",
    ]
    if context.principal["type"] == "IAMUser" and context.principal.get("arn"):
        user = context.principal["arn"].rsplit("/", 1)[-1]
        notes.append(
            f"If the activity is not expected, deactivate the user's access keys (aws iam list-access-keys "
            f"--user-name {user}; aws iam update-access-key --user-name {user} --access-key-id KEY "
            "--status Inactive) and review CloudTrail for what succeeded."
        )
    elif context.principal["type"] == "AssumedRole":
        notes.append(
            "If the activity is not expected, revoke the role's active sessions (IAM console: Revoke active "
            "sessions, which attaches an AWSRevokeOlderSessions deny) and review what succeeded."
        )
    return notes


def _who(context: _Context) -> str:
    principal = context.principal
    return principal.get("arn") or principal.get("key") or "the principal"


def _cross_account(context: _Context, remedy: dict[str, Any]) -> None:
    finding = context.finding
    options = context.options
    target = finding["target_account_id"]
    caller_account = finding["principal"]["account_id"]
    caller_arn = finding["principal"]["arn"]
    partition = _partition(finding)
    service = _service_label(finding)
    role_name = f"{service}AccessFrom{caller_account or 'Partner'}"
    role_arn = f"arn:{partition}:iam::{target}:role/{role_name}"
    trusted = caller_account in options.trusted_accounts
    in_organization = caller_account in options.organization_accounts
    external_id = None
    if not trusted and not in_organization:
        external_id = str(uuid.uuid5(_EXTERNAL_ID_NAMESPACE, f"{target}:{caller_account}"))
    principal = (
        caller_arn if caller_arn and ":root" not in caller_arn else f"arn:{partition}:iam::{caller_account}:root"
    )
    org_id = options.organization_id if in_organization else None
    remedy["role_name"] = role_name
    remedy["trust_policy"] = policies.trust_policy(principal, external_id=external_id, organization_id=org_id)
    remedy["caller_policy"] = policies.assume_role_policy(role_arn)
    notes = remedy["notes"]
    notes.append(
        f"Access from account {caller_account} to account {target} goes through a role in {target} "
        f"({role_name}) that the caller assumes"
        + (": App Runner has no resource-based policies." if service == "AppRunner" else ".")
    )
    if not caller_arn:
        notes.append(
            f"The log names only the caller's account {caller_account}: the trust policy trusts that "
            "account, whose administrators then decide which of their principals may assume the role."
        )
    elif finding["principal"]["type"] == "AWSAccount":
        notes.append(
            f"The owner's log names the caller only through its session ({caller_arn} comes from the error "
            "message): if that role has a path, put the full ARN in the trust policy, since IAM refuses a "
            "principal that does not exist."
        )
    if external_id:
        notes.append(
            f"Account {caller_account} is neither trusted (--trusted-accounts) nor in the organization: "
            "confirm who owns that account before creating the role. The trust policy requires "
            f"sts:ExternalId; replace {external_id} with the external ID agreed with that account's owner."
        )
    elif org_id:
        notes.append(
            f"Account {caller_account} is in the organization {org_id}: the trust policy also requires "
            "aws:PrincipalOrgID."
        )
    else:
        notes.append(f"Account {caller_account} is trusted: no sts:ExternalId is required.")
    if remedy["policy"] is None:
        notes.append("No permission could be scoped from the log: add the role's permissions by hand.")
    notes.extend(_resource_policy_alternative(finding))
    remedy["commands"] = _cross_account_commands(context, remedy, role_arn, external_id)


def _service_label(finding: dict[str, Any]) -> str:
    prefixes = sorted({a["action"].split(":", 1)[0] for a in finding["actions"]})
    if "apprunner" in prefixes or not prefixes:
        return "AppRunner"
    return "".join(part.title() for part in prefixes[0].split("-"))


def _resource_policy_alternative(finding: dict[str, Any]) -> list[str]:
    services = _texts()["resource_policy_services"]
    notes = []
    for action in finding["actions"]:
        prefix = action["action"].split(":", 1)[0]
        if prefix in services:
            root = f"arn:{_partition(finding)}:iam::{finding['principal']['account_id']}:root"
            caller = finding["principal"]["arn"] or root
            statement = {
                "Effect": "Allow",
                "Principal": {"AWS": caller},
                "Action": action["action"],
                "Resource": action["resources"][0] if action["resources"] else "*",
            }
            notes.append(
                f"{prefix} supports resource-based policies: instead of the role, this statement in the "
                f"resource's policy would allow the caller directly: {json.dumps(statement)}"
            )
    return notes


def _attach_commands(context: _Context, remedy: dict[str, Any], kind: str) -> list[str]:
    principal = context.principal
    policy_name = "AppRunnerAccessAuditorGrant"
    documents = [remedy["policy"], *remedy["more_policies"]]
    if kind == "permission_set":
        return [
            "aws sso-admin list-instances --query 'Instances[0].InstanceArn' --output text",
            "aws sso-admin list-permission-sets --instance-arn INSTANCE_ARN  # find the ARN of permission set "
            f"{principal['permission_set']}",
            "aws sso-admin get-inline-policy-for-permission-set --instance-arn INSTANCE_ARN --permission-set-arn "
            "PERMISSION_SET_ARN  # merge policy.json into what is there: the next command replaces it",
            "aws sso-admin put-inline-policy-to-permission-set --instance-arn INSTANCE_ARN --permission-set-arn "
            "PERMISSION_SET_ARN --inline-policy file://policy.json",
            "aws sso-admin provision-permission-set --instance-arn INSTANCE_ARN --permission-set-arn "
            "PERMISSION_SET_ARN --target-type ALL_PROVISIONED_ACCOUNTS",
        ]
    arn = principal.get("arn") or ""
    name = arn.rsplit("/", 1)[-1] if arn else None
    if ":role/" in arn:
        verb, flag = "put-role-policy", "--role-name"
    elif ":user/" in arn:
        verb, flag = "put-user-policy", "--user-name"
    else:
        return []
    commands = []
    for index, _document in enumerate(documents, start=1):
        suffix = "" if len(documents) == 1 else str(index)
        file_name = "policy.json" if index == 1 else f"policy-{index}.json"
        commands.append(
            f"aws iam {verb} {flag} {name} --policy-name {policy_name}{suffix} --policy-document file://{file_name}"
        )
    return commands


def _cross_account_commands(
    context: _Context, remedy: dict[str, Any], role_arn: str, external_id: str | None
) -> list[str]:
    role_name = remedy["role_name"]
    commands = [
        f"# in account {context.finding['target_account_id']} (owner of the resources):",
        f"aws iam create-role --role-name {role_name} --assume-role-policy-document file://trust-policy.json",
    ]
    if remedy["policy"] is not None:
        commands.append(
            f"aws iam put-role-policy --role-name {role_name} --policy-name AppRunnerAccess "
            "--policy-document file://policy.json"
        )
    commands.append(f"# in account {context.principal['account_id']} (the caller):")
    caller_arn = context.principal.get("arn") or ""
    if ":role/" in caller_arn:
        commands.append(
            f"aws iam put-role-policy --role-name {caller_arn.rsplit('/', 1)[-1]} --policy-name "
            f"Assume{role_name} --policy-document file://caller-policy.json"
        )
    elif ":user/" in caller_arn:
        commands.append(
            f"aws iam put-user-policy --user-name {caller_arn.rsplit('/', 1)[-1]} --policy-name "
            f"Assume{role_name} --policy-document file://caller-policy.json"
        )
    else:
        commands.append("# attach caller-policy.json to the principals that should assume the role")
    assume = f"aws sts assume-role --role-arn {role_arn} --role-session-name app-runner-access"
    commands.append(assume + (f" --external-id {external_id}" if external_id else ""))
    return commands


def _docs(kind: str, finding: dict[str, Any]) -> list[dict[str, str]]:
    docs = _texts()["docs"]
    chosen = [docs["no_permissions"]]
    if any(a["action"] == policies.PASS_ROLE for a in finding["actions"]):
        chosen.append(docs["passrole"])
    if kind == "cross_account_role":
        chosen.append(docs["cross_account"])
    if kind in ("grant", "permission_set"):
        chosen.append(docs["delegate"])
    if kind == "permission_set":
        chosen.append(docs["permission_sets"])
    if kind in ("org_policy", "review_deny"):
        chosen.append(docs["policy_evaluation"])
    return chosen
