"""The days ``make bench`` reads: shapes of an organization trail's day, generated once, deterministically.

Each shape is written under ``ROOT/SHAPE/`` in the layout an organization trail delivers to S3::

    ROOT/SHAPE/AWSLogs/o-bench0day1/ACCOUNT/CloudTrail/REGION/2026/11/28/ACCOUNT_CloudTrail_REGION_..._X.json.gz

with a stamp file (``.bench-day``) holding what was asked and what was written: records, App Runner
denials and the findings they must make (one per caller and target account, counted here from the
callers the generator chose, not by the project's code). A stamp that matches skips the generation.

The records are a realistic mix of services, callers and errors (about 1% denials of many services,
1.5% other errors, records that merely mention ``AccessDenied``, records with ``\\u`` escapes); the
shapes differ in where the App Runner denials are and how the files are written (``shapes``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from isal import igzip

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis import catalog  # noqa: E402  (the real App Runner actions, from the IAM catalog)

SEED = 20261128
DAY = datetime(2026, 11, 28, tzinfo=UTC)
SLOTS_PER_DAY = 288  # one delivery every 5 minutes
ORG_ID = "o-bench0day1"
ACCOUNTS = ("111122223333", "444455556666", "777788889999", "210987654321", "123456781234")
REGIONS = ("us-east-1", "eu-west-1")
STREAM_WEIGHTS = (0.26, 0.08, 0.14, 0.05, 0.12, 0.04, 0.17, 0.03, 0.08, 0.03)
SKIPPED_SLOTS = 5  # quiet 5-minute slots per stream without a file: 10 x 283 = 2,830 files
ORG_ACCOUNTS = tuple(f"{300000000000 + i * 1_234_567_891:012d}" for i in range(40))
ORG_REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
TOOLING_ACCOUNT = ORG_ACCOUNTS[0]  # its deployer role works in every account: cross-account callers
FORMAT_VERSION = "3"
STAMP = ".bench-day"

# --------------------------------------------------------------------------- the day's records


@dataclass(frozen=True)
class Call:
    source: str
    name: str
    read_only: bool
    weight: float


CALLS = (
    Call("s3.amazonaws.com", "GetBucketAcl", True, 6),
    Call("s3.amazonaws.com", "ListBuckets", True, 3),
    Call("s3.amazonaws.com", "GetBucketLocation", True, 5),
    Call("s3.amazonaws.com", "PutBucketPolicy", False, 0.3),
    Call("ec2.amazonaws.com", "DescribeInstances", True, 8),
    Call("ec2.amazonaws.com", "DescribeSecurityGroups", True, 4),
    Call("ec2.amazonaws.com", "RunInstances", False, 0.4),
    Call("ec2.amazonaws.com", "CreateTags", False, 0.8),
    Call("sts.amazonaws.com", "AssumeRole", False, 14),
    Call("sts.amazonaws.com", "GetCallerIdentity", True, 3),
    Call("kms.amazonaws.com", "Decrypt", True, 12),
    Call("kms.amazonaws.com", "GenerateDataKey", True, 6),
    Call("logs.amazonaws.com", "CreateLogStream", False, 5),
    Call("logs.amazonaws.com", "DescribeLogGroups", True, 2),
    Call("monitoring.amazonaws.com", "DescribeAlarms", True, 3),
    Call("monitoring.amazonaws.com", "GetMetricData", True, 2),
    Call("iam.amazonaws.com", "GetRole", True, 3),
    Call("iam.amazonaws.com", "PutRolePolicy", False, 0.3),
    Call("lambda.amazonaws.com", "ListFunctions20150331", True, 1.5),
    Call("lambda.amazonaws.com", "GetFunction20150331v2", True, 1.5),
    Call("ssm.amazonaws.com", "GetParameter", True, 4),
    Call("ssm.amazonaws.com", "UpdateInstanceInformation", False, 3),
    Call("secretsmanager.amazonaws.com", "GetSecretValue", True, 2),
    Call("ecr.amazonaws.com", "GetAuthorizationToken", True, 2),
    Call("dynamodb.amazonaws.com", "DescribeTable", True, 2),
    Call("elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", True, 3),
    Call("cloudtrail.amazonaws.com", "LookupEvents", True, 0.5),
    Call("apprunner.amazonaws.com", "ListServices", True, 0.6),
    Call("apprunner.amazonaws.com", "DescribeService", True, 0.9),
    Call("apprunner.amazonaws.com", "ListOperations", True, 0.3),
    Call("apprunner.amazonaws.com", "UpdateService", False, 0.05),
    Call("signin.amazonaws.com", "ConsoleLogin", False, 0.05),
)
APP_RUNNER_DENIED = ("DescribeService", "UpdateService", "ListServices", "PauseService", "CreateService")
DENIAL_CODE = {"s3": "AccessDenied", "ec2": "Client.UnauthorizedOperation"}
OTHER_ERRORS = ("ThrottlingException", "ResourceNotFoundException", "ValidationException", "NoSuchBucket")
P_APP_RUNNER_DENIAL = {"concentrated": 0.0005, "spread": 0.0015, "storm": 1 / 3}
P_OTHER_DENIAL = 0.01
P_OTHER_ERROR = 0.015
P_DECOY = 0.0005  # non-denials whose text mentions AccessDenied / errorCode
P_ESCAPED = 0.0002  # records serialised with \\u escapes (non-ASCII user agent)
ROLES = ("Deploy", "ci-runner", "AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789", "app-task", "lambda-exec")
AGENTS = (
    "aws-cli/2.17.32 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.9 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off",
    "Boto3/1.34.120 md/Botocore#1.34.120 ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.12.3 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.120",
    "APN/1.0 HashiCorp/1.0 Terraform/1.8.5 (+https://www.terraform.io) terraform-provider-aws/5.54.1 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.27.2 os/linux lang/go#1.22.3",
    "AWS Internal",
    "console.amazonaws.com",
)


@cache
def app_runner_actions() -> list[str]:
    return [action.split(":", 1)[1] for action in catalog.service_actions("apprunner")]


class DayWriter:
    """Deterministic records for one account and region, grouped into 5-minute delivery files."""

    def __init__(self, seed: int, denials: str = "concentrated", storm_callers: int = 1) -> None:
        self.rng = random.Random(seed)
        self.calls = list(CALLS)
        self.weights = [c.weight for c in CALLS]
        self.denials = denials
        self.storm_callers = storm_callers  # per account
        self.tally = Tally()

    def record(self, account: str, region: str, when: datetime) -> dict[str, Any]:
        rng = self.rng
        call = rng.choices(self.calls, self.weights)[0]
        roll = rng.random()
        record = self._base(call, account, region, when)
        app_runner = P_APP_RUNNER_DENIAL[self.denials]
        self.tally.records += 1
        if roll < app_runner:
            self._app_runner_denial(record, account, region)
        elif roll < app_runner + P_OTHER_DENIAL and call.source != "apprunner.amazonaws.com":
            self._denial(record, call)
        elif roll < app_runner + P_OTHER_DENIAL + P_OTHER_ERROR:
            self._insert_error(record, rng.choice(OTHER_ERRORS), "The request failed: try again later.")
        elif roll < app_runner + P_OTHER_DENIAL + P_OTHER_ERROR + P_DECOY:
            self._decoy(record)
        return record

    def _base(self, call: Call, account: str, region: str, when: datetime) -> dict[str, Any]:
        rng = self.rng
        record: dict[str, Any] = {
            "eventVersion": "1.09" if rng.random() < 0.7 else "1.08",
            "userIdentity": self._identity(account),
            "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": call.source,
            "eventName": call.name,
            "awsRegion": region,
            "sourceIPAddress": f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
            "userAgent": rng.choice(AGENTS),
            "requestParameters": self._request(call, account, region),
            "responseElements": self._response(call, account),
            "requestID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "readOnly": call.read_only,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{call.source.split('.')[0]}.{region}.amazonaws.com",
            },
        }
        if call.source == "s3.amazonaws.com":
            record["additionalEventData"] = {
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": self._key(76),
                "bytesTransferredOut": rng.randrange(100, 5000),
            }
        if call.source in {"kms.amazonaws.com", "sts.amazonaws.com"}:
            record["resources"] = [
                {
                    "accountId": account,
                    "type": "AWS::KMS::Key",
                    "ARN": f"arn:aws:kms:{region}:{account}:key/{self._id()}",
                }
            ]
        if rng.random() < 0.6:
            record["vpcEndpointId"] = f"vpce-0{self._key(16).lower()}"
            record["vpcEndpointAccountId"] = account
        if call.read_only and rng.random() < 0.5:
            record["sessionCredentialFromConsole"] = "true"
            record["additionalEventData"] = {"sessionCredentialFromConsole": "true", "requestOrigin": self._key(150)}
        return record

    def _identity(self, account: str) -> dict[str, Any]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.12:
            return {"type": "AWSService", "invokedBy": rng.choice(("ec2.amazonaws.com", "lambda.amazonaws.com"))}
        if roll < 0.2:
            name = rng.choice(("svc-legacy", "dev-alice", "backup"))
            return {
                "type": "IAMUser",
                "principalId": "AIDA" + self._key(16),
                "arn": f"arn:aws:iam::{account}:user/{name}",
                "accountId": account,
                "accessKeyId": "AKIA" + self._key(16),
                "userName": name,
            }
        role = rng.choice(ROLES)
        session = rng.choice(("i-0a1b2c3d4e5f67890", "GitHubActions", "jane@example.com", "botocore-session-1732"))
        role_id = "AROA" + self._key(17)
        return {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            "accountId": account,
            "accessKeyId": "ASIA" + self._key(16),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": f"arn:aws:iam::{account}:role/{role}",
                    "accountId": account,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-11-28T00:00:01Z", "mfaAuthenticated": "false"},
                "ec2RoleDelivery": "2.0",
            },
        }

    def _request(self, call: Call, account: str, region: str) -> dict[str, Any] | None:
        rng = self.rng
        prefix = call.source.split(".")[0]
        if prefix == "s3":
            return {
                "bucketName": f"data-{account}-{rng.randrange(40)}",
                "Host": f"s3.{region}.amazonaws.com",
                "acl": "",
            }
        if prefix == "ec2":
            ids = [{"instanceId": f"i-0{self._key(16).lower()}"} for _ in range(rng.randrange(1, 6))]
            tags = [{"name": f"tag:{t}", "valueSet": {"items": [{"value": self._key(12)}]}} for t in ("Name", "env")]
            return {"instancesSet": {"items": ids}, "filterSet": {"items": tags}}
        if prefix == "sts":
            return {
                "roleArn": f"arn:aws:iam::{account}:role/{rng.choice(ROLES)}",
                "roleSessionName": f"session-{rng.randrange(10**6)}",
                "durationSeconds": 3600,
            }
        if prefix == "kms":
            return {
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "encryptionContext": {
                    "aws:lambda:FunctionArn": f"arn:aws:lambda:{region}:{account}:function:fn-{rng.randrange(50)}"
                },
            }
        if prefix == "iam" and call.name == "PutRolePolicy":
            document = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
            return {"roleName": "app-task", "policyName": "inline", "policyDocument": json.dumps(document)}
        if prefix == "apprunner":
            return {"serviceArn": f"arn:aws:apprunner:{region}:{account}:service/web/{self._key(32).lower()}"}
        if call.read_only:
            return None if rng.random() < 0.4 else {"maxResults": 50, "nextToken": self._key(rng.randrange(20, 200))}
        return {"logGroupName": f"/aws/lambda/fn-{rng.randrange(50)}", "logStreamName": self._key(32).lower()}

    def _response(self, call: Call, account: str) -> dict[str, Any] | None:
        if call.name == "AssumeRole":
            return {
                "credentials": {
                    "accessKeyId": "ASIA" + self._key(16),
                    "sessionToken": self._key(360),
                    "expiration": "Nov 28, 2026, 10:00:00 AM",
                },
                "assumedRoleUser": {
                    "assumedRoleId": "AROA" + self._key(17) + ":session",
                    "arn": f"arn:aws:sts::{account}:assumed-role/Deploy/session",
                },
            }
        if call.name in {"RunInstances", "CreateTags"}:
            return {
                "requestId": self._id(),
                "_return": True,
                "instancesSet": {"items": [{"instanceId": "i-0" + self._key(16)}]},
            }
        return None

    def _app_runner_denial(self, record: dict[str, Any], account: str, region: str) -> None:
        """concentrated: today's (the record's random caller, 5 actions); spread: one of the account's six
        callers and any of App Runner's actions; storm: one of the account's many callers, two actions each."""
        if self.denials == "concentrated":
            name = self.rng.choice(APP_RUNNER_DENIED)
            key = identity_key(record["userIdentity"])
        else:
            if self.denials == "spread":
                caller = self.rng.choice(spread_callers(account))
                name = self.rng.choice(app_runner_actions())
            else:
                number = self.rng.randrange(self.storm_callers)
                caller = storm_caller(account, number)
                actions = app_runner_actions()
                name = actions[(number + self.rng.randrange(2) * 17) % len(actions)]
            record["userIdentity"] = caller.identity
            key = caller.key
        self.tally.denials += 1
        self.tally.findings.add((key, account))
        record["eventSource"] = "apprunner.amazonaws.com"
        record["eventName"] = name
        arn = record["userIdentity"].get("arn") or f"arn:aws:iam::{account}:user/unknown"
        service = f"arn:aws:apprunner:{region}:{account}:service/web/8fe1e10304f84fd2b0df550fe98a71fa"
        record["requestParameters"] = {"serviceArn": service}
        message = (
            f"User: {arn} is not authorized to perform: apprunner:{name} on resource: {service} "
            f"because no identity-based policy allows the apprunner:{name} action"
        )
        self._insert_error(record, "AccessDeniedException", message)

    def _denial(self, record: dict[str, Any], call: Call) -> None:
        prefix = call.source.split(".")[0]
        code = DENIAL_CODE.get(prefix, "AccessDeniedException")
        arn = record["userIdentity"].get("arn", "arn:aws:iam::111122223333:user/unknown")
        message = (
            f"User: {arn} is not authorized to perform: {prefix}:{call.name} because no identity-based policy allows it"
        )
        self._insert_error(record, code, "Access Denied" if code == "AccessDenied" else message)

    def _decoy(self, record: dict[str, Any]) -> None:
        text = 'Retry after "errorCode":"AccessDenied" from the upstream call; see AccessDeniedException handling'
        self._insert_error(record, "ValidationException", text)

    def _insert_error(self, record: dict[str, Any], code: str, message: str) -> None:
        ordered = {}
        for key, value in record.items():
            if key == "requestParameters":
                ordered["errorCode"] = code
                ordered["errorMessage"] = message
            ordered[key] = value
        record.clear()
        record.update(ordered)

    def _key(self, length: int) -> str:
        return "".join(self.rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=length))

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def serialise(self, record: dict[str, Any]) -> bytes:
        if self.rng.random() < P_ESCAPED:
            record["userAgent"] = "Mozilla/5.0 (Macintosh) navigateur-sécurisé/2.1"
            return json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode()
        return orjson.dumps(record)


# --------------------------------------------------------------------------- the shapes


@dataclass(frozen=True)
class Shape:
    """One day to bench: how many records, in which streams and files, and where App Runner is denied."""

    name: str
    what: str
    records: int
    accounts: tuple[str, ...] = ACCOUNTS
    regions: tuple[str, ...] = REGIONS
    files_per_stream: int = SLOTS_PER_DAY - SKIPPED_SLOTS
    denials: str = "concentrated"  # concentrated | spread | storm: see DayWriter.record
    pretty: bool = False  # indent=2, keys sorted: the fast path's indented layout (the full parse before issue 14)
    large_file_records: int = 0  # one more file in the first stream holding this many records
    peers: bool = True  # the peers read this shape too (not the 3x day: its point is memory)
    weights: tuple[float, ...] = field(default=(), compare=False)

    def stream_weights(self) -> tuple[float, ...]:
        streams = len(self.accounts) * len(self.regions)
        return self.weights or (1 / streams,) * streams


def shapes(records: int) -> dict[str, Shape]:
    """Every shape for ``records`` (BENCH_RECORDS, 1,000,000 by default), by name."""
    small = max(1, records // 5)
    return {
        shape.name: shape
        for shape in (
            Shape("concentrated", "today's day: App Runner denied in 5 accounts", records, weights=STREAM_WEIGHTS),
            Shape(
                "spread",
                "App Runner denied in every account and region of 40 x 4, 6 callers each, 42 actions",
                records,
                accounts=ORG_ACCOUNTS,
                regions=ORG_REGIONS,
                files_per_stream=17,
                denials="spread",
            ),
            Shape(
                "storm",
                "a third of the records App Runner denials, 10 per caller",
                records * 3 // 10,
                files_per_stream=60,
                denials="storm",
            ),
            Shape("pretty", "indent=2, keys sorted (eventVersion not first)", small, files_per_stream=100, pretty=True),
            Shape(
                "large",
                "one file of records/50 records (~30 MB at 1,000,000) among normal ones",
                small,
                files_per_stream=100,
                large_file_records=max(1, records // 50),
            ),
            Shape(
                "3x",
                "the concentrated day at 3x the records (memory)",
                3 * records,
                weights=STREAM_WEIGHTS,
                peers=False,
            ),
        )
    }


@dataclass
class Tally:
    """What the generator wrote: records, App Runner denials, and the findings they make (caller, target)."""

    records: int = 0
    denials: int = 0
    findings: set[tuple[str, str]] = field(default_factory=set)

    def add(self, other: Tally) -> None:
        self.records += other.records
        self.denials += other.denials
        self.findings |= other.findings


@dataclass(frozen=True)
class Caller:
    """A caller App Runner denies, and the key its findings group by (docs/CONTRACT.md: the canonical ARN)."""

    identity: dict[str, Any]
    key: str


def assumed_role(account: str, role_path: str, session: str, role_id: str) -> Caller:
    role = role_path.rsplit("/", 1)[-1]
    issuer = f"arn:aws:iam::{account}:role/{role_path}"
    identity = {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIA" + role_id[4:] + "XYZ",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": issuer,
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2026-11-28T00:00:01Z", "mfaAuthenticated": "false"},
        },
    }
    return Caller(identity, issuer)


def iam_user(account: str, name: str) -> Caller:
    arn = f"arn:aws:iam::{account}:user/{name}"
    identity = {
        "type": "IAMUser",
        "principalId": "AIDA" + account + "USER",
        "arn": arn,
        "accountId": account,
        "accessKeyId": "AKIA" + account + "KEYS",
        "userName": name,
    }
    return Caller(identity, arn)


def spread_callers(account: str) -> list[Caller]:
    """Six callers App Runner denies in ``account``: roles, a user, two Identity Center roles, a cross-account one."""
    sso = "aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_{}_{}"
    return [
        assumed_role(account, "Deploy", "GitHubActions", f"AROA{account}DEPLOY"),
        assumed_role(account, "service-role/ci-runner", "build-1732", f"AROA{account}CIRUNR"),
        iam_user(account, f"dev-{account[-4:]}"),
        assumed_role(account, sso.format("Developer", "0a1b2c3d4e5f6789"), "jane@example.com", f"AROA{account}SSODEV"),
        assumed_role(account, sso.format("ReadOnly", "9f8e7d6c5b4a3210"), "li@example.com", f"AROA{account}SSORO"),
        assumed_role(TOOLING_ACCOUNT, "platform-deployer", f"deploy-{account}", f"AROA{TOOLING_ACCOUNT}PLATF"),
    ]


def storm_caller(account: str, number: int) -> Caller:
    return assumed_role(account, f"storm/worker-{number:05d}", "retry-loop", f"AROA{account}W{number:05d}")


def identity_key(identity: dict[str, Any]) -> str:
    """The finding key of one of DayWriter's random identities, by docs/CONTRACT.md's rule (not the project's code)."""
    if identity["type"] == "AWSService":
        return f"service:{identity['invokedBy']}"
    if identity["type"] == "IAMUser":
        return str(identity["arn"])
    return str(identity["sessionContext"]["sessionIssuer"]["arn"])


# --------------------------------------------------------------------------- writing a shape


def file_counts(total: int, weights: tuple[float, ...], slots: int) -> list[list[int]]:
    """Records per delivery file for each (account, region) stream, summing to ``total``."""
    rng = random.Random(SEED)
    counts = []
    for weight in weights:
        shape = [0.5 + 0.5 * abs(12 - (s * 24 / slots)) / 12 + rng.random() * 0.2 for s in range(slots)]
        scale = total * weight / sum(shape)
        counts.append([max(1, round(x * scale)) for x in shape])
    busiest = counts[0].index(max(counts[0]))
    counts[0][busiest] += total - sum(sum(c) for c in counts)
    return counts


@dataclass(frozen=True)
class Stream:
    index: int
    account: str
    region: str
    counts: list[int]


def streams(shape: Shape) -> Iterator[Stream]:
    pairs = [(a, r) for a in shape.accounts for r in shape.regions]
    all_counts = file_counts(shape.records, shape.stream_weights(), shape.files_per_stream)
    if shape.large_file_records:
        all_counts[0].append(shape.large_file_records)
    for index, ((account, region), counts) in enumerate(zip(pairs, all_counts, strict=True)):
        yield Stream(index, account, region, counts)


def generate(root: Path, shape: Shape) -> Tally:
    """Write ``shape`` under ``root/NAME`` unless its stamp says it is there; what was written either way."""
    folder = root / shape.name
    stamp = folder / STAMP
    wanted = {"shape": asdict(shape), "seed": SEED, "format": FORMAT_VERSION}
    if stamp.exists():
        stored = json.loads(stamp.read_text())
        if stored.get("wanted") == json.loads(json.dumps(wanted)):
            written = stored["written"]
            return Tally(written["records"], written["denials"], {tuple(k) for k in written["findings"]})
    shutil.rmtree(folder / "AWSLogs", ignore_errors=True)  # files of another size or version: not this day's
    started = time.perf_counter()
    tally = Tally()
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        for part in pool.map(_write_stream, [(folder, shape, s) for s in streams(shape)]):
            tally.add(part)
    written = {"records": tally.records, "denials": tally.denials, "findings": sorted(tally.findings)}
    stamp.write_text(json.dumps({"wanted": wanted, "written": written}))
    seconds = time.perf_counter() - started
    print(f"generated shape={shape.name} records={tally.records} in {seconds:.0f} s under {folder}", file=sys.stderr)
    return tally


def _write_stream(job: tuple[Path, Shape, Stream]) -> Tally:
    root, shape, stream = job
    storm_callers = max(1, round(shape.records * P_APP_RUNNER_DENIAL["storm"] / 10 / len(shape.accounts)))
    writer = DayWriter(SEED + stream.index, shape.denials, storm_callers)
    folder = root / "AWSLogs" / ORG_ID / stream.account / "CloudTrail" / stream.region / DAY.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    slot_length = timedelta(days=1) / len(stream.counts)
    for slot, count in enumerate(stream.counts):
        start = DAY + slot * slot_length
        times = sorted(
            start + timedelta(seconds=writer.rng.random() * slot_length.total_seconds()) for _ in range(count)
        )
        records = (writer.record(stream.account, stream.region, t) for t in times)
        if shape.pretty:
            data = json.dumps({"Records": list(records)}, indent=2, sort_keys=True).encode()
        else:  # each record serialised as it is made: the same draws, the same files as before the shapes
            data = b'{"Records":[' + b",".join(writer.serialise(r) for r in records) + b"]}"
        delivered = (start + slot_length).strftime("%Y%m%dT%H%MZ")
        name = f"{stream.account}_CloudTrail_{stream.region}_{delivered}_{writer._key(16)}.json.gz"
        (folder / name).write_bytes(igzip.compress(data, compresslevel=2, mtime=0))
    return writer.tally


def trail_files(folder: Path) -> list[Path]:
    return sorted((folder / "AWSLogs").rglob("*.json.gz"))
