"""The real CloudTrail records AWS wrote (tests/data/real, see its SOURCES.md): every record read,
every denial found, and each action and reason the messages state reported."""

import collections
import json
import re

import pytest

from analysis.pipeline import Options, analyse
from analysis.report import validate
from analysis.sources.files import FileSource
from tests.conftest import REAL

DENIAL_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"}


def _raw_records():
    """The corpus read the simplest possible way, independently of analysis.records."""
    for path in sorted(REAL.glob("*.json*")):
        text = path.read_text()
        items = [json.loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" else None
        if items is None:
            document = json.loads(text)
            items = document["Records"] if isinstance(document, dict) else document
        for item in items:
            yield item["detail"] if "detail-type" in item else item


@pytest.fixture(scope="module")
def result():
    return analyse([FileSource(REAL)], options=Options(service="all"))


def test_every_record_read_none_malformed_every_denial_found(result):
    totals = result.report.document()["totals"]
    assert totals["records_read"] == 1006
    assert totals["malformed_records"] == 0
    assert totals["denials"] == 320
    validate(result.report)


def test_each_stated_action_is_reported_for_its_principal(result):
    actions_by_principal = collections.defaultdict(set)
    for finding in result.report.document()["findings"]:
        for action in finding["actions"]:
            actions_by_principal[finding["principal"]["key"]].add(action["action"].lower())
    reported = set().union(*actions_by_principal.values())
    stated = set()
    for record in _raw_records():
        match = re.search(r"is not authorized to perform: (\S+?)(?: |$)", record.get("errorMessage") or "")
        if record.get("errorCode") in DENIAL_CODES and match:
            stated.add(match.group(1).lower())
    assert stated, "the corpus states actions"
    assert stated <= reported, f"actions stated but not reported: {sorted(stated - reported)}"


def test_reason_counts_match_the_message_forms_of_messages_md(result):
    counts = collections.Counter()
    for finding in result.report.document()["findings"]:
        for action in finding["actions"]:
            for reason in action["reasons"]:
                counts[reason] += action["count"] if len(action["reasons"]) == 1 else 0
    # docs/messages.md: no_identity_allow 129 + EC2 style 89; resource-based 3; bare explicit deny 1; the rest
    # (older form 19, "on the specified resource" 2, encoded only 44, Access Denied 1, no message 25,
    # cross-account pass role 4, IAM access not activated 2, unknown error 1) name no cause.
    assert counts == {"no_identity_allow": 218, "unknown": 98, "resource_policy": 3, "explicit_deny": 1}


def test_encoded_only_messages_take_the_action_from_the_event(result):
    frame = result.frame
    encoded_only = frame[
        frame["error_message"].fillna("").str.startswith("You are not authorized to perform this operation. Encoded")
    ]
    assert len(encoded_only) == 44
    assert set(encoded_only["action"]) <= {
        "ec2:GetPasswordData",
        "ec2:DescribeInstanceAttribute",
        "ec2:GetLaunchTemplateData",
        "ec2:RunInstances",
    }
    assert not encoded_only["action_from_message"].any()


def test_scp_named_role_with_short_explicit_deny_form(result):
    [finding] = [
        f
        for f in result.report.document()["findings"]
        if f["principal"]["arn"] == "arn:aws:iam::123456789012:role/RscScpDisallow"
    ]
    assert finding["actions"][0]["action"] == "lambda:ListFunctions"
    assert finding["actions"][0]["reasons"] == ["explicit_deny"]


def test_identity_center_roles_are_recognised(result):
    sets = {
        f["principal"]["permission_set"]
        for f in result.report.document()["findings"]
        if f["principal"]["permission_set"]
    }
    assert sets == {"AdministratorAccess", "ReadOnlyAccess"}


def test_only_app_runner_by_default():
    report = analyse([FileSource(REAL)]).report.document()
    assert report["totals"]["records_read"] == 1006
    assert report["totals"]["denials"] == 0, "the corpus holds no App Runner denial"
