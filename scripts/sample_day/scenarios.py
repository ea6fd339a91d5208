"""The App Runner denial scenarios of the sample day, each with the finding the report must give.

SAMPLE_DAY.md's scenario table is rendered from these records, the generator writes their records and checks
their counts, and tests/integration/test_sample_day.py holds the report to each ``expect``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .actors import (
    aws_service,
    federated_user,
    iam_user,
    role_session,
    root_console,
    root_sign_in,
    saml_user,
    seen_by_owner,
    sso_session,
    web_identity_user,
)
from .cast import ALICE, DATA_SCIENTIST, JANE
from .forms import Encoded, ExplicitDeny, Fixed, NoAllow, NoMessage, NoReason, SpecifiedResource, Truncated
from .plan import (
    After,
    Call,
    CiWorkflow,
    Drawn,
    Expect,
    Issued,
    Later,
    Op,
    Paced,
    Refusal,
    Scenario,
    Successes,
    Timeline,
)
from .records import APPRUNNER, assumed_role_user, role_resource
from .world import (
    BOTO,
    CI,
    CLI_MAC,
    CONSOLE,
    DENY_POLICY_ARN,
    ECR_ACCESS_ROLE_ARN,
    GO_SDK,
    INSTANCE_ROLE_ARN,
    JENKINS,
    JS_ACTION,
    OUTSIDE,
    PARTNER,
    PROD,
    PYTHON_REQUESTS,
    SAML_QUALIFIER,
    SCP_ARN,
    SSO_SUPPORT_ROLE,
    STAGING,
    TERRAFORM,
    US_EAST,
    service_arn,
    stable,
)

# How the messages are worded, and the reason the auditor must read from each wording
IDENTITY = NoAllow("identity-based policy", "no_identity_allow")
RESOURCE = NoAllow("resource-based policy", "resource_policy")
BOUNDARY = NoAllow("permissions boundary", "permissions_boundary")
SESSION = NoAllow("session policy", "session_policy")
ENDPOINT = NoAllow("VPC endpoint policy", "vpc_endpoint_policy")
SCP = ExplicitDeny("service control policy", "scp", SCP_ARN)
GUARDRAIL = ExplicitDeny("identity-based policy", "explicit_identity_deny", DENY_POLICY_ARN)
SESSION_DENY = ExplicitDeny("session policy", "session_policy")
ACCESS_DENIED = Fixed("Access Denied")

WEB, API, WORKER, STAGE = (service_arn(name) for name in ("web", "api", "worker", "web-staging"))


def on(event: str, arn: str, **request: Any) -> Op:
    """``event`` refused on the service ``arn``, which the request and the message both name."""
    return Op(event, {"serviceArn": arn, **request}, arn)


def create_service(name: str, image: str, port: str, cpu: str, memory: str, **options: Any) -> dict[str, Any]:
    """CreateService's requestParameters; options: auto, access_role, instance_role, health."""
    repository = {
        "imageIdentifier": image,
        "imageConfiguration": {"port": port},
        "imageRepositoryType": "ECR_PUBLIC" if image.startswith("public.ecr.aws/") else "ECR",
    }
    source: dict[str, Any] = {"imageRepository": repository, "autoDeploymentsEnabled": options.get("auto", False)}
    if "access_role" in options:
        source["authenticationConfiguration"] = {"accessRoleArn": options["access_role"]}
    instance = {"cpu": cpu, "memory": memory}
    if "instance_role" in options:
        instance["instanceRoleArn"] = options["instance_role"]
    request = {"serviceName": name, "sourceConfiguration": source, "instanceConfiguration": instance}
    if "health" in options:
        request["healthCheckConfiguration"] = options["health"]
    return request


LIST = Op("ListServices")
LIST_ALL = Op("ListServices", None, "*")
DESCRIBE_WEB, DESCRIBE_API, DESCRIBE_STAGE = (
    on("DescribeService", WEB),
    on("DescribeService", API),
    on("DescribeService", STAGE),
)
LIST_WEB_OPERATIONS = on("ListOperations", WEB, maxResults=20)
START_API = on("StartDeployment", API)


def _billing(run: int) -> Op:
    """CI's CreateService of `billing`, refused for passing the instance role."""
    image = f"{PROD}.dkr.ecr.us-east-1.amazonaws.com/billing:build-{run}"
    request = create_service(
        "billing",
        image,
        "8080",
        "1024",
        "2048",
        access_role=ECR_ACCESS_ROLE_ARN,
        instance_role=INSTANCE_ROLE_ARN,
        health={"protocol": "HTTP", "path": "/healthz"},
    )
    return Op("CreateService", request, INSTANCE_ROLE_ARN, action="iam:PassRole")


