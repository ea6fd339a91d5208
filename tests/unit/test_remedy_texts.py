"""What a remedy tells the operator, word for word: its notes, its commands and its documentation links.

The expected texts are written out by hand from each case (the accounts, names, addresses and counts of its
records) and the wording the product promises; the links are the AWS documentation pages for each kind.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analysis.event_finding import event_finding
from analysis.model import Options
from tests import factories as f
from tests.analysed import findings_of

CALLER = "999988887777"
TRUSTED = "123456789012"
ORG = Options(
    trusted_accounts=frozenset({TRUSTED}),
    organization_accounts=frozenset({f.ACCOUNT, f.OTHER_ACCOUNT}),
    organization_id="o-a1b2c3d4e5",
)
TROUBLESHOOT = (
    "https://docs.aws.amazon.com/apprunner/latest/dg/security_iam_troubleshoot.html#security_iam_troubleshoot"
)
DOCS = {
    "no_permissions": f"{TROUBLESHOOT}-no-permissions",
    "passrole": f"{TROUBLESHOOT}-passrole",
    "delegate": f"{TROUBLESHOOT}-admin-delegate",
    "cross_account": f"{TROUBLESHOOT}-cross-account-access",
    "permission_sets": "https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsetsconcept.html",
    "policy_evaluation": "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html",
}


def policy_name_of(principal_key: str, owner: str, day: str) -> str:
    """docs/CONTRACT.md's finding id worked out here (sha-256 of the key and the owning account), with the day."""
    digest = hashlib.sha256(f"{principal_key}\n{owner}".encode()).hexdigest()[:16]
    return f"AppRunnerAudit-f-{digest}-{day}"


def remedy_of(records: list[dict[str, Any]], options: Options = ORG) -> dict[str, Any]:
    [finding] = findings_of(records, options)
    return finding["remedy"]


def links(remedy: dict[str, Any]) -> list[str]:
    return [doc["url"] for doc in remedy["docs"]]


