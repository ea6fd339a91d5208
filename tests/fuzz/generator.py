"""Generated inputs for ``make fuzz`` and its short seeded run in ``make test``.

A case is a set of good denials (built by ``tests.factories``, or taken from the real corpus) and bad
records (good ones mutated: a wrong type at a nested field path, a field removed, a huge or hostile
string, a JSON token some parsers refuse), placed before, between and after the good ones, written as
files of a folder in every container shape the readers take (trail file, JSON array, JSON Lines,
lookup-events output, EventBridge envelopes; gzip or not; sometimes truncated).

Hypothesis draws the plan of a case (which records, which mutations, which layout); the records are
built from it deterministically, so a seed gives the same cases on every run.
"""

from __future__ import annotations

import copy
import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from analysis.records import parse_bytes
from tests import factories

REAL = Path(__file__).resolve().parent.parent / "data"
DAY = "2026-11-28"
# A value the JSON text of a record holds as written (not a Python value): parsers differ on these.
RAW_MARK = "\x00raw:"
# Tokens orjson refuses: valid JSON (RFC 8259) beyond a double or with a lone surrogate, and invalid JSON (NaN,
# bytes not UTF-8). A document read whole takes them through the readers' lenient fallback; a JSON Lines line
# (parsed alone, strictly) or a lookup event's CloudTrailEvent does not.
REFUSED_TOKENS = ("1e400", "-1e400", '"\\ud800"', '"x\\udc00"', "NaN", '"\udcff\udcfe"')
# Nesting deeper than any parser here goes: what holds it cannot be read at all.
TOO_DEEP = "[" * 1100 + "]" * 1100
BREAKING_TOKENS = (*REFUSED_TOKENS, TOO_DEEP)
# Tokens every reader takes.
PLAIN_TOKENS = ("18446744073709551616", "-9223372036854775809", "1e308", '"\\u0000"', '"\\u202e\\u001b[2J"')
FIELD_PATHS: tuple[tuple[str, ...], ...] = (
    ("eventVersion",),
    ("eventSource",),
    ("eventName",),
    ("eventTime",),
    ("eventID",),
    ("errorCode",),
    ("errorMessage",),
    ("awsRegion",),
    ("recipientAccountId",),
    ("sourceIPAddress",),
    ("userAgent",),
    ("vpcEndpointId",),
    ("vpcEndpointAccountId",),
    ("requestParameters",),
    ("requestParameters", "serviceArn"),
    ("requestParameters", "queueUrl"),
    ("requestParameters", "roleArn"),
    ("resources",),
    ("readOnly",),
    ("userIdentity",),
    ("userIdentity", "type"),
    ("userIdentity", "arn"),
    ("userIdentity", "accountId"),
    ("userIdentity", "principalId"),
    ("userIdentity", "userName"),
    ("userIdentity", "invokedBy"),
    ("userIdentity", "onBehalfOf"),
    ("userIdentity", "onBehalfOf", "userId"),
    ("userIdentity", "sessionContext"),
    ("userIdentity", "sessionContext", "sessionIssuer"),
    ("userIdentity", "sessionContext", "sessionIssuer", "arn"),
    ("userIdentity", "sessionContext", "sessionIssuer", "type"),
    ("userIdentity", "sessionContext", "sessionIssuer", "userName"),
    ("userIdentity", "sessionContext", "attributes"),
    ("userIdentity", "sessionContext", "attributes", "creationDate"),
    ("userIdentity", "sessionContext", "webIdFederationData"),
    ("userIdentity", "identityProvider"),
)
BAD_ACCOUNT = "999988887777"
INTERESTING = (
    "",
    " ",
    "arn:",
    "arn:aws:iam::999988887777:role/Intruder",
    "arn:aws:sts::999988887777:assumed-role/Intruder/s",
    "arn:aws:iam::999988887777:user/mallory",
    "arn:aws:iam::999988887777:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Bad_0123456789abcdef",
    "role Intruder",
    "AccessDenied",
    "AccessDeniedException",
    "Client.UnauthorizedOperation",
    "apprunner.amazonaws.com",
    "apprunner",
    "monitoring.amazonaws.com",
    "iam.amazonaws.com",
    "PassRole",
    "CreateService",
    "AssumedRole",
    "IAMUser",
    "Root",
    "AWSService",
    "FederatedUser",
    "AWSAccount",
    "IdentityCenterUser",
    "999988887777",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-13-45T99:99:99Z",
    "2026-11-28 09:15:00",
    "2026-11-28T09:15:00+05:00",
    "not a time",
    "us-east-1",
    "cn-north-1",
    "https://sqs.us-east-1.amazonaws.com/999988887777/q",
    "User: arn:aws:iam::999988887777:user/mallory is not authorized to perform: apprunner:DeleteService"
    " on resource: arn:aws:apprunner:us-east-1:999988887777:service/x/y with an explicit deny",
    "\x1b]0;title\x07\x1b[2J",
    "\u202egnp.exe",
    "$(touch${IFS}INJECTED)",
    "AKIAIOSFODNN7EXAMPLE",
    "ci_AKIAIOSFODNN7EXAMPLE",
    '=HYPERLINK("http://x.example","y")',
    " @SUM(1)",
    "\uff1dcmd",
    "-2+3",
    "low",
    "unknown",
)