S1 = Scenario(
    key="1",
    title="plain grant: no identity-based policy allows",
    principal="IAMUser, on the CLI",
    detail="on `service/web/8fe1…`, 08:42–11:49",
    conclusion="both actions on the `web` service ARN (`service/web/*` if it should survive re-creating the service)",
    expect=Expect("grant", f"arn:aws:iam::{PROD}:user/dev-alice", PROD),
    steps=(
        Timeline(
            actor=ALICE,
            form=IDENTITY,
            calls=(
                ((8, 42, 5), DESCRIBE_WEB),
                ((8, 42, 31), DESCRIBE_WEB),
                ((9, 15, 12), DESCRIBE_WEB),
                ((9, 15, 40), LIST_WEB_OPERATIONS),
                ((10, 3, 2), DESCRIBE_WEB),
                ((10, 3, 9), DESCRIBE_WEB),
                ((10, 3, 51), LIST_WEB_OPERATIONS),
                ((10, 51, 20), DESCRIBE_WEB),
                ((10, 51, 44), LIST_WEB_OPERATIONS),
                ((11, 48, 3), DESCRIBE_WEB),
                ((11, 48, 19), DESCRIBE_WEB),
                ((11, 49, 2), LIST_WEB_OPERATIONS),
            ),
            duplicated=((10, 3, 9),),
        ),
        Call(  # and one S3 denial while looking for the deployment bucket
            actor=ALICE,
            at=(10, 4, 30),
            source="s3.amazonaws.com",
            name="GetBucketPolicy",
            request={
                "bucketName": "prod-web-assets-111122223333",
                "Host": "prod-web-assets-111122223333.s3.us-east-1.amazonaws.com",
                "policy": "",
            },
            refusal=Refusal("AccessDenied", ACCESS_DENIED, "s3:GetBucketPolicy"),
            resources=[
                {"accountId": PROD, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::prod-web-assets-111122223333"}
            ],
        ),
    ),
)

S2 = Scenario(
    key="2",
    title="CI: iam:PassRole on CreateService + StartDeployment on api",
    principal="AssumedRole, sessions `GitHubActions-run-12345`, `-12361`, `-12350`, `-12377`",
    detail=f"`CreateService` of service `billing` passes `{INSTANCE_ROLE_ARN}`; `StartDeployment` of `api`",
    conclusion=(
        "`iam:PassRole` on that role, with `iam:PassedToService: apprunner.amazonaws.com`, plus "
        "`apprunner:StartDeployment` on `api`. Notes: `CreateService` itself (`service/billing/*`) and PassRole of "
        "`AppRunnerECRAccessRole` may be refused next, but were not refused here"
    ),
    expect=Expect("grant", f"arn:aws:iam::{PROD}:role/GitHubActionsDeploy", PROD),
    steps=(
        Timeline(
            actor=CiWorkflow(12345, (9, 29, 44), "billing", "create"),
            form=IDENTITY,
            calls=(((9, 31, 44), _billing(12345)), ((9, 33, 2), _billing(12345))),
        ),
        Timeline(
            actor=CiWorkflow(12361, (13, 3, 37), "billing", "create"),
            form=IDENTITY,
            calls=(((13, 5, 37), _billing(12361)),),
        ),
        Timeline(
            actor=CiWorkflow(12350, (11, 0, 18), "api", "push"),
            form=IDENTITY,
            calls=(((11, 2, 18), START_API), ((11, 2, 49), START_API)),
        ),
        Timeline(
            actor=CiWorkflow(12377, (15, 38, 3), "api", "push"),
            form=IDENTITY,
            calls=(((15, 40, 3), START_API), ((15, 41, 10), START_API)),
            duplicated=((15, 41, 10),),
        ),
    ),
)

S3 = Scenario(
    key="3",
    title="Identity Center permission set (underscore in its name)",
    principal="AssumedRole of permission set `Developer_Access`, session `jane.doe@example.com`, console",
    detail="`UpdateService` on `web-staging`; 3 `ListServices` messages name no resource, 2 `on resource: *`",
    conclusion=(
        "add the actions to permission set `Developer_Access` (its name has an underscore); do not edit the role"
    ),
    expect=Expect(
        "permission_set",
        f"arn:aws:iam::{STAGING}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789",
        STAGING,
    ),
    steps=(
        Timeline(
            actor=JANE,
            form=IDENTITY,
            calls=(
                ((10, 12, 8), on("UpdateService", STAGE, instanceConfiguration={"cpu": "1024", "memory": "3072"})),
                ((10, 13, 30), on("UpdateService", STAGE, instanceConfiguration={"cpu": "1024", "memory": "3072"})),
                ((14, 47, 55), on("UpdateService", STAGE, instanceConfiguration={"cpu": "1024", "memory": "3072"})),
                ((9, 5, 1), LIST),
                ((9, 6, 14), LIST_ALL),
                ((11, 30, 22), LIST),
                ((14, 45, 3), LIST_ALL),
                ((16, 30, 40), LIST),
            ),
            duplicated=((11, 30, 22),),
        ),
    ),
)

_PARTNER = Later(
    lambda day: seen_by_owner(
        role_session(PARTNER, "PartnerReadOnly", "partner-sync", day.at(13, 19), "192.0.2.140", BOTO)
    )
)
S4A = Scenario(
    key="4a",
    title="cross-account from trusted partner (seen in the owner's log)",
    principal=(
        f"AWSAccount `{PARTNER}` in prod's log (principalId `AROA…:partner-sync`); "
        "the message names `assumed-role/PartnerReadOnly/partner-sync`"
    ),
    detail="on `web`, 13:20–17:03; App Runner has no resource-based policies",
    conclusion=(
        f"a role in {PROD} trusted by {PARTNER}, no `sts:ExternalId` when run with `--trusted-accounts {PARTNER}`; "
        "the caller needs `sts:AssumeRole`"
    ),
    expect=Expect("cross_account_role", f"arn:aws:iam::{PARTNER}:role/PartnerReadOnly", PROD),
    steps=(
        Timeline(
            actor=_PARTNER,
            form=RESOURCE,
            code="AccessDenied",
            recipient=PROD,
            calls=tuple(
                (clock, DESCRIBE_WEB) for clock in ((13, 20, 2), (13, 21, 15), (13, 25, 48), (17, 2, 9), (17, 3, 27))
            ),
        ),
    ),
)

_AUDITOR = Later(  # the session is named after the day of the audit
    lambda day: seen_by_owner(
        role_session(OUTSIDE, "ExternalAuditor", f"audit-{day.start:%Y-%m-%d}", day.at(4, 36), "192.0.2.201", CLI_MAC)
    )
)
S4B = Scenario(
    key="4b",
    title="cross-account from an account outside the organization",
    principal=f"AWSAccount `{OUTSIDE}` in prod's log (role `ExternalAuditor`, session `audit-2026-11-28`)",
    detail="`ListServices` with no resource, `DescribeService` on `api`, 04:37–04:39",
    conclusion=(
        f"a role that requires `sts:ExternalId`. Confirm who owns {OUTSIDE} before creating anything "
        "(04:37 UTC, unknown account). Only 2 distinct actions, so this is not reconnaissance"
    ),
    expect=Expect("cross_account_role", f"arn:aws:iam::{OUTSIDE}:role/ExternalAuditor", PROD),
    steps=(
        Timeline(actor=_AUDITOR, form=IDENTITY, recipient=PROD, calls=(((4, 37, 5), LIST), ((4, 37, 49), LIST))),
        Timeline(
            actor=_AUDITOR,
            form=RESOURCE,
            recipient=PROD,
            calls=(((4, 38, 11), DESCRIBE_API), ((4, 38, 40), DESCRIBE_API), ((4, 39, 22), DESCRIBE_API)),
        ),
    ),
)

_BOB = iam_user(PROD, "contractor-bob", "192.0.2.77", CLI_MAC)
S5 = Scenario(
    key="5",
    title="explicit deny in an identity-based policy (policy ARN named)",
    principal="IAMUser, on the CLI",
    detail="on `api`",
    conclusion="the guard rail worked; do not grant",
    expect=Expect("review_deny", f"arn:aws:iam::{PROD}:user/contractor-bob", PROD),
    steps=(
        Successes(
            _BOB,
            (15, 10, 4),
            ((APPRUNNER, "ListServices", US_EAST, None), (APPRUNNER, "DescribeService", US_EAST, {"serviceArn": API})),
            (3, 30),
        ),
        Timeline(
            actor=_BOB,
            form=GUARDRAIL,
            calls=(((15, 18, 33), on("DeleteService", API)), ((15, 19, 50), on("DeleteService", API))),
        ),
    ),
)

_ML_INFERENCE = Op(
    "CreateService",
    create_service("ml-inference", "public.ecr.aws/docker/library/python:3.12-slim", "8000", "2048", "4096"),
)
S6 = Scenario(
    key="6",
    title="service control policy (region lock)",
    principal="AssumedRole, session `priya.shah`",
    detail="of `ml-inference` in **eu-central-1**; no `on resource:` part",
    conclusion=(
        "do not grant; use an allowed region or ask the organization admins. "
        "(A lambda `ListFunctions` denial by the same SCP is in the same log.)"
    ),
    expect=Expect("org_policy", f"arn:aws:iam::{STAGING}:role/DataScience", STAGING),
    steps=(
        Timeline(
            actor=DATA_SCIENTIST,
            form=SCP,
            region="eu-central-1",
            calls=(((10, 44, 12), _ML_INFERENCE), ((10, 46, 3), _ML_INFERENCE)),
        ),
        Call(
            actor=DATA_SCIENTIST,
            at=(10, 47, 30),
            source="lambda.amazonaws.com",
            name="ListFunctions20150331",
            region="eu-central-1",
            refusal=Refusal("AccessDeniedException", SCP, "lambda:ListFunctions", "*"),
        ),
    ),
)

_OPERATOR = Later(
    lambda day: role_session(PROD, "ServiceOperator", "oncall-kim", day.at(17, 58), "198.51.100.61", CLI_MAC)
)
S7A = Scenario(
    key="7a",
    title="permissions boundary",
    principal="AssumedRole, session `oncall-kim`",
    detail="on `worker` (eu-west-1)",
    conclusion="change the boundary if pausing is intended; a grant alone does not help",
    expect=Expect("review_deny", f"arn:aws:iam::{PROD}:role/ServiceOperator", PROD),
    steps=(
        Successes(
            _OPERATOR,
            (18, 0, 40),
            (
                (APPRUNNER, "DescribeService", "eu-west-1", {"serviceArn": WORKER}),
                (APPRUNNER, "ListOperations", "eu-west-1", {"serviceArn": WORKER}),
            ),
            (5, 20),
        ),
        Timeline(
            actor=_OPERATOR,
            form=BOUNDARY,
            region="eu-west-1",
            calls=tuple((clock, on("PauseService", WORKER)) for clock in ((18, 5, 2), (18, 6, 15), (18, 10, 41))),
        ),
    ),
)

# The on-call engineer signs in with the SupportEngineer permission set, then assumes SupportAccess with an
# inline session policy that denies changes (the support runbook's guard rail).
_ENGINEER = Later(
    lambda day: sso_session(PROD, SSO_SUPPORT_ROLE, "sky.chen@example.com", day.at(20, 27), "198.51.100.88", CLI_MAC)
)
_SUPPORT = Later(lambda day: role_session(PROD, "SupportAccess", "case-4711", day.at(20, 28), "198.51.100.88", CLI_MAC))
_SUPPORT_ROLE = f"arn:aws:iam::{PROD}:role/SupportAccess"
_RUNBOOK_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["apprunner:Describe*", "apprunner:List*", "logs:FilterLogEvents"],
            "Resource": "*",
        },
        {"Effect": "Deny", "Action": ["apprunner:UpdateService", "apprunner:DeleteService"], "Resource": "*"},
    ],
}
S7B = Scenario(
    key="7b",
    title="session policy",
    principal=(
        "AssumedRole, session `case-4711`, assumed at 20:28 by an Identity Center SupportEngineer session "
        "with an inline session policy (see that `AssumeRole` record)"
    ),
    detail="on `web`",
    conclusion="the support runbook's session policy forbids changes; do not grant",
    expect=Expect("review_deny", _SUPPORT_ROLE, PROD),
    steps=(
        Call(
            actor=_ENGINEER,
            at=(20, 28, 0),
            source="sts.amazonaws.com",
            name="AssumeRole",
            request={
                "roleArn": _SUPPORT_ROLE,
                "roleSessionName": "case-4711",
                "policy": json.dumps(_RUNBOOK_POLICY, separators=(",", ":")),
                "durationSeconds": 3600,
            },
            response={
                "credentials": Issued(stable("ASIA", "support/case-4711", 16), (20, 28, 0)),
                "assumedRoleUser": assumed_role_user(PROD, "SupportAccess", "case-4711"),
                "packedPolicySize": 9,
            },
            resources=role_resource(_SUPPORT_ROLE),
        ),
        Successes(
            _SUPPORT,
            (20, 29, 10),
            (
                (APPRUNNER, "DescribeService", US_EAST, {"serviceArn": WEB}),
                (APPRUNNER, "ListOperations", US_EAST, {"serviceArn": WEB}),
                (
                    "logs.amazonaws.com",
                    "FilterLogEvents",
                    US_EAST,
                    {"logGroupName": "/aws/apprunner/web/service", "filterPattern": '"status=500"'},
                ),
            ),
            (6, 40),
        ),
        Timeline(
            actor=_SUPPORT,
            form=SESSION_DENY,
            calls=tuple(
                (clock, on("UpdateService", WEB, instanceConfiguration={"cpu": "2048", "memory": "4096"}))
                for clock in ((20, 31, 5), (20, 32, 44))
            ),
        ),
    ),
)

