#!/usr/bin/env python3
"""Benchmark: one busy day of an organization trail, from trail files to findings.

``make bench`` runs this script. It writes (once, deterministically, outside the repository's
tracked files) a day of CloudTrail in the layout an organization trail delivers to S3::

    ROOT/AWSLogs/o-bench0day1/ACCOUNT/CloudTrail/REGION/2026/11/28/ACCOUNT_CloudTrail_REGION_..._X.json.gz

about 1,000,000 records (``--records`` / ``BENCH_RECORDS``) in about 2,830 gzip'd compact JSON
files with ``eventVersion`` first, a realistic mix of services, callers and errors, about 1% of
denials of many services and a small share of App Runner denials, plus records that merely mention
``AccessDenied`` or carry ``\\u`` escapes. It then measures, each in a fresh process:

- ``decompress``: read and gunzip every file with python-isal, nothing else (the floor);
- ``scan``: the real pipeline, ``FileSource`` -> records -> denials -> findings -> report;
- peers: every record parsed with orjson, and DuckDB's ``read_json`` when DuckDB is installed.

It prints each time, the scan's ratio to the decompression, the peers' ratios and the peak RSS of
each process, and ends with ``ratio_to_limit=X.XX``: the scan's time over the physical limit, gzip
decompression of the same files in as many workers as the scan uses. The ratio to one-thread
decompression (the issue's 1.5 target) is printed just before it.

    python scripts/bench_day.py [--records N] [--root DIR] [--workers N] [--repeat N]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from isal import igzip

SEED = 20261128
DAY = datetime(2026, 11, 28, tzinfo=UTC)
SLOTS_PER_DAY = 288  # one delivery every 5 minutes
ORG_ID = "o-bench0day1"
ACCOUNTS = ("111122223333", "444455556666", "777788889999", "210987654321", "123456781234")
REGIONS = ("us-east-1", "eu-west-1")
STREAM_WEIGHTS = (0.26, 0.08, 0.14, 0.05, 0.12, 0.04, 0.17, 0.03, 0.08, 0.03)
SKIPPED_SLOTS = 5  # quiet 5-minute slots per stream without a file: 10 x 283 = 2,830 files
LIMIT = 1.5
FORMAT_VERSION = "1"
REPO = Path(__file__).resolve().parent.parent


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
P_APP_RUNNER_DENIAL = 0.0005
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


class DayWriter:
    """Deterministic records for one account and region, grouped into 5-minute delivery files."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.calls = list(CALLS)
        self.weights = [c.weight for c in CALLS]

    def record(self, account: str, region: str, when: datetime) -> dict[str, Any]:
        rng = self.rng
        call = rng.choices(self.calls, self.weights)[0]
        roll = rng.random()
        record = self._base(call, account, region, when)
        if roll < P_APP_RUNNER_DENIAL:
            self._app_runner_denial(record, account, region)
        elif roll < P_APP_RUNNER_DENIAL + P_OTHER_DENIAL and call.source != "apprunner.amazonaws.com":
            self._denial(record, call)
        elif roll < P_APP_RUNNER_DENIAL + P_OTHER_DENIAL + P_OTHER_ERROR:
            self._insert_error(record, rng.choice(OTHER_ERRORS), "The request failed: try again later.")
        elif roll < P_APP_RUNNER_DENIAL + P_OTHER_DENIAL + P_OTHER_ERROR + P_DECOY:
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
        name = self.rng.choice(APP_RUNNER_DENIED)
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


def file_counts(total: int) -> list[list[int]]:
    """Records per delivery file for each (account, region) stream, summing to ``total``."""
    rng = random.Random(SEED)
    slots = SLOTS_PER_DAY - SKIPPED_SLOTS
    counts = []
    for weight in STREAM_WEIGHTS:
        shape = [0.5 + 0.5 * abs(12 - (s * 24 / slots)) / 12 + rng.random() * 0.2 for s in range(slots)]
        scale = total * weight / sum(shape)
        counts.append([max(1, round(x * scale)) for x in shape])
    busiest = counts[0].index(max(counts[0]))
    counts[0][busiest] += total - sum(sum(c) for c in counts)
    return counts


def generate(root: Path, total: int) -> None:
    stamp = root / ".bench-day"
    wanted = {"records": total, "seed": SEED, "format": FORMAT_VERSION}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return
    started = time.perf_counter()
    streams = [(a, r) for a in ACCOUNTS for r in REGIONS]
    for index, ((account, region), counts) in enumerate(zip(streams, file_counts(total), strict=True)):
        _write_stream(root, index, account, region, counts)
    stamp.write_text(json.dumps(wanted))
    print(f"generated {total:,} records in {time.perf_counter() - started:.0f} s under {root}", file=sys.stderr)


