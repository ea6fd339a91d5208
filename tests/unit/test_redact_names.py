"""--redact with names a caller chose (issue 15): a role or session may be named like any word of the contract.

sts:AssumeRole's RoleSessionName and iam:CreateRole's RoleName are the caller's choice ([\\w+=,.@-]+, 2-64 and 1-64
characters, IAM API reference). A name equal to a fixed word of the report (a severity, a reason, a remedy kind, a
timeline unit, a JSON key, a word of an ARN) must still be replaced where it names the principal, and nowhere else:
the redacted report validates, its fixed words are those of the report it was made from, and the name is gone from
every field that names the principal.

The words are generated from the published schema (analysis/schema/report-v1.schema.json): every ``enum`` and
``const`` value and every property name; the others are pieces of ARNs, times, actions and commands a report holds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from analysis.cli import main
from analysis.contract import BUILDING, Report
from analysis.model import Options
from analysis.redact import redact_report
from tests import factories as f
from tests.analysed import report_of
from tests.conftest import DATA

SCHEMA = Path(__file__).parents[2] / "analysis" / "schema" / "report-v1.schema.json"
EDGE = DATA / "edge"
IAM_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")  # RoleName; a RoleSessionName is the same with at least 2 characters
KEY = "a test's redaction key, 32 characters or more"


def _schema_words(node: Any, words: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("enum", "const"):
                words.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
            elif key == "properties" and isinstance(value, dict):
                words.update(value)
            _schema_words(value, words)
    elif isinstance(node, list):
        for value in node:
            _schema_words(value, words)
    return words


SCHEMA_WORDS = _schema_words(json.loads(SCHEMA.read_text()), set())
# Pieces of what a report writes around a principal's name: ARN parts, a time's tail, an action and its prefix, a
# region, a policy statement's words, a command's words, a resource origin, a channel.
REPORT_WORDS = {
    "arn", "aws", "iam", "sts", "role", "user", "assumed-role", "apprunner", "amazonaws", "com", "us-east-1",
    "00Z", "2026", "10", "DescribeService", "CreateService", "ListServices", "Allow", "Deny", "Action", "Resource",
    "Effect", "Statement", "put-role-policy", "--role-name", "message", "email", "Deploy", "111122223333",
    "service-role", "aws-reserved",
}  # fmt: skip
WORDS = sorted(w for w in SCHEMA_WORDS | REPORT_WORDS if IAM_NAME.match(w))
SESSION_WORDS = [w for w in WORDS if len(w) >= 2]


def test_the_words_cover_every_fixed_vocabulary_of_the_contract():
    expected = {"low", "normal", "critical", "grant", "investigate", "hour", "day", "ok", "failed", "unknown", "scp"}
    assert expected | {"AssumedRole", "2012-10-17", "findings", "principal", "id", "sessions"} <= set(WORDS)


def _rich_records() -> list[dict[str, Any]]:
    """Every hand-written edge case: explicit denies, SCPs, cross-account roles, hazards, Identity Center."""
    records: list[dict[str, Any]] = []
    for path in sorted(EDGE.glob("*.json")):
        records += json.loads(path.read_text())["Records"]
    return records


def _redacted(records: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    report = report_of(records, Options(service="all"))
    redacted = redact_report(report)
    Report.model_validate(redacted, context=BUILDING)  # raises when a fixed word was replaced
    return report, redacted


FIXED_FINDING_FIELDS = ("confidence", "severity", "first_seen", "last_seen", "regions", "cross_account")
FIXED_ACTION_FIELDS = ("action", "reasons", "event_names", "resource_origin", "first_seen", "last_seen", "count")


def _fixed_words(report: dict[str, Any]) -> list[Any]:
    """What a report says in its fixed vocabulary: redaction never changes any of it."""
    words: list[Any] = [report["schema_version"], report["generated_at"], report["window"], report["totals"]]
    words += [report.get("timeline"), [s["status"] for s in report["sources"]]]
    for finding in report["findings"]:
        words += [finding["principal"]["type"], [finding[k] for k in FIXED_FINDING_FIELDS], finding["hazards"]]
        words += [[a[k] for a in finding["actions"]] for k in FIXED_ACTION_FIELDS]
        remedy = finding["remedy"] or {}
        words += [remedy.get("kind"), remedy.get("docs")]
        for policy in [remedy.get(k) for k in ("policy", "trust_policy", "caller_policy")] + remedy["more_policies"]:
            statements = (policy or {}).get("Statement", [])
            words += [(policy or {}).get("Version")]
            words += [[{k: s.get(k) for k in ("Sid", "Effect", "Action")} for s in statements]]
    return words


ARN = re.compile(r"arn:[\w-]+:[\w-]*:[\w-]*:[^:\s]*:[^\s'\"]+")
OPTION_VALUE = re.compile(r"(?:--[\w-]*name[ =]|(?<![\w-])name=)([\w+=,.@-]+)")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# Path parts AWS writes in ARNs of roles it made (IAM user guide, "IAM identifiers": service roles' /service-role/,
# Identity Center's /aws-reserved/sso.amazonaws.com/<Region>/): kept there, never a caller's name.
AWS_PATH_WORDS = {"service-role", "aws-reserved", "sso.amazonaws.com"}


def _arn_names(arn: str) -> set[str]:
    """The names an ARN gives: its resource's path and name (``role/<path>/<name>``, ``assumed-role/<role>/<session>``),
    not its type, AWS's path words or a Region."""
    parts = re.split("[/:]", arn.split(":", 5)[5])[1:]
    return {p for p in parts if p not in AWS_PATH_WORDS and not REGION.match(p)}


