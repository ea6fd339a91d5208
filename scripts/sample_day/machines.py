"""Machine traffic, mostly successes: App Runner's runtime, AWS Config, the security scanner, jobs, CI runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .actors import Actor, aws_service, role_session
from .ci import ci_run
from .engine import Api, Day
from .records import APPRUNNER
from .world import (
    APP_SERVICES,
    BOTO_LAMBDA,
    CI,
    CLI_OLD,
    DELETED_SERVICE_ARN,
    GO_SDK,
    PROD,
    SECURITY,
    SSM_AGENT,
    STAGING,
    TRAIL_BUCKET,
    US_EAST,
    service_arn,
    stable,
)

# service -> (its secret, its parameter, minutes between the app's calls)
RUNTIME = {
    "web": ("web/session-key", "/web/feature-flags", 6),
    "api": ("api/db-credentials", "/api/config", 7),
    "worker": ("worker/queue-credentials", "/worker/config", 9),
    "web-staging": ("staging/web/session-key", "/web-staging/feature-flags", 10),
}
EC2_SECURITY_GROUPS: dict[str, Any] = {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}
EC2_INSTANCES: dict[str, Any] = {"instancesSet": {}, "filterSet": {}}
THROTTLED = ("ThrottlingException", "Rate exceeded")
DELETED = ("ResourceNotFoundException", f"Service with the provided ARN doesn't exist: {DELETED_SERVICE_ARN}")
LIST_BUCKETS = ("s3.amazonaws.com", "ListBuckets", US_EAST, {"Host": "s3.amazonaws.com"})


def machines(day: Day) -> None:
    for name, (account, region, _) in APP_SERVICES.items():
        app_runner_runtime(day, name, account, region)
    config_recorder(day)
    security_audit(day)
    trail_bucket_checks(day)
    invoice_exporter(day)
    build_hosts(day)
    cache_warmer(day)


def app_runner_runtime(day: Day, name: str, account: str, region: str) -> None:
    """App Runner assumes the service's instance role hourly; the app calls KMS, Secrets Manager, SSM."""
    step = RUNTIME[name][2]
    start = day.start - timedelta(minutes=4) if name == "web" else day.start
    session = ip = ""
    created = start
    when = day.jitter(start, 60)
    while when < day.end:
        if not session or when - created > timedelta(hours=1):
            created, session, ip = when, day.hex(32), day.ip(3, (80, 95))
            _assume_instance_role(day, when, account, region, session)
        app = role_session(account, "AppRunnerInstanceRole", session, created, ip, f"{GO_SDK} api/kms#1.37.6")
        _app_calls(day, app, when, name, region)
        when += timedelta(minutes=step, seconds=day.rng.randint(-90, 90))


def _assume_instance_role(day: Day, when: datetime, account: str, region: str, session: str) -> None:
    role_arn = f"arn:aws:iam::{account}:role/AppRunnerInstanceRole"
    key = stable("ASIA", session, 16)
    tasks = aws_service("tasks.apprunner.amazonaws.com")
    day.assume_role(tasks, when, role_arn, session, key, region, recipient=account, shared=day.uuid4())


def _app_calls(day: Day, app: Actor, when: datetime, name: str, region: str) -> None:
    """One to three of: read the secret (KMS + Secrets Manager), read parameters, put a metric."""
    secret, parameter, _ = RUNTIME[name]
    account = app.account
    key_arn = f"arn:aws:kms:{region}:{account}:key/{stable('', 'kms/' + name, 8).lower()}-3f2a-4c1d-9e8b"
    for what in day.rng.sample(("secret", "parameters", "metrics", "secret"), day.rng.randint(1, 3)):
        when += timedelta(seconds=day.rng.randint(0, 40))
        if when >= day.end:  # the day ends here
            break
        if what == "secret":
            request: dict[str, Any]
            context = {"SecretARN": f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}-AbCdEf"}
            request = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": context}
            resources = [{"accountId": account or "", "type": "AWS::KMS::Key", "ARN": key_arn}]
            day.call(app, when, "kms.amazonaws.com", "Decrypt", region, request=request, resources=resources)
            later = when + timedelta(seconds=1)
            day.call(app, later, "secretsmanager.amazonaws.com", "GetSecretValue", region, request={"secretId": secret})
        elif what == "parameters":
            error = THROTTLED if day.rng.random() < 0.04 else None
            request = {"names": [parameter], "withDecryption": True}
            day.call(app, when, "ssm.amazonaws.com", "GetParameters", region, request=request, error=error)
        else:
            metric = {"metricName": "QueueDepth" if name == "worker" else "ActiveSessions", "unit": "Count"}
            request = {"namespace": f"App/{name}", "metricData": [metric]}
            day.call(app, when, "monitoring.amazonaws.com", "PutMetricData", region, request=request)