S7C = Scenario(
    key="7c",
    title="VPC endpoint policy",
    principal="AssumedRole, session `nightly-report`, through `vpcEndpointId` `vpce-0c3f5a7e9b1d2f468`",
    detail="on `web-staging`, 01:00, 01:30, 02:00",
    conclusion="fix the endpoint policy, not the role",
    expect=Expect("review_deny", f"arn:aws:iam::{STAGING}:role/BatchReporter", STAGING),
    steps=(
        Timeline(
            actor=Later(
                lambda day: role_session(
                    STAGING, "BatchReporter", "nightly-report", day.at(0, 59), "10.40.3.18", GO_SDK
                )
            ),
            form=ENDPOINT,
            vpce="vpce-0c3f5a7e9b1d2f468",
            calls=tuple((clock, on("ListOperations", STAGE)) for clock in ((1, 0, 4), (1, 30, 4), (2, 0, 5))),
        ),
    ),
)

_ROOT = Later(lambda day: root_console(STAGING, day.at(16, 2, 11), "203.0.113.9"))
S8 = Scenario(
    key="8",
    title="root user, old short form (no reason clause)",
    principal="Root, console, after a root `ConsoleLogin` at 16:02",
    detail="on `web-staging`, `errorCode` `AccessDenied`",
    conclusion="do not grant; root use should itself be looked at",
    expect=Expect("org_policy", f"arn:aws:iam::{STAGING}:root", STAGING),
    steps=(
        Call(
            actor=root_sign_in(STAGING, "203.0.113.9"),
            at=(16, 2, 11),
            source="signin.amazonaws.com",
            name="ConsoleLogin",
            event_type="AwsConsoleSignIn",
            response={"ConsoleLogin": "Success"},
            read_only=False,
            additional={
                "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                "MobileVersion": "No",
                "MFAIdentifier": f"arn:aws:iam::{STAGING}:mfa/root-account-mfa-device",
                "MFAUsed": "Yes",
            },
        ),
        Call(actor=_ROOT, at=(16, 4, 2), source=APPRUNNER, name="ListServices"),
        Timeline(
            actor=_ROOT,
            form=NoReason(),
            code="AccessDenied",
            calls=(((16, 5, 20), on("DeleteService", STAGE)), ((16, 6, 2), on("DeleteService", STAGE))),
        ),
    ),
)

