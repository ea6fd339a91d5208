"""People at work: console sessions and the CLI, mostly successes (their denials are the scenarios)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .actors import Actor, identity_center_user, sso_session
from .cast import ALICE, DATA_SCIENTIST, JANE, SVC_LEGACY
from .engine import Api, Day
from .plan import Later
from .records import APPRUNNER
from .world import (
    CONSOLE,
    PROD,
    SECURITY,
    SSO_ADMIN_ROLE,
    SSO_SECURITY_ROLE,
    STAGING,
    US_EAST,
    service_arn,
)


@dataclass(frozen=True)
class Routine:
    """Someone's sessions: at each start, a burst of calls ``gap`` seconds apart."""

    actor: Actor | Later
    starts: tuple[tuple[int, int], ...]  # hour, minute
    second: int | tuple[int, int]  # the start's second: fixed, or drawn from this range
    calls: tuple[Api, ...]
    gap: tuple[int, int]
    pick: tuple[int, int] | None = None  # draw this many of the calls, in random order; None: all, in order


WEB, API, STAGE = service_arn("web"), service_arn("api"), service_arn("web-staging")
STAGE_LOGS = "/aws/apprunner/web-staging/service"
TRAIL_LOOKUP = {
    "lookupAttributes": [{"attributeKey": "EventSource", "attributeValue": "apprunner.amazonaws.com"}],
    "maxResults": 50,
}
GUARDDUTY = {"detectorId": "a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2", "maxResults": 50}

PROD_ROUTINES = (
    Routine(  # an administrator in prod through Identity Center (console)
        Later(
            lambda day: sso_session(
                PROD, SSO_ADMIN_ROLE, "ops.lead@example.com", day.at(8, 9), "198.51.100.14", CONSOLE
            )
        ),
        ((8, 10), (9, 40), (11, 15), (13, 30), (15, 10), (16, 45)),
        (0, 59),
        (
            (APPRUNNER, "ListServices", US_EAST, None),
            (APPRUNNER, "DescribeService", US_EAST, {"serviceArn": WEB}),
            (APPRUNNER, "ListOperations", US_EAST, {"serviceArn": WEB, "maxResults": 20}),
            (APPRUNNER, "DescribeService", US_EAST, {"serviceArn": API}),
            ("logs.amazonaws.com", "DescribeLogGroups", US_EAST, {"logGroupNamePrefix": "/aws/apprunner/web"}),
            ("monitoring.amazonaws.com", "DescribeAlarms", US_EAST, None),
            (APPRUNNER, "ListServices", "eu-west-1", None),
            (APPRUNNER, "DescribeService", "eu-west-1", {"serviceArn": service_arn("worker")}),
            ("cloudtrail.amazonaws.com", "LookupEvents", US_EAST, TRAIL_LOOKUP),
            ("iam.amazonaws.com", "GetRole", US_EAST, {"roleName": "AppRunnerInstanceRole"}),
        ),
        (3, 25),
        pick=(6, 10),
    ),
    Routine(  # dev-alice on the CLI (her App Runner denials are scenario 1)
        ALICE,
        ((8, 38), (9, 12), (10, 0), (10, 48), (11, 45), (14, 20), (16, 2)),
        (0, 59),
        (
            ("sts.amazonaws.com", "GetCallerIdentity", US_EAST, None),
            ("lambda.amazonaws.com", "ListFunctions20150331", US_EAST, None),
            (
                "logs.amazonaws.com",
                "FilterLogEvents",
                US_EAST,
                {"logGroupName": "/aws/apprunner/web/service", "filterPattern": "ERROR", "limit": 100},
            ),
            ("s3.amazonaws.com", "ListBuckets", US_EAST, {"Host": "s3.us-east-1.amazonaws.com"}),
            ("ec2.amazonaws.com", "DescribeInstances", US_EAST, {"instancesSet": {}, "filterSet": {}}),
            ("dynamodb.amazonaws.com", "ListTables", US_EAST, None),
            ("ecr.amazonaws.com", "DescribeImages", US_EAST, {"repositoryName": "web"}),
        ),
        (2, 20),
        pick=(3, 6),
    ),
)
STAGING_AND_SECURITY_ROUTINES = (
    Routine(  # the staging developer through Identity Center (her denials are scenario 3)
        JANE,
        ((9, 4), (10, 9), (11, 29), (14, 44), (16, 29)),
        (0, 30),
        (
            (APPRUNNER, "DescribeService", US_EAST, {"serviceArn": STAGE}),
            (APPRUNNER, "ListOperations", US_EAST, {"serviceArn": STAGE}),
            (APPRUNNER, "ListTagsForResource", US_EAST, {"resourceArn": STAGE}),
            (
                "logs.amazonaws.com",
                "DescribeLogStreams",
                US_EAST,
                {"logGroupName": STAGE_LOGS, "orderBy": "LastEventTime"},
            ),
            ("logs.amazonaws.com", "GetLogEvents", US_EAST, {"logGroupName": STAGE_LOGS, "startFromHead": False}),
            ("monitoring.amazonaws.com", "DescribeAlarms", US_EAST, None),
        ),
        (4, 30),
        pick=(3, 6),
    ),
    Routine(  # the DataScience role in staging
        DATA_SCIENTIST,
        ((10, 21), (13, 2), (15, 33)),
        12,
        (
            ("s3.amazonaws.com", "ListBuckets", US_EAST, {"Host": "s3.us-east-1.amazonaws.com"}),
            ("sagemaker.amazonaws.com", "ListNotebookInstances", US_EAST, None),
            ("athena.amazonaws.com", "ListWorkGroups", US_EAST, None),
            ("glue.amazonaws.com", "GetDatabases", US_EAST, None),
        ),
        (2, 15),
    ),
    Routine(  # the security team through Identity Center in the management account
        Later(
            lambda day: sso_session(
                SECURITY, SSO_SECURITY_ROLE, "sam.rivera@example.com", day.at(9, 28), "198.51.100.90", CONSOLE
            )
        ),
        ((9, 29), (14, 2)),
        30,
        (
            ("organizations.amazonaws.com", "ListPolicies", US_EAST, {"filter": "SERVICE_CONTROL_POLICY"}),
            ("organizations.amazonaws.com", "DescribePolicy", US_EAST, {"policyId": "p-regionlock1"}),
            ("guardduty.amazonaws.com", "ListFindings", US_EAST, GUARDDUTY),
            ("securityhub.amazonaws.com", "GetFindings", US_EAST, {"maxResults": 100}),
            ("cloudtrail.amazonaws.com", "DescribeTrails", US_EAST, {"includeShadowTrails": True}),
        ),
        (5, 40),
    ),
)
# Identity Center portal sign-ins: user ID, time, permission set, account, address
PORTAL = (
    ("94d00cd8-e9e6-4810-b177-b08e84775435", (8, 8, 40), "AdministratorAccess", PROD, "198.51.100.14"),
    ("544894e8-80c1-707f-60e3-3ba6510dfac1", (9, 2, 51), "Developer_Access", STAGING, "203.0.113.24"),
    ("c1a2b3d4-0e1f-4a5b-8c9d-7e6f5a4b3c2d", (9, 27, 33), "SecurityAudit", SECURITY, "198.51.100.90"),
    ("5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c", (20, 27, 9), "SupportEngineer", PROD, "198.51.100.88"),
)
BACKUP: tuple[Api, ...] = (  # svc-legacy's legitimate nightly backup from the build server
    ("s3.amazonaws.com", "ListBuckets", US_EAST, {"Host": "s3.amazonaws.com"}),
    (
        "s3.amazonaws.com",
        "GetBucketLocation",
        US_EAST,
        {"bucketName": "ci-artifacts-777788889999", "Host": "s3.amazonaws.com", "location": ""},
    ),
    ("ecr.amazonaws.com", "GetAuthorizationToken", US_EAST, None),
)


