"""One record's denial facts (analysis.denials): which records are denials, of which service, and the row
each gives: what was refused, by whom, on what, and why. Expected values come from the record itself and
docs/CONTRACT.md's rules, worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from analysis.denials import audits_service, denial_row, is_denial, spelled_as_action
from analysis.model import Options
from tests import factories as f
from tests.analysed import report_of

PARTNER = "444455556666"


# --- which records are denials: the CIS filter, errorCode "*UnauthorizedOperation" or "AccessDenied*" ---------


@pytest.mark.parametrize(
    ("code", "denial"),
    [
        ("AccessDenied", True),
        ("AccessDeniedException", True),
        ("AccessDeniedForDependencyException", True),
        ("UnauthorizedOperation", True),
        ("Client.UnauthorizedOperation", True),
        ("Server.UnauthorizedOperation", True),
        ("ThrottlingException", False),
        ("accessdenied", False),  # the filter is case-sensitive, as CloudWatch Logs metric filters are
        ("NotAccessDenied", False),
        ("UnauthorizedOperationError", False),
        ("", False),
        (None, False),
        (403, False),
    ],
)
def test_a_denial_is_what_the_cis_filter_matches(code, denial):
    assert is_denial({"errorCode": code}) is denial


def test_a_record_without_an_error_code_is_no_denial():
    assert is_denial({"eventName": "DescribeService"}) is False


# --- which records belong to the audited service ---------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "service", "audited"),
    [
        ("apprunner.amazonaws.com", "apprunner", True),
        ("ec2.amazonaws.com", "apprunner", False),
        ("monitoring.amazonaws.com", "cloudwatch", True),  # CloudWatch logs as monitoring, its IAM prefix is cloudwatch
        ("monitoring.amazonaws.com", "monitoring", True),  # --service PREFIX: the event source's prefix also names it
        ("apprunner.amazonaws.com", "cloudwatch", False),
        ("ec2.amazonaws.com", "all", True),
        (None, "apprunner", False),
        (42, "apprunner", False),
    ],
)
def test_the_audited_service_is_the_iam_prefix_of_the_event_source(source, service, audited):
    assert audits_service({"eventSource": source}, service) is audited


def test_every_record_belongs_to_all_even_without_a_source():
    assert audits_service({}, "all") is True


# --- the row of one denial ----------------------------------------------------------------------------------


def test_the_row_of_a_documented_denial_holds_every_fact_of_the_record():
    record = f.record(
        "UpdateService",
        identity=f.assumed_role("Deploy", "run-7", path="/ci/"),
        error_message=(
            "User: arn:aws:sts::111122223333:assumed-role/Deploy/run-7 is not authorized to perform: "
            f"apprunner:UpdateService on resource: {f.service_arn(account=PARTNER)} with an explicit deny in a "
            "service control policy: arn:aws:organizations::111122223333:policy/o-a1b2c3d4e5/service_control_policy/p-1"
        ),
        event_id="e-1",
        event_time="2026-11-28T09:15:00Z",
    )
    row = denial_row(record)
    assert row == {
        "event_id": "e-1",
        "recipient_account_id": f.ACCOUNT,
        "event_time": "2026-11-28T09:15:00Z",
        "event_source": "apprunner.amazonaws.com",
        "event_name": "UpdateService",
        "region": "us-east-1",
        "source_ip": "198.51.100.7",
        "user_agent": "aws-cli/2.17.32 md/command#apprunner.describe-service",
        "error_code": "AccessDeniedException",
        "error_message": record["errorMessage"],
        "principal_key": "arn:aws:iam::111122223333:role/ci/Deploy",
        "principal_arn": "arn:aws:iam::111122223333:role/ci/Deploy",
        "principal_type": "AssumedRole",
        "principal_account_id": f.ACCOUNT,
        "session": "run-7",
        "permission_set": None,
        "action": "apprunner:UpdateService",
        "action_from_message": True,
        "action_known": True,
        "resources": [f.service_arn(account=PARTNER)],
        "resource_origin": "message",
        "reason": "scp",
        "policy_arn": "arn:aws:organizations::111122223333:policy/o-a1b2c3d4e5/service_control_policy/p-1",
        "encoded_message": None,
        "truncated": False,
        "non_iam_failure": None,
        "target_account_id": PARTNER,  # the account in the resource's ARN owns it
        "cross_account": True,
        "denied_explicitly": True,  # "with an explicit deny in a service control policy"
        "passed_to_service": None,  # not an iam:PassRole
        "vpc_endpoint_id": None,
        "vpc_endpoint_account_id": None,
    }


def test_fields_of_the_wrong_type_are_left_out_of_the_row():
    record = f.record(event_id="e-2") | {"sourceIPAddress": 7, "userAgent": ["x"], "awsRegion": None}
    row = denial_row(record)
    assert (row["source_ip"], row["user_agent"], row["region"]) == (None, None, None)


def test_an_encoded_message_and_a_non_iam_failure_are_carried():
    encoded = denial_row(
        f.record(
            error_message="You are not authorized to perform this operation. "
            "Encoded authorization failure message: AbC-9_x"
        )
    )
    assert (encoded["encoded_message"], encoded["reason"], encoded["action_from_message"]) == (
        "AbC-9_x",
        "unknown",
        False,
    )
    failure = denial_row(f.record(error_message="Cross-account pass role is not allowed."))
    assert failure["non_iam_failure"].startswith("Cross-account pass role is not allowed")


def test_the_message_spells_the_action_as_the_catalog_does_and_an_unknown_one_as_written():
    upper = f.record(
        "Publish",
        event_source="sns.amazonaws.com",
        request={},
        error_message=f.message(f.iam_user()["arn"], "SNS:Publish"),
    )
    assert denial_row(upper)["action"] == "sns:Publish"
    unknown = f.record(error_message=f.message(f.iam_user()["arn"], "apprunner:DescribeWidget"))
    row = denial_row(unknown)
    assert (row["action"], row["action_known"]) == ("apprunner:DescribeWidget", False)


def test_without_an_action_in_the_message_the_event_stands_for_it():
    row = denial_row(
        f.record("DeleteAlarms", event_source="monitoring.amazonaws.com", request={}, error_message="Access Denied")
    )
    assert (row["action"], row["action_from_message"]) == ("cloudwatch:DeleteAlarms", False)


# --- who: the identity, or the caller the message names when the owner's log has only an account -----------


def _named(arn: str, action: str = "apprunner:DescribeService") -> str:
    return f.message(arn, action, f.service_arn())


def test_a_caller_known_only_by_account_is_named_by_the_message():
    caller = "arn:aws:sts::444455556666:assumed-role/Auditor/from-message"
    row = denial_row(f.record(identity=f.aws_account(PARTNER, "from-identity"), error_message=_named(caller)))
    assert (row["principal_arn"], row["principal_key"]) == ("arn:aws:iam::444455556666:role/Auditor",) * 2
    assert (row["principal_type"], row["principal_account_id"]) == ("AWSAccount", PARTNER)
    assert row["session"] == "from-identity", "the identity's own session wins over the message's"
    assert row["cross_account"] is True


def test_without_a_session_in_the_identity_the_message_gives_it_and_the_permission_set():
    caller = "arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_Admin_0a1b2c3d4e5f6789/jane@example.com"
    identity = {"type": "AWSAccount", "accountId": PARTNER}
    row = denial_row(f.record(identity=identity, error_message=_named(caller)))
    assert (row["session"], row["permission_set"]) == ("jane@example.com", "Admin")


def test_an_identity_without_an_account_takes_the_account_of_the_message():
    caller = "arn:aws:sts::444455556666:assumed-role/Auditor/s"
    row = denial_row(f.record(identity={}, error_message=_named(caller)))
    assert (row["principal_arn"], row["principal_account_id"]) == ("arn:aws:iam::444455556666:role/Auditor", PARTNER)
    assert row["principal_type"] == "Unknown"


@pytest.mark.parametrize(
    ("identity", "named"),
    [
        (f.aws_account(PARTNER), "arn:aws:sts::999988887777:assumed-role/Other/s"),  # another account: not it
        (f.aws_service(), "arn:aws:sts::444455556666:assumed-role/Auditor/s"),  # a service acts for itself
        (f.aws_account(PARTNER), "anonymous"),  # not an ARN
    ],
)
def test_the_message_does_not_name_a_principal_the_identity_contradicts(identity: dict[str, Any], named: str):
    row = denial_row(
        f.record(
            identity=identity, error_message=f"User: {named} is not authorized to perform: apprunner:DescribeService"
        )
    )
    assert row["principal_arn"] is None


def test_an_identity_with_its_own_arn_is_not_renamed_by_the_message():
    row = denial_row(f.record(identity=f.iam_user("dev"), error_message=_named("arn:aws:iam::111122223333:user/x")))
    assert row["principal_arn"] == "arn:aws:iam::111122223333:user/dev"


# --- on what: message, else request, else the record's resources; '*' for an action that takes none ---------


def test_an_action_that_takes_only_star_is_refused_on_star():
    row = denial_row(f.record("ListServices", request={}, error_message="Access Denied"))
    assert (row["resources"], row["resource_origin"]) == (["*"], "star")


def test_the_request_names_the_resource_by_arn():
    row = denial_row(f.record(request={"serviceArn": f.service_arn("api")}, error_message="Access Denied"))
    assert (row["resources"], row["resource_origin"]) == ([f.service_arn("api")], "request")


def test_an_arn_nested_in_the_request_is_found_down_to_the_search_depth():
    arn = f.service_arn("api")
    deep = denial_row(f.record(request={"a": {"b": {"c": [arn]}}}, error_message="Access Denied"))
    assert (deep["resources"], deep["resource_origin"]) == ([arn], "request")
    too_deep = denial_row(f.record(request={"a": {"b": {"c": {"d": [arn]}}}}, error_message="Access Denied"))
    assert too_deep["resource_origin"] == "none"


@pytest.mark.parametrize(
    ("region", "arn"),
    [
        ("us-east-1", "arn:aws:apprunner:us-east-1:111122223333:service/api/*"),
        ("cn-north-1", "arn:aws-cn:apprunner:cn-north-1:111122223333:service/api/*"),
        (None, "arn:aws:apprunner:*:111122223333:service/api/*"),
    ],
)
def test_a_create_call_is_scoped_by_the_name_it_asked_for(region, arn):
    """AWS assigns the service id, so a CreateService grant names service/NAME/*, in the record's partition."""
    record = f.record("CreateService", request={"serviceName": "api"}, error_message=None) | {"awsRegion": region}
    row = denial_row(record)
    assert (row["resources"], row["resource_origin"]) == ([arn], "request")


def test_a_create_call_without_the_owning_account_is_scoped_to_any_account():
    record = f.record("CreateService", request={"serviceName": "api"}, error_message=None)
    del record["recipientAccountId"]
    assert denial_row(record)["resources"] == ["arn:aws:apprunner:us-east-1:*:service/api/*"]


@pytest.mark.parametrize(("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_the_root_user_known_only_by_account_is_named_in_the_records_partition(region, partition):
    record = f.record(identity={"type": "Root", "accountId": f.ACCOUNT}, region=region, error_message="Access Denied")
    assert denial_row(record)["principal_arn"] == f"arn:{partition}:iam::{f.ACCOUNT}:root"


def test_a_call_that_is_no_create_needs_every_part_of_the_arn():
    row = denial_row(f.record("DescribeService", request={"serviceName": "api"}, error_message="Access Denied"))
    assert (row["resources"], row["resource_origin"]) == ([], "none")


def test_the_records_resources_are_the_last_resort_and_only_those_the_action_takes():
    service = f.service_arn("x")
    record = f.record(request={}, error_message="Access Denied")
    record["resources"] = [
        {"ARN": service, "accountId": f.ACCOUNT, "type": "AWS::AppRunner::Service"},
        {"ARN": "arn:aws:iam::111122223333:role/R", "accountId": f.ACCOUNT, "type": "AWS::IAM::Role"},
        {"ARN": 5},
        "junk",
    ]
    row = denial_row(record)
    assert (row["resources"], row["resource_origin"]) == ([service], "record")


@pytest.mark.parametrize(("caller", "cross_account"), [(PARTNER, False), (f.ACCOUNT, True)])
def test_the_owning_account_is_the_recipient_when_no_resource_names_one(caller, cross_account):
    record = f.record(
        "ListServices",
        identity=f.iam_user(account=caller),
        request={},
        recipient=PARTNER,
        error_message="Access Denied",
    )
    row = denial_row(record)
    assert (row["target_account_id"], row["cross_account"]) == (PARTNER, cross_account)


def test_one_denial_without_source_or_name_does_not_stop_the_report():
    """Found by the record-shape property test: such a denial once made the typed report refuse the whole run."""
    report = report_of([f.record(), {"errorCode": "AccessDenied"}], Options(service="all"))
    assert report["totals"]["denials"] == 2


@pytest.mark.parametrize(
    ("written", "spelled"),
    [
        ("apprunner:DescribeService", "apprunner:DescribeService"),
        (":", "unknown:Unknown"),
        ("", "unknown:Unknown"),
        ("apprunner:Describe Service", "apprunner:Describe_Service"),
        ("my.service:Do", "my-service:Do"),
        ("a:b:c", "a:b_c"),  # the first colon ends the prefix
    ],
)
def test_an_action_is_spelled_as_iam_spells_actions(written, spelled):
    assert spelled_as_action(written) == spelled


@pytest.mark.parametrize(
    ("record", "action"),
    [
        ({"errorCode": "AccessDenied", "eventName": "DescribeService"}, "unknown:DescribeService"),
        ({"errorCode": "AccessDenied", "eventSource": "apprunner.amazonaws.com"}, "apprunner:Unknown"),
    ],
)
def test_a_missing_event_source_or_name_reads_unknown(record, action):
    assert denial_row(record)["action"] == action


# --- IAM resources a message names by kind and name ("on resource: role Deploy") -------------------------------
# IAM ARN format (IAM User Guide, IAM identifiers): arn:PARTITION:iam::ACCOUNT:role/NAME (default path /), and
# instance-profile/NAME for an instance profile; the partition is the record's Region's.


@pytest.mark.parametrize(("region", "partition"), [("us-east-1", "aws"), ("cn-north-1", "aws-cn")])
def test_an_iam_role_named_in_the_message_becomes_its_arn_in_the_partition(region, partition):
    message = (
        "User: arn:aws:iam::111122223333:user/dev is not authorized to perform: iam:PassRole on resource: role Deploy"
    )
    row = denial_row(f.record("CreateService", error_message=message, region=region))
    assert (row["resources"], row["resource_origin"]) == (
        [f"arn:{partition}:iam::{f.ACCOUNT}:role/Deploy"],
        "message_iam_name",
    )


def test_an_instance_profile_named_in_the_message():
    message = (
        "User: arn:aws:iam::111122223333:user/dev is not authorized to perform: iam:GetInstanceProfile on resource: "
        "instance profile web-host"
    )
    row = denial_row(f.record("GetInstanceProfile", event_source="iam.amazonaws.com", error_message=message))
    assert row["resources"] == [f"arn:aws:iam::{f.ACCOUNT}:instance-profile/web-host"]


def test_a_named_iam_resource_stays_as_written_without_an_account_or_for_another_service():
    message = (
        "User: arn:aws:iam::111122223333:user/dev is not authorized to perform: iam:PassRole on resource: role Deploy"
    )
    no_account = f.record("CreateService", error_message=message) | {"recipientAccountId": None}
    assert denial_row(no_account)["resources"] == ["role Deploy"]
    other = message.replace("iam:PassRole", "apprunner:DescribeService")
    assert denial_row(f.record(error_message=other))["resources"] != [f"arn:aws:iam::{f.ACCOUNT}:role/Deploy"]