S9 = Scenario(
    key="9",
    title="AWS service principal (automatic deployment)",
    principal="AWSService `apprunner.amazonaws.com` (`invokedBy`), in prod's log",
    detail="on `api`; the message names `apprunner.amazonaws.com` as the user",
    conclusion="an AWS service was refused; check the service's roles and configuration",
    expect=Expect("review_deny", None, PROD),
    steps=(
        Timeline(
            actor=aws_service("apprunner.amazonaws.com"),
            form=NoReason(),
            recipient=PROD,
            calls=(((11, 20, 31), START_API), ((15, 45, 12), START_API)),
        ),
    ),
)

_THIEF = iam_user(CI, "svc-legacy", "203.0.113.66", PYTHON_REQUESTS, tls_version="TLSv1.2")
_RECON_BASE = f"arn:aws:apprunner:us-east-1:{CI}"
_RECON_SERVICE = f"{_RECON_BASE}:service/app/4f2a9c1e7b3d4a58a6e0c2f4b8d1e3a5"
_DEFAULT = "DefaultConfiguration/1/00000000000000000000000000000001"  # the ARN AWS gives every account
_SCALING = f"{_RECON_BASE}:autoscalingconfiguration/{_DEFAULT}"
_OBSERVABILITY = f"{_RECON_BASE}:observabilityconfiguration/{_DEFAULT}"
_CONNECTOR = f"{_RECON_BASE}:vpcconnector/default/1/9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f"
_RECONNAISSANCE = (  # five calls are retried once
    *(LIST, LIST),
    Op("ListConnections"),
    Op("ListAutoScalingConfigurations"),
    Op("ListObservabilityConfigurations"),
    *(Op("ListVpcConnectors"),) * 2,
    Op("ListVpcIngressConnections"),
    *(on("DescribeService", _RECON_SERVICE),) * 2,
    *(on("ListOperations", _RECON_SERVICE),) * 2,
    *(Op("ListTagsForResource", {"resourceArn": _RECON_SERVICE}, _RECON_SERVICE),) * 2,
    on("DescribeCustomDomains", _RECON_SERVICE),
    Op("DescribeAutoScalingConfiguration", {"autoScalingConfigurationArn": _SCALING}, _SCALING),
    Op("DescribeObservabilityConfiguration", {"observabilityConfigurationArn": _OBSERVABILITY}, _OBSERVABILITY),
    Op("DescribeVpcConnector", {"vpcConnectorArn": _CONNECTOR}, _CONNECTOR),
    on("DescribeWebAclForService", _RECON_SERVICE),
)
S10 = Scenario(
    key="10",
    title="reconnaissance: 14 distinct actions in 4 minutes from 203.0.113.66",
    principal=(
        "IAMUser from **203.0.113.66**, `userAgent` `python-requests/2.31` "
        "(its normal use: 198.51.100.23, aws-cli, 01:05)"
    ),
    detail="from 02:14:07, a few seconds apart: the six `List*` that take only `*`, then one service and its settings",
    conclusion=(
        "no policy. Deactivate the key and look at the source IP. The same key was also refused for iam, ecr "
        "and ec2 (`RunInstances` p4d.24xlarge, encoded messages)"
    ),
    expect=Expect("investigate", f"arn:aws:iam::{CI}:user/svc-legacy", CI, notes=("source IPs 203.0.113.66",)),
    steps=(
        Call(actor=_THIEF, at=(2, 13, 51), source="sts.amazonaws.com", name="GetCallerIdentity"),
        Call(
            actor=_THIEF,
            at=(2, 13, 57),
            source="iam.amazonaws.com",
            name="ListAttachedUserPolicies",
            request={"userName": "svc-legacy"},
            refusal=Refusal("AccessDenied", IDENTITY, "iam:ListAttachedUserPolicies", _THIEF.arn),
        ),
        Paced(actor=_THIEF, form=IDENTITY, start=(2, 14, 7), gap=(5, 13), calls=_RECONNAISSANCE),
        Call(
            actor=_THIEF,
            at=After(4),
            source="ecr.amazonaws.com",
            name="DescribeRepositories",
            refusal=Refusal(
                "AccessDeniedException",
                IDENTITY,
                "ecr:DescribeRepositories",
                f"arn:aws:ecr:us-east-1:{CI}:repository/*",
            ),
        ),
        Call(  # the same stolen key tries EC2 (encoded authorization failure messages)
            actor=_THIEF,
            at=After(19),
            source="ec2.amazonaws.com",
            name="DescribeInstances",
            request={"instancesSet": {}, "filterSet": {}},
            refusal=Refusal("Client.UnauthorizedOperation", Encoded(IDENTITY), "ec2:DescribeInstances"),
        ),
        Call(
            actor=_THIEF,
            at=After(27),
            source="ec2.amazonaws.com",
            name="RunInstances",
            request={
                "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
                "instanceType": "p4d.24xlarge",
            },
            refusal=Refusal("Client.UnauthorizedOperation", Encoded(), "ec2:RunInstances"),
            read_only=False,
        ),
    ),
)