@dataclass
class Mutation:
    """Set (or, ``delete``, remove) the value at a field path; ``value`` may be a raw JSON token."""

    path: tuple[str, ...]
    value: Any = None
    delete: bool = False


@dataclass
class BadPlan:
    base: int  # index of a bad base record (or, ``shared``, of a good one whose principal it reuses)
    shared: bool
    mutations: list[Mutation]
    whole: Any = None  # replaces the record itself (a number, a string, null ...) when set
    replace_whole: bool = False


@dataclass
class FilePlan:
    layout: str  # trail | array | jsonl | lookup | envelopes | pretty
    gzipped: bool
    truncated: bool


@dataclass
class CasePlan:
    good: list[int]  # indexes into the good pool
    bad: list[BadPlan]
    placements: list[int]  # where each bad record goes among the good ones (index into the good list)
    files: list[FilePlan]
    file_of_bad: list[int]  # which file each bad record goes to
    service: str  # "apprunner" or "all"
    day: bool  # --day 2026-11-28 instead of no window
    daily: bool  # with day: the daily run (a ledger, the day in UTC) instead of --day
    stream: bool  # files streamed (the large-file path) instead of read whole
    processes: bool  # files loaded by worker processes (scanpool) instead of threads
    separate_sources: bool  # each file its own --source instead of the folder
    trusted: bool  # the bad records' account trusted and in the organization (other advice rules)
    redact: bool  # --redact
    explain_wrapped: str  # how explain is given a record: bare, trail, lookup, envelope or gzip


@dataclass
class Item:
    """One element placed in a file: a record (or any JSON value), good or bad."""

    value: Any
    good: bool
    index: int  # its number in the case, for messages


@dataclass
class CaseFile:
    name: str
    plan: FilePlan
    items: list[Item]
    data: bytes = b""
    complete: int = 0  # items whole before a truncated file's cut


@dataclass
class Case:
    plan: CasePlan
    files: list[CaseFile]
    good_records: list[dict[str, Any]] = field(default_factory=list)
    bad_items: list[Item] = field(default_factory=list)

    @property
    def inputs(self) -> int:
        return len(self.good_records) + len(self.bad_items)


# --- the pools -----------------------------------------------------------------------------------


def _identities() -> list[dict[str, Any]]:
    return [
        factories.iam_user(),
        factories.iam_user("dev-bob"),
        factories.assumed_role(),
        factories.assumed_role("Builder", "ci", path="/team/"),
        factories.identity_center_role(),
        factories.root(),
        factories.federated_user(),
        factories.aws_account(),
        factories.aws_service(),
        factories.saml_user(),
        factories.web_identity_user(),
        factories.identity_center_user(),
    ]


def _bad_identities() -> list[dict[str, Any]]:
    account = BAD_ACCOUNT
    return [
        factories.iam_user("mallory", account=account),
        factories.assumed_role("Intruder", "s", account=account),
        factories.federated_user("eve", account=account),
        factories.root(account),
    ]


EVENTS = (*factories.APPRUNNER_READ_EVENTS, "CreateService", "DeleteService", "UpdateService", "StartDeployment")


def _factory_records(identities: list[dict[str, Any]], recipient: str) -> list[dict[str, Any]]:
    records = []
    for i, identity in enumerate(identities):
        for j, event in enumerate(EVENTS[i % 3 :: 3]):
            minute = (i * 7 + j * 3) % 60
            records.append(
                factories.record(
                    event,
                    identity=copy.deepcopy(identity),
                    recipient=recipient,
                    event_time=f"{DAY}T{9 + j % 10:02d}:{minute:02d}:00Z",
                    event_id=None,
                )
            )
    return records


