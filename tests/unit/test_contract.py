"""The report contract: the models, the committed JSON Schema generated from them, and docs/CONTRACT.md's rules."""

from __future__ import annotations

import json
from typing import get_args

import jsonschema
import pytest
from pydantic import ValidationError

from analysis import contract
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
        # docs/CONTRACT.md rule 1: reconnaissance is never answered with a policy
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
        (("principal", "type"), "Robot"),  # docs/CONTRACT.md's principal types only
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
    # docs/CONTRACT.md: fields may be added. A report from a later version renders, and its JSON keeps them.
    document = as_report(r.every_kind()).document()
    document["severity_summary"] = {"critical": 1}
    document["findings"][0]["ticket"] = "SEC-3b1c"
    report = as_report(document)
    assert json.loads(render(report, "json")) == document
    assert "SEC-3b1c" not in render(report, "md")  # people-facing formats show what they know


GARBAGE = ["", "x", "x:user/y", "123", "1234567890123", "Über", 5, [], {}, None]


ROLE = f"arn:aws:iam::{f.ACCOUNT}:role/Deploy"
# (type, canonical ARN, account) each odd field leaves: docs/CONTRACT.md's canonical ARN of an assumed role is its
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
        # With no action in the message, the action comes from eventSource and eventName (docs/CONTRACT.md);
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


# --- the schema explains itself: every field described, every value of a vocabulary given its meaning -------------


def _objects(node, path="$"):
    """Every object schema with properties, with where it is (the conditions of allOf/if/then/not are constraints
    on fields described elsewhere, not fields)."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            yield path, node
        for key, value in node.items():
            if key not in ("allOf", "if", "then", "not", "properties"):
                yield from _objects(value, f"{path}.{key}")
        for name, value in (node.get("properties") or {}).items():
            yield from _objects(value, f"{path}.{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{path}[{index}]")


def test_every_field_and_section_of_the_schema_has_a_description():
    published = schema()
    objects = list(_objects(published))
    assert len(objects) >= 20  # the report, every section, and a policy statement
    undescribed = [
        f"{path}.{name}"
        for path, node in objects
        for name, field in node["properties"].items()
        if not (isinstance(field, dict) and field.get("description", "").strip())
    ]
    assert undescribed == []
    assert [name for name, model in published["$defs"].items() if not model.get("description")] == []
    assert "\n" not in json.dumps([node.get("description", "") for _, node in objects])  # one line each
    event_ids = published["$defs"]["DeniedAction"]["properties"]["event_ids"]
    assert event_ids["maxItems"] == 20 and "eventID" in event_ids["description"]


def test_the_described_check_fails_on_a_field_without_a_description():
    published = json.loads(json.dumps(schema()))
    del published["$defs"]["Totals"]["properties"]["denials"]["description"]
    undescribed = [
        f"{path}.{name}"
        for path, node in _objects(published)
        for name, field in node["properties"].items()
        if not field.get("description")
    ]
    assert undescribed == ["$.$defs.Totals.denials"]


VOCABULARIES = {
    "Reason": (contract.Reason, contract.REASON_MEANINGS),
    "RemedyKind": (contract.RemedyKind, contract.REMEDY_KIND_MEANINGS),
    "Severity": (contract.Severity, contract.SEVERITY_MEANINGS),
    "PrincipalType": (contract.PrincipalType, contract.PRINCIPAL_TYPE_MEANINGS),
    "SourceState": (contract.SourceState, contract.SOURCE_STATE_MEANINGS),
    "Confidence": (contract.Confidence, contract.CONFIDENCE_MEANINGS),
    "TimelineUnit": (contract.TimelineUnit, contract.TIMELINE_UNIT_MEANINGS),
    "ChannelStatus": (contract.ChannelStatus, contract.CHANNEL_STATUS_MEANINGS),
}


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_every_value_of_a_vocabulary_has_its_meaning_in_the_schema(name):
    vocabulary, meanings = VOCABULARIES[name]
    values = list(get_args(vocabulary))
    assert list(meanings) == values  # the same values, in the contract's order
    in_schema = [
        node
        for node in _all_nodes(schema())
        if isinstance(node, dict) and isinstance(node.get("enum"), list) and set(node["enum"]) == set(values)
    ]
    assert in_schema, f"{name} is not in the schema"
    for node in in_schema:
        assert [(one["const"], bool(one["description"].strip())) for one in node["oneOf"]] == [
            (v, True) for v in values
        ]


def test_the_reasons_and_remedy_kinds_read_as_the_contract_says():
    # Spot checks against docs/CONTRACT.md's words, so that a meaning cannot drift into another value's.
    reasons = _enum_meanings("no_identity_allow")
    assert "explicit deny whose message names no policy type" in reasons["explicit_deny"]
    assert "service control policy" in reasons["scp"] and "resource control policy" in reasons["rcp"]
    kinds = _enum_meanings("org_policy")
    assert "root user" in kinds["org_policy"] and "reconnaissance" in kinds["investigate"]


def _all_nodes(node):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from _all_nodes(child)


def _enum_meanings(value):
    node = next(n for n in _all_nodes(schema()) if isinstance(n, dict) and value in (n.get("enum") or []))
    return {one["const"]: one["description"] for one in node["oneOf"]}


# --- the sample day's report against the published schema, formats checked ----------------------------------------


@pytest.fixture(scope="module")
def sample_document():
    from analysis.demo import DEMO_ORGANIZATION, DEMO_TRUSTED_ACCOUNTS, SAMPLE_DAY
    from analysis.pipeline import analyse
    from analysis.sources.files import sample_source

    options = Options(trusted_accounts=DEMO_TRUSTED_ACCOUNTS, organization_accounts=DEMO_ORGANIZATION)
    return analyse([sample_source()], SAMPLE_DAY, options).report.document()


def _checked():
    return jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_the_sample_days_report_keeps_the_schema_with_formats_checked(sample_document):
    assert [error.message for error in _checked().iter_errors(sample_document)] == []
    actions = [a for finding in sample_document["findings"] for a in finding["actions"]]
    assert all(1 <= len(a["event_ids"]) <= min(a["count"], 20) for a in actions)
    assert all(len(set(a["event_ids"])) == len(a["event_ids"]) for a in actions)


def test_formats_are_checked_a_time_that_only_looks_like_one_is_refused(sample_document):
    broken = json.loads(json.dumps(sample_document))
    broken["generated_at"] = "2026-13-45T25:61:00Z"  # the pattern's shape, no real time
    broken["findings"][0]["actions"][0]["first_seen"] = "2026-02-30T10:00:00Z"
    assert len(list(_checked().iter_errors(broken))) == 2
    jsonschema.validate(broken, schema())  # without format checking: the pattern alone lets them through


def test_a_report_written_before_event_ids_existed_still_reads():
    document = as_report(r.every_kind()).document()
    for finding in document["findings"]:
        for action in finding["actions"]:
            del action["event_ids"]
    report = as_report(document)
    assert all(a.event_ids == [] for finding in report.findings for a in finding.actions)
    jsonschema.validate(document, schema())


def test_an_action_lists_at_most_twenty_event_ids():
    document = as_report(r.every_kind()).document()
    document["findings"][0]["actions"][0]["event_ids"] = [f"id-{n}" for n in range(21)]
    with pytest.raises(ValidationError, match="at most 20"):
        as_report(document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema())


def test_validate_checks_formats():
    from analysis.report import validate

    document = as_report(r.every_kind()).document()
    validate(document)
    document["generated_at"] = "2026-02-30T10:00:00Z"
    with pytest.raises(jsonschema.ValidationError, match="date-time"):
        validate(document)
