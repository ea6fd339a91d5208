"""A finding as plain text, for ``explain --format text`` and terminals."""

from __future__ import annotations

import json
from typing import Any

from analysis.render.common import REMEDY_WORDS, reason_words


def finding_text(finding: dict[str, Any]) -> str:
    principal = finding["principal"]
    lines = [
        f"Principal: {principal.get('arn') or principal.get('key')} ({principal['type']})",
        f"Owning account: {finding.get('target_account_id') or 'unknown'}"
        + (f" (cross-account from {principal.get('account_id')})" if finding.get("cross_account") else ""),
    ]
    if principal.get("sessions"):
        lines.append(f"Sessions: {', '.join(principal['sessions'])}")
    for action in finding["actions"]:
        resources = ", ".join(action["resources"]) or "not stated"
        reasons = "; ".join(reason_words(r) for r in action["reasons"])
        lines.append(f"Refused: {action['action']} on {resources} ({action['count']}x): {reasons}")
    remedy = finding.get("remedy")
    if remedy:
        lines.append(f"Fix ({remedy['kind']}): {REMEDY_WORDS.get(remedy['kind'], remedy['kind'])}")
        lines.extend(f"  - {note}" for note in remedy.get("notes", []))
        for label, key in (("Policy", "policy"), ("Trust policy", "trust_policy"), ("Caller policy", "caller_policy")):
            if remedy.get(key):
                lines.append(f"{label}:")
                lines.append(json.dumps(remedy[key], indent=2))
    return "\n".join(lines) + "\n"
