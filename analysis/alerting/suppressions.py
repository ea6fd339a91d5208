"""Suppressions of alerts: principals, actions or accounts to ignore, each with a reason and an expiry (issue 9).

Pure: the text of a document in, :class:`Suppressions` out; no AWS call and no file here
(``analysis.suppression_config`` reads the document from S3, SSM Parameter Store or a file).

The document is JSON::

    {"suppressions": [
      {"principal": "arn:aws:iam::111122223333:role/Scanner",
       "action": "apprunner:Describe*",
       "reason": "quarterly pen test, ticket SEC-42",
       "expires": "2026-12-31"}
    ]}

Each entry names at least one of:

- ``principal``: who was refused. An ARN as the report shows it (an IAM user's ARN, a role's ARN with its path,
  ``arn:aws:iam::ACCOUNT:root``), or, for a principal without an ARN, its key as the report shows it
  (``service:apprunner.amazonaws.com``). A role's ARN also matches its sessions: a denial of
  ``arn:aws:sts::A:assumed-role/Name/session`` is the role's. A role ARN written without wildcards matches the role by
  account and name whatever path either side shows (IAM role names are unique in an account, and a session's ARN,
  all a log without the issuer gives, does not show the path); with a wildcard it matches as written. A session ARN
  (``arn:aws:sts::A:assumed-role/Name/jane``, ``arn:aws:sts::A:federated-user/bob``) matches that session only.
- ``action``: the IAM action refused (``apprunner:DeleteService``); case does not matter, as in IAM.
- ``account``: the caller's account (the principal's own, 12 digits).
- ``owner_account``: the account that owns what was refused (a sandbox whose denials nobody needs to hear of).

Each of them is a string or a list of strings (any of them); ``*`` matches any characters (none included), ``?``
one; ARNs and keys are matched case-sensitively (IAM's are), actions not. An entry matches a denial when every field
it names matches (AND): ``{"principal": X, "action": Y}`` is X's Y only. A finding of several actions is matched only
when each of its actions is.

What no wildcard silences (:func:`protected`): a denial of the root user, one an SCP or RCP refused, and one whose
caller's account is not the owning account (or either is unknown) is suppressed only by an entry that names its
principal literally (an ARN, session ARN or key written without ``*`` or ``?``). Any other entry that matches it lets
the alert go out: an ``owner_account`` or ``action`` entry never hides a root login, an outsider or an organization
policy's refusal.

``reason`` (why, for whoever reads the alert summary later) and ``expires`` are required. ``expires`` is a date
(``2026-12-31``: through the end of that day, UTC, so it expires at ``2027-01-01T00:00:00Z``) or an ISO 8601 date and
time (UTC when it has no offset); the suppression applies strictly before that moment and is *expired* from it on:
expired suppressions no longer apply and each run lists them (``expired_suppressions`` of the alert summary, metric
``SuppressionsExpired``) until someone removes or renews them. ``comment`` is allowed and ignored.

Refused, each named in ``problems`` with its index (``suppressions[2]``) and why, while the other entries still
apply: an entry that is not an object, names none of the four fields, has a field this version does not know (a typo
such as ``principle`` would otherwise make it broader than meant), an empty or malformed value (an account that is
not 12 digits, or 12 characters of digits and ``?``, or a pattern with ``*``; a principal that is neither an ARN nor a
key), no reason, no expiry or one more than :data:`MAX_DAYS` days ahead (a suppression that never expires is refused:
suppressions are temporary by design), and the suppression of everything: an entry each of whose fields matches
anything of its kind (:func:`_universal`: an action ``*``, ``*:*`` or ``apprunner:*``; a principal pattern matching
every user, role, root user, session or key of any account, such as ``arn:*`` or ``arn:aws:iam::*``; an account of
wildcards only). Switch the alerts off instead. A document that is not JSON or not of this shape gives no
suppressions and one problem: alerting goes on (fail open: a broken document never silences alerts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

from analysis.contract import Finding, PrincipalType
from analysis.redact import mask_secrets, printable

FIELDS = ("principal", "action", "account", "owner_account")
KNOWN_KEYS = frozenset((*FIELDS, "reason", "expires", "comment"))
MAX_DAYS = 366  # an expiry further ahead than this is refused: a suppression is temporary
MAX_REASON = 1000  # characters of a reason
MAX_PATTERN = 2048  # characters of one principal, action or account (an ARN is at most 2048)
SHOWN = 200  # characters of one value in a description (one line, short)

_ACTION = re.compile(r"^(?:[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+|[*?]+)$")
_ACCOUNT = re.compile(r"^(?:[0-9]{12}|[0-9?]{12}|[0-9*?]*\*[0-9*?]*)$")  # 12 digits; * free: 12 characters
# A principal is an ARN or a key as analysis.principals writes one for a principal without an ARN.
KEY_PREFIXES = ("arn:", "service:", *(f"{kind}:" for kind in get_args(PrincipalType)))

# Where a suppression document may live (ALERT_SUPPRESSIONS, the stack parameter AlertSuppressions): the one set of
# values both analysis.settings and template.yaml's AllowedPattern accept (tests/unit/test_settings.py compares them).
# S3: a bucket name, a key without IAM's wildcard or policy-variable characters (* ? $: the template grants
# s3:GetObject on exactly that key), at most 1,024 characters; optionally ?owner=ACCOUNT, the bucket's expected owner
# (the template appends the stack's own account when the parameter names none). SSM: /name, a hierarchy of at most
# 15 levels of a-zA-Z0-9_.- (SSM's rule), at most 1,011 characters (SSM's cap on a name with its ARN: a bound).
S3_SPEC = r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^*?$\x00-\x1f]{1,1024}(\?owner=[0-9]{12})?"
SSM_SPEC = r"ssm:(?=.{1,1011}$)(/[a-zA-Z0-9_.-]+){1,15}"
_ROLE_ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):role/(?:(?P<path>.*)/)?(?P<name>[^/]+)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WILDCARD = re.compile(r"[*?]")


def wildcard_match(pattern: str, text: str) -> bool:
    """Whether ``text`` is ``pattern`` whole, where ``*`` is any characters (none included) and ``?`` exactly one.

    Greedy with one resume point (the last ``*``): at most len(pattern) x len(text) steps, whatever the pattern, where
    a regular expression of many ``.*`` could backtrack for ever."""
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif p < len(pattern) and pattern[p] in ("?", text[t]):
            p += 1
            t += 1
        elif star >= 0:  # give the last * one more character and try again from there
            resume += 1
            p, t = star + 1, resume
        else:
            return False
    return pattern[p:].strip("*") == ""


def _shown(text: str) -> str:
    """One line, safe for a terminal or a log: secrets masked, controls escaped, cut at SHOWN characters."""
    text = printable(mask_secrets(text), keep="")
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


@dataclass(frozen=True)
class Suppression:
    """One entry of a suppression document: what it ignores (each field: any of its patterns), why, until when."""

    reason: str
    expires: datetime  # aware, UTC: applies strictly before
    principal: tuple[str, ...] = ()
    action: tuple[str, ...] = ()
    account: tuple[str, ...] = ()
    owner_account: tuple[str, ...] = ()
    name: str = ""  # where it is: "suppressions[0] in s3://bucket/key"

    def __str__(self) -> str:
        """One line naming it, what it ignores, its reason and expiry (secrets masked, controls escaped)."""
        named = ", ".join(f"{key} {_shown(' | '.join(getattr(self, key)))}" for key in FIELDS if getattr(self, key))
        where = f"{_shown(self.name)} " if self.name else ""
        through = ""
        if (self.expires.hour, self.expires.minute, self.expires.second, self.expires.microsecond) == (0, 0, 0, 0):
            through = f" (through {self.expires - timedelta(days=1):%Y-%m-%d})"
        return (
            f"suppression {where}({named}): {_shown(self.reason)}; expires {self.expires:%Y-%m-%dT%H:%M:%SZ}{through}"
        )

    def is_expired(self, at: datetime) -> bool:
        return at >= self.expires

    def names_literally(self, finding: Finding) -> bool:
        """Whether one of its principal patterns, written without a wildcard, is ``finding``'s principal (its ARN, a
        session's ARN, its key, or a role by account and name)."""
        return any(not _WILDCARD.search(pattern) and _principal_matches(finding, pattern) for pattern in self.principal)

    def matches(self, finding: Finding) -> bool:
        """Whether every field it names matches ``finding`` (the expiry aside: see :meth:`Suppressions.matching`)."""
        if self.principal and not any(_principal_matches(finding, pattern) for pattern in self.principal):
            return False
        actions = [pattern.lower() for pattern in self.action]  # IAM actions are case-insensitive
        if actions and not all(_any(actions, denied.action.lower()) for denied in finding.actions):
            return False
        if self.account and not _any(self.account, finding.principal.account_id):
            return False
        return not (self.owner_account and not _any(self.owner_account, finding.target_account_id))