def times(count: int, start: datetime = datetime(2026, 11, 28, 3, tzinfo=UTC), step: int = 20) -> list[str]:
    return [(start + timedelta(seconds=step * i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(count)]


# --- investigate: reconnaissance ------------------------------------------------------------------------------

PROBES = list(f.APPRUNNER_READ_EVENTS[:12])
IPS = ["203.0.113.9", "203.0.113.1", "198.51.100.20", "198.51.100.3", "192.0.2.77", "192.0.2.5"]
AGENTS = ["curl/8.5.0"] * 4 + ["aws-cli/2.17.32"] * 3 + ["python-requests/2.32"] * 2 + ["Go-http-client/1.1"]


def probing(identity: dict[str, Any]) -> list[dict[str, Any]]:
    """12 distinct actions in 4 minutes, from 6 addresses and 4 user agents (used 4, 3, 2 and 1 times)."""
    records = []
    for i, (name, when) in enumerate(zip(PROBES, times(len(PROBES)), strict=True)):
        record = f.record(name, identity=identity, error_message="Access Denied", event_time=when, request={})
        record["sourceIPAddress"] = IPS[i % len(IPS)]
        record["userAgent"] = AGENTS[i % len(AGENTS)]
        records.append(record)
    return records


OBSERVED = (
    "Check who holds these credentials: source IPs 192.0.2.5, 192.0.2.77, 198.51.100.20, 198.51.100.3, 203.0.113.1; "
    "user agents curl/8.5.0; aws-cli/2.17.32; python-requests/2.32."
)  # the first five addresses in order, the three most used agents


def test_reconnaissance_by_a_user_names_what_to_check_and_how_to_stop_the_keys():
    remedy = remedy_of(probing(f.iam_user("svc-legacy") | {"arn": f"arn:aws:iam::{f.ACCOUNT}:user/ops/svc-legacy"}))
    assert remedy["kind"] == "investigate"
    assert remedy["notes"] == [
        "12 distinct actions were denied to this principal, at least 10 of them within 10 minutes: this looks like "
        "reconnaissance, not a missing permission. Do not grant.",
        OBSERVED,
        "If the activity is not expected, deactivate the user's access keys (aws iam list-access-keys --user-name "
        "svc-legacy; aws iam update-access-key --user-name svc-legacy --access-key-id KEY --status Inactive) and "
        "review CloudTrail for what succeeded.",
    ]
    assert (remedy["policy"], remedy["commands"], links(remedy)) == (None, [], [DOCS["no_permissions"]])


def test_reconnaissance_by_a_role_says_to_revoke_its_sessions():
    options = Options(recon_distinct_actions=12, recon_window_minutes=5)
    remedy = remedy_of(probing(f.assumed_role("Scanner", "s")), options)
    assert remedy["notes"] == [
        "12 distinct actions were denied to this principal, at least 12 of them within 5 minutes: this looks like "
        "reconnaissance, not a missing permission. Do not grant.",
        OBSERVED,
        "If the activity is not expected, revoke the role's active sessions (IAM console: Revoke active sessions, "
        "which attaches an AWSRevokeOlderSessions deny) and review what succeeded.",
    ]


def test_reconnaissance_without_addresses_or_agents_says_so_and_nothing_more_for_other_principals():
    records = probing(f.aws_account(CALLER))
    for record in records:
        del record["sourceIPAddress"], record["userAgent"]
    notes = remedy_of(records)["notes"]
    assert notes[1:] == ["Check who holds these credentials: source IPs unknown; user agents unknown."]


# --- cross-account roles --------------------------------------------------------------------------------------


def _called_from(identity: dict[str, Any], named: str | None = None, count: int = 3) -> list[dict[str, Any]]:
    message = f.message(named, "apprunner:DescribeService", f.service_arn()) if named else "Access Denied"
    return [f.record(identity=identity, error_message=message, event_time=when) for when in times(count)]


def test_a_role_of_an_unknown_account_needs_an_external_id_agreed_with_its_owner():
    caller = f.assumed_role("Auditor", "s", account=CALLER)
    remedy = remedy_of(_called_from(caller, caller["arn"]))
    [statement] = remedy["trust_policy"]["Statement"]
    external_id = statement["Condition"]["StringEquals"]["sts:ExternalId"]
    role = f.cross_account_role_name(f"arn:aws:iam::{CALLER}:role/Auditor", CALLER, f.ACCOUNT)
    name = policy_name_of(f"arn:aws:iam::{CALLER}:role/Auditor", f.ACCOUNT, "20261128")
    assert remedy["role_name"] == role
    assert remedy["notes"] == [
        f"Access from account {CALLER} to account {f.ACCOUNT} goes through a role in {f.ACCOUNT} ({role}) that the "
        "caller assumes: App Runner has no resource-based policies.",
        f"Account {CALLER} is neither trusted (--trusted-accounts) nor in the organization: confirm who owns that "
        f"account before creating the role. The trust policy requires sts:ExternalId; replace {external_id} with the "
        "external ID agreed with that account's owner.",
        "A role that requires sts:ExternalId cannot be used from the console's Switch Role: the caller must assume it "
        "with the CLI or an SDK, passing --external-id.",
    ]
    assert remedy["commands"] == [
        f"# in account {f.ACCOUNT} (owner of the resources):",
        f"aws iam create-role --role-name {role} --assume-role-policy-document file://trust-policy.json",
        f"aws iam put-role-policy --role-name {role} --policy-name {name} --policy-document file://policy.json",
        f"# in account {CALLER} (the caller):",
        f"aws iam put-role-policy --role-name Auditor --policy-name {name}-AssumeRole --policy-document "
        "file://caller-policy.json",
        f"aws sts assume-role --role-arn arn:aws:iam::{f.ACCOUNT}:role/{role} --role-session-name app-runner-access "
        f"--external-id {external_id}",
    ]
    assert links(remedy) == [DOCS["no_permissions"], DOCS["cross_account"]]


def test_the_external_id_is_stable_for_a_pair_of_accounts_and_differs_between_pairs():
    def external_id(account: str) -> str:
        caller = f.assumed_role("Auditor", "s", account=account)
        remedy = remedy_of(_called_from(caller, caller["arn"]))
        return remedy["trust_policy"]["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"]

    assert external_id(CALLER) == external_id(CALLER) != external_id("999988887776")


def test_a_trusted_account_known_only_by_number_is_trusted_as_an_account():
    remedy = remedy_of(_called_from(f.aws_account(TRUSTED, "partner")))
    role = f.cross_account_role_name(f"AWSAccount:{TRUSTED}:id:AROAEXAMPLEPARTNER12", TRUSTED, f.ACCOUNT)
    assert remedy["notes"] == [
        "apprunner:DescribeService: the message does not say which policy refused it (older form, no message, or a "
        "plain 'Access Denied'); a missing grant is the likely cause, but check service control policies and "
        "permissions boundaries too.",
        "apprunner:DescribeService: the message names no resource; the resource was inferred from the request.",
        "apprunner:DescribeService: the message names no action; the action was taken from the event name.",
        f"Access from account {TRUSTED} to account {f.ACCOUNT} goes through a role in {f.ACCOUNT} ({role}) that the "
        "caller assumes: App Runner has no resource-based policies.",
        f"The log names only the caller's account {TRUSTED}: the trust policy trusts that account, whose "
        "administrators then decide which of their principals may assume the role.",
        f"Account {TRUSTED} is trusted: no sts:ExternalId is required.",
    ]
    assert remedy["commands"][-2:] == [
        "# attach caller-policy.json to the principals that should assume the role",
        f"aws sts assume-role --role-arn arn:aws:iam::{f.ACCOUNT}:role/{role} --role-session-name app-runner-access",
    ]


def test_a_caller_named_only_by_the_message_is_trusted_by_that_name_with_a_warning_about_paths():
    named = f"arn:aws:sts::{TRUSTED}:assumed-role/Auditor/s"
    remedy = remedy_of(_called_from(f.aws_account(TRUSTED, "s"), named))
    assert remedy["notes"][1] == (
        f"The owner's log names the caller only through its session (arn:aws:iam::{TRUSTED}:role/Auditor comes from "
        "the error message): if that role has a path, put the full ARN in the trust policy, since IAM refuses a "
        "principal that does not exist."
    )


def test_a_user_of_the_organization_is_held_to_the_organization():
    caller = f.iam_user("analyst", f.OTHER_ACCOUNT)
    records = [
        f.record(identity=caller, recipient=f.OTHER_ACCOUNT, error_message=f.message(caller["arn"], a, f.service_arn()))
        for a in ("apprunner:DescribeService", "apprunner:ListOperations")
    ]
    remedy = remedy_of(records)
    role = f.cross_account_role_name(caller["arn"], f.OTHER_ACCOUNT, f.ACCOUNT)
    assert remedy["notes"][1:] == [
        f"Account {f.OTHER_ACCOUNT} is in the organization o-a1b2c3d4e5: the trust policy also requires "
        "aws:PrincipalOrgID.",
        "Low confidence: 2 event(s); a one-off is not a pattern. Confirm the principal needs this access before "
        "granting.",
    ]
    name = policy_name_of(caller["arn"], f.ACCOUNT, "20261128")  # the service's ARN names the owning account
    assert role == remedy["role_name"]
    assert remedy["commands"][4] == (
        f"aws iam put-user-policy --user-name analyst --policy-name {name}-AssumeRole --policy-document "
        "file://caller-policy.json"
    )


def test_a_cross_account_finding_with_nothing_to_scope_creates_the_role_without_permissions():
    caller = f.assumed_role("Auditor", "s", account=CALLER)
    message = f.message(caller["arn"], "apprunner:DescribeService", "my example widget")
    remedy = remedy_of([f.record(identity=caller, error_message=message)])
    assert remedy["policy"] is None
    assert "No permission could be scoped from the log: add the role's permissions by hand." in remedy["notes"]
    assert not [c for c in remedy["commands"] if "--policy-name AppRunnerAccess " in c]


OBJECT = "arn:aws:s3:::reports-bucket/2026/summary.csv"


def test_a_service_with_resource_policies_gets_the_statement_that_would_allow_the_caller_directly():
    record = f.record(
        "GetObject",
        identity=f.aws_account(CALLER),
        event_source="s3.amazonaws.com",
        request={"bucketName": "reports-bucket", "key": "2026/summary.csv"},
        error_message="Access Denied",
    )
    record["resources"] = [{"ARN": OBJECT, "accountId": f.ACCOUNT, "type": "AWS::S3::Object"}]
    remedy = remedy_of([record], Options(service="s3"))
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CALLER}:root"}, "Action": "s3:GetObject"}
    role = f.cross_account_role_name(f"AWSAccount:{CALLER}:id:AROAEXAMPLEPARTNER12", CALLER, f.ACCOUNT, "S3")
    assert remedy["role_name"] == role
    assert (
        f"Access from account {CALLER} to account {f.ACCOUNT} goes through a role in {f.ACCOUNT} ({role}) that the "
        "caller assumes."
    ) in remedy["notes"]
    alternative = [n for n in remedy["notes"] if "takes a resource-based policy" in n]
    # An object's access is set in its bucket's policy: the S3 user guide's "bucket policy" examples name objects.
    # IAM User Guide, cross-account policy evaluation: the resource's policy and the caller's own policy must both
    # allow a request from another account.
    callers_side = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": OBJECT}
    assert alternative == [
        "s3:GetObject: its resource (object) takes a resource-based policy: instead of the role, this statement in the "
        f"resource's policy would allow the caller: {json.dumps(statement | {'Resource': OBJECT})}. A request from "
        "another account needs both sides, so the caller's own identity-based policy must allow it too: "
        f"{json.dumps(callers_side)}"
    ]


def test_a_hyphenated_service_prefix_names_the_role_in_camel_case():
    caller = f.assumed_role("Auditor", "s", account=CALLER)
    api = f"arn:aws:execute-api:us-east-1:{f.ACCOUNT}:a1b2c3d4e5/prod/GET/items"
    record = f.record(
        "Invoke",
        identity=caller,
        event_source="execute-api.amazonaws.com",
        request={},
        error_message=f.message(caller["arn"], "execute-api:Invoke", api),
    )
    role = f.cross_account_role_name(f"arn:aws:iam::{CALLER}:role/Auditor", CALLER, f.ACCOUNT, "ExecuteApi")
    assert remedy_of([record], Options(service="all"))["role_name"] == role


# --- attaching a grant ----------------------------------------------------------------------------------------


def test_a_grant_to_a_user_is_attached_as_an_inline_user_policy():
    arn = f"arn:aws:iam::{f.ACCOUNT}:user/team/dev"
    remedy = remedy_of([f.record(identity=f.iam_user("dev") | {"arn": arn})])
    # Named by the finding and the day, so the next day's fix sits beside this one instead of replacing it.
    assert remedy["commands"] == [
        f"aws iam put-user-policy --user-name dev --policy-name {policy_name_of(arn, f.ACCOUNT, '20261128')} "
        "--policy-document file://policy.json"
    ]
    assert links(remedy) == [DOCS["no_permissions"], DOCS["delegate"]]


def test_a_grant_split_over_documents_is_attached_as_one_policy_each():
    records = [
        f.record(
            name,
            identity=f.assumed_role("Deploy", "ci"),
            request={"serviceArn": f.service_arn(f"svc-{i:03d}")},
            error_message="Access Denied",
        )
        for i in range(100)
        for name in ("DescribeService", "UpdateService", "PauseService")
    ]
    remedy = remedy_of(records)
    count = 1 + len(remedy["more_policies"])
    assert count > 1
    assert (
        f"The grant exceeds IAM's 6144-character policy size: it is split into {count} documents (policy and "
        "more_policies); attach all of them."
    ) in remedy["notes"]
    # More than one document is more than a role's 10,240 inline characters: each becomes a managed policy,
    # created and attached (IAM quotas: 6,144 characters per managed policy).
    name = policy_name_of(f"arn:aws:iam::{f.ACCOUNT}:role/Deploy", f.ACCOUNT, "20261128")
    expected = []
    for n in range(1, count + 1):
        expected += [
            f"aws iam create-policy --policy-name {name}-{n} --policy-document "
            f"file://{'policy.json' if n == 1 else f'policy-{n}.json'}",
            f"aws iam attach-role-policy --role-name Deploy --policy-arn arn:aws:iam::{f.ACCOUNT}:policy/{name}-{n}",
        ]
    assert remedy["commands"] == expected


def test_one_document_is_not_called_a_split():
    notes = remedy_of([f.record()])["notes"]
    assert not [n for n in notes if n.startswith("The grant exceeds")]


def test_a_permission_set_is_changed_through_identity_center():
    remedy = remedy_of([f.record("UpdateService", identity=f.identity_center_role("Data_Science", "jane@example.com"))])
    region = "--region IDENTITY_CENTER_REGION"  # the factory's role path carries no Region
    assert remedy["commands"] == [
        f"INSTANCE_ARN=$(aws sso-admin list-instances {region} --query 'Instances[0].InstanceArn' --output text)",
        f"PERMISSION_SET_ARN=$(for ps in $(aws sso-admin list-permission-sets {region} "
        "--instance-arn \"$INSTANCE_ARN\" --query 'PermissionSets[]' --output text); do aws sso-admin "
        f'describe-permission-set {region} --instance-arn "$INSTANCE_ARN" --permission-set-arn "$ps" --query '
        "'PermissionSet.[Name,PermissionSetArn]' --output text; done | awk -v name=Data_Science "
        "'$1 == name {print $2}')",
        f'aws sso-admin list-accounts-for-provisioned-permission-set {region} --instance-arn "$INSTANCE_ARN" '
        '--permission-set-arn "$PERMISSION_SET_ARN"  # every account a change to it reaches',
        f'aws sso-admin get-inline-policy-for-permission-set {region} --instance-arn "$INSTANCE_ARN" '
        '--permission-set-arn "$PERMISSION_SET_ARN"  # merge policy.json into what is there: the next command '
        "replaces it",
        f'aws sso-admin put-inline-policy-to-permission-set {region} --instance-arn "$INSTANCE_ARN" '
        '--permission-set-arn "$PERMISSION_SET_ARN" --inline-policy file://policy.json',
        f'aws sso-admin provision-permission-set {region} --instance-arn "$INSTANCE_ARN" '
        '--permission-set-arn "$PERMISSION_SET_ARN" --target-type ALL_PROVISIONED_ACCOUNTS',
    ]
    assert links(remedy) == [DOCS["no_permissions"], DOCS["delegate"], DOCS["permission_sets"]]


def test_a_principal_without_an_arn_gets_the_policy_but_no_command():
    remedy = remedy_of([f.record(identity=f.identity_center_user(), error_message="Access Denied")])
    assert remedy["kind"] == "grant" and remedy["policy"] is not None
    assert remedy["commands"] == []


# --- notes on each refused action -----------------------------------------------------------------------------


def test_the_notes_of_a_one_off_denial_inferred_from_the_request():
    [record] = [f.record("PauseService", error_message=None, event_id="e-1")]
    remedy = remedy_of([record])
    assert remedy["notes"] == [
        "apprunner:PauseService: the message does not say which policy refused it (older form, no message, or a "
        "plain 'Access Denied'); a missing grant is the likely cause, but check service control policies and "
        "permissions boundaries too.",
        "apprunner:PauseService: the message names no resource; the resource was inferred from the request.",
        "apprunner:PauseService: the message names no action; the action was taken from the event name.",
        "Low confidence: 1 event(s); a one-off is not a pattern. Confirm the principal needs this access before "
        "granting.",
    ]


def test_an_explicit_deny_names_the_refusing_policy_and_the_principal():
    user = f.iam_user("contractor")
    tail = f"with an explicit deny in an identity-based policy: arn:aws:iam::{f.ACCOUNT}:policy/DenyDelete"
    message = f.message(user["arn"], "apprunner:DeleteService", f.service_arn(), tail=tail)
    records = [f.record("DeleteService", identity=user, error_message=message, event_time=t) for t in times(3)]
    remedy = remedy_of(records)
    assert remedy["notes"] == [
        f"apprunner:DeleteService: an identity-based policy of {user['arn']} explicitly denies it. A grant will not "
        "help: if the access is intended, remove or narrow that Deny statement (for a role aws iam "
        "list-attached-role-policies / list-role-policies; for a user list-attached-user-policies / "
        "list-user-policies, and its groups' policies: list-groups-for-user).",
        f"apprunner:DeleteService: the message names the refusing policy arn:aws:iam::{f.ACCOUNT}:policy/DenyDelete.",
    ]
    assert links(remedy) == [DOCS["no_permissions"], DOCS["policy_evaluation"]]


def test_a_principal_without_an_arn_is_named_by_its_key():
    identity = f.identity_center_user("u-7")
    records = [
        f.record(identity=identity, error_message="... with an explicit deny in a permissions boundary") for _ in "ab"
    ]
    [finding] = findings_of(records, ORG)
    assert finding["remedy"]["notes"][0].startswith(
        f"apprunner:DescribeService: an explicit Deny in the permissions boundary of {finding['principal']['key']} "
        "refuses it. A grant will not help: an Allow never outweighs a Deny."
    )


def test_a_missing_identity_grant_is_explained_only_where_a_grant_is_not_the_whole_fix():
    message = f.message(f.iam_user()["arn"], "apprunner:DescribeService", f.service_arn())
    assert remedy_of([f.record(error_message=message) for _ in range(3)])["notes"] == [], "a grant says it all"
    service = remedy_of([f.record(identity=f.aws_service(), error_message=message) for _ in range(3)])
    assert service["kind"] == "review_deny"
    # An AWS service acting for the account is not granted anything: App Runner's guide puts its access in the
    # instance role (trusted by tasks.apprunner.amazonaws.com) and the ECR access role (build.apprunner.amazonaws.com).
    assert service["policy"] is None
    [note] = service["notes"]
    assert "Granting the service is not the fix" in note
    assert "tasks.apprunner.amazonaws.com" in note and "build.apprunner.amazonaws.com" in note
    assert "granting it is the fix" not in note


def test_a_non_iam_failure_and_an_action_outside_the_catalog_are_named_not_granted():
    failure = f.record(
        "CreateService", error_message="Cross-account pass role is not allowed.", request={"serviceName": "a"}
    )
    unknown = f.record(error_message=f.message(f.iam_user()["arn"], "apprunner:DescribeWidget", f.service_arn()))
    notes = remedy_of([failure, unknown])["notes"]
    assert (
        "apprunner:CreateService: Cross-account pass role is not allowed: iam:PassRole only passes roles of the "
        "caller's own account. This is not a missing permission: no grant is proposed for it."
    ) in notes
    assert "apprunner:DescribeWidget is not an action of the IAM catalog: no grant is proposed for it." in notes


def test_a_denial_that_names_no_resource_at_all_says_so():
    remedy = remedy_of([f.record(request={}, error_message="Access Denied") for _ in range(3)])
    assert "apprunner:DescribeService: neither the message nor the request names the resource." in remedy["notes"]
    assert (
        "apprunner:DescribeService is not in the policy: the log does not name a resource it could be scoped to. "
        "Grant it on the specific resource the principal needs."
    ) in remedy["notes"]


def test_an_action_with_two_required_resource_types_names_the_one_the_log_lacks():
    message = f.message(f.iam_user()["arn"], "apprunner:AssociateWebAcl", f.service_arn())
    remedy = remedy_of([f.record("AssociateWebAcl", error_message=message)])
    assert (
        "apprunner:AssociateWebAcl is also authorised against webacl resources (the catalog marks them required); "
        "the log names none, so none is granted: a later denial may name them."
    ) in remedy["notes"]


def test_cut_and_encoded_messages_are_counted_and_the_first_is_decoded():
    head = f"User: {f.iam_user()['arn']} is not authorized to perform: apprunner:DescribeService on resource: "
    cut = head + f.service_arn() + " because no identity-based policy allows the " + "x" * 1000
    encoded = "You are not authorized to perform this operation. Encoded authorization failure message: "
    records = [f.record(error_message=cut[:1021] + "...") for _ in range(2)] + [
        f.record(error_message=encoded + "First-1"),
        f.record(error_message=encoded + "Second-2"),
    ]
    notes = remedy_of(records)["notes"]
    assert (
        "2 message(s) were cut at about 1,024 characters: the reason and resource are read as far as the message goes."
    ) in notes
    assert (
        "Decode the authorization failure message (needs sts:DecodeAuthorizationMessage): aws sts "
        "decode-authorization-message --encoded-message First-1 --query DecodedMessage --output text"
    ) in notes


# --- which actions a grant covers -----------------------------------------------------------------------------


def test_an_explicit_deny_on_an_action_is_never_outweighed_by_its_other_denials():
    user = f.iam_user()
    deny = f.message(user["arn"], "apprunner:DeleteService", f.service_arn(), tail="with an explicit deny")
    records = [f.record("DeleteService", error_message=deny), f.record("DeleteService", error_message="Access Denied")]
    remedy = remedy_of(records)
    assert remedy["kind"] == "review_deny" and remedy["policy"] is None


def test_the_root_user_is_never_granted_anything():
    remedy = remedy_of([f.record("DeleteService", identity=f.root(), error_message="Access Denied") for _ in range(3)])
    assert (remedy["kind"], remedy["policy"]) == ("org_policy", None)


def test_a_resource_policy_refusing_a_caller_of_its_own_account_is_reviewed_not_granted():
    user = f.iam_user()
    tail = "because no resource-based policy allows the secretsmanager:GetSecretValue action"
    secret = f"arn:aws:secretsmanager:us-east-1:{f.ACCOUNT}:secret:db-AbCdEf"
    record = f.record(
        "GetSecretValue",
        event_source="secretsmanager.amazonaws.com",
        request={},
        error_message=f.message(user["arn"], "secretsmanager:GetSecretValue", secret, tail=tail),
    )
    remedy = remedy_of([record | {"eventID": f"e-{i}"} for i in range(3)], Options(service="secretsmanager"))
    assert (remedy["kind"], remedy["policy"]) == ("review_deny", None)


def test_a_resource_policy_refusing_another_accounts_caller_gets_the_role_and_says_why():
    caller = f.assumed_role("Reader", "s", account=CALLER)
    tail = "because no resource-based policy allows the secretsmanager:GetSecretValue action"
    secret = f"arn:aws:secretsmanager:us-east-1:{f.ACCOUNT}:secret:db-AbCdEf"
    record = f.record(
        "GetSecretValue",
        identity=caller,
        event_source="secretsmanager.amazonaws.com",
        request={},
        error_message=f.message(caller["arn"], "secretsmanager:GetSecretValue", secret, tail=tail),
    )
    remedy = remedy_of([record | {"eventID": f"e-{i}"} for i in range(3)], Options(service="secretsmanager"))
    assert remedy["kind"] == "cross_account_role"
    assert (
        "secretsmanager:GetSecretValue: the message says no resource-based policy allows it. For a caller from another "
        "account the fix is access through the owning account: a role there that the caller assumes (or, for a "
        "service with resource-based policies, a statement in the resource's policy)."
    ) in remedy["notes"]


def test_an_unscopable_action_does_not_keep_the_next_one_out_of_the_grant():
    user = f.iam_user()
    widget = f.message(user["arn"], "apprunner:DescribeService", "my example widget")
    records = [f.record(error_message=widget) for _ in range(3)] + [f.record("ListOperations")]
    statements = remedy_of(records)["policy"]["Statement"]
    assert [s["Action"] for s in statements] == ["apprunner:ListOperations"]


def test_pass_role_is_passed_only_to_the_services_that_asked_for_it():
    role = f.assumed_role("Deploy", "ci")
    passed = "arn:aws:iam::111122223333:role/AppRunnerInstanceRole"
    in_create = f.record(
        "CreateService",
        identity=role,
        request={"serviceName": "api"},
        error_message=f.pass_role_message(role["arn"], passed),
    )
    in_iam = f.record(
        "CreateInstanceProfile",
        identity=role,
        event_source="iam.amazonaws.com",
        request={},
        error_message=f.pass_role_message(role["arn"], passed),
    )
    ec2 = f.record(
        "RunInstances",
        identity=role,
        event_source="ec2.amazonaws.com",
        request={},
        error_message=f.message(role["arn"], "ec2:RunInstances", "arn:aws:ec2:us-east-1:111122223333:instance/*"),
    )
    remedy = remedy_of([in_create, in_iam, ec2], Options(service="all"))
    [pass_role] = [s for s in remedy["policy"]["Statement"] if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "apprunner.amazonaws.com"}}
    assert links(remedy)[:2] == [DOCS["no_permissions"], DOCS["passrole"]]