S11A = Scenario(
    key="11a",
    title="'Access Denied' only",
    principal="IAMUser, on the CLI",
    detail="on `web-staging`, `errorCode` `AccessDenied`",
    conclusion="low confidence, two events",
    expect=Expect("grant", f"arn:aws:iam::{STAGING}:user/ops-intern", STAGING),
    steps=(
        Timeline(
            actor=iam_user(STAGING, "ops-intern", "203.0.113.30", CLI_MAC),
            form=ACCESS_DENIED,
            code="AccessDenied",
            calls=(((12, 10, 4), DESCRIBE_STAGE), ((12, 11, 38), DESCRIBE_STAGE)),
        ),
    ),
)

S11B = Scenario(
    key="11b",
    title="no errorMessage at all (one at 23:58, delivered 2026-11-29)",
    principal="AssumedRole, session `jenkins-build`",
    detail=(
        "on `api`, at 07:15 and 23:58:41 (the second is delivered in `2026/11/29`); the action comes from the "
        "event, the resource from `requestParameters.serviceArn`"
    ),
    conclusion="low confidence",
    expect=Expect("grant", f"arn:aws:iam::{PROD}:role/LegacyJenkins", PROD),
    steps=(
        Timeline(
            actor=Later(
                lambda day: role_session(PROD, "LegacyJenkins", "jenkins-build", day.at(7, 14), "10.10.4.20", JENKINS)
            ),
            form=NoMessage(),
            calls=(((7, 15, 33), on("ListOperations", API)),),
        ),
        Timeline(
            actor=Later(
                lambda day: role_session(PROD, "LegacyJenkins", "jenkins-build", day.at(23, 40), "10.10.4.20", JENKINS)
            ),
            form=NoMessage(),
            late=0,
            calls=(((23, 58, 41), on("ListOperations", API)),),
        ),
    ),
)