def protected(finding: Finding) -> tuple[str, ...]:
    """Why a denial is of the highest signal, so that only an entry naming its principal literally suppresses it
    (empty: any matching entry does). Read from the finding alone (no state, no organization settings), and erring
    toward alerting: ``root`` (the root user; the root rule), ``org_policy`` (an SCP or RCP refused an action; the
    org_policy rule) and ``cross_account`` (the caller's account is not the owner's, or either is unknown: a superset
    of the unknown_account rule, trusted and organization accounts included)."""
    principal = finding.principal
    why = []
    if principal.type == "Root" or (principal.arn or "").endswith(":root"):
        why.append("root")
    if any(reason in ("scp", "rcp") for denied in finding.actions for reason in denied.reasons):
        why.append("org_policy")
    if not (principal.account_id and principal.account_id == finding.target_account_id):
        why.append("cross_account")
    return tuple(why)


def _any(patterns: Sequence[str], *values: str | None) -> bool:
    candidates = [value for value in values if value]  # an unknown value (None) is matched by nothing, not even *
    return any(wildcard_match(pattern, value) for pattern in patterns for value in candidates)


def _principal_matches(finding: Finding, pattern: str) -> bool:
    principal = finding.principal
    if _any([pattern], principal.arn, principal.key, *_session_arns(finding)):
        return True
    # A role ARN written out whole matches the role by account and name, whatever path either shows: role names are
    # unique in an account, and a session's ARN (all the log has without the issuer) does not show the path. Compared
    # literally: a pattern with a wildcard matched above, as written, or not at all.
    written = _ROLE_ARN.match(pattern)
    seen = _ROLE_ARN.match(principal.arn or "")
    if written is None or seen is None:
        return False
    return (written.group("partition"), written.group("account"), written.group("name")) == (
        seen.group("partition"),
        seen.group("account"),
        seen.group("name"),
    )


