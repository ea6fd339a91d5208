"""Fourteen consecutive daily runs over a trail whose files arrive late and sometimes twice.

Each generated denial is delivered after a seeded random delay (minutes to about 20 hours), about
5% of them twice (CloudTrail delivers at least once), into an organization trail's bucket (moto S3), named
and filed by delivery time as CloudTrail does. Each day's run happens one hour after the day ends and reads
the bucket through the S3 source (``s3://``), which holds every file delivered by then. Every denial must be
reported exactly once across all daily reports and their late-arrival sections, none lost; a fifteenth run
(a day with no events of its own) collects what arrived after the fourteenth day's run.
"""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from analysis.daily import daily_report
from analysis.ledger import EventKey, Ledger
from analysis.ledger_stores import DynamoDBLedger, FileLedger
from analysis.pipeline import Options
from analysis.report import validate
from analysis.sources import source_from_spec
from analysis.sources.base import ReadOptions
from analysis.windows import daily_window, local_midnight
from tests import factories as f

ORG_ID = "o-a1b2c3d4e5"
BUCKET = "org-trail"
STREAMS = [(account, region) for account in (f.ACCOUNT, f.OTHER_ACCOUNT) for region in ("us-east-1", "eu-west-1")]
FIRST_DAY = date(2026, 10, 26)  # New York leaves daylight saving time on 2026-11-01, inside the fortnight
DAYS = 14
RUN_DELAY = timedelta(hours=1)
LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class TrailFile:
    key: str
    delivered_at: datetime
    body: bytes


@dataclass
class Simulation:
    files: list[TrailFile]
    denials: dict[EventKey, str]  # every generated App Runner denial -> its local day
    first_delivered: dict[EventKey, datetime]  # when the first file holding the denial was delivered
    duplicated: int
    delivered: set[str] = field(default_factory=set)  # the keys put in the bucket so far

    def deliver_until(self, client: Any, now: datetime) -> None:
        """Put in the bucket every file CloudTrail has delivered by ``now``."""
        for trail_file in self.files:
            if trail_file.delivered_at <= now and trail_file.key not in self.delivered:
                client.put_object(Bucket=BUCKET, Key=trail_file.key, Body=trail_file.body)
                self.delivered.add(trail_file.key)


def _delay(rng: random.Random) -> timedelta:
    """Mostly minutes, sometimes hours, now and then most of a day."""
    roll = rng.random()
    if roll < 0.7:
        return timedelta(minutes=rng.uniform(2, 30))
    if roll < 0.9:
        return timedelta(minutes=rng.uniform(30, 240))
    return timedelta(hours=rng.uniform(4, 20))


def _records(rng: random.Random, account: str, region: str, at: str) -> list[dict[str, Any]]:
    denial = rng.choice(
        [
            lambda: f.record(identity=f.iam_user(f"dev-{rng.randint(1, 4)}", account)),
            lambda: f.record("ListServices", identity=f.assumed_role("Deploy", "ci", account), request={}),
            lambda: f.record("DeleteService", identity=f.aws_account(), error_message=None),
        ]
    )()
    denial.update(recipientAccountId=account, awsRegion=region, eventTime=at)
    ok = f.record(error_code=None, recipient=account, region=region, event_time=at)
    other = f.record(
        "GetObject",
        event_source="s3.amazonaws.com",
        error_code="AccessDenied",
        recipient=account,
        region=region,
        event_time=at,
    )
    return [denial, *rng.sample([ok, other], rng.randint(0, 2))]


def simulate(tz: str, seed: int) -> Simulation:
    rng = random.Random(seed)
    deliveries: dict[tuple[str, str, datetime], list[dict[str, Any]]] = {}
    denials: dict[EventKey, str] = {}
    first_delivered: dict[EventKey, datetime] = {}
    duplicated = 0
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        for account, region in STREAMS:
            for _ in range(rng.randint(6, 10)):
                moment = start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))
                for record in _records(rng, account, region, moment.strftime("%Y-%m-%dT%H:%M:%SZ")):
                    key = (record["eventID"], account)
                    if record["eventSource"] == "apprunner.amazonaws.com" and "errorCode" in record:
                        denials[key] = day.isoformat()
                    copies = 2 if rng.random() < 0.05 else 1
                    duplicated += copies - 1
                    for _ in range(copies):
                        delivered = moment + _delay(rng)
                        batch = delivered.replace(minute=delivered.minute - delivered.minute % 5, second=0)
                        deliveries.setdefault((account, region, batch), []).append(record)
                        first_delivered[key] = min(batch, first_delivered.get(key, batch))
    files = [
        _trail_file(account, region, at, records, i)
        for i, ((account, region, at), records) in enumerate(sorted(deliveries.items()))
    ]
    return Simulation(files, denials, {key: first_delivered[key] for key in denials}, duplicated)