S11C = Scenario(
    key="11c",
    title="'on the specified resource'",
    principal="IAMUser, on the CLI",
    detail="on `web-staging`",
    conclusion="low confidence, one event",
    expect=Expect("grant", f"arn:aws:iam::{STAGING}:user/dev-carol", STAGING),
    steps=(
        Timeline(
            actor=iam_user(STAGING, "dev-carol", "203.0.113.42", CLI_MAC),
            form=SpecifiedResource(),
            calls=(((13, 50, 17), on("ResumeService", STAGE)),),
        ),
    ),
)

_TERRAFORM_ROLE = "PlatformTerraformApplyRole-AppRunnerProvisioning-prod-use1"
_TERRAFORM = Later(  # the session is named after the moment the apply started
    lambda day: role_session(
        PROD,
        _TERRAFORM_ROLE,
        f"terraform-apply-platform-apprunner-{day.at(19, 10, 15):%Y%m%dT%H%M%SZ}-4f1c2a9e",
        day.at(19, 10, 15),
        "10.10.8.31",
        TERRAFORM,
    )
)
_REPORTS_ROLE = (
    f"arn:aws:iam::{PROD}:role/service-role/apprunner/instance-roles/production/us-east-1/"
    "AppRunnerInstanceRole-reports-production"
)
# IAM allows policy paths of 512 characters and names of 128: generated guardrails get long.
_LONG_GUARDRAIL = (
    f"arn:aws:iam::{PROD}:policy/guardrails/org-baseline/v3/platform-engineering/"
    "terraform-pipelines/apprunner/pass-role-restrictions/production/us-east-1/"
    "approved-instance-role-paths/service-role/apprunner/instance-roles/production/"
    "managed-by/platform-terraform-automation/stack/platform-apprunner-stack/"
    "owner/platform-engineering-team/cost-center/cc-4410/compliance/soc2-type2/"
    "change-ticket/CHG-2026-11-0042/generated-by/guardrail-compiler-v2-7-1/"
    "enforced-since/2026-06-01/review-cycle/quarterly/2026-q4/exceptions/none/scope/region/"
    "DenyPassRoleOutsideApprovedInstanceRolePathsForTerraformPipelinesInProductionAccountsExcept"
    "BreakGlass"
)
_REPORTS = create_service(
    "reports",
    f"{PROD}.dkr.ecr.us-east-1.amazonaws.com/reports:1.4.2",
    "8080",
    "1024",
    "2048",
    auto=True,
    access_role=ECR_ACCESS_ROLE_ARN,
    instance_role=_REPORTS_ROLE,
)
S11D = Scenario(
    key="11d",
    title="message cut at 1,024 characters ending in '...'",
    principal="AssumedRole, session `terraform-apply-platform-apprunner-…`",
    detail="`CreateService` of `reports` passes `…/AppRunnerInstanceRole-reports-production` (a long role path)",
    conclusion="flag the truncated message; the policy name is incomplete",
    expect=Expect("review_deny", f"arn:aws:iam::{PROD}:role/{_TERRAFORM_ROLE}", PROD, notes=("cut at about 1,024",)),
    steps=(
        Successes(
            _TERRAFORM,
            (19, 11, 2),
            ((APPRUNNER, "ListServices", US_EAST, None), (APPRUNNER, "ListAutoScalingConfigurations", US_EAST, None)),
            (1, 3),
        ),
        Timeline(
            actor=_TERRAFORM,
            form=Truncated(ExplicitDeny("identity-based policy", "explicit_identity_deny", _LONG_GUARDRAIL)),
            calls=(((19, 12, 6), Op("CreateService", _REPORTS, _REPORTS_ROLE, action="iam:PassRole")),),
        ),
    ),
)

