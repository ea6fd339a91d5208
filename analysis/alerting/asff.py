"""One alert as an AWS Security Hub finding (ASFF), imported with ``BatchImportFindings`` (issue 9's Output).

Pure: a finding (already redacted when REDACT is on), the rules that fired, the importing account's product ARN and
the time in; one ASFF dictionary out. ``analysis.alert_delivery`` sends it.

What the AWS documentation says and how it is met (Security Hub API reference, ``BatchImportFindings`` and
``AwsSecurityFinding``; user guide, "BatchImportFindings for finding providers"; botocore's service model carries
the same text):

- The ``Id`` decides create or update: the same ``Id`` updates the finding. It is the alert key's
  (``dedup.alert_key``: principal x owning account x action, a digest), so the repeats of a key update one finding.
- "If UpdatedAt on the update matches or occurs before UpdatedAt on the existing finding, Security Hub ignores the
  update": ``UpdatedAt`` is the time of the import (``now``, milliseconds), which grows from one alert of a key to
  the next (a key alerts at most once per period). An event's own time would not do: a late event would be older
  than the finding and its update ignored.
- With the default product ARN (``arn:{partition}:securityhub:{region}:{account}:product/{account}/default``) the
  caller's account must be the finding's ``AwsAccountId``: both are the importing account's (the product ARN's),
  whatever account the denied principal or the refused resource belongs to. Those accounts go into ``Resources``
  and ``ProductFields``.
- After a finding is created, ``BatchImportFindings`` cannot update ``Workflow`` (nor Note, UserDefinedFields,
  VerificationState): ``Workflow`` is never sent (Security Hub makes a new finding's status NEW itself), so an
  analyst's NOTIFIED or SUPPRESSED stays. Providers should update ``Severity`` and ``Types`` through
  ``FindingProviderFields``: both are sent there, and top-level for a new finding.
- Times: ``FirstObservedAt`` and ``CreatedAt`` are the key's first denial (``first_seen``, the store's ``first_seen``
  of the key's item; this event's time without it), so they stay put when the key alerts again; CreatedAt because
  the user guide defines it as "when the potential security issue or event captured by a finding was created" (the
  API reference: "when the security findings provider created the potential security issue that a finding
  captured"): the issue is the key's denials, which began at its first. ``LastObservedAt`` is this event's time.
  (The key's item expires after the retention without a denial: a key denied again after that starts anew.)
- ``Resources[*].Region`` is the region the denied call was made in (the finding's ``regions``: a denial forwarded
  from eu-central-1 says eu-central-1), the importing region only when the record named none.
- Lengths: Id and GeneratorId at most 512, Title 256, Description 1,024, Remediation.Recommendation.Text 512;
  Types at most 50; Resources 1 to 32; ProductFields at most 50 pairs, keys 128 and values 2,048 characters;
  Severity.Original at most 64. A finding at most 240 KB (this one is a few KB).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from analysis.alerting.dedup import alert_key
from analysis.alerting.message import Covered, Rule, body_lines, console_link, cut_utf16, fix_lines, principal_name
from analysis.contract import Finding
from analysis.redact import map_strings, mask_secrets, printable
from analysis.times import moment

SCHEMA_VERSION = "2018-10-08"
ID_MAX = GENERATOR_MAX = 512
TITLE_MAX = 256
DESCRIPTION_MAX = 1024
RECOMMENDATION_MAX = 512
TYPES_MAX = 50
RESOURCES_MAX = 32
FIELDS_MAX = 50
FIELD_KEY_MAX = 128
FIELD_VALUE_MAX = 2048
LABELS = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW"}  # severity.py's four
# Types (namespace/category, the ASFF types taxonomy; a partial path is valid). Why each:
DISCOVERY = "TTPs/Discovery"  # many distinct actions denied in minutes: enumerating what a principal may do
# (MITRE ATT&CK's Discovery tactic, which the taxonomy's TTPs categories follow)
PRIVILEGE_ESCALATION = "TTPs/Privilege Escalation"  # a refused action the hazard catalog lists as escalation
DEFENSE_EVASION = "TTPs/Defense Evasion"  # ... or as defence evasion (stopping logs, deleting detectors)
CREDENTIAL_ACCESS = "TTPs/Credential Access"  # ... or as credential access
UNUSUAL_USER = "Unusual Behaviors/User"  # first seen, a burst, the root user, a caller from an unknown account:
# behaviour unusual for the principal, the taxonomy's "general statistical anomalies" not tied to one TTP
CONFIGURATION = "Software and Configuration Checks"  # a principal lacks a permission it needs (a grant, a
# permission set, a cross-account role): a matter of configuration, not of attack
HAZARD_TYPES = {
    "privilege_escalation": PRIVILEGE_ESCALATION,
    "defence_evasion": DEFENSE_EVASION,
    "credential_access": CREDENTIAL_ACCESS,
}
UNUSUAL_RULES = frozenset({"first_seen", "burst", "root", "unknown_account"})
CONFIGURATION_KINDS = frozenset({"grant", "permission_set", "cross_account_role"})


def product_arn_parts(product_arn: str) -> tuple[str, str, str]:
    """(partition, region, account) of a default product ARN; ValueError for anything else."""
    parts = product_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "securityhub":
        raise ValueError(f"not a Security Hub product ARN: {product_arn!r}")
    partition, region, account, resource = parts[1], parts[3], parts[4], parts[5]
    if not (account.isdigit() and len(account) == 12) or resource != f"product/{account}/default":
        raise ValueError(f"not the account's default product ARN (product/ACCOUNT/default): {product_arn!r}")
    return partition, region, account


def finding_id(finding: Finding, service: str) -> str:
    """``apprunner/access-denied/k-<32 hex>``: the alert key's, so every alert of a key updates one finding."""
    return f"{service}/access-denied/{alert_key(finding)}"


