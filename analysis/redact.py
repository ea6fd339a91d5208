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
from functools import cache
from typing import Any, Literal, TypeVar, cast, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from analysis.contract import Policy, Principal, Report

T = TypeVar("T")

# No word boundaries: a key glued to a word, a digit or a URL-encoding ("ci_AKIA…", "CIAKIA…", "%3DAKIA…") is still a
# key. An access key ID is a four-character prefix and 16 upper-case letters and digits (IAM user guide, "IAM
# identifiers": AKIA, ASIA, ABIA, ACCA; A3T… the oldest keys); a role's or user's unique ID (AROA, AIDA) is not a
# credential. A session token is base64 of a message whose first field AWS STS writes the same way in each era:
# "\x0a\x09origin" (IQoJb3JpZ2lu, AgoJb3JpZ2lu), "\x0a\x06er/aws" (FwoGZXIvYXdzE, FQoGZXIvYXdzE), "\x0a\x03aws"
# (FQoDYXdzE, AQoDYXdzE); AQoEXAMPLE is the AWS documentation's example. In a URL its + / = are %2B %2F %3D.
_ACCESS_KEY = re.compile(r"(AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}")
_SESSION_TOKEN = re.compile(
    r"([A-Za-z0-9+/]{2}o(?:Jb3JpZ2lu|GZXIvYXdzE|DYXdzE)|AQoEXAMPLE)(?:[A-Za-z0-9+/=]|%2[BbFf]|%3[Dd]){8,}"
)
# What signs a request, in a presigned URL's query or a request's headers, URL-encoded or not: SigV4's
# X-Amz-Credential (it starts with the access key ID), X-Amz-Security-Token (the whole session token) and
# X-Amz-Signature; SigV2's AWSAccessKeyId and Signature. The whole value is masked, up to the next parameter (``&``
# or its encoding ``%26``, which may also come before it); its ``=`` or ``:`` may be URL-encoded (``%3D``, ``%3A``).
_SIGNING_VALUE = re.compile(
    r"(?i)((?:x-amz-(?:credential|security-token|signature)|awsaccesskeyid|(?:(?<![\w-])|(?<=%26))signature)"
    r"\s*(?:[=:]|%3[da])\s*)"
    r"(?:(?!%26)[^&\s\"'<>;,()\[\]])+"
)
_ARN = re.compile(
    r"\barn:(?P<partition>aws[a-z-]*):(?P<service>[^:\s]*):(?P<region>[^:\s]*):"
    r"(?P<account_id>[^:\s]*):(?P<resource>[^\s\"',]+)"
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
# and isolates (Unicode UAX #9), the line and paragraph separators some viewers break lines at, and the invisible
# format characters that hide text or make two names look alike (Unicode TR #36, UTS #39): zero width space,
# non-joiner and joiner, the word joiner, invisible operators and deprecated format characters (U+2060-U+206F), the
# byte order mark, the Mongolian vowel separator, interlinear annotation, and the tag characters (U+E0000-U+E007F),
# which can spell a whole hidden message.
_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    r"\U000e0000-\U000e007f]"
)


def printable(text: str, *, keep: str = "\n\t") -> str:
    """The text with every control, bidi and invisible format character shown as a visible ``\\uXXXX`` escape (but
    those in ``keep``).

    Nothing a log, file name or S3 key holds can then move the cursor, clear or retitle a terminal, ring it, make
    text read backwards or hide; the reader still sees that something was there. The escape is JSON's (beyond
    U+FFFF, a surrogate pair), so JSON text made printable decodes to the same value. ``keep=""`` for one line: a
    line feed cannot start a line of its own."""

    def shown(match: re.Match[str]) -> str:
        character = match.group(0)
        return character if character in keep else _json_escape(ord(character))

    return _UNPRINTABLE.sub(shown, text)