def _trail_file(account: str, region: str, at: datetime, records: list[dict], index: int) -> TrailFile:
    """A file as CloudTrail writes it: compact JSON, gzipped, named and filed by its delivery time (UTC)."""
    folder = f"AWSLogs/{ORG_ID}/{account}/CloudTrail/{region}/{at:%Y/%m/%d}/"
    key = f"{folder}{account}_CloudTrail_{region}_{at:%Y%m%dT%H%MZ}_{index:05d}.json.gz"
    return TrailFile(key, at, gzip.compress(orjson.dumps({"Records": records})))


def run_day(sim: Simulation, s3: Any, day: date, ledger: Ledger, tz: str, now: datetime) -> dict[str, Any]:
    """One day's run at ``now``, reading the trail bucket through the S3 source as the daily job does."""
    sim.deliver_until(s3, now)
    read_window = daily_window(day, tz, LOOKBACK).read_window
    source = source_from_spec(
        f"s3://{BUCKET}", read_window, ReadOptions(session=boto3.Session(region_name="us-east-1"))
    )
    return daily_report([source], day, ledger, Options(), tz=tz, lookback=LOOKBACK, now=now).document()


def run_fortnight(
    sim: Simulation, s3: Any, ledger: Ledger, tz: str, days: range = range(DAYS + 1)
) -> list[tuple[date, datetime, dict[str, Any]]]:
    runs = []
    for offset in days:
        day = FIRST_DAY + timedelta(days=offset)
        now = local_midnight(day + timedelta(days=1), tz) + RUN_DELAY
        runs.append((day, now, run_day(sim, s3, day, ledger, tz, now)))
    return runs


def expected_counts(sim: Simulation, runs: list[tuple[date, datetime, dict[str, Any]]]) -> list[tuple[int, int]]:
    """(on time, late) for each run, from the simulation alone: a denial counts in its own day's report when
    its first copy was delivered by that day's run, else (late) in the first run after that delivery."""
    counts = []
    previous_run = datetime.min.replace(tzinfo=UTC)
    for day, now, _ in runs:
        homes = [(home, sim.first_delivered[key]) for key, home in sim.denials.items()]
        on_time = sum(1 for home, first in homes if home == day.isoformat() and first <= now)
        late = sum(1 for home, first in homes if home < day.isoformat() and previous_run < first <= now)
        counts.append((on_time, late))
        previous_run = now
    return counts


def check_exactly_once(sim: Simulation, ledger: Ledger, runs: list[tuple[date, datetime, dict[str, Any]]]) -> None:
    counted: Counter[EventKey] = Counter()
    expected = expected_counts(sim, runs)
    assert [(r["totals"]["denials"], r["totals"]["late_denials"]) for _, _, r in runs] == expected
    for day, _, report in runs:
        validate(report)  # a daily report is still a contract report
        claims = ledger.counted(day.isoformat())
        counted.update(claims.keys())
        on_time = [key for key, home in claims.items() if home == day.isoformat()]
        late = {key: home for key, home in claims.items() if home != day.isoformat()}
        # The report says what the ledger holds: its own denials, and late ones from earlier days.
        assert report["totals"]["denials"] == len(on_time) == report["ledger"]["counted"]
        assert sum(x["denials"] for x in report["findings"]) == len(on_time)
        assert report["totals"]["late_denials"] == len(late) == report["ledger"]["late_arrivals"]
        for section in report["late_arrivals"]:
            home = section["window"]["key"]
            assert home < day.isoformat()
            assert section["denials"] == sum(1 for h in late.values() if h == home)
            assert sum(x["denials"] for x in section["findings"]) == section["denials"]
        assert all(sim.denials[key] == home for key, home in claims.items())  # each in its own day's window
    assert set(counted) == set(sim.denials), "a denial was lost (or one was invented)"
    assert max(counted.values()) == 1, "a denial was reported twice"


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_every_denial_is_reported_exactly_once_over_fourteen_days(tmp_path, s3, tz):
    sim = simulate(tz, seed=2026)
    ledger = FileLedger(tmp_path / "ledger")
    runs = run_fortnight(sim, s3, ledger, tz)

    check_exactly_once(sim, ledger, runs)
    # The simulation exercised what it claims to: late logs, repeats across runs, a DST day.
    expected = expected_counts(sim, runs)
    assert sim.duplicated > 10
    assert sum(late for _, late in expected) > 10
    assert expected[-1][0] == 0 and expected[-1][1] > 0, "the fifteenth run has only late arrivals"
    assert sum(report["ledger"]["already_reported"] for _, _, report in runs) > 0
    if tz == "America/New_York":
        fall_back = next(r for d, _, r in runs if d == date(2026, 11, 1))
        assert (fall_back["daily"]["start"], fall_back["daily"]["end"]) == (
            "2026-11-01T04:00:00Z",
            "2026-11-02T05:00:00Z",
        )