# --- one event, as the alert path advises it -------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        f.record(),
        f.record(identity=f.assumed_role("Auditor", "s", account=CALLER)),
        f.record("DeleteService", identity=f.root(), error_message="Access Denied"),
        f.record(identity=f.identity_center_role("Developer_Access", "jane@example.com")),
    ],
    ids=["grant", "cross-account", "root", "permission-set"],
)
def test_one_event_is_advised_as_the_report_advises_it(record):
    [finding] = findings_of([record], ORG)
    assert event_finding(record, ORG)["remedy"] == finding["remedy"]


# --- the last details -------------------------------------------------------------------------------------


def test_an_scp_note_names_the_account_and_the_missing_grant_beside_it_is_explained():
    user = f.iam_user()
    scp = f.message(
        user["arn"],
        "apprunner:DeleteService",
        f.service_arn(),
        tail="with an explicit deny in a service control policy",
    )
    plain = f.message(user["arn"], "apprunner:DeleteService", f.service_arn())
    records = [f.record("DeleteService", error_message=message) for message in (scp, plain, plain)]
    remedy = remedy_of(records)
    assert remedy["kind"] == "org_policy"
    assert remedy["notes"] == [
        f"apprunner:DeleteService: no identity-based policy of {user['arn']} allows it either: once the policy that "
        "refuses it changes, a grant will be needed too.",
        "apprunner:DeleteService: a service control policy of the organization refuses it in account "
        f"{f.ACCOUNT}. Do not grant: an SCP cannot be overridden from the account. If the access is intended, the "
        "organization's administrators must change the SCP. SCPs attached to the account's OUs and to the root "
        "apply too, so list every level (in the management account): "
        f'id={f.ACCOUNT}; while [ -n "$id" ]; do aws organizations list-policies-for-target --target-id "$id" '
        "--filter SERVICE_CONTROL_POLICY --query 'Policies[].[Id,Name]' --output text; id=$(aws organizations "
        "list-parents --child-id \"$id\" --query 'Parents[0].Id' --output text 2>/dev/null) || id=; done",
    ]
    assert links(remedy) == [DOCS["no_permissions"], DOCS["policy_evaluation"]]


