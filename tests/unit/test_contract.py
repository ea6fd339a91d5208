"""The report contract: the models, the committed JSON Schema generated from them, and CONTRACT.md's rules."""

from __future__ import annotations

import json

import jsonschema
import pytest
from pydantic import ValidationError

from analysis.contract import BUILDING, Finding, Remedy, Report, as_report, json_schema, schema_text
from analysis.model import Options
from analysis.render import render
from analysis.report import schema
from tests import factories as f
from tests import reports as r
from tests.analysed import findings_of

pytestmark = pytest.mark.unit

HAND_WRITTEN = {
    "every_kind": r.every_kind(),
    "empty_day": r.empty_day(),
    "daily_with_late_arrivals": r.daily_with_late_arrivals(),
}


def test_the_committed_schema_is_the_one_the_models_generate():
    # Regenerate with: python -m analysis.contract > analysis/schema/report-v1.schema.json
    assert schema() == json_schema()
    assert json.loads(schema_text()) == schema()


def test_the_schema_is_valid_draft_2020_12_and_keeps_the_contract_open_to_added_fields():
    jsonschema.Draft202012Validator.check_schema(schema())
    document = as_report(r.every_kind()).document()
    document["a_field_of_a_later_version"] = {"anything": 1}
    document["findings"][0]["another_new_field"] = True
    jsonschema.validate(document, schema())


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_the_hand_written_test_reports_keep_the_contract(name):
    document = HAND_WRITTEN[name]
    jsonschema.validate(document, schema())
    report = as_report(document)
    assert Report.model_validate(report.document(), context=BUILDING) == report  # no field outside the models


def test_the_json_of_a_model_reads_back_to_an_equal_model():
    report = as_report(r.daily_with_late_arrivals())
    assert Report.model_validate_json(report.dumps()) == report
    assert report.dumps().startswith('{\n  "schema_version": "1",\n  "generated_at": "2026-11-29T06:00:00Z"')


def test_sections_a_run_did_not_produce_are_left_out_of_the_json():
    document = as_report(r.every_kind()).document()
    assert not {"daily", "late_arrivals", "ledger", "delivery", "redacted"} & set(document)
    assert "late_denials" not in document["totals"]


def _remedy(**changes):
    return {"kind": "grant", "policy": None, "trust_policy": None, "caller_policy": None, "notes": [], **changes}


ALLOW_LIST = {"Effect": "Allow", "Action": "apprunner:ListServices", "Resource": "*"}
POLICY = {"Version": "2012-10-17", "Statement": [ALLOW_LIST]}


@pytest.mark.parametrize(
    ("remedy", "refusal"),
    [
        # CONTRACT.md rule 1: reconnaissance is never answered with a policy
        (_remedy(kind="investigate", policy=POLICY), "reconnaissance"),
        # only cross_account_role has a trust policy and a caller policy
        (_remedy(kind="grant", trust_policy=POLICY), "only a cross-account role"),
        (_remedy(kind="permission_set", caller_policy=POLICY), "only a cross-account role"),
        # least privilege: no NotAction / NotResource
        (_remedy(policy={**POLICY, "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}), "Not"),
        (_remedy(policy={**POLICY, "Statement": [{"Effect": "Permit", "Action": "a:b", "Resource": "*"}]}), "Effect"),
        (_remedy(policy={**POLICY, "Version": "2008-10-17"}), "2012-10-17"),
        (_remedy(policy={**POLICY, "Statement": []}), "at least 1"),
        (_remedy(kind="allow_everything"), "kind"),
    ],
)
def test_remedies_that_break_the_contract_are_refused(remedy, refusal):
    with pytest.raises(ValidationError, match=refusal):
        Remedy.model_validate(remedy)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**as_report(r.every_kind()).document(), "findings": [_finding(remedy)]}, schema())


def _finding(remedy):
    finding = as_report(r.every_kind()).document()["findings"][0]
    return {**finding, "remedy": remedy}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("principal", "type"), "Robot"),  # CONTRACT.md's principal types only
        (("principal", "account_id"), "12345"),  # 12 digits
        (("principal", "arn"), "role/Dev"),  # an ARN or null
        (("denials",), 0),  # a finding has at least one denial
        (("actions",), []),
        (("first_seen",), "2026-11-28 10:00:00"),  # ISO 8601 UTC, Z
    ],
)
def test_findings_that_break_the_contract_are_refused(path, value):
    finding = as_report(r.every_kind()).document()["findings"][0]
    target = finding
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError):
        Finding.model_validate(finding)


