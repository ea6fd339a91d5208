"""The Security Hub finding of an alert (analysis.alerting.asff), from factory events.

Expected values come from the AWS documentation (Security Hub API reference, AwsSecurityFinding and
BatchImportFindings, as botocore's service model carries it): the required fields (SchemaVersion 2018-10-08, Id,
ProductArn, GeneratorId, AwsAccountId, CreatedAt, UpdatedAt, Title, Description, Resources); Title at most 256,
Description 1,024, Remediation.Recommendation.Text 512, ProductFields values 2,048; with the default product ARN
the AwsAccountId is the importing (calling) account; Workflow cannot be updated by BatchImportFindings, so it is
never sent. Severity labels follow docs/CONTRACT.md's severities one to one (critical -> CRITICAL ...).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import botocore.session
import pytest
from botocore.validate import ParamValidator

from analysis.alerting.asff import asff_finding, finding_types, product_arn_parts
from analysis.alerting.dedup import alert_key
from analysis.alerting.message import Covered
from analysis.alerting.rules import FiredRule
from analysis.contract import BUILDING, Finding
from analysis.event_finding import event_finding
from analysis.model import Options
from tests import factories as f

pytestmark = pytest.mark.unit

HUB_ACCOUNT = "999988887777"  # the account the alert function runs in: neither the caller's nor the owner's
PRODUCT = f"arn:aws:securityhub:us-east-1:{HUB_ACCOUNT}:product/{HUB_ACCOUNT}/default"
NOW = datetime(2026, 11, 28, 9, 20, 1, 250_000, tzinfo=UTC)
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampletokenexampletokenexampletoken0123456789"
SCP_TAIL = "with an explicit deny in a service control policy"


def finding_of(record: dict) -> Finding:
    return Finding.model_validate(event_finding(record, Options(service="apprunner")), context=BUILDING)


def scp_denial(**overrides) -> Finding:
    arn = f"arn:aws:sts::{f.ACCOUNT}:assumed-role/DataScience/jane"
    message = f.message(arn, "apprunner:CreateService", tail=SCP_TAIL)
    return finding_of(
        f.record("CreateService", identity=f.assumed_role("DataScience"), error_message=message, **overrides)
    )


def validated(asff: dict) -> None:
    """botocore's own check of a BatchImportFindings request (types, required members, minimum lengths)."""
    model = botocore.session.get_session().get_service_model("securityhub")
    report = ParamValidator().validate({"Findings": [asff]}, model.operation_model("BatchImportFindings").input_shape)
    assert not report.has_errors(), report.generate_report()


def test_the_finding_has_every_required_field_and_botocore_accepts_it():
    asff = asff_finding(scp_denial(), "apprunner", [FiredRule("first_seen", "new")], PRODUCT, NOW)
    validated(asff)
    assert asff["SchemaVersion"] == "2018-10-08"
    assert asff["ProductArn"] == PRODUCT and asff["AwsAccountId"] == HUB_ACCOUNT  # the caller's account, not f.ACCOUNT
    assert asff["UpdatedAt"] == "2026-11-28T09:20:01.250Z"
    assert asff["FirstObservedAt"] == asff["CreatedAt"] == "2026-11-28T09:15:00.000Z"  # the factory's eventTime
    assert asff["RecordState"] == "ACTIVE" and "Workflow" not in asff
    assert asff["Title"] == "role/DataScience denied apprunner:CreateService (high)"
    assert asff["Remediation"]["Recommendation"]["Text"].startswith("Fix: do not grant: SCP")
    assert asff["Remediation"]["Recommendation"]["Url"] == (
        "https://console.aws.amazon.com/iam/home#/roles/details/DataScience"
    )
    [principal] = [r for r in asff["Resources"] if r["ResourceRole"] == "Actor"]
    assert (principal["Type"], principal["Id"]) == ("AwsIamRole", f"arn:aws:iam::{f.ACCOUNT}:role/DataScience")
    assert asff["ProductFields"]["owningAccountId"] == f.ACCOUNT and asff["ProductFields"]["rules"] == "first_seen"