def config_recorder(day: Day) -> None:
    """AWS Config's service-linked role describing resources, hourly; some throttling and a deleted service."""
    plans = [(PROD, US_EAST, ["web", "api"]), (PROD, "eu-west-1", ["worker"]), (STAGING, US_EAST, ["web-staging"])]
    for account, region, services in plans:
        for hour in range(24):
            when = day.jitter(day.at(hour, 22), 240)
            config = role_session(
                account,
                "AWSServiceRoleForConfig",
                "AWSConfig-Describe",
                when - timedelta(minutes=3),
                "",
                "",
                path="/aws-service-role/config.amazonaws.com/",
                invoked_by="config.amazonaws.com",
            )
            last = day.burst(config, when, _config_calls(region, services), (1, 4))
            _config_errors(day, config, last, hour, region, services[0])


def _config_errors(day: Day, config: Actor, last: datetime, hour: int, region: str, service: str) -> None:
    """Describing the deleted web-old fails until 06:00; a few hours are throttled."""
    if config.account == PROD and region == US_EAST and hour < 6:
        request = {"serviceArn": DELETED_SERVICE_ARN}
        day.call(config, last, APPRUNNER, "DescribeService", region, request=request, error=DELETED)
    if hour % 7 == 3:
        request = {"serviceArn": service_arn(service)}
        later = last + timedelta(seconds=1)
        day.call(config, later, APPRUNNER, "ListOperations", region, request=request, error=THROTTLED)


def _config_calls(region: str, services: list[str]) -> list[Api]:
    calls: list[Api] = [
        ("ec2.amazonaws.com", "DescribeSecurityGroups", region, EC2_SECURITY_GROUPS),
        ("ec2.amazonaws.com", "DescribeVpcs", region, {"vpcSet": {}, "filterSet": {}}),
        ("ec2.amazonaws.com", "DescribeSubnets", region, {"subnetSet": {}, "filterSet": {}}),
        ("ec2.amazonaws.com", "DescribeNetworkInterfaces", region, {"networkInterfaceIdSet": {}, "filterSet": {}}),
    ]
    for name in services:
        calls.append((APPRUNNER, "DescribeService", region, {"serviceArn": service_arn(name)}))
        calls.append((APPRUNNER, "ListTagsForResource", region, {"resourceArn": service_arn(name)}))
    return calls


def security_audit(day: Day) -> None:
    """A scanner Lambda in the security account assumes OrgSecurityAudit in each member, hourly."""
    scanner_created = day.at(0, 4)
    for hour in range(24):
        start = day.jitter(day.at(hour, 7), 90)
        if start - scanner_created > timedelta(hours=1):
            scanner_created = start - timedelta(seconds=5)
        ip = day.ip(54, (160, 170))
        scanner = role_session(
            SECURITY, "SecurityAuditScanner", "SecurityAuditScanner", scanner_created, ip, BOTO_LAMBDA
        )
        day.call(scanner, start, "organizations.amazonaws.com", "ListAccounts", US_EAST, request=None)
        when = start + timedelta(seconds=2)
        for account in (PROD, STAGING, CI):
            session = f"security-scan-{hour:02d}00"
            day.cross_account_assume(scanner, when, f"arn:aws:iam::{account}:role/OrgSecurityAudit", session)
            audit = role_session(account, "OrgSecurityAudit", session, when, scanner.ip, BOTO_LAMBDA)
            when = day.burst(audit, when + timedelta(seconds=1), _audit_calls(account, hour), (0, 2))


