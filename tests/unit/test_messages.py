"""Every message form of docs/messages.md parses to the action, resource, reason and policy it states."""

import pytest

from analysis.messages import TRUNCATION_LENGTH, parse_message

USER = "arn:aws:iam::777788889999:user/MaryMajor"
SCP_ARN = "arn:aws:organizations::987654321098:policy/o-qv5af4abcd/service_control_policy/p-2kgnabcd"

FORMS = [
    # (message, action, resource, reason, policy ARN)
    (
        f"User: {USER} is not authorized to perform: codecommit:ListRepositories because no identity-based "
        "policy allows the codecommit:ListRepositories action",
        "codecommit:ListRepositories",
        None,
        "no_identity_allow",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: codedeploy:ListDeployments on resource: "
        "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:* with an explicit deny in an identity-based policy",
        "codedeploy:ListDeployments",
        "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:*",
        "explicit_identity_deny",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: codecommit:ListRepositories with an explicit deny in a "
        "service control policy",
        "codecommit:ListRepositories",
        None,
        "scp",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: codecommit:ListRepositories with an explicit deny in a "
        f"service control policy: {SCP_ARN}",
        "codecommit:ListRepositories",
        None,
        "scp",
        SCP_ARN,
    ),
    (
        f"User: {USER} is not authorized to perform: ssm:GetParameter on resource: "
        "arn:aws:ssm:us-east-1:777788889999:parameter/x because no service control policy allows the "
        "ssm:GetParameter action",
        "ssm:GetParameter",
        "arn:aws:ssm:us-east-1:777788889999:parameter/x",
        "scp",
        None,
    ),
    (
        f'User: {USER} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::bucket/key" '
        "with an explicit deny in a resource control policy",
        "s3:GetObject",
        "arn:aws:s3:::bucket/key",
        "rcp",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: codecommit:ListRepositories because no VPC endpoint policy "
        "allows the codecommit:ListRepositories action",
        "codecommit:ListRepositories",
        None,
        "vpc_endpoint_policy",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: codecommit:ListRepositories with an explicit deny in a "
        "VPC endpoint policy",
        "codecommit:ListRepositories",
        None,
        "vpc_endpoint_policy",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: SNS:Publish on resource: arn:aws:sns:us-east-1:777788889999:t "
        "with an explicit deny in a VPC endpoint policy transitively through a service control policy",
        "SNS:Publish",
        "arn:aws:sns:us-east-1:777788889999:t",
        "scp",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: codedeploy:ListDeployments because no permissions boundary "
        "allows the codedeploy:ListDeployments action",
        "codedeploy:ListDeployments",
        None,
        "permissions_boundary",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: sagemaker:ListModels with an explicit deny in a permissions "
        "boundary",
        "sagemaker:ListModels",
        None,
        "permissions_boundary",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: codecommit:ListRepositories because no session policy allows "
        "the codecommit:ListRepositories action",
        "codecommit:ListRepositories",
        None,
        "session_policy",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: codecommit:ListRepositories with an explicit deny in a "
        "sessions policy",
        "codecommit:ListRepositories",
        None,
        "session_policy",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: secretsmanager:GetSecretValue because no resource-based policy "
        "allows the secretsmanager:GetSecretValue action",
        "secretsmanager:GetSecretValue",
        None,
        "resource_policy",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: secretsmanager:GetSecretValue with an explicit deny in a "
        "resource-based policy",
        "secretsmanager:GetSecretValue",
        None,
        "resource_policy",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/R "
        "because no role trust policy allows the sts:AssumeRole action",
        "sts:AssumeRole",
        "arn:aws:iam::123456789012:role/R",
        "resource_policy",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/R "
        "with an explicit deny in the role trust policy",
        "sts:AssumeRole",
        "arn:aws:iam::123456789012:role/R",
        "resource_policy",
        None,
    ),
    (
        "User: arn:aws:sts::123456789012:assumed-role/RscScpDisallow/1631196079303620000 is not authorized to "
        "perform: lambda:ListFunctions on resource: * with an explicit deny",
        "lambda:ListFunctions",
        "*",
        "explicit_deny",
        None,
    ),
    (
        "User: arn:aws:iam::457448411975:user/christophe is not authorized to perform: sts:AssumeRole on resource: "
        "arn:aws:iam::457448411975:role/stratus",
        "sts:AssumeRole",
        "arn:aws:iam::457448411975:role/stratus",
        "unknown",
        None,
    ),
    (
        f"User: {USER} is not authorized to perform: elasticfilesystem:DeleteFileSystem on the specified resource",
        "elasticfilesystem:DeleteFileSystem",
        None,
        "unknown",
        None,
    ),
    (
        f"You are not authorized to perform this operation. User: {USER} is not authorized to perform: "
        "ec2:GetPasswordData on resource: arn:aws:ec2:us-east-1:777788889999:instance/* because no identity-based "
        "policy allows the ec2:GetPasswordData action. Encoded authorization failure message: AbCdEf-123_x",
        "ec2:GetPasswordData",
        "arn:aws:ec2:us-east-1:777788889999:instance/*",
        "no_identity_allow",
        None,
    ),
    (
        f"You are not authorized to perform this operation. User: {USER} is not authorized to perform: "
        "ec2:DescribeInstances because no identity-based policy allows the ec2:DescribeInstances action. "
        "Encoded authorization failure message: AbCdEf-123_x",
        "ec2:DescribeInstances",
        None,
        "no_identity_allow",
        None,
    ),
    (
        "You are not authorized to perform this operation. Encoded authorization failure message: AbCdEf-123_x",
        None,
        None,
        "unknown",
        None,
    ),
    ("Access Denied", None, None, "unknown", None),
    (None, None, None, "unknown", None),
    ("Cross-account pass role is not allowed.", None, None, "unknown", None),
    ("IAM user access not activated", None, None, "unknown", None),
    ("An unknown error occurred", None, None, "unknown", None),
    (
        "User: arn:aws:iam::111111111111:user/TrailDiscover is not authorized to perform: iam:PassRole on resource: "
        "role TrailDiscover-Role because no identity-based policy allows the iam:PassRole action",
        "iam:PassRole",
        "role TrailDiscover-Role",
        "no_identity_allow",
        None,
    ),
]