def asff_finding(
    finding: Finding,
    service: str,
    rules: Sequence[Rule],
    product_arn: str,
    now: datetime,
    *,
    covered: Covered | None = None,
    first_seen: datetime | None = None,
) -> dict[str, Any]:
    """The ASFF finding of one alert (``finding`` one event's, one action; ``covered`` what a principal's alert
    covers: in the Description and ``ProductFields``; ``first_seen`` the key's first denial, FirstObservedAt and
    CreatedAt). Strings masked and printable."""
    partition, region, account = product_arn_parts(product_arn)
    action = finding.actions[0]
    label = LABELS[finding.severity]
    types = finding_types(finding, rules)
    updated = _stamp(now)
    event_first = moment(finding.first_seen or action.first_seen)
    first_moment = min(filter(None, (first_seen, event_first)), default=now, key=_aware)
    first = _stamp(first_moment)
    last = _stamp(moment(finding.last_seen or action.last_seen) or first_moment)
    asff: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(finding, service),
        "ProductArn": product_arn,
        "GeneratorId": f"{service}-access-denied-alert",
        "AwsAccountId": account,
        "Types": types,
        "CreatedAt": min(first, updated),  # same format, milliseconds and a Z: they sort as the times they are
        "UpdatedAt": updated,
        "FirstObservedAt": first,
        "LastObservedAt": last,
        "Severity": {"Label": label, "Original": finding.severity},
        "FindingProviderFields": {"Severity": {"Label": label, "Original": finding.severity}, "Types": types},
        "Title": _text(f"{principal_name(finding)} denied {action.action} ({finding.severity})", TITLE_MAX),
        "Description": _text(" ".join(_description_lines(finding, rules, covered)), DESCRIPTION_MAX),
        "Remediation": {"Recommendation": {"Text": _text(" ".join(fix_lines(finding)), RECOMMENDATION_MAX)}},
        "Resources": resources(finding, partition, _event_region(finding, region)),
        "ProductFields": product_fields(finding, service, rules, covered),
        "RecordState": "ACTIVE",
    }
    link = console_link(finding)
    if link:
        asff["Remediation"]["Recommendation"]["Url"] = link
    return map_strings(asff, mask_secrets)


def finding_types(finding: Finding, rules: Sequence[Rule]) -> list[str]:
    """The finding's Types, most telling first, without repeats; never empty."""
    fired = {rule.name for rule in rules}
    kind = finding.remedy.kind if finding.remedy else None
    types = []
    if "reconnaissance" in fired or kind == "investigate":
        types.append(DISCOVERY)
    types += [HAZARD_TYPES[hazard.category] for hazard in finding.hazards if hazard.category in HAZARD_TYPES]
    if fired & UNUSUAL_RULES:
        types.append(UNUSUAL_USER)
    if kind in CONFIGURATION_KINDS:
        types.append(CONFIGURATION)
    return list(dict.fromkeys(types))[:TYPES_MAX] or [UNUSUAL_USER]