def _session_arns(finding: Finding) -> list[str]:
    """The sessions' ARNs as CloudTrail writes them: a role's ``arn:P:sts::A:assumed-role/NAME/SESSION``, a
    federated user's ``arn:P:sts::A:federated-user/NAME``."""
    principal = finding.principal
    role = _ROLE_ARN.match(principal.arn or "")
    if role:
        base = f"arn:{role.group('partition')}:sts::{role.group('account')}:assumed-role/{role.group('name')}/"
        return [base + session for session in principal.sessions]
    if principal.type == "FederatedUser" and principal.arn and principal.account_id:
        partition = principal.arn.split(":", 2)[1]
        return [f"arn:{partition}:sts::{principal.account_id}:federated-user/{s}" for s in principal.sessions]
    return []


@dataclass(frozen=True)
class Suppressions:
    """The suppressions of one document, and what in it could not be read (each named)."""

    items: tuple[Suppression, ...] = ()
    problems: tuple[str, ...] = ()  # entries or documents that could not be read, named
    origin: str = ""

    def matching(self, finding: Finding, at: datetime) -> Suppression | None:
        """The first suppression that matches ``finding`` and has not expired at ``at``; None: alert as usual.

        A denial of the highest signal (:func:`protected`: the root user, a refusal by an SCP or RCP, a caller from
        another or an unknown account) is suppressed only by an entry that names its principal literally."""
        guarded = bool(protected(finding))
        for item in self.items:
            if item.is_expired(at) or not item.matches(finding):
                continue
            if not guarded or item.names_literally(finding):
                return item
        return None

    def expired(self, at: datetime) -> list[Suppression]:
        """The suppressions expired at ``at`` (they no longer apply; each run names them until they are removed)."""
        return [item for item in self.items if item.is_expired(at)]


