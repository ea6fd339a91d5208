"""A GitHub Actions workflow: OIDC into the CI account, a role chain into the target, an ECR push, a deploy."""

from __future__ import annotations

from datetime import datetime, timedelta

from .actors import Actor, role_session, web_identity_user
from .engine import Api, Day
from .records import APPRUNNER, assumed_role_user, credentials, role_resource
from .world import CI, CLI_LINUX, GITHUB_OIDC, JS_ACTION, US_EAST, service_arn, stable

CI_ROLE_ARN = f"arn:aws:iam::{CI}:role/GitHubActionsDeploy"


def ci_run(day: Day, run: int, start: datetime, account: str, region: str, service: str, kind: str) -> Actor:
    """One workflow run; ``kind`` "deploy" also starts a deployment. Returns its session in ``account``."""
    session = f"GitHubActions-run-{run}"
    runner_ip = day.ip(20, (25, 120))
    ci_session = _sign_in(day, start, session, service, runner_ip)
    when = start + timedelta(seconds=day.rng.randint(2, 6))
    day.cross_account_assume(ci_session, when, f"arn:aws:iam::{account}:role/GitHubActionsDeploy", session)
    deploy = role_session(account, "GitHubActionsDeploy", session, when, runner_ip, CLI_LINUX)
    when += timedelta(seconds=3)
    day.call(deploy, when, "sts.amazonaws.com", "GetCallerIdentity", US_EAST, request=None)
    when += timedelta(seconds=day.rng.randint(20, 60))
    when = day.burst(deploy, when, _push(day, run, service, region), (1, 8))
    if kind == "deploy":
        _deploy(day, deploy, when, service_arn(service), region)
    return deploy


def _sign_in(day: Day, start: datetime, session: str, service: str, runner_ip: str) -> Actor:
    """sts:AssumeRoleWithWebIdentity with the workflow's OIDC token; returns the CI account's session."""
    repo = "example-org/web" if service in ("web", "web-staging") else f"example-org/{service}"
    subject = f"repo:{repo}:ref:refs/heads/main"
    day.call(
        web_identity_user(subject, runner_ip, JS_ACTION),
        start,
        "sts.amazonaws.com",
        "AssumeRoleWithWebIdentity",
        US_EAST,
        recipient=CI,
        request={"roleArn": CI_ROLE_ARN, "roleSessionName": session, "durationSeconds": 3600},
        response={
            "credentials": credentials(stable("ASIA", f"{CI}/{session}", 16), start),
            "subjectFromWebIdentityToken": subject,
            "assumedRoleUser": assumed_role_user(CI, "GitHubActionsDeploy", session),
            "provider": GITHUB_OIDC,
            "audience": "sts.amazonaws.com",
        },
        additional={"identityProviderConnectionVerificationMethod": "IAMTrustStore"},
        resources=role_resource(CI_ROLE_ARN),
    )
    web_id = {"federatedProvider": GITHUB_OIDC, "attributes": {}}
    return role_session(CI, "GitHubActionsDeploy", session, start, runner_ip, CLI_LINUX, web_id=web_id)


def _push(day: Day, run: int, repository: str, region: str) -> list[Api]:
    """The ECR calls of an image push (the digests and upload ID are drawn here, in this order)."""
    return [
        ("ecr.amazonaws.com", "GetAuthorizationToken", region, None),
        (
            "ecr.amazonaws.com",
            "BatchCheckLayerAvailability",
            region,
            {"repositoryName": repository, "layerDigests": [f"sha256:{day.hex(64)}"]},
        ),
        ("ecr.amazonaws.com", "InitiateLayerUpload", region, {"repositoryName": repository}),
        (
            "ecr.amazonaws.com",
            "CompleteLayerUpload",
            region,
            {"repositoryName": repository, "uploadId": day.uuid4(), "layerDigests": [f"sha256:{day.hex(64)}"]},
        ),
        (
            "ecr.amazonaws.com",
            "PutImage",
            region,
            {
                "repositoryName": repository,
                "imageTag": f"build-{run}",
                "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
            },
        ),
    ]


def _deploy(day: Day, deploy: Actor, when: datetime, arn: str, region: str) -> None:
    """StartDeployment, then DescribeService until it is done, then the operation list."""
    response = {"operationId": day.hex(32)}
    day.call(deploy, when, APPRUNNER, "StartDeployment", region, request={"serviceArn": arn}, response=response)
    for _ in range(day.rng.randint(4, 7)):
        when += timedelta(seconds=day.rng.randint(30, 60))
        day.call(deploy, when, APPRUNNER, "DescribeService", region, request={"serviceArn": arn})
    request = {"serviceArn": arn, "maxResults": 5}
    day.call(deploy, when + timedelta(seconds=2), APPRUNNER, "ListOperations", region, request=request)