def _json_escape(code: int) -> str:
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    offset = code - 0x10000
    return f"\\u{0xD800 + (offset >> 10):04x}\\u{0xDC00 + (offset & 0x3FF):04x}"


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
    """Consistent replacements: the same value, the same pseudonym. Each string is changed in one pass, so a
    pseudonym is never taken for a name, and a name that looks like a pseudonym gets one of its own."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, str]] = {"account": {}, "name": {}, "ip": {}, "session": {}}

    def _get(self, table: str, value: str, make: Callable[[int], str]) -> str:
        entries = self.tables[table]
        if value not in entries:
            entries[value] = make(len(entries) + 1)
        return entries[value]

    def account(self, account: str) -> str:
        return self._get("account", account, lambda n: f"{n:012d}")

    def name(self, name: str) -> str:
        return self._get("name", name, lambda n: f"name-{n}")

    def ip(self, ip: str) -> str:
        return self._get("ip", ip, lambda n: f"ip-{n}")

    def session(self, session: str) -> str:
        return self._get("session", session, lambda n: f"session-{n}")


# Path parts of an ARN kept as they are (an ARN's last part is its name, and always replaced).
_KEEP_PATH_PARTS = frozenset({"aws-reserved", "sso.amazonaws.com", "service-role"})
_SHORTEST_BARE_NAME = 3  # a shorter name is replaced inside ARNs and as a session, not as a word of free text

# The contract's string fields that are not free text: times, finding IDs, actions, API and region names, the
# product's own data (hazards, documentation links) and fixed vocabularies typed as ``str``. Fields typed with
# ``Literal`` (severity, kind, reasons, unit, status …) are found from the models; every other string field, and any
# field a report adds, may name a principal, an account or an address, and is redacted. Keys are never changed.
_FIXED_FIELDS: dict[str, frozenset[str]] = {
    "Report": frozenset({"generated_at", "service"}),
    "ReportWindow": frozenset({"start", "end"}),
    "Finding": frozenset({"id", "first_seen", "last_seen", "regions"}),
    "DeniedAction": frozenset({"action", "first_seen", "last_seen", "event_names", "resource_origin"}),
    "Hazard": frozenset({"action", "category", "why", "source"}),
    "Doc": frozenset({"title", "url"}),
    "TimelineBucket": frozenset({"start"}),
    "DayWindow": frozenset({"key", "time_zone", "start", "end"}),
    "LedgerCounts": frozenset({"window"}),
    "ChannelOutcome": frozenset({"channel", "message_id", "at"}),
}
# A proposed policy statement's fixed words; its Resource, Principal and Condition values may name anyone.
_FIXED_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Action", "NotAction"})


def _is_ipv6(text: str) -> bool:
    """The pattern also matches times (``09:15:00``): an IPv6 address written without ``::`` has 8 groups."""
    return text.count(":") == 7


def redact_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report with account IDs, the names in ARNs, sessions and IP addresses replaced by pseudonyms, in the
    fields that may hold them (see ``_FIXED_FIELDS``): its fixed words stay, whatever a caller named a role."""
    names = _Pseudonyms()
    learn = _Walk(text=lambda text: _learn_arns(text, names), sessions=lambda s: [names.session(x) for x in s])
    learn.value(report, Report)
    bare = {**names.tables["session"], **names.tables["name"]}
    pattern = _identity_pattern([n for n in bare if len(n) >= _SHORTEST_BARE_NAME])

    def change(text: str) -> str:
        return pattern.sub(lambda match: _pseudonym(match, names, bare), text)

    redacted = _Walk(text=change, sessions=lambda s: [names.session(x) for x in s]).value(report, Report)
    redacted["redacted"] = True
    return cast(dict[str, Any], redacted)


def _learn_arns(text: str, names: _Pseudonyms) -> str:
    for match in _ARN.finditer(text):
        _redact_arn(match, names)
    return text


def _identity_pattern(bare_names: list[str]) -> re.Pattern[str]:
    """ARNs, account IDs, IP addresses and the names learnt, in one pass: what one alternative replaced is never
    looked at again (a name ``arn`` or ``role`` cannot break an ARN, a pseudonym is never taken for a name)."""
    alternatives = [
        f"(?P<arn>{_ARN.pattern})",
        f"(?P<account>{_ACCOUNT.pattern})",
        f"(?P<ipv4>{_IPV4.pattern})",
        f"(?P<ipv6>{_IPV6.pattern})",
    ]
    if bare_names:
        words = "|".join(re.escape(n) for n in sorted(bare_names, key=len, reverse=True))
        alternatives.append(rf"(?P<bare>(?<![\w.@-])(?:{words})(?![\w.@-]))")
    return re.compile("|".join(alternatives))