def test_a_repeated_run_reproduces_its_report(tmp_path, s3):
    sim = simulate("UTC", seed=7)
    ledger = FileLedger(tmp_path / "ledger")
    runs = run_fortnight(sim, s3, ledger, "UTC", range(6))
    day, now, first = runs[5]
    again = run_day(sim, s3, day, ledger, "UTC", now)  # retried over the same files: its claims are its own
    assert again == {**first, "ledger": {**first["ledger"], "already_reported": again["ledger"]["already_reported"]}}
    assert ledger.load_report(day.isoformat()) == again
    runs += run_fortnight(sim, s3, ledger, "UTC", range(6, DAYS + 1))
    check_exactly_once(sim, ledger, runs)


def _table() -> Any:
    return boto3.resource("dynamodb", region_name="us-east-1").create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_exactly_once_with_the_dynamodb_ledger(s3):
    table = _table()
    sim = simulate("UTC", seed=99)
    ledger = DynamoDBLedger(table)
    runs = run_fortnight(sim, s3, ledger, "UTC")
    check_exactly_once(sim, ledger, runs)
    day, _, report = runs[3]
    assert ledger.load_report(day.isoformat()) == json.loads(json.dumps(report))


def test_the_window_a_run_reads_reaches_back_by_the_lookback():
    window = daily_window(FIRST_DAY, "UTC", LOOKBACK)
    assert window.read_window.start == datetime(2026, 10, 24, tzinfo=UTC)
    assert window.read_window.end == datetime(2026, 10, 27, tzinfo=UTC)


# --- the DynamoDB ledger on its own ---------------------------------------------------------------


@mock_aws
def test_dynamodb_claims_are_conditional_writes_one_run_wins():
    ledger = DynamoDBLedger(_table(), clock=lambda: datetime(2026, 11, 29, 1, tzinfo=UTC))
    keys = {(f"id-{i}", f.ACCOUNT): "2026-11-27" for i in range(250)}  # more than one BatchGetItem
    assert ledger.claim("2026-11-27", dict(list(keys.items())[:200])) == frozenset(list(keys)[:200])
    assert ledger.claim("2026-11-28", keys) == frozenset(list(keys)[200:])  # the first 200 stay with the 27th
    assert ledger.claim("2026-11-27", keys) == frozenset(list(keys)[:200])  # a retry of the 27th keeps its own
    reported = ledger.reported([*keys, ("id-x", f.ACCOUNT)])
    assert Counter(reported.values()) == {"2026-11-27": 200, "2026-11-28": 50}
    assert len(ledger.counted("2026-11-28")) == 50
    item = ledger.table.get_item(Key={"pk": f"event#id-0#{f.ACCOUNT}"})["Item"]
    assert (item["reported_in"], item["window"], item["recorded_at"]) == (
        "2026-11-27",
        "2026-11-27",
        "2026-11-29T01:00:00Z",
    )


@mock_aws
def test_dynamodb_keeps_a_report_that_fits_in_an_item_and_the_digest_of_any():
    ledger = DynamoDBLedger(_table())
    ledger.save_report("2026-11-28", {"totals": {"denials": 3}})
    assert ledger.load_report("2026-11-28") == {"totals": {"denials": 3}}
    ledger.save_report("2026-11-29", {"findings": ["x" * 1000] * 400})
    assert ledger.load_report("2026-11-29") is None
    assert len(ledger.table.get_item(Key={"pk": "report#2026-11-29"})["Item"]["report_sha256"]) == 64
    assert ledger.load_report("2026-11-30") is None
