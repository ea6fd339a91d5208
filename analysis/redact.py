"""Keeping secrets and identities out of reports, and log text from acting on whoever reads it.

``mask_secrets`` runs on every report: access key IDs never reach one. ``printable`` runs wherever a person
reads (terminal, Markdown, HTML, CSV, mail, SNS, warnings): control and bidi characters are shown, not obeyed.
``redact_report`` is ``--redact``: account IDs, ARNs' resource parts, session names and IP addresses replaced
by consistent pseudonyms, so a report can be shared outside the team and still be read.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")

# No word boundaries: an ID glued to a word ("ci_AKIA…") is still a key. Access key IDs are upper-case letters and
# digits; session tokens are base64 whose first bytes AWS STS always writes the same way.
_ACCESS_KEY = re.compile(r"(?<![A-Z0-9])(AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{12,}(?![A-Z0-9])")
_SESSION_TOKEN = re.compile(r"(IQoJb3JpZ2lu|FwoGZXIvYXdzE|FQoGZXIvYXdzE|AQoDYXdzE)[A-Za-z0-9+/=]{8,}")
# What signs a request, in a presigned URL's query or a request's headers, URL-encoded or not: SigV4's
# X-Amz-Credential (it starts with the access key ID), X-Amz-Security-Token (the whole session token) and
# X-Amz-Signature; SigV2's AWSAccessKeyId and Signature. The whole value is masked.
_SIGNING_VALUE = re.compile(
    r"(?i)((?:x-amz-(?:credential|security-token|signature)|awsaccesskeyid|(?<![\w-])signature)\s*[=:]\s*)"
    r"[^&\s\"'<>;,()\[\]]+"
)
_ARN = re.compile(
    r"\barn:(?P<partition>aws[a-z-]*):(?P<service>[^:\s]*):(?P<region>[^:\s]*):"
    r"(?P<account>[^:\s]*):(?P<resource>[^\s\"',]+)"
)
_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f:])")


def mask_secrets(text: str) -> str:
    """Access key IDs and session tokens, wherever they are in the text, cut to their prefix; a presigned URL's or
    a request's signing values (key ID, session token, signature) masked whole."""
    text = _SIGNING_VALUE.sub(lambda m: m.group(1) + "(masked)", text)
    text = _ACCESS_KEY.sub(lambda m: m.group(1) + "************", text)
    return _SESSION_TOKEN.sub(lambda m: m.group(1) + "…(session token masked)", text)


# C0 controls (tab and line feed are layout), DEL and C1 controls (ECMA-48), the bidi marks, embeddings, overrides
# and isolates (Unicode UAX #9), and the line and paragraph separators some viewers break lines at.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def printable(text: str, *, keep: str = "\n\t") -> str:
    """The text with every control and bidi character shown as a visible ``\\uXXXX`` escape (but those in ``keep``).

    Nothing a log, file name or S3 key holds can then move the cursor, clear or retitle a terminal, ring it, or make
    text read backwards; the reader still sees that something was there. The escape is JSON's, so JSON text made
    printable decodes to the same value. ``keep=""`` for one line: a line feed cannot start a line of its own."""

    def shown(match: re.Match[str]) -> str:
        character = match.group(0)
        return character if character in keep else f"\\u{ord(character):04x}"

    return _UNPRINTABLE.sub(shown, text)


def map_strings(value: T, change: Callable[[str], str]) -> T:
    """The same structure with every string (keys included) passed through ``change``."""
    return cast(T, _mapped(value, change))


def _mapped(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {_mapped(k, change): _mapped(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_mapped(v, change) for v in value]
    return value


class _Pseudonyms:
    """Consistent replacements; a pseudonym given out is never replaced again."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, str]] = {"account": {}, "name": {}, "ip": {}, "session": {}}
        self.given: set[str] = set()

    def _get(self, table: str, value: str, make: Callable[[int], str]) -> str:
        if value in self.given:
            return value
        entries = self.tables[table]
        if value not in entries:
            entries[value] = make(len(entries) + 1)
            self.given.add(entries[value])
        return entries[value]

    def account(self, account: str) -> str:
        return self._get("account", account, lambda n: f"{n:012d}")

    def name(self, name: str) -> str:
        return self._get("name", name, lambda n: f"name-{n}")

    def ip(self, ip: str) -> str:
        return self._get("ip", ip, lambda n: f"ip-{n}")

    def session(self, session: str) -> str:
        return self._get("session", session, lambda n: f"session-{n}")


_KEEP_NAMES = frozenset({"aws-reserved", "sso.amazonaws.com", "service-role", "*"})


def _is_ipv6(text: str) -> bool:
    """The pattern also matches times (``09:15:00``): an IPv6 address written without ``::`` has 8 groups."""
    return text.count(":") == 7


def redact_report(report: dict[str, Any]) -> dict[str, Any]:
    names = _Pseudonyms()
    redacted = copy.deepcopy(report)
    for finding in redacted.get("findings", []):
        principal = finding.get("principal") or {}
        principal["sessions"] = [names.session(s) for s in principal.get("sessions", [])]
    map_strings(redacted, lambda text: _ARN.sub(lambda m: _redact_arn(m, names), text))  # learn every ARN's names
    bare = {**names.tables["session"], **names.tables["name"]}
    bare_pattern = _bare_names_pattern([n for n in bare if len(n) >= 3 and n not in _KEEP_NAMES])

    def change(text: str) -> str:
        text = _ARN.sub(lambda m: _redact_arn(m, names), text)
        if bare_pattern is not None:
            text = bare_pattern.sub(lambda m: bare[m.group(0)], text)
        text = _ACCOUNT.sub(lambda m: names.account(m.group(0)), text)
        text = _IPV4.sub(lambda m: names.ip(m.group(0)), text)
        return _IPV6.sub(lambda m: names.ip(m.group(0)) if _is_ipv6(m.group(0)) else m.group(0), text)

    redacted = map_strings(redacted, change)
    redacted["redacted"] = True
    return redacted


def _bare_names_pattern(names: list[str]) -> re.Pattern[str] | None:
    if not names:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.@-])(?:{alternatives})(?![\w.@-])")


def _redact_arn(match: re.Match[str], names: _Pseudonyms) -> str:
    account = match.group("account")
    resource = match.group("resource")
    kind, separator, rest = _split_resource(resource)
    masked_rest = (
        "/".join(part if part in _KEEP_NAMES else names.name(part) for part in rest.split("/")) if rest else ""
    )
    masked_account = names.account(account) if account.isdigit() else account
    return (
        f"arn:{match.group('partition')}:{match.group('service')}:{match.group('region')}:"
        f"{masked_account}:{kind}{separator}{masked_rest}"
    )


def _split_resource(resource: str) -> tuple[str, str, str]:
    for separator in ("/", ":"):
        if separator in resource:
            kind, rest = resource.split(separator, 1)
            return kind, separator, rest
    if resource in ("root", "*"):
        return resource, "", ""
    return "", "", resource