def test_a_resource_read_from_the_records_resources_is_said_to_be_inferred():
    record = f.record(request={}, error_message="Access Denied")
    record["resources"] = [{"ARN": f.service_arn("x"), "accountId": f.ACCOUNT, "type": "AWS::AppRunner::Service"}]
    notes = remedy_of([record])["notes"]
    assert "apprunner:DescribeService: the message names no resource; the resource was inferred from the request." in (
        notes
    )


ROLE_OF_CALLER = f"arn:aws:iam::{CALLER}:role/audit/team/Auditor"  # the canonical ARN: the session's role


def test_the_caller_role_is_named_without_its_path_in_the_commands():
    caller = f.assumed_role("Auditor", "s", account=CALLER, path="/audit/team/")
    remedy = remedy_of(_called_from(caller, caller["arn"]))
    assert remedy["commands"][4] == (
        "aws iam put-role-policy --role-name Auditor --policy-name "
        f"{policy_name_of(ROLE_OF_CALLER, f.ACCOUNT, '20261128')}-AssumeRole --policy-document file://caller-policy.json"
    )


def test_the_caller_user_is_named_without_its_path_in_the_commands():
    caller = f.iam_user("analyst", CALLER) | {"arn": f"arn:aws:iam::{CALLER}:user/audit/analyst"}
    remedy = remedy_of(_called_from(caller, caller["arn"]))
    assert remedy["commands"][4] == (
        "aws iam put-user-policy --user-name analyst --policy-name "
        f"{policy_name_of(caller['arn'], f.ACCOUNT, '20261128')}-AssumeRole --policy-document file://caller-policy.json"
    )


