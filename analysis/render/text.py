"""A finding as plain text, for ``explain --format text`` and terminals.

Each line is made safe on its own (``redact.printable`` with nothing kept): a log's escape sequences, bidi controls
or line feeds are shown as escapes, never obeyed, and no value can start a line that looks like ours."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from analysis.contract import Finding, as_finding
from analysis.redact import mask_secrets, printable
from analysis.render.common import REMEDY_WORDS, hazard_words, reason_words


def finding_text(finding: Finding | Mapping[str, Any]) -> str:
    finding = as_finding(finding)
    principal = finding.principal
    lines = [
        f"Principal: {principal.arn or principal.key} ({principal.type})",
        f"Severity: {finding.severity}",
        f"Owning account: {finding.target_account_id or 'unknown'}"
        + (f" (cross-account from {principal.account_id})" if finding.cross_account else ""),
    ]
    if principal.sessions:
        lines.append(f"Sessions: {', '.join(principal.sessions)}")
    for action in finding.actions:
        resources = ", ".join(action.resources) or "not stated"
        reasons = "; ".join(reason_words(r) for r in action.reasons)
        lines.append(f"Refused: {action.action} on {resources} ({action.count}x): {reasons}")
    lines.extend(f"Dangerous to grant: {hazard_words(hazard)} ({hazard.source})" for hazard in finding.hazards)
    remedy = finding.remedy
    if remedy:
        lines.append(f"Fix ({remedy.kind}): {REMEDY_WORDS.get(remedy.kind, remedy.kind)}")
        lines.extend(f"  - {note}" for note in remedy.notes)
        for label, key in (("Policy", "policy"), ("Trust policy", "trust_policy"), ("Caller policy", "caller_policy")):
            document = getattr(remedy, key)
            if document:
                lines.append(f"{label}:")
                lines.extend(json.dumps(document.model_dump(mode="json"), indent=2).splitlines())
    return "".join(_line(line) for line in lines)


def _line(text: str) -> str:
    return printable(mask_secrets(text), keep="") + "\n"