def people(day: Day) -> None:
    for routine in PROD_ROUTINES:
        run_routine(day, routine)
    missing = f"Function not found: arn:aws:lambda:us-east-1:{PROD}:function:thumbnailer"
    day.call(
        ALICE,
        day.at(14, 24, 5),
        "lambda.amazonaws.com",
        "GetFunction20150331v2",
        US_EAST,
        request={"functionName": "thumbnailer"},
        error=("ResourceNotFoundException", missing),
    )
    for routine in STAGING_AND_SECURITY_ROUTINES:
        run_routine(day, routine)
    for user, clock, permission_set, account, ip in PORTAL:
        portal_sign_in(day, identity_center_user(user, ip), day.at(*clock), permission_set, account)
    day.burst(SVC_LEGACY, day.at(1, 5, 12), BACKUP, (1, 5))


def run_routine(day: Day, routine: Routine) -> None:
    actor = routine.actor.build(day) if isinstance(routine.actor, Later) else routine.actor
    for hour, minute in routine.starts:
        second = routine.second if isinstance(routine.second, int) else day.rng.randint(*routine.second)
        calls = routine.calls if routine.pick is None else day.rng.sample(routine.calls, day.rng.randint(*routine.pick))
        day.burst(actor, day.at(hour, minute, second), calls, routine.gap)


def portal_sign_in(day: Day, person: Actor, start: datetime, permission_set: str, account: str) -> None:
    """The access portal: list accounts, list the account's roles, get the permission set's credentials."""
    sso = "sso.amazonaws.com"
    day.call(person, start, sso, "ListAccounts", US_EAST, request=None)
    day.call(person, start + timedelta(seconds=4), sso, "ListAccountRoles", US_EAST, request={"accountId": account})
    request = {"accountId": account, "roleName": permission_set}
    day.call(person, start + timedelta(seconds=9), sso, "GetRoleCredentials", US_EAST, request=request)
