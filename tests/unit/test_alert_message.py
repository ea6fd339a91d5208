"""The SNS alert (issue 9's Output): subject, body, message attributes and the Chatbot format, from factory events.

Expected values are written by hand from the events and from the AWS documentation: Publish's Subject is "UTF-8
text with no line breaks or control characters, and less than 100 characters long" (so at most 99, counted here in
UTF-16 code units so that a pair is never split); at most 10 message attributes, none empty; the IAM console's pages
are https://console.aws.amazon.com/iam/home#/roles/details/NAME and #/users/details/NAME. Severities follow
docs/CONTRACT.md: an SCP refusing a Write action (apprunner:CreateService) is high; a Read action refused for want
of an allow is low."""

from __future__ import annotations

import json

import pytest

from analysis.advice_words import REASON_WORDS
from analysis.alerting.message import Covered, alert_document, alert_message, alert_subject, console_link, cut_utf16
from analysis.alerting.rules import FiredRule
from analysis.contract import BUILDING, Finding
from analysis.event_finding import event_finding
from analysis.model import Options
from analysis.render.terminal import what_to_do
from tests import factories as f

pytestmark = pytest.mark.unit

SCP_TAIL = "with an explicit deny in a service control policy"
ROLE_ARN = f"arn:aws:iam::{f.ACCOUNT}:role/DataScience"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampletokenexampletokenexampletoken0123456789"


def finding_of(record: dict) -> Finding:
    return Finding.model_validate(event_finding(record, Options(service="apprunner")), context=BUILDING)


def scp_denial() -> Finding:
    arn = f"arn:aws:sts::{f.ACCOUNT}:assumed-role/DataScience/jane"
    message = f.message(arn, "apprunner:CreateService", tail=SCP_TAIL)
    return finding_of(f.record("CreateService", identity=f.assumed_role("DataScience"), error_message=message))


RULES = [
    FiredRule("first_seen", "role DataScience was not denied apprunner:CreateService within 30 days"),
    FiredRule("organization_policy", "refused by a service control policy (SCP)"),
]


def test_the_subject_names_severity_principal_action_and_the_denials_reason():
    assert alert_subject(scp_denial(), "apprunner") == (
        "apprunner alert [high]: role/DataScience denied apprunner:CreateService (SCP)"
    )


def test_the_body_says_who_what_why_the_fix_and_links_the_role():
    lines = alert_message(scp_denial(), "apprunner", RULES, 3).body.splitlines()
    assert lines[0] == f"Who: role/DataScience ({ROLE_ARN}), account {f.ACCOUNT}, owning account {f.ACCOUNT}"
    assert lines[1].startswith("What: apprunner:CreateService on ")
    assert lines[1].endswith(", 1 denial; 3 earlier denials of this key were counted, not alerted")
    # the daily report's words for an SCP refusal (its text and HTML "why"), not the contract's code "scp"
    assert lines[2] == "Why: a service control policy (AWS Organizations) refuses it"
    assert lines[3] == f"  rule first_seen: {RULES[0].reason}"
    assert lines[4] == f"  rule organization_policy: {RULES[1].reason}"
    # the daily report's own advice: the terminal summary's "what to do" column for an SCP refusal
    assert lines[5] == "Fix: do not grant: SCP"
    assert lines[5] == f"Fix: {what_to_do(scp_denial())}"
    assert "Console: https://console.aws.amazon.com/iam/home#/roles/details/DataScience" in lines
    assert len(lines) <= 12  # read in ten seconds


def test_the_attributes_let_subscribers_filter_on_severity_rule_account_and_principal():
    assert alert_message(scp_denial(), "apprunner", RULES).attributes == {
        "severity": {"DataType": "String", "StringValue": "high"},
        "rule": {"DataType": "String", "StringValue": "first_seen"},
        "account": {"DataType": "String", "StringValue": f.ACCOUNT},
        "principal": {"DataType": "String", "StringValue": ROLE_ARN},
    }


def test_no_rule_no_empty_rule_attribute():
    finding = finding_of(f.record())
    assert "rule" not in alert_message(finding, "apprunner").attributes  # SNS refuses an empty String value


def test_a_long_name_is_cut_to_99_characters_and_a_pair_is_never_split():
    name = "n" * 64  # IAM's longest user name
    subject = alert_subject(finding_of(f.record(identity=f.iam_user(name))), "apprunner")
    # "apprunner alert [low]: user/" (28) + 64 + " denied apprunner:DescribeService" (33) + " (no identity allow)"
    expected = ("apprunner alert [low]: user/" + name + " denied apprunner:DescribeService (no identity allow)")[:99]
    assert subject == expected and len(subject) == 99
    assert cut_utf16("a" * 98 + "\U0001f600", 99) == "a" * 98  # the emoji is two UTF-16 units: left out whole
    assert cut_utf16("a" * 97 + "\U0001f600", 99) == "a" * 97 + "\U0001f600"


