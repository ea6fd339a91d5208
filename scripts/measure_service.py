"""Measure what the deployed service costs: each handler's cold import, and the daily job over the bench day.

    .venv/bin/python scripts/measure_service.py imports      # cold import of each handler (python -X importtime)
    .venv/bin/python scripts/measure_service.py daily        # the daily job on the 1,000,000-record bench day

``imports`` runs ``import app`` in a fresh interpreter from each function's folder, ``BENCH_REPEAT`` times
(default 5), and prints the median of the cumulative import time importtime reports for ``app``, and
whether pandas was loaded.

``daily`` puts the bench day (``make bench`` generates it under ``out/bench``) in a moto S3 server on
loopback, then runs the daily function's job (``analysis.service.daily_job``: S3 trail source, DynamoDB
ledger, delivery to S3, SES, SNS and EventBridge) in a child process pinned to one core, as Lambda gives
one vCPU at 1,769 MB. It prints the wall time, the child's peak RSS and what Lambda would bill.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("BENCH_ROOT", REPO / "out" / "bench"))
FUNCTIONS = ("daily_report", "denial_alert")
FIRST_CALL_MODULES = {  # what the first invocation imports beyond the handler module (the lazy imports)
    "daily_report": "analysis.daily, analysis.pipeline, analysis.delivery, analysis.render.html, analysis.ledger",
    "denial_alert": "analysis.event_finding, analysis.records",
}
REGION = "us-east-1"
LAMBDA_MEMORY_MB = 1769  # one full vCPU
LAMBDA_ARM_PRICE_PER_GB_SECOND = 0.0000133334  # us-east-1, arm64, first 6 billion GB-seconds a month
LAMBDA_PRICE_PER_REQUEST = 0.0000002


def cold_import(function: str, first_call: bool = False) -> tuple[float, bool]:
    """(milliseconds to import the handler module, whether pandas was loaded); with ``first_call`` the
    modules the first invocation imports too (the whole of what importtime reports)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PYTHONPATH": str(REPO),
    }
    more = f", {FIRST_CALL_MODULES[function]}" if first_call else ""
    code = f"import app{more}, sys; print('PANDAS', 'pandas' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=REPO / "functions" / function,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    top_level = [int(m.group(1)) for m in re.finditer(r"\|\s*(\d+)\s*\| (\S+)$", done.stderr, re.M)]
    if first_call:
        return sum(top_level) / 1000, "PANDAS True" in done.stdout  # every top-level import of the process
    cumulative = [int(m.group(1)) for m in re.finditer(r"\|\s*(\d+)\s*\|\s*app$", done.stderr, re.M)]
    return cumulative[-1] / 1000, "PANDAS True" in done.stdout


def imports() -> None:
    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    for function in FUNCTIONS:
        runs = [cold_import(function) for _ in range(repeat)]
        median = statistics.median(ms for ms, _ in runs)
        print(f"{function}: cold_import_ms={median:.0f} (median of {repeat}) pandas_loaded={runs[0][1]}")
        runs = [cold_import(function, first_call=True) for _ in range(repeat)]
        median = statistics.median(ms for ms, _ in runs)
        print(f"{function}: with_first_call_modules_ms={median:.0f} pandas_loaded={runs[0][1]}")


def daily() -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    files = sorted(BENCH.rglob("*.json.gz"))
    if not files:
        raise SystemExit(f"no bench day under {BENCH}: run `make bench` (or scripts/bench_day.py --generate-only)")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    s3 = session.client("s3", endpoint_url=endpoint)
    for bucket in ("bench-trail", "bench-reports"):
        s3.create_bucket(Bucket=bucket)
    started = time.monotonic()
    for path in files:
        s3.put_object(Bucket="bench-trail", Key=str(path.relative_to(BENCH)), Body=path.read_bytes())
    print(f"uploaded {len(files)} files in {time.monotonic() - started:.0f}s", file=sys.stderr)
    session.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName="bench-state",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    session.client("sesv2", endpoint_url=endpoint).create_email_identity(EmailIdentity="reports@example.com")
    topic = session.client("sns", endpoint_url=endpoint).create_topic(Name="bench-reports")["TopicArn"]
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "TRAIL_SOURCE": "s3://bench-trail",
        "STATE_TABLE": "bench-state",
        "REPORT_BUCKET": "bench-reports",
        "REPORT_EMAIL_FROM": "reports@example.com",
        "REPORT_EMAIL_TO": "platform@example.com",
        "REPORT_TOPIC_ARN": topic,
        "REPORT_EVENT_BUS": "default",
        "IDEMPOTENCY_TABLE": "bench-state",
    }
    child = (
        "import json, resource, time;"
        "from datetime import date;"
        "from analysis.config import DeliveryConfig;"
        "from analysis.service import DailyRequest, daily_job;"
        "from analysis.settings import load_settings;"
        "t = time.monotonic();"
        "run = daily_job(DailyRequest(date(2026, 11, 28)), load_settings(), DeliveryConfig.from_env());"
        "print(json.dumps({'seconds': time.monotonic() - t,"
        " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **run.metrics(),"
        " 'delivered': run.summary()['delivered']}))"
    )
    done = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", child], cwd=REPO, env=env, capture_output=True, text=True
    )
    server.stop()
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    gb_seconds = LAMBDA_MEMORY_MB / 1024 * result["seconds"]
    cost = gb_seconds * LAMBDA_ARM_PRICE_PER_GB_SECOND + LAMBDA_PRICE_PER_REQUEST
    print(json.dumps(result))
    print(
        f"daily_job_s={result['seconds']:.1f} peak_rss_mb={result['peak_rss_mb']:.0f} files={len(files)} "
        f"one_core=yes lambda_gb_s_at_{LAMBDA_MEMORY_MB}mb={gb_seconds:.1f} lambda_usd_per_run={cost:.5f}"
    )


if __name__ == "__main__":
    {"imports": imports, "daily": daily}[sys.argv[1] if len(sys.argv) > 1 else "imports"]()
