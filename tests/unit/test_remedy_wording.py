"""Whole notes of the principals and edges issue 10 names, read against the documentation cited in
tests/unit/test_advice_for_every_principal.py and pinned here word for word: a note that loses its subject, its account
or its command is a defect a substring check would let through."""

from __future__ import annotations

import json

import pytest

from analysis.model import Options
from tests.analysed import findings_of
from tests.conftest import DATA

NOTES = {
    "aws_service": [
        (
            "kms:Decrypt: the AWS service apprunner.amazonaws.com was refused while acting for you. Granting "
            "the service is not the fix: check the policy of the resource it used (a KMS key policy, an ECR "
            "repository policy, an S3 bucket policy) and, for App Runner, the roles it assumes: the instance "
            "role (trusted by tasks.apprunner.amazonaws.com) and the ECR access role (trusted by "
            "build.apprunner.amazonaws.com), whose permissions and trust policy must allow the call."
        ),
        ("kms:Decrypt: the message names no resource; the resource was inferred from the request."),
        ("kms:Decrypt: the message names no action; the action was taken from the event name."),
    ],
    "service_linked_role": [
        (
            "kms:Decrypt: "
            "arn:aws:iam::111122223333:role/aws-service-role/apprunner.amazonaws.com/AWSServiceRoleForAppRunner "
            "is a service-linked role: AWS defines its permissions and they cannot be edited, so no grant is "
            "proposed. Service control policies do not apply to it: check the policy of the resource it used (a "
            "KMS key policy must allow the role to use the key) and any VPC endpoint policy."
        ),
    ],
    "web_identity": [
        (
            "sts:AssumeRoleWithWebIdentity: a web-identity or SAML federation was refused: the role's trust "
            "policy decides, and a federated identity has no identity-based policy to grant. If the access is "
            "intended, check the trust policy of arn:aws:iam::111122223333:role/GitHubDeploy (aws iam get-role "
            "--role-name GitHubDeploy --query Role.AssumeRolePolicyDocument): its Principal must name the "
            "identity provider (Federated), and its conditions must match the token: for OIDC the provider's "
            "aud and sub keys (for GitHub Actions token.actions.githubusercontent.com:aud sts.amazonaws.com and "
            ":sub repo:ORG/REPO:…), for SAML SAML:aud."
        ),
        ("sts:AssumeRoleWithWebIdentity: the message names no resource; the resource was inferred from the request."),
        ("sts:AssumeRoleWithWebIdentity: the message names no action; the action was taken from the event name."),
    ],
    "pass_role_of_another_account": [
        (
            "iam:PassRole: arn:aws:iam::444455556666:role/AppRunnerInstanceRole belongs to account "
            "444455556666, not to account 111122223333 where the caller works: a role can only be passed to a "
            "service in its own account, so no grant or cross-account role would help. Use a role of account "
            "111122223333 with the permissions the service needs, or create the resource in account "
            "444455556666."
        ),
        (
            "apprunner:CreateService is also authorised against the connection, auto scaling, observability and "
            "VPC connector ARNs named in the request (apprunner:ConnectionArn, AutoScalingConfigurationArn, "
            "ObservabilityConfigurationArn, VpcConnectorArn); a later denial may name one of them."
        ),
        (
            "The first App Runner service in an account needs iam:CreateServiceLinkedRole for "
            "AWSServiceRoleForAppRunner (condition iam:AWSServiceName apprunner.amazonaws.com); it was not "
            "refused here, so it is not granted."
        ),
    ],
    "vpc_endpoint_on_s3": [
        (
            "s3:GetObject: the call went through VPC endpoint vpce-0f1e2d3c4b5a69788 (owned by account "
            "999988887777). Read its policy there: aws ec2 describe-vpc-endpoints --vpc-endpoint-ids "
            "vpce-0f1e2d3c4b5a69788 --query 'VpcEndpoints[].PolicyDocument'."
        ),
        (
            "s3:GetObject: the policy of the VPC endpoint the call went through does not allow it. Add an Allow "
            "for it to that endpoint's policy if the access is intended."
        ),
    ],
    "vpc_endpoint_unnamed": [
        (
            "s3:GetObject: the record does not name the VPC endpoint the call went through: list the endpoints "
            "of the VPC and their policies (aws ec2 describe-vpc-endpoints --query "
            "'VpcEndpoints[].[VpcEndpointId,ServiceName,PolicyDocument]')."
        ),
        (
            "s3:GetObject: the policy of the VPC endpoint the call went through does not allow it. Add an Allow "
            "for it to that endpoint's policy if the access is intended."
        ),
    ],
    "vpc_endpoint_on_app_runner": [
        (
            "apprunner:DescribeService: the message blames a VPC endpoint policy, but App Runner's VPC "
            "endpoints take no endpoint policy, so no endpoint policy can be what refused it: check the service "
            "control policies, the permissions boundary and the session policy."
        ),
    ],
    "root_no_identity_allow": [
        (
            "The root user of account 111122223333 made this call. No policy can be attached to the root user, "
            "so no grant is proposed: do this work through an IAM role (or an IAM Identity Center user) that "
            "has the permissions it needs, and review why the root user was used (AWS recommends using it only "
            "for the tasks that require it)."
        ),
        (
            "For the root user only an organization policy (the SCPs of a member account), a resource-based "
            "policy or a VPC endpoint policy can refuse a call: the root user has no identity-based policies "
            "and no permissions boundary."
        ),
    ],
    "aws_example_bare_name": [
        (
            "apprunner:DescribeService: the message does not say which policy refused it (older form, no "
            "message, or a plain 'Access Denied'); a missing grant is the likely cause, but check service "
            "control policies and permissions boundaries too."
        ),
        (
            "apprunner:DescribeService: the message names the resource by its name only; the policy uses the "
            "request's ARN of that name, or the name-scoped ARN in the record's Region and account."
        ),
        (
            "Low confidence: 1 event(s); a one-off is not a pattern. Confirm the principal needs this access "
            "before granting."
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(NOTES))
def test_the_notes_of_an_edge_case_word_for_word(name):
    records = json.loads((DATA / "edge" / f"{name}.json").read_text())["Records"]
    [finding] = findings_of(records, Options(service="all"))
    assert finding["remedy"]["notes"] == NOTES[name]