def test_a_reason_tag_that_does_not_fit_is_left_out_not_cut():
    name = "n" * 30
    subject = alert_subject(finding_of(f.record(identity=f.iam_user(name))), "apprunner")
    # 28 + 30 + 33 = 91 characters fit; with " (no policy allows it)" (22) they would be 113: the tag goes whole
    assert subject == "apprunner alert [low]: user/" + name + " denied apprunner:DescribeService"


def test_control_characters_in_the_log_are_shown_not_obeyed():
    record = f.record(identity=f.iam_user("dev-alice"))
    record["userIdentity"]["arn"] = f"arn:aws:iam::{f.ACCOUNT}:user/dev\x1b[2Jalice"
    message = alert_message(finding_of(record), "apprunner")
    assert "\x1b" not in message.subject + message.body + json.dumps(message.attributes, ensure_ascii=False)
    assert "\\u001b" in message.subject


@pytest.mark.parametrize(
    ("identity", "link"),
    [
        (f.iam_user("dev-alice"), "https://console.aws.amazon.com/iam/home#/users/details/dev-alice"),
        (f.assumed_role("Deploy", path="/team/"), "https://console.aws.amazon.com/iam/home#/roles/details/Deploy"),
        (f.root(), None),
        (f.aws_service(), None),
    ],
)
def test_the_console_link_is_the_users_or_roles_page_and_none_for_root_or_a_service(identity, link):
    assert console_link(finding_of(f.record(identity=identity))) == link


def test_no_access_key_id_or_session_token_reaches_sns():
    record = f.record(identity=f.iam_user(f"ci{KEY_ID}"))
    record["userAgent"] = f"aws-cli/2.17 key {KEY_ID} token {TOKEN}"
    record["errorMessage"] += f" (key {KEY_ID}, token {TOKEN})"
    for fmt in ("text", "chatbot"):
        message = alert_message(finding_of(record), "apprunner", RULES, 0, fmt=fmt)
        sent = message.subject + message.body + json.dumps(message.attributes)
        assert KEY_ID[4:12] not in sent and TOKEN[:40] not in sent


def test_the_chatbot_format_is_a_custom_notification_with_the_same_words():
    finding = scp_denial()
    text = alert_message(finding, "apprunner", RULES, 3)
    notification = json.loads(alert_message(finding, "apprunner", RULES, 3, fmt="chatbot").body)
    assert (notification["version"], notification["source"]) == ("1.0", "custom")
    assert notification["content"]["title"] == text.subject
    assert notification["content"]["description"] == text.body.rstrip("\n")
    assert notification["content"]["nextSteps"] == [
        "Open the principal in the IAM console: https://console.aws.amazon.com/iam/home#/roles/details/DataScience"
    ]


def test_the_chatbot_description_stays_within_4000_characters():
    long_rules = [FiredRule("burst", "r" * 5000)]
    notification = json.loads(alert_message(scp_denial(), "apprunner", long_rules, fmt="chatbot").body)
    assert len(notification["content"]["description"]) == 4000


@pytest.mark.parametrize(
    ("carried", "tail"),
    [
        (None, ", 1 denial"),  # no state table: nothing is known of earlier alerts
        (0, ", 1 denial"),  # a key's first alert (or a quiet key): "0 since the last alert" suggested there was one
        (1, ", 1 denial; 1 earlier denial of this key was counted, not alerted"),
        (99, ", 1 denial; 99 earlier denials of this key were counted, not alerted"),
    ],
)
def test_the_keys_earlier_denials_are_named_only_when_there_are_some(carried, tail):
    lines = alert_message(scp_denial(), "apprunner", RULES, carried).body.splitlines()
    assert lines[1].endswith(tail)
    assert "earlier" not in lines[1] or carried
    document = alert_document(scp_denial(), "apprunner", RULES, carried)
    if carried is None:
        assert "events_since_last_alert" not in document
    else:  # the machines' contract: a number, 0 included
        assert document["events_since_last_alert"] == carried and type(document["events_since_last_alert"]) is int


# The report's words for each reason (render.common's table, which the daily report's text, Markdown, HTML and CSV
# print), copied here by hand: the alert must say what the report says.
REPORT_WORDS = {
    "no_identity_allow": "no identity-based policy allows it",
    "explicit_identity_deny": "an identity-based policy explicitly denies it",
    "scp": "a service control policy (AWS Organizations) refuses it",
    "rcp": "a resource control policy (AWS Organizations) refuses it",
    "permissions_boundary": "the permissions boundary does not allow it",
    "session_policy": "the session policy does not allow it",
    "resource_policy": "a resource-based policy refuses it",
    "vpc_endpoint_policy": "the VPC endpoint policy refuses it",
    "explicit_deny": "an explicit deny (the message names no policy type)",
    "unknown": "AWS did not say why",
}


def test_the_alert_and_the_report_share_one_table_of_reasons():
    from analysis.render import common

    assert REASON_WORDS == REPORT_WORDS
    assert {reason: common.reason_words(reason) for reason in REPORT_WORDS} == REPORT_WORDS