def _write_stream(root: Path, index: int, account: str, region: str, counts: list[int]) -> None:
    writer = DayWriter(SEED + index)
    folder = root / "AWSLogs" / ORG_ID / account / "CloudTrail" / region / DAY.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    slot_length = timedelta(days=1) / len(counts)
    for slot, count in enumerate(counts):
        start = DAY + slot * slot_length
        times = sorted(
            start + timedelta(seconds=writer.rng.random() * slot_length.total_seconds()) for _ in range(count)
        )
        body = b",".join(writer.serialise(writer.record(account, region, t)) for t in times)
        delivered = (start + slot_length).strftime("%Y%m%dT%H%MZ")
        name = f"{account}_CloudTrail_{region}_{delivered}_{writer._key(16)}.json.gz"
        data = b'{"Records":[' + body + b"]}"
        (folder / name).write_bytes(igzip.compress(data, compresslevel=2, mtime=0))


# --------------------------------------------------------------------------- measurements


def trail_files(root: Path) -> list[Path]:
    return sorted((root / "AWSLogs").rglob("*.json.gz"))


def measure_decompress(root: Path) -> dict[str, Any]:
    """The floor: read and gunzip every file with python-isal, one after the other, nothing else."""
    size = 0
    for path in trail_files(root):
        size += len(igzip.decompress(path.read_bytes()))
    return {"bytes": size}


def decompressed_size(path: Path) -> int:
    return len(igzip.decompress(path.read_bytes()))


def measure_decompress_parallel(root: Path) -> dict[str, Any]:
    """The floor with the scan's workers: the same gunzip in as many threads (isal releases the GIL)."""
    from analysis import scanpool

    files = trail_files(root)
    workers = scanpool.read_workers()
    sizes = scanpool.ordered_map(decompressed_size, files, workers)
    return {"bytes": sum(sizes), "workers": workers}


def measure_scan(root: Path) -> dict[str, Any]:
    """Files to findings, as ``apprunner-audit report --source ROOT --day 2026-11-28`` reads them."""
    from analysis.findings import findings
    from analysis.model import Window
    from analysis.pipeline import Options, collect
    from analysis.sources import ReadOptions, sources_from_spec

    window = Window(DAY, DAY + timedelta(days=1))
    frame, statuses = collect(sources_from_spec(str(root), window, ReadOptions(service="apprunner")), window, Options())
    found = findings(frame)
    read = sum(status.records_read for status in statuses)
    return {"records_read": read, "denials": len(frame), "findings": len(found)}


def measure_report(root: Path) -> dict[str, Any]:
    """The same, on to the whole report (remedies, policies, the contract's JSON)."""
    from analysis.model import Window
    from analysis.pipeline import Options, analyse
    from analysis.report import dumps
    from analysis.sources import ReadOptions, sources_from_spec

    window = Window(DAY, DAY + timedelta(days=1))
    result = analyse(sources_from_spec(str(root), window, ReadOptions(service="apprunner")), window, Options())
    text = dumps(result.report)
    totals = result.report.totals
    return {
        "records_read": totals.records_read,
        "denials": len(result.frame),
        "findings": totals.findings,
        "json_kb": len(text) / 1024,
    }


def measure_orjson(root: Path) -> dict[str, Any]:
    records = 0
    for path in trail_files(root):
        records += len(orjson.loads(igzip.decompress(path.read_bytes()))["Records"])
    return {"records_read": records}


def measure_duckdb(root: Path) -> dict[str, Any]:
    """DuckDB over the same files: each document read, every record's errorCode and eventSource filtered."""
    import duckdb

    pattern = str(root / "AWSLogs" / "**" / "*.json.gz")
    shape = '{"Records":[{"errorCode":"VARCHAR","eventSource":"VARCHAR"}]}'
    denial = "(r.errorCode LIKE 'AccessDenied%' OR r.errorCode LIKE '%UnauthorizedOperation')"
    query = (
        f"SELECT count(*), count(*) FILTER (WHERE {denial} AND r.eventSource = 'apprunner.amazonaws.com') "
        f"FROM (SELECT unnest(from_json(json, '{shape}').Records) AS r "
        f"FROM read_json_objects('{pattern}', maximum_object_size=268435456))"
    )
    records, denials = duckdb.connect().execute(query).fetchone()
    return {"records_read": records, "denials": denials}


PHASES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "decompress": measure_decompress,
    "decompress-parallel": measure_decompress_parallel,
    "scan": measure_scan,
    "report": measure_report,
    "orjson": measure_orjson,
    "duckdb": measure_duckdb,
}


def tree_peak_mb(process: subprocess.Popen[str]) -> float:
    """The peak memory of ``process`` and its descendants (worker processes), sampled from outside (Linux)."""
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, sum(_rss_kb(pid) for pid in _tree(process.pid)) / 1024)
        time.sleep(0.05)
    return peak


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.parent.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree.extend(frontier)
    return tree


def _rss_kb(pid: int) -> int:
    """Proportional set size (shared pages split between the processes sharing them), else RSS."""
    for name, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(name).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1])
        except OSError:
            continue
    return 0