def resources(finding: Finding, partition: str, region: str) -> list[dict[str, Any]]:
    """The principal denied (an IAM role or user by its ARN, else ``Other``) and the refused resources."""
    principal = finding.principal
    arn = principal.arn or ""
    kind = arn.split(":", 5)[5].split("/", 1)[0] if arn.count(":") >= 5 else ""
    resource_type = {"role": "AwsIamRole", "assumed-role": "AwsIamRole", "user": "AwsIamUser"}.get(kind, "Other")
    if resource_type == "AwsIamRole" and kind == "assumed-role":  # the session's role: arn:...:iam::A:role/NAME
        arn = f"arn:{partition}:iam::{principal.account_id or ''}:role/{arn.split('/')[1]}" if "/" in arn else arn
    listed = [
        {
            "Type": resource_type,
            "Id": _text(arn or principal.key or principal.type, FIELD_VALUE_MAX),
            "Partition": partition,
            "Region": region,
            "ResourceRole": "Actor",
            "Details": {"Other": _other({"principalType": principal.type, "accountId": principal.account_id})},
        }
    ]
    for refused in finding.actions[0].resources[: RESOURCES_MAX - 1]:
        listed.append(
            {
                "Type": "Other",
                "Id": _text(refused, FIELD_VALUE_MAX),
                "Partition": partition,
                "Region": region,
                "ResourceRole": "Target",
                "Details": {"Other": _other({"owningAccountId": finding.target_account_id})},
            }
        )
    return listed


def product_fields(
    finding: Finding, service: str, rules: Sequence[Rule], covered: Covered | None = None
) -> dict[str, str]:
    """What Security Hub has no field for: the rules that fired, the action, the counts, the accounts, and the
    actions a principal's alert covers (``actionsInWindow``, with ``windowMinutes``)."""
    action = finding.actions[0]
    fields = {
        "service": service,
        "action": action.action,
        "reasons": ",".join(action.reasons),
        "rules": ",".join(rule.name for rule in rules),
        "denials": str(finding.denials),
        "principalAccountId": finding.principal.account_id or "",
        "owningAccountId": finding.target_account_id or "",
        "crossAccount": str(finding.cross_account).lower(),
        "remedyKind": finding.remedy.kind if finding.remedy else "",
        "reportFindingId": finding.id,
    }
    if covered and covered.actions:
        fields |= {"actionsInWindow": ",".join(covered.actions), "windowMinutes": str(covered.window_minutes)}
    fields |= {f"rule/{rule.name}": rule.reason for rule in rules}
    shown = {
        _text(name, FIELD_KEY_MAX): _text(value, FIELD_VALUE_MAX) for name, value in fields.items() if value.strip()
    }
    return dict(list(shown.items())[:FIELDS_MAX])


def _description_lines(finding: Finding, rules: Sequence[Rule], covered: Covered | None) -> list[str]:
    """The body's who, what, what a principal's alert covers, and why (its rules, fix and link have fields)."""
    return [line for line in body_lines(finding, rules, None, covered) if line.startswith(_DESCRIBED)]


_DESCRIBED = ("Who: ", "What: ", "Covers: ", "Why: ")


def _other(values: dict[str, str | None]) -> dict[str, str]:
    """A resource's ``Details.Other``: keys under 128 characters, values under 1,024; empty ones left out."""
    return {name: _text(value, 1023) for name, value in values.items() if value}


def _text(text: str, limit: int) -> str:
    """One line, secrets masked, controls shown as escapes, at most ``limit`` characters (UTF-16 units: the API's
    lengths are Java's), never empty (ASFF strings are NonEmptyString)."""
    shown = printable(mask_secrets(" ".join(text.split())), keep="")
    if len(shown) > limit:
        shown = cut_utf16(shown, limit - 1) + "…"
    return shown or "-"


def _event_region(finding: Finding, importing: str) -> str:
    """The region the denied call was made in (one event: one region), or ``importing`` when the record named none or
    something that is no region code."""
    regions = [region for region in finding.regions if _REGION.match(region)]
    return regions[0] if len(regions) == 1 else importing


_REGION = re.compile(r"^[a-z]{2,}(-[a-z]+)+-\d+$")


def _aware(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def _stamp(at: datetime) -> str:
    """``2026-11-28T09:15:02.123Z``: RFC 3339 in UTC with milliseconds, as Security Hub's timestamps allow."""
    at = _aware(at)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