@pytest.mark.parametrize(
    ("tail", "why", "tag"),
    [
        (SCP_TAIL, "a service control policy (AWS Organizations) refuses it", " (SCP)"),
        (
            "because no permissions boundary allows the apprunner:CreateService action",
            "the permissions boundary does not allow it",
            " (permissions boundary)",
        ),
        (
            "because no identity-based policy allows the apprunner:CreateService action",
            "no identity-based policy allows it",
            " (no policy allows it)",
        ),
    ],
    ids=["scp", "boundary", "no allow"],
)
def test_why_and_the_subject_say_the_reason_in_words(tail, why, tag):
    arn = f"arn:aws:sts::{f.ACCOUNT}:assumed-role/DataScience/jane"
    message = f.message(arn, "apprunner:CreateService", tail=tail)
    record = f.record("CreateService", identity=f.assumed_role("DataScience"), error_message=message)
    finding = finding_of(record)
    assert alert_message(finding, "apprunner").body.splitlines()[2] == f"Why: {why}"
    assert alert_subject(finding, "apprunner").endswith(f"denied apprunner:CreateService{tag}")


def test_a_reason_aws_did_not_give_is_said_and_the_subject_has_no_tag():
    record = f.record(error_message="User is not authorized to perform this operation")
    finding = finding_of(record)
    assert finding.actions[0].reasons == ["unknown"]
    assert "Why: AWS did not say why" in alert_message(finding, "apprunner").body.splitlines()
    assert alert_subject(finding, "apprunner").endswith("denied apprunner:DescribeService")


SWEEP = (
    "apprunner:ListServices",
    "apprunner:ListConnections",
    "apprunner:ListAutoScalingConfigurations",
    "apprunner:ListObservabilityConfigurations",
    "apprunner:ListVpcConnectors",
    "apprunner:ListVpcIngressConnections",
    "apprunner:DescribeService",
    "apprunner:ListOperations",
)
BURST = [
    FiredRule("first_seen", "first denial of apprunner:ListOperations to this principal in 30 days"),
    FiredRule("burst", "11 denials for this principal within 5 minutes (threshold 10)"),
]


def sweeper() -> Finding:
    return finding_of(f.record("ListOperations", identity=f.iam_user("svc-legacy")))


def test_a_principals_alert_says_which_actions_it_covers_and_what_happens_to_the_rest():
    """Eight actions in the window, three named and "+5 more"; the rules that still alert on their own within the
    period when the principal's alert did not list them are root, unknown_account, org_policy, sensitive_action and
    reconnaissance (dedup's docstring: a new fact), so with first_seen and burst listed all five are named."""
    covered = Covered(SWEEP, window_minutes=10, period_hours=24)
    lines = alert_message(sweeper(), "apprunner", BURST, 0, covered=covered).body.splitlines()
    assert lines[1].startswith("What: apprunner:ListOperations")
    assert lines[2] == (
        "Covers: user/svc-legacy was denied 8 actions within 10 minutes: apprunner:ListServices, "
        "apprunner:ListConnections, apprunner:ListAutoScalingConfigurations (+5 more); its other denials in the "
        "next 24 h are counted, not alerted, unless they fire root, unknown_account, org_policy, sensitive_action or "
        "reconnaissance"
    )
    assert lines[3].startswith("Why: ")
    assert len(lines) <= 12


def test_a_principals_alert_that_listed_an_organization_policy_names_only_the_other_exceptions():
    rules = [*BURST, FiredRule("org_policy", "refused by a service control policy (SCP) of AWS Organizations")]
    covered = Covered(SWEEP[:2], window_minutes=15, period_hours=6)
    [covers] = [line for line in alert_message(sweeper(), "apprunner", rules, 0, covered=covered).body.splitlines()
                if line.startswith("Covers: ")]  # fmt: skip
    assert covers == (
        "Covers: user/svc-legacy was denied 2 actions within 15 minutes: apprunner:ListServices, "
        "apprunner:ListConnections; its other denials in the next 6 h are counted, not alerted, unless they fire "
        "root, unknown_account, sensitive_action or reconnaissance"
    )


def test_the_covered_actions_reach_the_document_and_the_chatbot_description():
    covered = Covered(SWEEP, window_minutes=10, period_hours=24)
    document = alert_document(sweeper(), "apprunner", BURST, 0, covered=covered)
    assert document["actions_in_window"] == list(SWEEP)
    assert "Covers: user/svc-legacy was denied 8 actions" in document["body"]
    assert alert_document(sweeper(), "apprunner", BURST, 0)["actions_in_window"] == []  # one key's alert
    notification = json.loads(alert_message(sweeper(), "apprunner", BURST, 0, "chatbot", covered=covered).body)
    assert (
        "\nCovers: user/svc-legacy was denied 8 actions within 10 minutes: " in notification["content"]["description"]
    )


def test_one_keys_alert_has_no_covers_line():
    lines = alert_message(sweeper(), "apprunner", BURST[:1], 0).body.splitlines()
    assert not any(line.startswith("Covers:") for line in lines)