def _naming_strings(report: dict[str, Any]) -> list[str]:
    """The strings that name a principal: its ARN, key and sessions, the commands and the resources refused."""
    strings: list[str] = []
    for finding in report["findings"]:
        principal = finding["principal"]
        strings += [principal["arn"] or "", principal["key"] or "", *principal["sessions"]]
        strings += [r for a in finding["actions"] for r in a["resources"]]
        strings += (finding["remedy"] or {}).get("commands", [])
    return strings


def _names_given(report: dict[str, Any]) -> set[str]:
    """Every name the report gives someone: in ARNs, as a session, as the identifier of a key without an ARN, and as
    the value of a command's name option (``--role-name X``, ``name=X``). (Where else a name may be, in a sentence,
    test_a_name_like_a_word_is_redacted_like_any_other_name checks.)"""
    names: set[str] = set()
    for finding in report["findings"]:
        principal = finding["principal"]
        names.update(principal["sessions"])
        key = principal["key"] or ""
        if not key.startswith(("arn:", "service:")):
            names.add(key.split(":", 3)[-1])
    for text in _naming_strings(report):
        for arn in ARN.findall(text):
            names |= _arn_names(arn)
        names.update(OPTION_VALUE.findall(ARN.sub(" ", text)))
    return names


def _name_survives(name: str, redacted: dict[str, Any]) -> bool:
    return name in _names_given(redacted)


def test_sessions_named_like_every_word_give_a_valid_report_that_names_none_of_them():
    records = _rich_records()
    records += [f.record(identity=f.assumed_role("Deploy", word), event_id=f"s-{word}") for word in SESSION_WORDS]
    report, redacted = _redacted(records)
    assert _fixed_words(redacted) == _fixed_words(report)
    ours = [x for x in redacted["findings"] if x["principal"]["type"] == "AssumedRole"]
    sessions = {s for x in ours for s in x["principal"]["sessions"]}
    assert sessions.isdisjoint(SESSION_WORDS)
    assert [w for w in SESSION_WORDS if len(w) >= 3 and _name_survives(w, redacted)] == []


def test_roles_named_like_every_word_give_a_valid_report_that_names_none_of_them():
    records = _rich_records()
    records += [f.record(identity=f.assumed_role(word, "ci"), event_id=f"r-{word}") for word in WORDS]
    report, redacted = _redacted(records)
    assert _fixed_words(redacted) == _fixed_words(report)
    arns = [x["principal"]["arn"] for x in redacted["findings"] if x["principal"]["type"] == "AssumedRole"]
    roles = {arn.rsplit("/", 1)[1] for arn in arns}
    assert roles.isdisjoint(WORDS)
    assert [w for w in WORDS if len(w) >= 3 and _name_survives(w, redacted)] == []


@pytest.mark.parametrize("word", ["low", "unknown", "grant", "hour", "medium", "findings", "arn", "00Z"])
@pytest.mark.parametrize("who", ["session", "role"])
def test_one_name_like_a_word_gives_a_valid_report_that_keeps_the_word(word, who):
    role, session = (word, "ci") if who == "role" else ("Deploy", word)
    report, redacted = _redacted([f.record(identity=f.assumed_role(role, session), error_message="Access Denied")])
    assert _fixed_words(redacted) == _fixed_words(report)
    assert not _name_survives(word, redacted)


def test_report_redact_on_the_command_line_with_a_session_named_low(tmp_path, capsys):
    """The reviewer's reproducer: two ordinary denials of one role, its session named ``low``."""
    records = [f.record("CreateService", identity=f.assumed_role("Deploy", "low"), event_id=f"id-{i}") for i in (1, 2)]
    (tmp_path / "trail.json").write_text(json.dumps(f.trail_file(records)))
    status = main(["report", "--source", str(tmp_path / "trail.json"), "--redact", "--format", "json"])
    out = capsys.readouterr().out
    assert status == 0
    [finding] = json.loads(out)["findings"]
    assert finding["confidence"] == "low"
    assert "Deploy" not in out and "/low" not in out and finding["principal"]["sessions"] != ["low"]