def test_an_action_outside_the_catalog_is_not_in_the_grant():
    unknown = f.record(error_message=f.message(f.iam_user()["arn"], "apprunner:DescribeWidget", f.service_arn()))
    statements = remedy_of([unknown, f.record("ListOperations")])["policy"]["Statement"]
    assert [s["Action"] for s in statements] == ["apprunner:ListOperations"]


def test_a_pass_role_event_without_a_source_passes_to_no_service():
    role = f.assumed_role("Deploy", "ci")
    passed = "arn:aws:iam::111122223333:role/AppRunnerInstanceRole"
    with_source = f.record(
        "CreateService",
        identity=role,
        request={"serviceName": "api"},
        error_message=f.pass_role_message(role["arn"], passed),
    )
    without = f.record(
        "CreateService",
        identity=role,
        request={"serviceName": "api"},
        error_message=f.pass_role_message(role["arn"], passed),
    ) | {"eventSource": ""}
    remedy = remedy_of([with_source, without], Options(service="all"))
    [pass_role] = [s for s in remedy["policy"]["Statement"] if s["Action"] == "iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "apprunner.amazonaws.com"}}


def test_no_resource_policy_statement_is_offered_when_the_log_names_no_resource():
    record = f.record(
        "GetObject",
        identity=f.aws_account(CALLER),
        event_source="s3.amazonaws.com",
        request={},
        error_message="Access Denied",
    )
    notes = remedy_of([record], Options(service="s3"))["notes"]
    # No resource, no resource policy to put a statement in: the alternative is offered per resource, not per service.
    assert not [n for n in notes if "resource-based policy: instead of the role" in n]


def test_an_action_outside_the_catalog_is_only_named():
    message = f.message(f.iam_user()["arn"], "apprunner:DescribeWidget", f.service_arn())
    remedy = remedy_of([f.record(error_message=message) for _ in range(3)])
    assert (remedy["policy"], remedy["commands"]) == (None, [])
    assert remedy["notes"] == [
        "apprunner:DescribeWidget is not an action of the IAM catalog: no grant is proposed for it."
    ]