def test_a_misspelt_field_in_a_report_being_built_is_a_bug_not_an_extra():
    finding = as_report(r.every_kind()).document()["findings"][0]
    with pytest.raises(ValidationError, match="not a field of Finding: denails"):
        Finding.model_validate({**finding, "denails": 3}, context=BUILDING)
    with pytest.raises(ValidationError, match="not a field of Principal: acount_id"):
        Finding.model_validate({**finding, "principal": {**finding["principal"], "acount_id": None}}, context=BUILDING)


def test_a_report_read_back_keeps_the_fields_a_later_version_added():
    # CONTRACT.md: fields may be added. A report from a later version renders, and its JSON keeps them.
    document = as_report(r.every_kind()).document()
    document["severity_summary"] = {"critical": 1}
    document["findings"][0]["ticket"] = "SEC-3b1c"
    report = as_report(document)
    assert json.loads(render(report, "json")) == document
    assert "SEC-3b1c" not in render(report, "md")  # people-facing formats show what they know


GARBAGE = ["", "x", "x:user/y", "123", "1234567890123", "Über", 5, [], {}, None]


ROLE = f"arn:aws:iam::{f.ACCOUNT}:role/Deploy"
# (type, canonical ARN, account) each odd field leaves: CONTRACT.md's canonical ARN of an assumed role is its
# role's, from the session ARN when the issuer is unusable; the account comes from the ARN when accountId is odd.
EXPECTED = {
    "type": ("Unknown", ROLE, f.ACCOUNT),
    "arn": ("AssumedRole", None, f.ACCOUNT),
    "accountId": ("AssumedRole", ROLE, f.ACCOUNT),
    "sessionIssuer": ("AssumedRole", ROLE, f.ACCOUNT),
}


@pytest.mark.parametrize("field", sorted(EXPECTED))
@pytest.mark.parametrize("value", GARBAGE, ids=repr)
def test_a_userIdentity_field_the_contract_cannot_hold_never_breaks_the_report(field, value):
    # One odd record must not stop the run: an unlisted type reads as Unknown, an account that is not
    # 12 digits or an "ARN" that is not one reads as not stated.
    identity = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{f.ACCOUNT}:assumed-role/Deploy/jane",
        "accountId": f.ACCOUNT,
    }
    if field == "sessionIssuer":
        identity["sessionContext"] = {"sessionIssuer": {"type": "Role", "arn": value}}
    else:
        identity[field] = value
    [finding] = findings_of([f.record(identity=identity, error_message=None)])
    jsonschema.validate(finding, schema()["$defs"]["Finding"] | {"$defs": schema()["$defs"]})
    principal = finding["principal"]
    assert (principal["type"], principal["arn"], principal["account_id"]) == EXPECTED[field]


def test_a_type_aws_adds_later_reads_as_unknown():
    identity = {"type": "SomeFutureType", "accountId": f.ACCOUNT, "principalId": "AIDAFUTURE"}
    [finding] = findings_of([f.record(identity=identity)])
    assert finding["principal"]["type"] == "Unknown" and finding["denials"] == 1


@pytest.mark.parametrize(
    ("field", "value", "action"),
    [
        # With no action in the message, the action comes from eventSource and eventName (CONTRACT.md);
        # whatever the log holds, it is spelled prefix:Name so the report stays valid.
        ("eventName", None, "apprunner:Unknown"),
        ("eventName", "", "apprunner:Unknown"),
        ("eventName", "Describe.Service", "apprunner:Describe_Service"),
        ("eventName", "List Services", "apprunner:List_Services"),
        ("eventSource", None, "unknown:DescribeService"),
        ("eventSource", "", "unknown:DescribeService"),
        ("eventSource", "my service.amazonaws.com", "my-service:DescribeService"),
    ],
)
def test_an_action_the_log_cannot_spell_never_breaks_the_report(field, value, action):
    record = f.record(error_message=None)
    record[field] = value
    [finding] = findings_of([record], Options(service="all"))
    assert [a["action"] for a in finding["actions"]] == [action]
    assert finding["actions"][0]["action_in_catalog"] is False
    assert finding["remedy"]["policy"] is None  # an action IAM does not have is never granted


def test_an_empty_recipient_account_reads_as_not_stated():
    # Found by the record-shape property test: '' grouped apart from the frame's "unknown" owner.
    record = f.record(recipient="", error_message=None, request={})
    [finding] = findings_of([record])
    assert (finding["target_account_id"], finding["denials"], finding["remedy"]["kind"]) == (None, 1, "grant")