def _audit_calls(account: str, hour: int) -> list[Api]:
    regions = [US_EAST, "eu-west-1"] if account == PROD else [US_EAST]
    if hour == 3:  # daily sweep of the other enabled regions
        regions += ["us-west-2", "eu-central-1"]
    calls: list[Api] = [
        ("iam.amazonaws.com", "ListRoles", US_EAST, None),
        ("iam.amazonaws.com", "ListUsers", US_EAST, None),
        ("s3.amazonaws.com", "ListBuckets", US_EAST, {"Host": "s3.us-east-1.amazonaws.com"}),
    ]
    if hour % 6 == 0:
        details = {"filter": ["User", "Role", "Group", "LocalManagedPolicy"]}
        calls.append(("iam.amazonaws.com", "GetAccountAuthorizationDetails", US_EAST, details))
    for region in regions:
        calls.append(("ec2.amazonaws.com", "DescribeInstances", region, EC2_INSTANCES))
        calls.append(("ec2.amazonaws.com", "DescribeSecurityGroups", region, EC2_SECURITY_GROUPS))
        if region in (US_EAST, "eu-west-1"):
            calls.append((APPRUNNER, "ListServices", region, None))
            for name, (owner, home, _) in APP_SERVICES.items():
                if (owner, home) == (account, region):
                    calls.append((APPRUNNER, "DescribeService", region, {"serviceArn": service_arn(name)}))
    return calls


