"""--redact keeps the report true (issue 11): every redacted report of the sample day, the real corpus
(tests/data/real/) and the edge records (tests/data/edge/) validates against the published schema, with format
checking, says the same (totals, findings, actions, reasons, kinds, severities) and holds none of the original account
IDs, names or addresses.

The originals are read from the raw records here, not from the auditor: every 12-digit number of a record (but its
event and request IDs), every IP address a call came from, every name a record gives an identity (user names, role
and session names of assumed roles and of ``principalId``, Identity Center's permission sets) and the name ending
each ARN's resource (``role/<path>/<name>``, ``bucket/<key>``, ``function:<name>``).
"""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from analysis.contract import BUILDING, Report
from analysis.model import Options
from analysis.redact import redact_report
from analysis.sources.files import FileSource
from tests.analysed import analysed
from tests.conftest import DATA, REAL

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "analysis" / "schema" / "report-v1.schema.json").read_text())
SAMPLE = ROOT / "analysis" / "data" / "sample"
EDGE = DATA / "edge"
REAL_FILES = sorted(p for p in REAL.iterdir() if p.suffix in {".json", ".jsonl"})

ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
# An ARN's resource; a name a message quotes inside it (managed-instance/"i-0abc") is part of it.
ARN = re.compile(r"arn:aws[\w-]*:([\w-]*):[\w-]*:([\w-]*):((?:[^\s\"',]|(?<=[/:])\"[^\s\"',]+\")+)")
UUID = re.compile(r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
IDENTITY_CENTER_ROLE = re.compile(r"AWSReservedSSO_(.+)_[0-9a-f]{16}$")
NOT_ACCOUNTS = {"eventID", "requestID", "sharedEventID"}  # UUIDs, whose last group may be 12 digits
IDENTITY_NAMES = {"userName", "roleName", "roleSessionName"}
# Names that are AWS's, not the account owner's: Identity Center's predefined permission sets (IAM Identity Center user
# guide, "Predefined permission sets for AWS managed policies"), service-linked roles (IAM user guide), and the hosts of
# public identity providers in oidc-provider ARNs (GitHub's, Google's).
AWS_PERMISSION_SETS = {
    "AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "ViewOnlyAccess", "SystemAdministrator",
    "DatabaseAdministrator", "NetworkAdministrator", "SecurityAudit", "SupportUser", "Billing", "DataScientist",
}  # fmt: skip
SERVICE_LINKED_ROLE = re.compile(r"^AWSServiceRoleFor[A-Za-z0-9]+$")
# The fixed words of the ARN formats the corpus uses (Service Authorization Reference, each service's "Resource types"
# table): a log stream's ARN is log-group:<group>:log-stream:<stream>, a WAF web ACL's <scope>/webacl/<name>/<id>,
# an Application Load Balancer listener's listener/app/<name>/<id>/<id>; and IAM's own path words (IAM user guide,
# "IAM identifiers": Identity Center's aws-reserved/sso.amazonaws.com/<Region>/, service roles' service-role/,
# service-linked roles' aws-service-role/<service>.amazonaws.com/).
ARN_WORDS = {
    "logs": {"log-stream"},
    "wafv2": {"webacl", "ipset", "rulegroup"},
    "elasticloadbalancing": {"app", "net"},
    "iam": {"aws-reserved", "sso.amazonaws.com", "service-role", "aws-service-role"},
}
REGION = re.compile(r"^[a-z]{2,}(-[a-z]+)+-\d+r?$")  # the corpus's Regions, real ones and TrailDiscover's made-up ones


def _aws_word(service: str, part: str) -> bool:
    return part in ARN_WORDS.get(service, set()) or part.endswith(".amazonaws.com") or bool(REGION.match(part))


# --- the originals, from the raw records -----------------------------------------------------------------------------


def _documents(path: Path) -> Iterator[Any]:
    if path.suffix == ".gz":
        yield json.loads(gzip.decompress(path.read_bytes()))
    elif path.suffix == ".jsonl":
        yield from (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    else:
        yield json.loads(path.read_text())


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(key, string) for every string of a record; a JSON string inside one (LookupEvents' CloudTrailEvent) too."""
    if isinstance(value, str):
        yield key, value
        if value.startswith("{"):
            with contextlib.suppress(ValueError):
                yield from _strings(json.loads(value), key)
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from _strings(item, k)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)


def _arn_name(service: str, account: str, resource: str) -> set[str]:
    """Every part of an ARN's resource path (``log-group:<group>:log-stream:<stream>``: the group and the stream), but
    its resource type and the words of AWS's ARN formats (``ARN_WORDS``)."""
    if account == "aws" or resource.startswith(("/", ":", "oidc-provider/")):  # AWS managed policies, ce's /Action
        return set()
    if "/" not in resource and ":" not in resource:
        return set() if resource in {"root", "*"} or service not in {"s3", "sns", "sqs"} else {resource}
    kind, _, rest = re.split(r"([/:])", resource, maxsplit=1)
    parts = [p.strip('"') for p in re.split(r"[/:]", rest) if p and "*" not in p]
    names = {p for p in parts if not _aws_word(service, p)}
    if kind == "assumed-role" and len(parts) == 2:
        names.add(parts[0])  # the role of a session
    if service == "s3" and not account:
        names.add(kind)  # the bucket
    for name in list(names):
        permission_set = IDENTITY_CENTER_ROLE.search(name)
        if permission_set:
            names.add(permission_set.group(1))
    return names


def originals(paths: list[Path]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"accounts": set(), "names": set(), "addresses": set()}
    for path in paths:
        for document in _documents(path):
            for key, text in _strings(document):
                if key not in NOT_ACCOUNTS and not UUID.match(text):
                    found["accounts"].update(ACCOUNT.findall(text))
                for service, account, resource in ARN.findall(text):
                    found["names"] |= _arn_name(service, account, resource)
                if key in IDENTITY_NAMES:
                    found["names"].add(text)
                if key == "principalId" and ":" in text:
                    found["names"].add(text.split(":", 1)[1])
                if key == "sourceIPAddress" and _is_address(text):
                    found["addresses"].add(text)
    aws_names = {n for n in found["names"] if n in AWS_PERMISSION_SETS or SERVICE_LINKED_ROLE.match(n)}
    found["names"] -= aws_names | {""}
    return found


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# --- where they may not be --------------------------------------------------------------------------------------------


def _values(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) for every string value of a report (its keys are the contract's)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _values(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _values(item, f"{path}[{index}]")


def _token(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w+=,.@-]){re.escape(word)}(?![\w+=,@-]|\.[\w@-])")


def _distinctive(name: str) -> bool:
    """A name no sentence of the report would hold as a word: at least 3 characters with a digit, a capital after
    the first letter, or any of _ @ = + , . - in it. A name that is a plain word ('default', 'owner') is looked for
    where names are only."""
    return len(name) >= 3 and bool(re.search(r"[\d_@=+,.-]|.[A-Z]", name))


def _named(report: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, name) for each name the report gives: in ARNs, sessions, permission sets, keys, resources, the
    values of commands' name options."""
    for path, text in _values(report):
        for service, account, resource in ARN.findall(text):
            for name in _arn_name(service, account, resource):
                yield path, name
        for name in re.findall(r"(?:--[\w-]*name[ =]|(?<![\w-])name=)([\w+=,.@-]+)", text):
            yield path, name
        if re.search(r"\.(sessions\[\d+\]|permission_set|resources\[\d+\])$", path):
            yield path, text
        if path.endswith(".principal.key") and not text.startswith(("arn:", "service:")):
            yield path, text.split(":", 3)[-1]


def survivors(redacted: dict[str, Any], found: dict[str, set[str]]) -> list[str]:
    values = list(_values(redacted))
    left = []
    for account in found["accounts"] | found["addresses"]:
        left += [f"{path}: {account}" for path, text in values if _token(account).search(text)]
    for name in found["names"]:
        if _distinctive(name):
            left += [f"{path}: {name}" for path, text in values if _token(name).search(text)]
    named = set(_named(redacted))
    left += [f"{path}: {name}" for path, name in named if name in found["names"]]
    return sorted(set(left))


# --- the reports ------------------------------------------------------------------------------------------------------


def _report(name: str) -> tuple[dict[str, Any], list[Path]]:
    if name == "sample day":
        return analysed([FileSource(SAMPLE)]), sorted(SAMPLE.rglob("*.gz"))
    if name == "edge":
        return analysed([FileSource(EDGE)], options=Options(service="all")), sorted(EDGE.glob("*.json"))
    path = REAL / name
    return analysed([FileSource(path)], options=Options(service="all")), [path]


SOURCES = ["sample day", "edge", *(p.name for p in REAL_FILES)]


@pytest.fixture(scope="module", params=SOURCES)
def reports(request) -> tuple[dict[str, Any], dict[str, Any], list[Path]]:
    report, paths = _report(request.param)
    return report, redact_report(report), paths


def test_the_format_checker_knows_every_format_the_schema_uses():
    used = {node["format"] for _, node in _schema_nodes(SCHEMA) if isinstance(node.get("format"), str)}
    assert used <= set(Draft202012Validator.FORMAT_CHECKER.checkers), used


def _schema_nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, item in node.items():
            yield from _schema_nodes(item, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _schema_nodes(item, f"{path}/{index}")


def test_the_redacted_report_validates_against_the_schema_with_formats(reports):
    _, redacted, _ = reports
    validator = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert [f"{e.json_path}: {e.message}" for e in validator.iter_errors(redacted)][:5] == []
    Report.model_validate(redacted, context=BUILDING)
    assert redacted["redacted"] is True


def test_the_redacted_report_says_the_same(reports):
    report, redacted, _ = reports
    assert redacted["totals"] == report["totals"]
    assert redacted["window"] == report["window"] and redacted.get("timeline") == report.get("timeline")
    assert _what_it_says(redacted) == _what_it_says(report)


def _what_it_says(report: dict[str, Any]) -> list[Any]:
    said = []
    for finding in report["findings"]:
        remedy = finding["remedy"] or {}
        said.append(
            (
                finding["principal"]["type"],
                finding["severity"],
                finding["confidence"],
                finding["denials"],
                finding["cross_account"],
                finding["regions"],
                remedy.get("kind"),
                len(remedy.get("commands", [])),
                len(remedy.get("notes", [])),
                [(a["action"], a["count"], a["reasons"], a.get("event_ids")) for a in finding["actions"]],
                [(h["action"], h["category"]) for h in finding["hazards"]],
            )
        )
    return said


def test_the_redacted_report_holds_none_of_the_original_accounts_names_or_addresses(reports):
    _, redacted, paths = reports
    found = originals(paths)
    assert survivors(redacted, found)[:10] == []


def test_the_originals_are_found_in_the_report_before_redaction():
    """The check above can fail: the sample day's report names its accounts, roles, sessions and addresses."""
    report, paths = _report("sample day")
    found = originals(paths)
    left = survivors(report, found)
    for kind in ("accounts", "names", "addresses"):
        assert any(item.endswith(tuple(f": {value}" for value in found[kind])) for item in left), kind