def test_the_id_is_the_keys_so_repeats_of_a_key_update_one_finding():
    first = asff_finding(scp_denial(event_time="2026-11-28T09:15:00Z"), "apprunner", [], PRODUCT, NOW)
    later = asff_finding(scp_denial(event_time="2026-11-29T10:00:00Z"), "apprunner", [], PRODUCT, NOW)
    assert first["Id"] == later["Id"] == f"apprunner/access-denied/{alert_key(scp_denial())}"
    other = asff_finding(finding_of(f.record()), "apprunner", [], PRODUCT, NOW)  # another principal and action
    assert other["Id"] != first["Id"]


@pytest.mark.parametrize(
    ("record", "label"),
    [
        (f.record("DescribeService"), "LOW"),  # a Read refused for want of an allow: low
        (f.record("UpdateService"), "MEDIUM"),  # a Write refused for want of an allow: medium
        (
            f.record(
                "CreateService",
                identity=f.assumed_role("DataScience"),
                error_message=f.message(
                    f"arn:aws:sts::{f.ACCOUNT}:assumed-role/DataScience/jane", "apprunner:CreateService", tail=SCP_TAIL
                ),
            ),
            "HIGH",
        ),  # a Write refused by an SCP: high
        (f.record(identity=f.root()), "CRITICAL"),  # the root user: critical
    ],
    ids=["low", "medium", "high", "critical"],
)
def test_the_severity_follows_the_reports(record, label):
    finding = finding_of(record)
    asff = asff_finding(finding, "apprunner", [], PRODUCT, NOW)
    assert asff["Severity"] == {"Label": label, "Original": finding.severity}
    assert asff["FindingProviderFields"]["Severity"] == asff["Severity"]  # how a provider updates it
    assert asff["FindingProviderFields"]["Types"] == asff["Types"]


def test_the_types_say_why_it_matters():
    grant = finding_of(f.record())  # dev-alice lacks apprunner:DescribeService: a grant
    assert finding_types(grant, [FiredRule("first_seen", "new")]) == [
        "Unusual Behaviors/User",
        "Software and Configuration Checks",
    ]
    assert finding_types(grant, [FiredRule("reconnaissance", "12 actions")])[0] == "TTPs/Discovery"
    assert finding_types(scp_denial(), []) == ["Unusual Behaviors/User"]  # an SCP refusal, no rule: never empty


def test_every_text_stays_within_the_asff_limits():
    name = "n" * 64
    rules = [FiredRule("burst", "r" * 5000), FiredRule("first_seen", "s" * 3000)]
    asff = asff_finding(finding_of(f.record(identity=f.iam_user(name))), "apprunner", rules, PRODUCT, NOW)
    validated(asff)
    assert len(asff["Title"]) <= 256 and len(asff["Description"]) <= 1024
    assert len(asff["Remediation"]["Recommendation"]["Text"]) <= 512
    assert len(asff["ProductFields"]) <= 50
    assert all(len(k) <= 128 and len(v) <= 2048 for k, v in asff["ProductFields"].items())
    assert len(asff["ProductFields"]["rule/burst"]) == 2048 and asff["ProductFields"]["rule/burst"].endswith("…")
    assert 1 <= len(asff["Resources"]) <= 32 and len(asff["Id"]) <= 512


def test_no_access_key_id_or_session_token_reaches_the_finding():
    record = f.record(identity=f.iam_user(f"ci{KEY_ID}"))
    record["userIdentity"]["accessKeyId"] = "ASIAIOSFODNN7EXAMPLE"
    record["userAgent"] = f"aws-cli/2.17 key {KEY_ID} token {TOKEN}"
    record["errorMessage"] += f" (key {KEY_ID}, token {TOKEN})"
    asff = asff_finding(finding_of(record), "apprunner", [FiredRule("first_seen", f"key {KEY_ID}")], PRODUCT, NOW)
    sent = json.dumps(asff, ensure_ascii=False)
    assert KEY_ID[4:12] not in sent and "IOSFODNN7" not in sent and TOKEN[:40] not in sent


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:securityhub:us-east-1:999988887777:product/aws/guardduty",  # another company's product
        "arn:aws:securityhub:us-east-1:9999:product/9999/default",
        "arn:aws:sns:us-east-1:999988887777:alerts",
    ],
)
def test_only_the_accounts_default_product_is_accepted(arn):
    with pytest.raises(ValueError, match="product"):
        product_arn_parts(arn)
    assert product_arn_parts(PRODUCT) == ("aws", "us-east-1", HUB_ACCOUNT)