def trail_bucket_checks(day: Day) -> None:
    """CloudTrail itself checks the organization trail bucket's ACL (AWSService caller)."""
    cloudtrail = aws_service("cloudtrail.amazonaws.com")
    transfer = {"bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "bytesTransferredOut": 552}
    for hour in range(0, 24, 2):
        day.call(
            cloudtrail,
            day.jitter(day.at(hour, 41), 200),
            "s3.amazonaws.com",
            "GetBucketAcl",
            US_EAST,
            recipient=SECURITY,
            request={"bucketName": TRAIL_BUCKET, "Host": f"{TRAIL_BUCKET}.s3.us-east-1.amazonaws.com", "acl": ""},
            additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", **transfer},
            resources=[{"accountId": SECURITY, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{TRAIL_BUCKET}"}],
            shared=day.uuid4(),
        )


@dataclass(frozen=True)
class Schedule:
    """A job run ``runs`` times, every ``every`` from ``offset`` past midnight, up to ``jitter`` seconds late.

    Its session lasts ``lifetime`` and is renewed ``lead`` before the run that finds it expired.
    """

    runs: int
    every: timedelta
    offset: timedelta
    jitter: int
    lifetime: timedelta = timedelta(hours=1)
    lead: timedelta = timedelta(seconds=1)

    def times(self, day: Day) -> Iterator[tuple[int, datetime, datetime]]:
        """(run number, when it runs, when its session began)."""
        created = day.start
        for step in range(self.runs):
            when = day.jitter(day.start + self.offset + self.every * step, self.jitter)
            if step == 0 or when - created > self.lifetime:
                created = when - self.lead
            yield step, when, created


MINUTE = timedelta(minutes=1)
INVOICE_EXPORTER = Schedule(96, every=15 * MINUTE, offset=3 * MINUTE, jitter=40)
BUILD_AGENT = Schedule(
    48, every=30 * MINUTE, offset=9 * MINUTE, jitter=120, lifetime=timedelta(hours=6), lead=2 * MINUTE
)
CACHE_WARMER = Schedule(72, every=20 * MINUTE, offset=11 * MINUTE, jitter=60)


def invoice_exporter(day: Day) -> None:
    """A Lambda in prod every 15 minutes: DynamoDB, KMS and, hourly, a new log stream."""
    for quarter, when, created in INVOICE_EXPORTER.times(day):
        job = role_session(PROD, "invoice-exporter-role", "invoice-exporter", created, "44.211.17.90", BOTO_LAMBDA)
        table = "invoices" if quarter % 19 else "invoices-v1"
        error = None
        if table == "invoices-v1":
            error = ("ResourceNotFoundException", f"Requested resource not found: Table: {table} not found")
        day.call(
            job, when, "dynamodb.amazonaws.com", "DescribeTable", US_EAST, request={"tableName": table}, error=error
        )
        key = {"keyId": "alias/invoice-exports", "keySpec": "AES_256"}
        day.call(job, when + timedelta(seconds=1), "kms.amazonaws.com", "GenerateDataKey", US_EAST, request=key)
        if quarter % 4 == 1:
            stream = f"{day.start:%Y/%m/%d}/[$LATEST]{day.hex(32)}"
            request = {"logGroupName": "/aws/lambda/invoice-exporter", "logStreamName": stream}
            day.call(
                job, when + timedelta(seconds=2), "logs.amazonaws.com", "CreateLogStream", US_EAST, request=request
            )


def build_hosts(day: Day) -> None:
    """SSM agents on two CI build hosts every 30 minutes, and the builds they run."""
    for host, instance in (("10.20.1.17", "i-0a1b2c3d4e5f60718"), ("10.20.2.41", "i-0f9e8d7c6b5a40312")):
        for step, when, created in BUILD_AGENT.times(day):
            agent = role_session(CI, "BuildAgentRole", instance, created, host, SSM_AGENT)
            _agent_heartbeat(day, agent, when, instance, step)
            build = replace(agent, agent=CLI_OLD)
            calls = [("ecr.amazonaws.com", "GetAuthorizationToken", US_EAST, None), LIST_BUCKETS]
            day.burst(build, when + timedelta(seconds=day.rng.randint(20, 90)), calls, (1, 4))


def _agent_heartbeat(day: Day, agent: Actor, when: datetime, instance: str, step: int) -> None:
    request: dict[str, Any] = {
        "instanceId": instance,
        "agentVersion": "3.3.1142.0",
        "agentStatus": "Active",
        "platformType": "Linux",
        "platformName": "Ubuntu",
        "platformVersion": "24.04",
    }
    day.call(agent, when, "ssm.amazonaws.com", "UpdateInstanceInformation", US_EAST, request=request, read_only=False)
    if step % 2 == 0:
        request = {"instancesSet": {"items": [{"instanceId": instance}]}, "filterSet": {}}
        day.call(agent, when + timedelta(seconds=3), "ec2.amazonaws.com", "DescribeInstances", US_EAST, request=request)


def cache_warmer(day: Day) -> None:
    """A Lambda in staging every 20 minutes, sometimes throttled by DynamoDB's control plane."""
    for step, when, created in CACHE_WARMER.times(day):
        job = role_session(STAGING, "cache-warmer-role", "cache-warmer", created, "52.4.180.12", BOTO_LAMBDA)
        error = None
        if step % 23 == 5:
            error = ("ThrottlingException", "Rate of requests exceeds the allowed throughput.")
        table = {"tableName": "sessions"}
        day.call(job, when, "dynamodb.amazonaws.com", "DescribeTable", US_EAST, request=table, error=error)
        parameter = {"name": "/web-staging/cache/warm-list", "withDecryption": False}
        day.call(job, when + timedelta(seconds=1), "ssm.amazonaws.com", "GetParameter", US_EAST, request=parameter)


def ci_runs(day: Day) -> None:
    """Twelve successful deployments: four in prod, eight of web-staging."""
    ci_run(day, 12347, day.at(10, 20, 14), PROD, US_EAST, "web", "deploy")
    ci_run(day, 12364, day.at(12, 30, 2), PROD, "eu-west-1", "worker", "deploy")
    ci_run(day, 12370, day.at(14, 12, 40), PROD, US_EAST, "web", "deploy")
    ci_run(day, 12389, day.at(16, 55, 7), PROD, US_EAST, "web", "deploy")
    starts = ((8, 5), (9, 50), (11, 10), (12, 55), (13, 40), (15, 0), (15, 52), (17, 30))
    for run, (hour, minute) in zip(range(12340, 12400, 6), starts, strict=False):
        ci_run(day, run, day.at(hour, minute, day.rng.randint(0, 59)), STAGING, US_EAST, "web-staging", "deploy")


def duplicate_one_success(day: Day) -> None:
    """One ordinary success delivered twice (same eventID) besides the scenarios' duplicates."""
    event = next(e for e in day.events if e.record["eventName"] == "GetSecretValue" and e.when.hour == 6)
    day.duplicate(event.record)