S11E = Scenario(
    key="11e",
    title="FederatedUser (GetFederationToken), no session policy allows",
    principal=(
        f"FederatedUser `arn:aws:sts::{PROD}:federated-user/bob`; `GetFederationToken` at 09:50 passed "
        "`FederatedS3ReadOnly` as session policy"
    ),
    detail="on `api`",
    conclusion="request a token with a session policy that allows it",
    expect=Expect("review_deny", f"arn:aws:iam::{PROD}:user/bob", PROD),
    steps=(
        Call(
            actor=iam_user(PROD, "bob", "198.51.100.33", CLI_MAC),
            at=(9, 50, 2),
            source="sts.amazonaws.com",
            name="GetFederationToken",
            request={
                "name": "bob",
                "durationSeconds": 3600,
                "policyArns": [{"arn": f"arn:aws:iam::{PROD}:policy/FederatedS3ReadOnly"}],
            },
            response={
                "credentials": Issued(stable("ASIA", "federated/bob", 16), (9, 50, 2)),
                "federatedUser": {"federatedUserId": f"{PROD}:bob", "arn": f"arn:aws:sts::{PROD}:federated-user/bob"},
                "packedPolicySize": 6,
            },
        ),
        Timeline(
            actor=Later(lambda day: federated_user(PROD, "bob", "bob", day.at(9, 50, 2), "198.51.100.33", CLI_MAC)),
            form=SESSION,
            calls=(((9, 52, 14), DESCRIBE_API), ((9, 53, 1), DESCRIBE_API)),
        ),
    ),
)