class _Refused(ValueError):
    """Why one entry cannot be used."""


def parse_suppressions(text: str, origin: str, now: datetime | None = None) -> Suppressions:
    """The suppressions of one JSON document (see the module's docstring); ``origin`` names it in descriptions and
    problems; ``now`` (default: the clock) bounds how far ahead an expiry may be."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    where = _shown(origin) if origin else "the suppression document"
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError) as error:
        return Suppressions((), (f"{where}: not JSON ({_shown(str(error))}); no suppression applies",), origin)
    if not isinstance(document, dict) or not isinstance(document.get("suppressions"), list):
        return Suppressions(
            (), (f'{where}: not a suppression document ({{"suppressions": [...]}}); no suppression applies',), origin
        )
    problems: list[str] = []
    unknown = sorted(set(document) - {"suppressions", "comment"})
    if unknown:
        problems.append(f"{where}: unknown top-level field {_shown(', '.join(unknown))} (ignored)")
    items: list[Suppression] = []
    for index, entry in enumerate(document["suppressions"]):
        name = f"suppressions[{index}] in {origin}" if origin else f"suppressions[{index}]"
        try:
            items.append(_entry(entry, name, now))
        except _Refused as why:
            problems.append(f"{_shown(name)}: refused: {why}")
    return Suppressions(tuple(items), tuple(problems), origin)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:  # the last would win silently: a broader suppression than the reader sees
        raise ValueError(f"the field {', '.join(twice)} is given twice in one object")
    return dict(pairs)


def _entry(entry: Any, name: str, now: datetime) -> Suppression:
    if not isinstance(entry, dict):
        raise _Refused(f"not an object but {type(entry).__name__}")
    unknown = sorted(set(entry) - KNOWN_KEYS)
    if unknown:
        raise _Refused(f"unknown field {_shown(', '.join(unknown))} (the fields: {', '.join(sorted(KNOWN_KEYS))})")
    fields = {key: _values(entry, key) for key in FIELDS}
    if not any(fields.values()):
        raise _Refused("names none of principal, action, account, owner_account")
    if all(_universal(key, values) for key, values in fields.items() if values):
        raise _Refused("every field it names matches anything of its kind: it would suppress every alert")
    for action in fields["action"]:
        if not _ACTION.match(action):
            raise _Refused(f"action {_shown(action)!r} is not an IAM action (service:Action, wildcards * and ?)")
    for key in ("account", "owner_account"):
        for account in fields[key]:
            if not _ACCOUNT.match(account):
                raise _Refused(
                    f"{key} {_shown(account)!r} is not an AWS account ID (12 digits; wildcards * and ?, without * "
                    "12 characters)"
                )
    for principal in fields["principal"]:
        if not principal.startswith(KEY_PREFIXES):
            raise _Refused(
                f"principal {_shown(principal)!r} is neither an ARN (arn:…) nor a principal's key (service:…, "
                "AWSAccount:…, …)"
            )
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _Refused("no reason (say why, for whoever reads it later)")
    if len(reason) > MAX_REASON:
        raise _Refused(f"the reason is longer than {MAX_REASON} characters")
    expires = _expiry(entry.get("expires"))
    if expires > now + timedelta(days=MAX_DAYS):
        raise _Refused(
            f"expires {expires:%Y-%m-%d}, more than {MAX_DAYS} days ahead: a suppression is temporary, renew it instead"
        )
    return Suppression(reason.strip(), expires, name=name, **fields)


# A principal pattern is universal when it matches every principal of one form in any account: tried on two accounts
# and a name of control characters, which no accepted pattern holds literally (so only wildcards can match it).
_NOBODY = "\x01" * 24
_ANY_ACCOUNTS = ("000000000000", "999999999999")
_PRINCIPAL_FORMS = (
    "arn:{partition}:iam::{account}:user/{name}",
    "arn:{partition}:iam::{account}:role/{name}",
    "arn:{partition}:iam::{account}:root",
    "arn:{partition}:sts::{account}:assumed-role/{name}/{name}",
    "arn:{partition}:sts::{account}:federated-user/{name}",
    "service:{name}",
    *(f"{kind}:{{account}}:{{name}}" for kind in get_args(PrincipalType)),
)
_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def _universal(key: str, patterns: Sequence[str]) -> bool:
    """Whether one of ``patterns`` matches anything of the field's kind (the one rule of "the suppression of
    everything", documented in the module's docstring):

    - action: its name (after the colon) is only wildcards with a ``*`` (``*``, ``*:*``, ``apprunner:*``);
    - principal: it matches every principal of one form (IAM users, roles, root users, sessions, federated users,
      service principals, keys) of any account (``arn:*``, ``arn:aws:iam::*``, ``arn:aws:iam::*:user/*``);
    - account, owner_account: only wildcards with a ``*`` (``*``, ``??????*``)."""
    if key == "action":
        return any("*" in name and not _WILDCARD.sub("", name) for name in (p.rpartition(":")[2] for p in patterns))
    if key == "principal":
        return any(_matches_a_whole_form(pattern) for pattern in patterns)
    return any("*" in pattern and not _WILDCARD.sub("", pattern) for pattern in patterns)


def _matches_a_whole_form(pattern: str) -> bool:
    for form in _PRINCIPAL_FORMS:
        for partition in _PARTITIONS if form.startswith("arn:") else ("",):
            probes = [form.format(partition=partition, account=a, name=_NOBODY) for a in _ANY_ACCOUNTS]
            if all(wildcard_match(pattern, probe) for probe in probes):
                return True
    return False


def _values(entry: dict[str, Any], key: str) -> tuple[str, ...]:
    if key not in entry:
        return ()
    value = entry[key]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise _Refused(f"{key} is not a string or a non-empty list of strings")
    for v in values:
        if len(v) > MAX_PATTERN:
            raise _Refused(f"{key} is longer than {MAX_PATTERN} characters")
        if not v.strip() or v != v.strip() or _CONTROL.search(v):
            raise _Refused(f"{key} {_shown(v)!r} is empty, padded with spaces or holds control characters")
    return tuple(values)


def _expiry(value: Any) -> datetime:
    if value is None:
        raise _Refused("no expiry (expires: a date or an ISO 8601 time): a suppression that never expires is refused")
    if not isinstance(value, str):
        raise _Refused(f"expires is not a date or an ISO 8601 time but {type(value).__name__}")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # a day: through its end, so the next midnight (UTC)
            day = date.fromisoformat(value)
            if day == date.max:  # no next midnight: refused below as too far ahead anyway
                return datetime.max.replace(tzinfo=UTC)
            return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Refused(f"expires {_shown(value)!r} is not a date (2026-12-31) or an ISO 8601 time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