@cache
def _corpus_denials() -> tuple[dict[str, Any], ...]:
    """Denials of the real corpus and the edge records (service 'all' only: many services)."""
    found = []
    for folder in ("real", "edge"):
        for path in sorted((REAL / folder).glob("*.json*")):
            for item in parse_bytes(path.read_bytes(), path.name):
                if isinstance(item, dict) and _cis_denial(item.get("errorCode")):
                    found.append(item)
    return tuple(found)


def _cis_denial(code: Any) -> bool:
    return isinstance(code, str) and (code.startswith("AccessDenied") or code.endswith("UnauthorizedOperation"))


@cache
def good_pool(service: str) -> tuple[dict[str, Any], ...]:
    """Denials, and calls that succeeded (no denial: read, counted, never reported); beyond App Runner, the
    real corpus's denials of 36 services too."""
    records = _factory_records(_identities(), factories.ACCOUNT)
    records += [{**r, "errorCode": None, "errorMessage": None} for r in records[::5]]
    if service != "apprunner":
        records += [r for r in _corpus_denials() if isinstance(r.get("userIdentity"), dict)]
    return tuple(records)


@cache
def bad_pool() -> tuple[dict[str, Any], ...]:
    return tuple(_factory_records(_bad_identities(), BAD_ACCOUNT))


# --- strategies ----------------------------------------------------------------------------------

_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("\x00\x1b\x07\x85\u202e\u2066\n\r\t:/*"),
    max_size=40,
)
_BIG_TEXT = st.builds(
    lambda piece, length: (piece * length)[:length],
    st.sampled_from([" ", "A", "é", "\u202e", "\x1b[31m", ":", "arn:", "on resource: ", "because "]),
    st.integers(200, 4000) | st.integers(0, 19).map(lambda n: 200_000 if n == 0 else 65_536),
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
    | st.sampled_from(INTERESTING)
    | _BIG_TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_TEXT, children, max_size=3),
    max_leaves=6,
)
# What stands where a record should: a scalar, or a trail container whose Records is no list of records.
NOT_RECORDS = (
    st.none()
    | st.booleans()
    | st.integers()
    | _TEXT
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.builds(lambda value: {"Records": value}, SCALARS | st.dictionaries(_TEXT, SCALARS, max_size=3))
)
RAW_VALUES = st.sampled_from(BREAKING_TOKENS + PLAIN_TOKENS).map(lambda token: RAW_MARK + token)


_PIECE = st.sampled_from(INTERESTING) | _TEXT
_ACTION = (
    st.sampled_from(
        ["apprunner:CreateService", "iam:PassRole", "sts:AssumeRole", "s3:GetObject", "SNS:Publish", "ec2:RunInstances"]
    )
    | _PIECE
)
_TAIL = st.sampled_from(
    [
        "because no identity-based policy allows the {a} action",
        "with an explicit deny in a service control policy: arn:aws:organizations::999988887777:policy/o-x/p-1",
        "because no VPC endpoint policy allows the {a} action",
        "with an explicit deny in a VPC endpoint policy transitively through a service control policy",
        "because no permissions boundary allows the {a} action",
        "with an explicit deny in a sessions policy",
        "because no role trust policy allows the {a} action",
        "with an explicit deny in a resource control policy",
        "with an explicit deny",
        "",
    ]
)
# An AccessDenied message in one of AWS's forms, its parts drawn from hostile and odd values.
MESSAGES = st.builds(
    lambda who, action, resource, tail, ec2: (
        ("You are not authorized to perform this operation. " if ec2 else "")
        + f"User: {who} is not authorized to perform: {action}"
        + (f" on resource: {resource}" if resource is not None else "")
        + (" " + tail.format(a=action) if tail else "")
        + (". Encoded authorization failure message: Ab-9_x" if ec2 else "")
    ),
    _PIECE,
    _ACTION,
    st.none() | _PIECE,
    _TAIL,
    st.booleans(),
)
# Fields that mean something together (an event and its service, an identity's type and its parts).
COMBOS = st.sampled_from(
    [
        {"eventSource": "iam.amazonaws.com", "eventName": "PassRole"},
        {"eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithWebIdentity"},
        {"eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithSAML"},
        {"eventSource": "monitoring.amazonaws.com", "eventName": "DeleteAlarms"},
        {"errorCode": "Client.UnauthorizedOperation", "eventSource": "ec2.amazonaws.com"},
        {"vpcEndpointId": "vpce-0123456789abcdef0", "vpcEndpointAccountId": "999988887777"},
        {"vpcEndpointId": "vpce-0123456789abcdef0", "vpcEndpointAccountId": "AWS Internal"},
        {"recipientAccountId": "444455556666"},
        {"awsRegion": "cn-north-1"},
        {"awsRegion": "us-gov-west-1"},
    ]
)