@pytest.mark.parametrize(("text", "action", "resource", "reason", "policy"), FORMS)
def test_each_documented_form_parses_to_what_it_states(text, action, resource, reason, policy):
    parsed = parse_message(text)
    assert (parsed.action, parsed.resource, parsed.reason, parsed.policy_arn) == (action, resource, reason, policy)


def test_encoded_message_is_kept_for_the_decode_command():
    parsed = parse_message(
        "You are not authorized to perform this operation. Encoded authorization failure message: AbCdEf-123_x"
    )
    assert parsed.encoded_message == "AbCdEf-123_x"


def test_a_message_cut_at_1024_characters_is_flagged_and_parsed_as_far_as_it_goes():
    head = (
        f"User: {USER} is not authorized to perform: apprunner:UpdateService on resource: "
        "arn:aws:apprunner:us-east-1:777788889999:service/web/abc with an explicit deny in a service control "
        f"policy: {SCP_ARN} "
    )
    text = (head + "x" * 1100)[:1021] + "..."
    parsed = parse_message(text)
    assert parsed.truncated
    assert (parsed.action, parsed.reason, parsed.policy_arn) == ("apprunner:UpdateService", "scp", SCP_ARN)
    assert parsed.resource == "arn:aws:apprunner:us-east-1:777788889999:service/web/abc"
    assert not parse_message(FORMS[0][0]).truncated


def cut(message: str, length: int = 1024) -> str:
    """The message as AWS logs one that is too long: its first characters, then "..." (1,024 in all)."""
    return message[: length - 3] + "..."


def test_a_cut_resource_or_policy_is_read_without_the_marker():
    head = f"User: {USER} is not authorized to perform: apprunner:UpdateService on resource: "
    message = cut(head + "arn:aws:apprunner:us-east-1:777788889999:service/" + "w" * 1100)
    parsed = parse_message(message)
    assert parsed.truncated
    assert parsed.resource == message[len(head) : -len("...")]
    head = (
        f"User: {USER} is not authorized to perform: s3:GetObject with an explicit deny in an identity-based policy: "
    )
    message = cut(head + "arn:aws:iam::777788889999:policy/" + "p" * 1100)
    assert parse_message(message).policy_arn == message[len(head) : -len("...")]


