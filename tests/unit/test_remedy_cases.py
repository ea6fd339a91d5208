"""Remedy cases the first suite let through: ARN partitions, IAM resources named in a message, the
reconnaissance window's end, and resource control policies. Expected values come from the AWS documentation
(ARN formats, partitions) and docs/CONTRACT.md's rules, worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analysis.model import Options
from tests import factories as f
from tests.analysed import findings_of

CALLER = "999988887777"


def one(records: list[dict[str, Any]], options: Options | None = None) -> dict[str, Any]:
    [finding] = findings_of(records, options)
    return finding


def in_partition(value: Any, partition: str) -> Any:
    """A factory's identity or record moved from partition ``aws`` to ``partition``."""
    return json.loads(json.dumps(value).replace("arn:aws:", f"arn:{partition}:"))


# --- partitions: AWS China (aws-cn) and AWS GovCloud (aws-us-gov) ARNs -------------------------------------

PARTITIONS = [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]


@pytest.mark.parametrize(("region", "partition"), PARTITIONS)
def test_the_cross_account_role_is_named_in_the_partition_of_the_region(region, partition):
    caller = in_partition(f.assumed_role("Auditor", "s", account=CALLER), partition)
    service = f"arn:{partition}:apprunner:{region}:{f.ACCOUNT}:service/web/{f.SERVICE_ID}"
    message = f.message(caller["arn"], "apprunner:DescribeService", service)
    record = f.record(identity=caller, region=region, request={"serviceArn": service}, error_message=message)

    remedy = one([record])["remedy"]

    name = f.cross_account_role_name(f"arn:{partition}:iam::{CALLER}:role/Auditor", CALLER, f.ACCOUNT)
    role = f"arn:{partition}:iam::{f.ACCOUNT}:role/{name}"
    assert remedy["kind"] == "cross_account_role"
    assert remedy["caller_policy"]["Statement"][0]["Resource"] == role
    assert remedy["trust_policy"]["Statement"][0]["Principal"] == {"AWS": f"arn:{partition}:iam::{CALLER}:role/Auditor"}
    assert remedy["policy"]["Statement"][0]["Resource"] == service
    assert remedy["commands"][-1].startswith(f"aws sts assume-role --role-arn {role} ")


@pytest.mark.parametrize(("region", "partition"), PARTITIONS)
def test_a_caller_known_only_by_account_is_trusted_as_that_accounts_root_in_its_partition(region, partition):
    record = f.record(identity=f.aws_account(CALLER), region=region, error_message="Access Denied")
    remedy = one([record])["remedy"]
    assert remedy["trust_policy"]["Statement"][0]["Principal"] == {"AWS": f"arn:{partition}:iam::{CALLER}:root"}
    name = f.cross_account_role_name(f"AWSAccount:{CALLER}:id:AROAEXAMPLEPARTNER12", CALLER, f.ACCOUNT)
    assert remedy["caller_policy"]["Statement"][0]["Resource"] == f"arn:{partition}:iam::{f.ACCOUNT}:role/{name}"


# --- IAM resources a message names by kind and name ("on resource: role TrailDiscover-Role") ---------------

# The IAM User Guide's ARN formats (IAM identifiers): arn:PARTITION:iam::ACCOUNT:user/NAME, role/NAME,
# group/NAME, policy/NAME, instance-profile/NAME (the message gives no path: the default path is /).
IAM_NAMED = [
    ("DeleteRolePolicy", "role TrailDiscover-Role", "role/TrailDiscover-Role"),
    ("DeleteUserPolicy", "user first.last@example.com", "user/first.last@example.com"),
    ("DeleteGroup", "group admins", "group/admins"),
    ("DeletePolicy", "policy Deny_All+Writes=1,2", "policy/Deny_All+Writes=1,2"),
    ("AddRoleToInstanceProfile", "instance profile web-profile", "instance-profile/web-profile"),
]


@pytest.mark.parametrize(("region", "partition"), PARTITIONS)
@pytest.mark.parametrize(("event", "named", "path"), IAM_NAMED)
def test_an_iam_resource_named_in_the_message_is_granted_by_its_arn(event, named, path, region, partition):
    user = in_partition(f.iam_user("TrailDiscover"), partition)
    message = f.message(user["arn"], f"iam:{event}", named)
    record = f.record(event, identity=user, event_source="iam.amazonaws.com", request=None, error_message=message)
    record["awsRegion"] = region

    remedy = one([record], Options(service="iam"))["remedy"]

    arn = f"arn:{partition}:iam::{f.ACCOUNT}:{path}"
    assert remedy["kind"] == "grant"
    assert remedy["policy"]["Statement"] == [
        {"Sid": remedy["policy"]["Statement"][0]["Sid"], "Effect": "Allow", "Action": f"iam:{event}", "Resource": arn}
    ]
    assert any(named in note and arn in note for note in remedy["notes"]), "the note says which ARN stands for it"