_MARIA = "maria.garcia@example.com"
_ADFS_ROLE = f"arn:aws:iam::{STAGING}:role/ADFS-ReadOnly"
_ADFS_PROVIDER = f"arn:aws:iam::{STAGING}:saml-provider/ADFS"
_MARIA_SESSION = f"arn:aws:sts::{STAGING}:assumed-role/ADFS-ReadOnly/{_MARIA}"
_MARIA_SIGN_IN = saml_user(_MARIA, "AWS Internal", "aws-internal/3 aws-sdk-java/1.12.779", _MARIA_SESSION)
S11F = Scenario(
    key="11f",
    title="SAMLUser",
    principal=f"SAMLUser `{_MARIA}`; the message names `assumed-role/ADFS-ReadOnly/…`",
    conclusion="`ListServices` (`*`) to `ADFS-ReadOnly` (low confidence)",
    expect=Expect("grant", _ADFS_ROLE, STAGING),
    steps=(
        Call(
            actor=_MARIA_SIGN_IN,
            at=(8, 14, 20),
            source="sts.amazonaws.com",
            name="AssumeRoleWithSAML",
            recipient=STAGING,
            request={
                "sAMLAssertionID": Drawn(32, prefix="_"),
                "roleSessionName": _MARIA,
                "roleArn": _ADFS_ROLE,
                "principalArn": _ADFS_PROVIDER,
                "durationSeconds": 3600,
            },
            response={
                "credentials": Issued(stable("ASIA", "saml/maria", 16), (8, 14, 20)),
                "assumedRoleUser": assumed_role_user(STAGING, "ADFS-ReadOnly", _MARIA),
                "subject": _MARIA,
                "subjectType": "persistent",
                "issuer": "http://adfs.example.com/adfs/services/trust",
                "audience": "https://signin.aws.amazon.com/saml",
                "nameQualifier": SAML_QUALIFIER,
            },
            resources=[
                *role_resource(_ADFS_ROLE),
                {"accountId": STAGING, "type": "AWS::IAM::SAMLProvider", "ARN": _ADFS_PROVIDER},
            ],
        ),
        Timeline(
            actor=replace(_MARIA_SIGN_IN, ip="203.0.113.77", agent=CONSOLE),
            form=IDENTITY,
            recipient=STAGING,
            calls=(((8, 15, 2), LIST),),
        ),
    ),
)

_DOCS_PREVIEW = f"arn:aws:sts::{CI}:assumed-role/GitHubDocsPreview/GitHubActions"
S11G = Scenario(
    key="11g",
    title="WebIdentityUser",
    principal=(
        "WebIdentityUser `repo:example-org/docs:ref:refs/heads/main`; "
        "the message names `assumed-role/GitHubDocsPreview/GitHubActions`"
    ),
    detail="`on resource: *`",
    conclusion="`ListServices` (`*`) to `GitHubDocsPreview` (low confidence)",
    expect=Expect("grant", f"arn:aws:iam::{CI}:role/GitHubDocsPreview", CI),
    steps=(
        Timeline(
            actor=web_identity_user(
                "repo:example-org/docs:ref:refs/heads/main", "20.57.43.112", JS_ACTION, _DOCS_PREVIEW
            ),
            form=IDENTITY,
            recipient=CI,
            calls=(((12, 40, 26), LIST_ALL),),
        ),
    ),
)

SCENARIOS = (S1, S2, S3, S4A, S4B, S5, S6, S7A, S7B, S7C, S8, S9, S10, S11A, S11B, S11C, S11D, S11E, S11F, S11G)