def test_a_message_cut_inside_its_encoded_part_keeps_what_was_written():
    head = "You are not authorized to perform this operation. Encoded authorization failure message: "
    message = cut(head + "Ab9_-" * 300)
    parsed = parse_message(message)
    assert parsed.truncated
    assert parsed.encoded_message == message[len(head) : -len("...")]


def test_truncation_needs_both_the_length_and_the_marker():
    base = f"User: {USER} is not authorized to perform: iam:GetRole on resource: role Build..."
    padded = base.replace("role Build", "role Build" + "d" * (TRUNCATION_LENGTH - len(base)))
    assert len(padded) == TRUNCATION_LENGTH
    assert parse_message(padded).truncated, "as long as a cut message and ending in the marker"
    assert not parse_message(padded[1:]).truncated, "one character shorter: not cut"
    assert not parse_message(padded[:-3] + "xyz").truncated, "as long, but not ending in the marker"


@pytest.mark.parametrize(
    ("message", "resource", "policy"),
    [
        # IAM names may end in "." (and in "..."): in a message that is not cut, a final "." is the name's.
        (
            f"User: {USER} is not authorized to perform: iam:GetRole on resource: role Build...",
            "role Build...",
            None,
        ),
        (
            f"User: {USER} is not authorized to perform: s3:GetObject with an explicit deny in an identity-based "
            "policy: arn:aws:iam::777788889999:policy/Deny.",
            None,
            "arn:aws:iam::777788889999:policy/Deny.",
        ),
        # The EC2 form ends the sentence with "." before the encoded message: that "." is not the ARN's.
        (
            f"You are not authorized to perform this operation. User: {USER} is not authorized to perform: "
            "ec2:RunInstances on resource: arn:aws:ec2:us-east-1:777788889999:instance/* with an explicit deny in a "
            f"service control policy: {SCP_ARN}. Encoded authorization failure message: AbCdEf-123_x",
            "arn:aws:ec2:us-east-1:777788889999:instance/*",
            SCP_ARN,
        ),
        (
            f"You are not authorized to perform this operation. User: {USER} is not authorized to perform: "
            "ec2:RunInstances with an explicit deny in an identity-based policy: "
            "arn:aws:iam::777788889999:policy/Deny.. Encoded authorization failure message: AbCdEf-123_x",
            None,
            "arn:aws:iam::777788889999:policy/Deny.",
        ),
    ],
)
def test_a_final_period_belongs_to_the_name_unless_a_sentence_follows(message, resource, policy):
    parsed = parse_message(message)
    assert (parsed.resource, parsed.policy_arn, parsed.truncated) == (resource, policy, False)


def test_non_iam_failures_are_named_not_mistaken_for_missing_permissions():
    assert parse_message("Cross-account pass role is not allowed.").non_iam_failure.startswith(
        "Cross-account pass role is not allowed"
    )
    assert parse_message("IAM user access not activated").non_iam_failure.startswith("IAM user access not activated")
    assert parse_message(FORMS[0][0]).non_iam_failure is None


def test_principal_named_by_the_message_is_read():
    assert parse_message(FORMS[0][0]).principal_arn == USER


def test_an_empty_quoted_resource_is_no_resource():
    assert parse_message(f'User: {USER} is not authorized to perform: s3:GetObject on resource: ""').resource is None
    assert parse_message(f'User: {USER} is not authorized to perform: s3:GetObject on resource: "b"').resource == "b"


def test_a_message_that_names_the_refused_action_is_an_iam_refusal_whatever_else_it_says():
    text = (
        f"User: {USER} is not authorized to perform: iam:PassRole on resource: role R because no identity-based "
        "policy allows the iam:PassRole action. Cross-account pass role is not allowed."
    )
    parsed = parse_message(text)
    assert (parsed.action, parsed.non_iam_failure) == ("iam:PassRole", None)


def test_messages_are_read_once_and_an_overlong_one_is_not_kept():
    from analysis.messages import MESSAGE_PARSE_LIMIT, _parsed_message

    _parsed_message.cache_clear()
    usual = "User: arn:aws:iam::111122223333:user/a is not authorized to perform: apprunner:ListServices"
    assert parse_message(usual) is parse_message(usual)
    overlong = usual + " x" * MESSAGE_PARSE_LIMIT
    assert parse_message(overlong) == parse_message(overlong)
    assert _parsed_message.cache_info().currsize == 1