# --- reconnaissance: 10 distinct actions within a window of 10 minutes, [first, first + 10 min) -------------

TEN_ACTIONS = list(f.APPRUNNER_READ_EVENTS[:10])
FIRST = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def probe(last_after_first: timedelta) -> list[dict[str, Any]]:
    """Nine actions a minute apart from FIRST (03:00..03:08), the tenth ``last_after_first`` after FIRST."""
    user = f.iam_user("svc-legacy")
    times = [FIRST + timedelta(minutes=i) for i in range(9)] + [FIRST + last_after_first]
    return [
        f.record(name, identity=user, error_message="Access Denied", event_time=when.isoformat().replace("+00:00", "Z"))
        for name, when in zip(TEN_ACTIONS, times, strict=True)
    ]


def test_ten_distinct_actions_inside_ten_minutes_are_reconnaissance():
    assert one(probe(timedelta(minutes=9, seconds=59)))["remedy"]["kind"] == "investigate"


def test_the_tenth_action_exactly_ten_minutes_later_is_outside_the_window():
    """03:00:00 + 10 min = 03:10:00, the window's excluded end: nine actions in it, not ten."""
    assert one(probe(timedelta(minutes=10)))["remedy"]["kind"] == "grant"


def test_a_smaller_window_is_also_open_at_its_end():
    user = f.iam_user("svc-legacy")
    records = [
        f.record(name, identity=user, error_message="Access Denied", event_time=f"2026-11-28T03:0{i}:00Z")
        for i, name in enumerate(TEN_ACTIONS[:3])
    ]  # 03:00, 03:01, 03:02: three actions span two minutes, so a two-minute window holds two of them
    assert one(records, Options(recon_distinct_actions=3, recon_window_minutes=2))["remedy"]["kind"] == "grant"
    assert one(records, Options(recon_distinct_actions=3, recon_window_minutes=3))["remedy"]["kind"] == "investigate"


# --- resource control policies are organization policies (docs/CONTRACT.md rule 2) ------------------------------

RCP_TAIL = "with an explicit deny in a resource control policy"
OBJECT = "arn:aws:s3:::reports-bucket/2026/summary.csv"


def s3_get(identity: dict[str, Any], tail: str = RCP_TAIL, recipient: str = f.ACCOUNT) -> dict[str, Any]:
    message = f.message(identity["arn"], "s3:GetObject", f'"{OBJECT}"', tail=tail)
    request = {"bucketName": "reports-bucket", "key": "2026/summary.csv"}
    return f.record(
        "GetObject",
        identity=identity,
        event_source="s3.amazonaws.com",
        request=request,
        error_message=message,
        recipient=recipient,
    )


def test_an_rcp_denial_is_an_organization_policy_and_grants_nothing():
    finding = one([s3_get(f.iam_user())], Options(service="s3"))
    assert finding["actions"][0]["reasons"] == ["rcp"]
    assert finding["remedy"]["kind"] == "org_policy"
    assert finding["remedy"]["policy"] is None


def test_an_rcp_denial_of_another_accounts_caller_is_still_an_organization_policy():
    """Rule 2 comes before rule 4: no cross-account role is proposed for what an RCP refuses."""
    caller = f.assumed_role("Reader", "s", account=CALLER)
    finding = one([s3_get(caller)], Options(service="s3"))
    assert finding["cross_account"] is True
    assert finding["remedy"]["kind"] == "org_policy"
    assert (finding["remedy"]["policy"], finding["remedy"]["trust_policy"]) == (None, None)


def test_an_rcp_beside_a_missing_grant_grants_only_the_missing_one():
    user = f.iam_user()
    missing = s3_get(user, tail="because no identity-based policy allows the s3:GetObject action")
    missing["errorMessage"] = missing["errorMessage"].replace("s3:GetObject", "s3:GetObjectTagging")
    missing["eventName"] = "GetObjectTagging"
    finding = one([s3_get(user), missing], Options(service="s3"))
    assert finding["remedy"]["kind"] == "org_policy"
    [statement] = finding["remedy"]["policy"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("s3:GetObjectTagging", OBJECT)
