"""Property tests: any message built from the documented grammar parses back to its parts, and no input
(of any bytes) makes the readers raise."""

from __future__ import annotations

import gzip
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.denials import denial_row
from analysis.messages import parse_message
from analysis.model import Options
from analysis.principals import PRINCIPAL_TYPES
from analysis.records import Malformed, Skipped, parse_bytes
from analysis.report import validate
from analysis.sources.base import RecordsSource
from tests.analysed import analysed

ACTIONS = st.tuples(
    st.sampled_from(["apprunner", "iam", "s3", "SNS", "ec2", "sts", "lambda"]),
    st.from_regex(r"[A-Z][A-Za-z]{2,30}", fullmatch=True),
).map(":".join)
NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_+=,.@-]{0,40}", fullmatch=True)
ARNS = st.builds(
    lambda service, account, name: f"arn:aws:{service}:us-east-1:{account}:thing/{name}",
    st.sampled_from(["apprunner", "ec2", "sns"]),
    st.from_regex(r"\d{12}", fullmatch=True),
    NAMES,
)
RESOURCES = st.one_of(
    ARNS.map(lambda arn: (arn, arn)),
    ARNS.map(lambda arn: (f'"{arn}"', arn)),
    st.just(("*", "*")),
    st.builds(
        lambda kind, name: (f"{kind} {name}", f"{kind} {name}"), st.sampled_from(["role", "user", "policy"]), NAMES
    ),
    st.none(),
)
REASONS = st.sampled_from(
    [
        ("because no identity-based policy allows the {a} action", "no_identity_allow", False),
        ("with an explicit deny in an identity-based policy", "explicit_identity_deny", True),
        ("with an explicit deny in a service control policy", "scp", True),
        ("because no service control policy allows the {a} action", "scp", False),
        ("with an explicit deny in a resource control policy", "rcp", True),
        ("because no permissions boundary allows the {a} action", "permissions_boundary", False),
        ("with an explicit deny in a permissions boundary", "permissions_boundary", True),
        ("because no session policy allows the {a} action", "session_policy", False),
        ("with an explicit deny in a sessions policy", "session_policy", True),
        ("because no resource-based policy allows the {a} action", "resource_policy", False),
        ("with an explicit deny in a VPC endpoint policy", "vpc_endpoint_policy", True),
        ("with an explicit deny in a VPC endpoint policy transitively through a service control policy", "scp", True),
        ("with an explicit deny", "explicit_deny", False),
        ("", "unknown", False),
    ]
)
POLICY_ARNS = st.one_of(st.none(), NAMES.map(lambda n: f"arn:aws:iam::111122223333:policy/{n}"))


@given(ACTIONS, RESOURCES, REASONS, POLICY_ARNS, st.booleans())
def test_any_documented_message_parses_back_to_its_parts(action, resource, reason, policy_arn, ec2_style):
    tail, expected_reason, names_policy = reason
    written, expected_resource = resource if resource else (None, None)
    text = f"User: arn:aws:iam::111122223333:user/someone is not authorized to perform: {action}"
    if written:
        text += f" on resource: {written}"
    if tail:
        text += " " + tail.format(a=action)
    policy = policy_arn if names_policy else None
    if policy:
        text += f": {policy}"
    if ec2_style:
        text = (
            f"You are not authorized to perform this operation. {text}. Encoded authorization failure message: Ab-9_x"
        )
    parsed = parse_message(text)
    assert (parsed.action, parsed.resource, parsed.reason, parsed.policy_arn) == (
        action,
        expected_resource,
        expected_reason,
        policy,
    )
    assert parsed.encoded_message == ("Ab-9_x" if ec2_style else None)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(st.binary(max_size=2000))
def test_no_bytes_make_the_reader_raise(data):
    for item in parse_bytes(data, "fuzz"):
        assert isinstance(item, dict | Malformed | Skipped)
    for item in parse_bytes(gzip.compress(data), "fuzz.gz"):
        assert isinstance(item, dict | Malformed | Skipped)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


RECORD_SHAPES = st.dictionaries(
    st.sampled_from(
        [
            "eventID",
            "eventTime",
            "eventSource",
            "eventName",
            "awsRegion",
            "errorCode",
            "errorMessage",
            "userIdentity",
            "requestParameters",
            "resources",
            "recipientAccountId",
            "sourceIPAddress",
            "userAgent",
        ]
    ),
    JSON_VALUES,
)


@settings(max_examples=200)
@given(RECORD_SHAPES)
def test_any_record_shape_gives_a_row(record):
    row = denial_row(json.loads(json.dumps({**record, "errorCode": "AccessDenied"})))
    assert row["principal_type"] in PRINCIPAL_TYPES
    assert all(isinstance(resource, str) for resource in row["resources"])


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(RECORD_SHAPES)
def test_any_record_shape_gives_a_report_that_keeps_the_contract(record):
    record = json.loads(json.dumps({**record, "errorCode": "AccessDenied"}))
    report = analysed([RecordsSource([record])], options=Options(service="all"))
    validate(report)
    assert report["totals"]["denials"] == 1