def run_phase(phase: str, root: Path) -> None:
    """In a fresh process: warm imports, time one phase, print its figures as JSON."""
    if phase in {"scan", "report"}:  # imports and the IAM catalog's one-time load are not the scan
        for module in ("analysis.findings", "analysis.pipeline", "analysis.sources", "analysis.sources.files"):
            importlib.import_module(module)
        importlib.import_module("analysis.catalog").action_exists("apprunner:ListServices")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    figures = PHASES[phase](root)
    figures["seconds"] = time.perf_counter() - started
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["rss_before_mb"] = before
    print(json.dumps(figures))


def timed(phase: str, root: Path, env: dict[str, str], sample: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--phase", phase, "--root", str(root)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env}, cwd=REPO
    ) as process:
        peak = tree_peak_mb(process) if sample else None
        out, err = process.communicate()
    if process.returncode:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {process.returncode}"}
    figures = json.loads(out.strip().splitlines()[-1])
    return {**figures, "peak_tree_rss_mb": peak}


def best_of(phase: str, root: Path, repeat: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    runs = [timed(phase, root, env or {}) for _ in range(repeat)]
    good = [r for r in runs if "error" not in r]
    return min(good, key=lambda r: r["seconds"]) if good else runs[0]


def has_duckdb() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def report(root: Path, repeat: int, workers: int | None) -> Iterator[str]:
    files = trail_files(root)
    compressed = sum(p.stat().st_size for p in files)
    for path in files:  # the page cache holds every file for every phase alike
        path.read_bytes()
    env = {"APPRUNNER_AUDIT_READ_WORKERS": str(workers)} if workers else {}
    floor = best_of("decompress", root, repeat)
    yield f"files={len(files)} compressed_mb={compressed / 1e6:.0f} json_mb={floor['bytes'] / 1e6:.0f}"
    yield f"decompress_s={floor['seconds']:.2f} peak_rss_mb={floor['peak_rss_mb']:.0f} (one thread: read + gunzip)"
    parallel = best_of("decompress-parallel", root, repeat, env)
    yield f"decompress_parallel_s={parallel['seconds']:.2f} (the same in {parallel['workers']} threads)"
    scan = best_of("scan", root, repeat, env)
    tree = timed("scan", root, env, sample=True).get("peak_tree_rss_mb") or 0.0
    yield (
        f"scan_s={scan['seconds']:.2f} peak_rss_mb={scan['peak_rss_mb']:.0f} (main process; "
        f"{scan['rss_before_mb']:.0f} before reading; {tree:.0f} with its workers, as PSS) "
        f"records_read={scan['records_read']} denials={scan['denials']} findings={scan['findings']}"
    )
    threads = best_of("scan", root, 1, {**env, "APPRUNNER_AUDIT_READ_PROCESSES": "0"})
    yield (
        f"scan_threads_s={threads['seconds']:.2f} peak_rss_mb={threads['peak_rss_mb']:.0f} "
        f"({threads['rss_before_mb']:.0f} before reading; threads only, one process)"
    )
    full = best_of("report", root, 1, env)
    if "error" in full:  # said, not hidden behind a KeyError: the other figures still stand
        yield f"report_s=failed ({full['error']})"
    else:
        yield f"report_s={full['seconds']:.2f} (files to the whole report: findings, remedies, policies, JSON)"
    yield from peers(root, floor["seconds"])
    ratio = scan["seconds"] / floor["seconds"]
    yield f"ratio_to_one_thread_decompression={ratio:.2f} (target {LIMIT:.2f})"
    # The physical limit is decompression with the same number of workers the scan uses.
    yield f"ratio_to_limit={scan['seconds'] / parallel['seconds']:.2f}"


def peers(root: Path, floor: float) -> Iterator[str]:
    names = ["orjson"] + (["duckdb"] if has_duckdb() else [])
    for name in names:
        figures = best_of(name, root, 1)
        if "error" in figures:
            yield f"peer_{name}: failed ({figures['error']})"
            continue
        yield (
            f"peer_{name}_s={figures['seconds']:.2f} ratio={figures['seconds'] / floor:.2f} "
            f"peak_rss_mb={figures['peak_rss_mb']:.0f} records_read={figures['records_read']}"
        )
    if len(names) == 1:
        yield "peer_duckdb: not installed (pip install duckdb to compare)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=int(os.environ.get("BENCH_RECORDS", "1000000")))
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("BENCH_ROOT", REPO / "out" / "bench")))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "2")))
    parser.add_argument("--workers", type=int, default=None, help="read workers for both timed phases")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.phase:
        run_phase(args.phase, args.root)
        return 0
    args.root.mkdir(parents=True, exist_ok=True)
    generate(args.root, args.records)
    if args.generate_only:
        return 0
    for line in report(args.root, args.repeat, args.workers):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