def _pseudonym(match: re.Match[str], names: _Pseudonyms, bare: dict[str, str]) -> str:
    text = match.group(0)
    if match.group("arn") is not None:
        return _redact_arn(match, names)
    if match.group("account") is not None:
        return names.account(text)
    if match.group("ipv4") is not None:
        return names.ip(text)
    if match.group("ipv6") is not None:
        return names.ip(text) if _is_ipv6(text) else text
    return bare[text]


class _Walk:
    """A report walked with the contract's models: ``text`` changes each string of a field that may name someone,
    ``sessions`` a principal's session names; fixed fields and every key are copied as they are."""

    def __init__(self, text: Callable[[str], str], sessions: Callable[[list[str]], list[str]]) -> None:
        self.text = text
        self.sessions = sessions

    def value(self, value: Any, model: type[BaseModel] | None) -> Any:
        if model is None:
            return self.free(value)
        if isinstance(value, list):
            return [self.value(item, model) for item in value]
        if isinstance(value, dict):
            return {key: self.field(model, key, item) for key, item in value.items()}
        return self.free(value)

    def field(self, model: type[BaseModel], key: str, value: Any) -> Any:
        if model is Principal and key == "sessions" and _is_strings(value):
            return self.sessions(value)
        if model is Policy and key == "Statement" and isinstance(value, list):
            return [self.statement(s) for s in value]
        plan = _field_plan(model, key)
        if plan is None:
            return self.free(value)
        fixed, inner = plan
        if fixed:
            return copy.deepcopy(value)
        return self.value(value, inner)

    def statement(self, statement: Any) -> Any:
        if not isinstance(statement, dict):
            return self.free(statement)
        return {k: copy.deepcopy(v) if k in _FIXED_STATEMENT_KEYS else self.free(v) for k, v in statement.items()}

    def free(self, value: Any) -> Any:
        """Every string but the keys."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.free(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.free(item) for item in value]
        return value


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@cache
def _field_plan(model: type[BaseModel], key: str) -> tuple[bool, type[BaseModel] | None] | None:
    """How a field of ``model`` is walked (fixed, and the model inside it), worked out once per field, not per
    value: None for a field the model does not name."""
    info = model.model_fields.get(key)
    if info is None:
        return None
    return _is_fixed(model, key, info.annotation), _model_in(info.annotation)


def _is_fixed(model: type[BaseModel], key: str, annotation: Any) -> bool:
    named = any(key in _FIXED_FIELDS.get(klass.__name__, ()) for klass in model.__mro__)
    return named or _only_fixed_words(annotation)


def _only_fixed_words(annotation: Any) -> bool:
    """A Literal (or a list or optional of one), a number or a flag: nothing a caller names."""
    if get_origin(annotation) is Literal or annotation in (bool, int, float, type(None)):
        return True
    arguments = [a for a in get_args(annotation) if not isinstance(a, FieldInfo)]
    return bool(arguments) and get_origin(annotation) is not dict and all(_only_fixed_words(a) for a in arguments)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _redact_arn(match: re.Match[str], names: _Pseudonyms) -> str:
    account = match.group("account_id")
    resource = match.group("resource")
    kind, separator, rest = _split_resource(resource)
    masked_rest = "/".join(_resource_parts(kind, rest.split("/"), names)) if rest else ""
    masked_account = names.account(account) if account.isdigit() else account
    return (
        f"arn:{match.group('partition')}:{match.group('service')}:{match.group('region')}:"
        f"{masked_account}:{kind}{separator}{masked_rest}"
    )


def _resource_parts(kind: str, parts: list[str], names: _Pseudonyms) -> list[str]:
    """A path's parts kept when they are AWS's words; the last part is the name (an assumed role's: the session)."""
    *path, last = parts
    kept = [part if part in _KEEP_PATH_PARTS or part == "*" else names.name(part) for part in path]
    if last == "*":
        return [*kept, last]
    return [*kept, names.session(last) if kind == "assumed-role" and path else names.name(last)]


def _split_resource(resource: str) -> tuple[str, str, str]:
    for separator in ("/", ":"):
        if separator in resource:
            kind, rest = resource.split(separator, 1)
            return kind, separator, rest
    if resource in ("root", "*"):
        return resource, "", ""
    return "", "", resource
