"""Parse the error messages AWS writes for a refused call.

Every form in ``corpus/messages.md`` maps to: the action refused, the resource named, the reason
(a CONTRACT.md value), the policy ARN when the message names one, and flags for encoded and
truncated messages. The phrase tables live in ``data/message_patterns.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

TRUNCATION_LENGTH = 1000  # AWS cuts messages at about 1,024 characters and appends "..."
TRUNCATION_MARKER = "..."
# Where a policy ARN ends. IAM names may end in ".", and no documented form puts a period after the ARN, except
# the EC2 form's sentence end before "Encoded authorization failure message": only that "." is not the ARN's.
_ARN_END = r"(?=\.\s+Encoded authorization failure message|\s|$)"


@dataclass(frozen=True)
class ParsedMessage:
    action: str | None = None
    resource: str | None = None
    reason: str = "unknown"
    policy_arn: str | None = None
    principal_arn: str | None = None
    encoded_message: str | None = None
    truncated: bool = False
    non_iam_failure: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    denied_explicitly: bool = False  # "with an explicit deny", whichever policy type it names


@cache
def _patterns() -> dict[str, Any]:
    text = resources.files("analysis.data").joinpath("message_patterns.json").read_text()
    table = json.loads(text)
    policy_types = sorted(table["policy_types"], key=len, reverse=True)
    alternatives = "|".join(re.escape(p) for p in policy_types)
    return {
        "policy_types": {k.lower(): v for k, v in table["policy_types"].items()},
        "explicit": re.compile(
            rf"with an explicit deny in (?:an? |the )?(?P<type>{alternatives})"
            rf"(?:\s+transitively through (?:an? |the )?(?P<through>{alternatives}))?"
            rf"(?::\s*(?P<policy>arn:\S+?){_ARN_END})?",
            re.IGNORECASE,
        ),
        "explicit_bare": re.compile(r"with an explicit deny\b(?!\s+in\b)", re.IGNORECASE),
        "no_allow": re.compile(rf"because no (?P<type>{alternatives}) allows? the\b", re.IGNORECASE),
        "non_iam": [(re.compile(p, re.IGNORECASE), label) for p, label in table["non_iam_failures"]],
    }


_PRINCIPAL = re.compile(r"User:\s*(?P<arn>arn:[^\s]+|[^\s]+)\s+is not authorized to perform:")
_ACTION = re.compile(r"is not authorized to perform:\s*(?P<action>[A-Za-z0-9-]+:[A-Za-z0-9*_-]+)")
_RESOURCE = re.compile(
    r"\son resource:\s*(?P<resource>.*?)"
    r"(?=\s+because no\s|\s+with an explicit deny\b|\.\s+Encoded authorization failure message|\s*$)",
    re.DOTALL,
)
_SPECIFIED_RESOURCE = re.compile(r"\son the specified resource\b")
_ENCODED = re.compile(r"Encoded authorization failure message:\s*(?P<encoded>\S+)")


def parse_message(message: str | None) -> ParsedMessage:
    if not message:
        return ParsedMessage()
    text = message.strip()
    truncated = len(text) >= TRUNCATION_LENGTH and text.endswith(TRUNCATION_MARKER)
    if truncated:  # read as far as AWS wrote it: the marker is no part of a name or ARN
        text = text.removesuffix(TRUNCATION_MARKER)
    encoded = _ENCODED.search(text)
    action = _ACTION.search(text)
    principal = _PRINCIPAL.search(text)
    reason, policy_arn = _reason(text)
    non_iam = None
    if not action and not encoded:
        non_iam = next((label for pattern, label in _patterns()["non_iam"] if pattern.search(text)), None)
    return ParsedMessage(
        action=action.group("action") if action else None,
        resource=_resource(text),
        reason=reason,
        policy_arn=policy_arn,
        principal_arn=principal.group("arn") if principal else None,
        encoded_message=encoded.group("encoded") if encoded else None,
        truncated=truncated,
        non_iam_failure=non_iam,
        denied_explicitly=bool(_patterns()["explicit"].search(text) or _patterns()["explicit_bare"].search(text)),
    )


def _resource(text: str) -> str | None:
    match = _RESOURCE.search(text)
    if not match:
        return None
    resource = match.group("resource").strip()
    if len(resource) >= 2 and resource[0] == resource[-1] == '"':
        resource = resource[1:-1]
    return resource or None


def _reason(text: str) -> tuple[str, str | None]:
    patterns = _patterns()
    explicit = patterns["explicit"].search(text)
    if explicit:
        policy_type = (explicit.group("through") or explicit.group("type")).lower()
        return patterns["policy_types"][policy_type]["deny"], explicit.group("policy")
    no_allow = patterns["no_allow"].search(text)
    if no_allow:
        return patterns["policy_types"][no_allow.group("type").lower()]["no_allow"], None
    if patterns["explicit_bare"].search(text):
        return "explicit_deny", None
    return "unknown", None