@st.composite
def mutations(draw: st.DrawFn, raw_allowed: bool) -> Mutation:
    path = draw(st.sampled_from(FIELD_PATHS))
    chance = draw(st.integers(0, 9))
    if chance == 0:
        return Mutation(path, delete=True)
    if chance == 1:
        return Mutation(("errorMessage",), draw(MESSAGES))
    if chance == 2:
        return Mutation((), draw(COMBOS))
    values = JSON_VALUES | RAW_VALUES if raw_allowed else JSON_VALUES
    return Mutation(path, draw(values))


@st.composite
def bad_plans(draw: st.DrawFn, pool_sizes: tuple[int, int], raw_allowed: bool) -> BadPlan:
    shared = draw(st.booleans())
    base = draw(st.integers(0, (pool_sizes[0] if shared else pool_sizes[1]) - 1))
    if draw(st.integers(0, 14)) == 0:
        whole = draw(NOT_RECORDS)
        return BadPlan(base, shared, [], whole=whole, replace_whole=True)
    return BadPlan(base, shared, draw(st.lists(mutations(raw_allowed), min_size=1, max_size=5)))


LAYOUTS = ("trail", "trail", "array", "jsonl", "jsonl", "lookup", "envelopes", "pretty")
RAW_LAYOUTS = frozenset({"trail", "array", "jsonl"})


@st.composite
def file_plans(draw: st.DrawFn) -> FilePlan:
    layout = draw(st.sampled_from(LAYOUTS))
    truncated = layout in ("trail", "jsonl") and draw(st.integers(0, 19)) == 0
    return FilePlan(layout, draw(st.booleans()), truncated)


@st.composite
def case_plans(draw: st.DrawFn, max_good: int = 40, max_bad: int = 15) -> CasePlan:
    service = draw(st.sampled_from(["apprunner", "apprunner", "all", "iam", "cloudwatch", "ec2"]))
    sizes = (len(good_pool(service)), len(bad_pool()))
    good = draw(st.lists(st.integers(0, sizes[0] - 1), min_size=min(5, max_good), max_size=max_good, unique=True))
    files = draw(st.lists(file_plans(), min_size=1, max_size=4))
    raw_allowed = all(f.layout in RAW_LAYOUTS for f in files)
    bad = draw(st.lists(bad_plans(sizes, raw_allowed), min_size=1, max_size=max_bad))
    return CasePlan(
        good=good,
        bad=bad,
        placements=[draw(st.integers(0, len(good))) for _ in bad],
        files=files,
        file_of_bad=[draw(st.integers(0, len(files) - 1)) for _ in bad],
        service=service,
        day=draw(st.integers(0, 3)) == 0,
        daily=draw(st.booleans()),
        stream=draw(st.integers(0, 4)) == 0,
        processes=draw(st.integers(0, 19)) == 0,
        separate_sources=draw(st.integers(0, 3)) == 0,
        trusted=draw(st.integers(0, 3)) == 0,
        redact=draw(st.integers(0, 4)) == 0,
        explain_wrapped=draw(st.sampled_from(["bare", "trail", "lookup", "envelope", "gzip"])),
    )


def cases(max_good: int = 40, max_bad: int = 15) -> st.SearchStrategy[Case]:
    return case_plans(max_good, max_bad).map(build_case)


# --- building a case -----------------------------------------------------------------------------


def build_case(plan: CasePlan) -> Case:
    pool = good_pool(plan.service)
    good = [Item(_with_event_id(pool[i], f"good-{n:04d}"), True, n) for n, i in enumerate(plan.good)]
    bad = [Item(_bad_value(p, pool, f"bad-{n:04d}"), False, n) for n, p in enumerate(plan.bad)]
    files = [CaseFile(_file_name(n, f), f, good[n :: len(plan.files)]) for n, f in enumerate(plan.files)]
    for n, item in enumerate(bad):  # before, between or after the good records of its file
        items = files[plan.file_of_bad[n]].items
        items.insert(plan.placements[n] % (len(items) + 1), item)
    for case_file in files:
        case_file.data = encode_file(case_file)
    return Case(plan, files, [item.value for item in good], bad)


def _with_event_id(record: dict[str, Any], event_id: str) -> dict[str, Any]:
    result = copy.deepcopy(record)
    result["eventID"] = event_id
    return result


def _bad_value(plan: BadPlan, good: tuple[dict[str, Any], ...], event_id: str) -> Any:
    if plan.replace_whole:
        return plan.whole
    base = good[plan.base] if plan.shared else bad_pool()[plan.base]
    record = _with_event_id(base, event_id)
    for mutation in plan.mutations:
        _apply(record, mutation)
    return record


