"""Parse the error messages AWS writes for a refused call.

Every form in ``docs/messages.md`` maps to: the action refused, the resource named, the reason
(a docs/CONTRACT.md value), the policy ARN when the message names one, and flags for encoded and
truncated messages. The phrase tables live in ``data/message_patterns.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

TRUNCATION_LENGTH = 1000  # AWS cuts messages at about 1,024 characters and appends "..."
TRUNCATION_MARKER = "..."
# The parser reads at most this many characters of a message (after surrounding whitespace). CloudTrail cuts
# errorMessage at about 1,024 characters (the longest form in the corpus, EC2's with an encoded authorization
# failure message, is 1,026); API responses and other sources may carry an uncut encoded message of a few KB.
# A longer message is read up to the cap and flagged (``ParsedMessage.capped``, counted as cut).
MESSAGE_PARSE_LIMIT = 16 * 1024
# Where a policy ARN ends. IAM names may end in ".", and no documented form puts a period after the ARN, except
# the EC2 form's sentence end before "Encoded authorization failure message": only that "." is not the ARN's.
_ARN_END = r"(?=\.\s++Encoded authorization failure message|\s|$)"


@dataclass(frozen=True)
class ParsedMessage:
    action: str | None = None
    resource: str | None = None
    reason: str = "unknown"
    policy_arn: str | None = None
    principal_arn: str | None = None
    encoded_message: str | None = None
    truncated: bool = False  # cut: by AWS (about 1,024 characters and "..."), or by MESSAGE_PARSE_LIMIT
    non_iam_failure: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    denied_explicitly: bool = False  # "with an explicit deny", whichever policy type it names
    capped: bool = False  # longer than MESSAGE_PARSE_LIMIT: only its start was read


# The work is linear in the message: every pattern starts with a literal (or a word's start), so no two
# starts re-read the same run of text, and its repetitions are possessive (*+, ++), so a failed match
# never backtracks through a run of spaces. Where a clause ends is found by searching for what follows it,
# not by a lazy match tried against lookaheads at every character (quadratic on long runs of spaces).
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
            rf"(?:\s++transitively through (?:an? |the )?(?P<through>{alternatives}))?"
            rf"(?::\s*+(?P<policy>arn:\S+?){_ARN_END})?",
            re.IGNORECASE,
        ),
        "explicit_bare": re.compile(r"with an explicit deny\b(?!\s++in\b)", re.IGNORECASE),
        "no_allow": re.compile(rf"because no (?P<type>{alternatives}) allows? the\b", re.IGNORECASE),
        "non_iam": [(re.compile(p, re.IGNORECASE), label) for p, label in table["non_iam_failures"]],
    }


# "User:" starts a word (AWS writes it first, or after a sentence and a space).
_PRINCIPAL = re.compile(r"(?<!\S)User:\s*+(?P<arn>\S++)\s++is not authorized to perform:")
_ACTION = re.compile(r"is not authorized to perform:\s*+(?P<action>[A-Za-z0-9-]++:[A-Za-z0-9*_-]++)")
_RESOURCE_START = re.compile(r"\son resource:")
# What follows a resource clause: the reason, or the EC2 form's sentence end. The clause is cut before the
# first of them and stripped (a message's end closes it too).
_RESOURCE_END = re.compile(r"\sbecause no\s|\swith an explicit deny\b|\.\s++Encoded authorization failure message")
_ENCODED = re.compile(r"Encoded authorization failure message:\s*+(?P<encoded>\S++)")


def parse_message(message: str | None) -> ParsedMessage:
    """What an AccessDenied message says (``ParsedMessage``); a message of usual length is read once per run."""
    if message is not None and len(message) > MESSAGE_PARSE_LIMIT:
        return _parse_message(message)  # not kept: the cache holds at most 16,384 messages of at most 16 KiB
    return _parsed_message(message)


@lru_cache(maxsize=16384)  # a storm repeats its messages (36,621 distinct in 99,631 denials); the result is frozen
def _parsed_message(message: str | None) -> ParsedMessage:
    return _parse_message(message)


def _parse_message(message: str | None) -> ParsedMessage:
    if not message:
        return ParsedMessage()
    text, capped = _within_limit(message.strip())
    truncated = capped or (len(text) >= TRUNCATION_LENGTH and text.endswith(TRUNCATION_MARKER))
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
        notes=(_capped_note(len(message.strip())),) if capped else (),
        denied_explicitly=bool(_patterns()["explicit"].search(text) or _patterns()["explicit_bare"].search(text)),
        capped=capped,
    )


def _within_limit(text: str) -> tuple[str, bool]:
    """The part of a message the parser reads, and whether it was cut there."""
    if len(text) <= MESSAGE_PARSE_LIMIT:
        return text, False
    return text[:MESSAGE_PARSE_LIMIT], True


def _capped_note(length: int) -> str:
    return f"message of {length:,} characters: only the first {MESSAGE_PARSE_LIMIT:,} were read"


def _resource(text: str) -> str | None:
    start = _RESOURCE_START.search(text)
    if not start:
        return None
    end = _RESOURCE_END.search(text, start.end())
    resource = text[start.end() : end.start() if end else len(text)].strip()
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
