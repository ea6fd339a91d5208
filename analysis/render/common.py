"""Wording and safety shared by every rendering: reasons in plain words, masking, fences."""

from __future__ import annotations

import json
import re
from typing import Any

REASON_WORDS = {
    "no_identity_allow": "no identity-based policy allows it",
    "explicit_identity_deny": "an identity-based policy explicitly denies it",
    "scp": "a service control policy (AWS Organizations) refuses it",
    "rcp": "a resource control policy (AWS Organizations) refuses it",
    "permissions_boundary": "the permissions boundary does not allow it",
    "session_policy": "the session policy does not allow it",
    "resource_policy": "a resource-based policy refuses it",
    "vpc_endpoint_policy": "the VPC endpoint policy refuses it",
    "explicit_deny": "an explicit deny (the message names no policy type)",
    "unknown": "AWS did not say why",
}
REMEDY_WORDS = {
    "grant": "Grant the missing permission",
    "cross_account_role": "Create a role in the owning account for the caller to assume",
    "permission_set": "Change the IAM Identity Center permission set",
    "review_deny": "Do not grant: review the deny or guardrail that refused it",
    "org_policy": "Do not grant: an organization policy refused it",
    "investigate": "Do not grant: investigate (looks like reconnaissance)",
}


def reason_words(reason: str) -> str:
    return REASON_WORDS.get(reason, reason)


def pretty_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def fence(text: str, language: str = "") -> str:
    """A Markdown code fence longer than any backtick run inside, so log text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text}\n{ticks}"