def _apply(record: dict[str, Any], mutation: Mutation) -> None:
    if not mutation.path:  # a combination of fields
        record.update(copy.deepcopy(mutation.value))
        return
    target: Any = record
    for key in mutation.path[:-1]:
        if not isinstance(target, dict):
            return
        target = target.setdefault(key, {})
    if not isinstance(target, dict):
        return
    if mutation.delete:
        target.pop(mutation.path[-1], None)
    else:
        target[mutation.path[-1]] = copy.deepcopy(mutation.value)


def _file_name(number: int, plan: FilePlan) -> str:
    suffix = ".jsonl" if plan.layout in ("jsonl", "envelopes") else ".json"
    return f"{number:03d}{suffix}{'.gz' if plan.gzipped else ''}"


# --- writing files -------------------------------------------------------------------------------


def dumps(value: Any, indent: int | None = None) -> bytes:
    """JSON text of a value whose raw-token strings are written as the tokens themselves."""
    raws: list[str] = []
    marked = _mark_raws(value, raws)
    text = json.dumps(marked, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
    for number, token in enumerate(raws):
        text = text.replace(json.dumps(f"{RAW_MARK}{number}"), token, 1)
    return text.encode("utf-8", "surrogateescape")  # the invalid UTF-8 token is written as surrogate escapes


def _mark_raws(value: Any, raws: list[str]) -> Any:
    if isinstance(value, str) and value.startswith(RAW_MARK):
        raws.append(value[len(RAW_MARK) :])
        return f"{RAW_MARK}{len(raws) - 1}"
    if isinstance(value, dict):
        return {key: _mark_raws(item, raws) for key, item in value.items()}
    if isinstance(value, list):
        return [_mark_raws(item, raws) for item in value]
    return value


def raw_tokens(value: Any) -> list[str]:
    """The raw tokens a value holds, at any depth."""
    if isinstance(value, str):
        return [value[len(RAW_MARK) :]] if value.startswith(RAW_MARK) else []
    if isinstance(value, dict):
        return [token for item in value.values() for token in raw_tokens(item)]
    if isinstance(value, list):
        return [token for item in value for token in raw_tokens(item)]
    return []


def breaks_document(value: Any) -> bool:
    """Whether a value holds a token orjson refuses (a strict parse of a line fails)."""
    return any(token in BREAKING_TOKENS for token in raw_tokens(value))


def too_deep(value: Any) -> bool:
    """Whether a value holds nesting no parser here reads."""
    return TOO_DEEP in raw_tokens(value)


def encode_file(case_file: CaseFile) -> bytes:
    values = [item.value for item in case_file.items]
    layout = case_file.plan.layout
    ends: list[int] = []
    if layout == "trail":
        data, ends = _trail(values)
    elif layout == "pretty":
        data = dumps({"Records": values}, indent=2)
    elif layout == "array":
        data = dumps(values)
    elif layout == "jsonl":
        data = b"".join(dumps(v) + b"\n" for v in values)
    elif layout == "lookup":
        data = dumps({"Events": [_lookup_entry(v) for v in values]})
    else:
        data = b"".join(dumps(_envelope(v)) + b"\n" for v in values)
    if case_file.plan.truncated:
        data = _truncate(data, layout)
        case_file.complete = sum(1 for end in ends if end <= len(data)) if layout == "trail" else len(values) - 1
    return gzip.compress(data, mtime=0) if case_file.plan.gzipped else data


def _trail(values: list[Any]) -> tuple[bytes, list[int]]:
    """A compact trail file, and where each record ends in it."""
    data, ends = bytearray(b'{"Records":['), []
    for number, value in enumerate(values):
        data += (b"," if number else b"") + dumps(value)
        ends.append(len(data))
    return bytes(data + b"]}"), ends


def _lookup_entry(value: Any) -> dict[str, Any]:
    return {"EventId": "x", "EventName": "y", "CloudTrailEvent": json.dumps(value)}


def _envelope(value: Any) -> dict[str, Any]:
    return {"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.apprunner", "detail": value}


def _truncate(data: bytes, layout: str) -> bytes:
    """Cut inside the last record: a trail file loses its end; JSON Lines its last line's end."""
    if layout == "jsonl":
        body = data.rstrip(b"\n")
        start = body.rfind(b"\n") + 1
        return body[: start + max(1, (len(body) - start) // 2)]
    return data[: max(1, len(data) - max(2, len(data) // 10))]