def test_a_session_named_like_a_pseudonym_is_replaced_too():
    records = [f.record(identity=f.assumed_role("Deploy", s), event_id=s) for s in ("jane", "session-1", "name-1")]
    _, redacted = _redacted(records)
    [finding] = redacted["findings"]
    sessions = finding["principal"]["sessions"]
    assert len(set(sessions)) == 3
    assert not _name_survives("jane", redacted)


# The same principals named like the report's words, and named otherwise: redacted, the two reports must be the same
# report but for the pseudonyms themselves (keyed digests of different names), which are numbered by where they first
# appear. A word the report writes (``aws`` in ``aws iam …``, ``low``, ``put-role-policy``) stays wherever it is not
# the name, and the name goes wherever it is one, in every sentence and command. Names keep their order with the
# prefix, so the findings (sorted by principal) come out in the same order.
OTHERWISE = "Zq"
NAMED = {
    "role": lambda name, i: [
        f.record(identity=f.assumed_role(name, "ci"), event_id=f"r-{i}"),
        f.record("CreateService", identity=f.assumed_role(name, "ci"), event_id=f"r-{i}-create"),
    ],
    "session": lambda name, i: [f.record(identity=f.assumed_role("Deploy", name), event_id=f"s-{i}")],
    "user": lambda name, i: [
        f.record(identity=f.iam_user(name), event_id=f"u-{i}"),
        f.record("CreateService", identity=f.iam_user(name), event_id=f"u-{i}-create"),
    ],
    "permission set": lambda name, i: [
        f.record("CreateService", identity=f.identity_center_role(name, "jane@example.com"), event_id=f"p-{i}")
    ],
}
PERMISSION_SET_NAME = re.compile(r"^[\w+=,.@-]{1,32}$")
ACCOUNT = re.compile(r"^\d{12}$").match


PSEUDONYM = re.compile(r"(?<![A-Za-z0-9-])(?:name|session|permission-set|ip)-[0-9a-f]{8}(?![A-Za-z0-9-])")


def _without_time(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "generated_at"}


def _numbered(report: dict[str, Any]) -> dict[str, Any]:
    """The report with each finding id (and the parts of it quoted in role and policy names) and each pseudonym
    replaced by its number of first appearance."""
    text = json.dumps(report)
    for number, digits in enumerate(dict.fromkeys(re.findall(r'"id": "f-([0-9a-f]{16})"', text))):
        text = re.sub(digits[:8] + "[0-9a-f]{0,8}", f"ID{number}", text)
    order: dict[str, str] = {}
    text = PSEUDONYM.sub(lambda m: order.setdefault(m.group(0), f"PSEUDONYM{len(order)}"), text)
    return json.loads(text)


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return [d for k in a for d in _differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.mark.parametrize("who", NAMED)
def test_a_name_like_a_word_is_redacted_like_any_other_name(who):
    limit = PERMISSION_SET_NAME if who == "permission set" else IAM_NAME
    # (a name of 12 digits is replaced as an account ID is: hidden too, but not like other names)
    words = [w for w in (SESSION_WORDS if who == "session" else WORDS) if limit.match(OTHERWISE + w) and not ACCOUNT(w)]

    def redacted(names: list[str]) -> dict[str, Any]:
        records = [r for i, name in enumerate(names) for r in NAMED[who](name, i)]
        return _numbered(_without_time(redact_report(report_of(records, Options(service="all")), KEY)))

    assert _differences(redacted(words), redacted([OTHERWISE + w for w in words]))[:8] == []


def test_the_check_above_sees_a_word_replaced_where_it_is_not_the_name():
    """A redaction that replaced every occurrence of a role's name, as 'aws' in 'aws iam', differs from one of a role
    named otherwise: the comparison above catches it."""
    records = [
        f.record("CreateService", identity=f.assumed_role(name, "ci"), event_id="e-1")
        for name in ("aws", OTHERWISE + "aws")
    ]
    word, otherwise = (redact_report(report_of([r], Options()), KEY) for r in records)
    pseudonym = word["findings"][0]["principal"]["arn"].rsplit("/", 1)[1]
    assert PSEUDONYM.fullmatch(pseudonym)
    assert _differences(_numbered(_without_time(word)), _numbered(_without_time(otherwise))) == []
    remedy = word["findings"][0]["remedy"]
    # what redaction by pattern over free text would write
    remedy["commands"] = [re.sub(r"(?<![\w-])aws(?![\w-])", pseudonym, c) for c in remedy["commands"]]
    assert _differences(_numbered(_without_time(word)), _numbered(_without_time(otherwise)))