def test_a_principals_alert_names_the_actions_it_covers_in_the_description_and_product_fields():
    """svc-legacy's burst alert as the sample day gives it (8 actions within 10 minutes): the description says
    who, what, what the alert covers, and why (the report's words); ProductFields list every covered action."""
    actions = ("apprunner:ListServices", "apprunner:ListConnections", "apprunner:DescribeService")
    finding = finding_of(f.record("ListOperations", identity=f.iam_user("svc-legacy")))
    rules = [FiredRule("first_seen", "new"), FiredRule("burst", "11 denials")]
    covered = Covered((*actions, "apprunner:ListOperations"), window_minutes=10, period_hours=24)
    asff = asff_finding(finding, "apprunner", rules, PRODUCT, NOW, covered=covered)
    validated(asff)
    description = asff["Description"]
    assert description.startswith("Who: user/svc-legacy (")
    assert " Covers: user/svc-legacy was denied 4 actions within 10 minutes: apprunner:ListServices, " in description
    assert description.endswith("Why: no identity-based policy allows it")
    assert asff["ProductFields"]["actionsInWindow"] == ",".join(covered.actions)
    assert asff["ProductFields"]["windowMinutes"] == "10"
    plain = asff_finding(finding, "apprunner", rules, PRODUCT, NOW)  # one key's alert: nothing of the kind
    assert "Covers:" not in plain["Description"] and "actionsInWindow" not in plain["ProductFields"]


def test_a_long_list_of_covered_actions_stays_within_the_asff_limits():
    covered = Covered(tuple(f"apprunner:Action{n:04d}" for n in range(500)), window_minutes=10, period_hours=24)
    asff = asff_finding(finding_of(f.record()), "apprunner", [], PRODUCT, NOW, covered=covered)
    validated(asff)
    assert len(asff["Description"]) <= 1024
    assert len(asff["ProductFields"]["actionsInWindow"]) == 2048


def test_a_later_alert_of_a_key_keeps_its_first_observed_and_created_times():
    """Issue 9 review finding 12. ASFF: CreatedAt is "when the potential security issue or event captured by a finding
    was created" (user guide, required attributes): the key's first denial, as FirstObservedAt; LastObservedAt is
    this event's time; UpdatedAt the import's. The store's first_seen of the key, 09:15:00 the day before."""
    first_seen = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
    import_time = datetime(2026, 11, 29, 10, 0, 2, tzinfo=UTC)
    later = scp_denial(event_time="2026-11-29T10:00:00Z")
    asff = asff_finding(later, "apprunner", [], PRODUCT, import_time, first_seen=first_seen)
    validated(asff)
    assert asff["FirstObservedAt"] == asff["CreatedAt"] == "2026-11-28T09:15:00.000Z"
    assert asff["LastObservedAt"] == "2026-11-29T10:00:00.000Z"
    assert asff["UpdatedAt"] == "2026-11-29T10:00:02.000Z"
    # without the store (no STATE_TABLE): the event's own time, as before
    alone = asff_finding(later, "apprunner", [], PRODUCT, import_time)
    assert alone["FirstObservedAt"] == alone["CreatedAt"] == alone["LastObservedAt"] == "2026-11-29T10:00:00.000Z"
    # a late event, older than the first_seen the store holds (a later event of the key came first): the earlier
    early = asff_finding(
        scp_denial(event_time="2026-11-28T09:00:00Z"), "apprunner", [], PRODUCT, NOW, first_seen=first_seen
    )
    assert early["FirstObservedAt"] == early["CreatedAt"] == "2026-11-28T09:00:00.000Z"


@pytest.mark.parametrize("region", ["eu-central-1", "ap-southeast-2"])
def test_the_resources_region_is_the_denied_calls_not_the_importing_one(region):
    """A denial forwarded from another region (the record's awsRegion) says that region; the product ARN's (the
    importing region, us-east-1) stays the finding's own."""
    asff = asff_finding(scp_denial(region=region), "apprunner", [], PRODUCT, NOW)
    validated(asff)
    assert {resource["Region"] for resource in asff["Resources"]} == {region}
    assert len(asff["Resources"]) == 2  # the role, and the refused service (an ARN in that region)
    assert PRODUCT.split(":")[3] == "us-east-1"
