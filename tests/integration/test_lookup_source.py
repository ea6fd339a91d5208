"""LookupEvents through botocore's Stubber (moto does not implement it), shaped like the documented API.

The contract the stubs keep: one lookup attribute, ``StartTime``/``EndTime``, at most 50 events a
page, newest first, ``NextToken`` to the next page, ``ThrottlingException`` past 2 requests a second,
each record in the ``CloudTrailEvent`` JSON string.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
import botocore.retries.bucket
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from analysis import aws_clients, cli
from analysis.model import Window
from analysis.pipeline import Options, analyse
from analysis.records import Malformed
from analysis.sources import ReadOptions, SourceError, sources_from_spec
from analysis.sources import lookup as lookup_module
from analysis.sources.lookup import (
    PAGE_SIZE,
    LookupSource,
    Pacer,
    boto_client_maker,
    event_sources_for,
    lookup_sources,
    lookup_window,
)
from tests import factories as f

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
START, END = datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC)
WINDOW = Window(START, END)
APP_RUNNER = [{"AttributeKey": "EventSource", "AttributeValue": "apprunner.amazonaws.com"}]
ROLE = "AuditReadOnly"


# --- the documented shapes ------------------------------------------------------------------------


def lookup_event(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": str(record["readOnly"]).lower(),
        "EventTime": datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")),
        "EventSource": record["eventSource"],
        "Username": "dev-alice",
        "Resources": [{"ResourceType": "AWS::AppRunner::Service", "ResourceName": "web"}],
        "CloudTrailEvent": json.dumps(record),
    }


def day_of_events(count: int, denial_every: int = 7, region: str = f.REGION) -> list[dict[str, Any]]:
    """``count`` App Runner events, newest first, every ``denial_every``-th one denied."""
    events = []
    for index in range(count):
        when = END - timedelta(minutes=index + 1)
        denied = index % denial_every == 0
        record = f.record(
            "DescribeService" if denied else "ListServices",
            error_code="AccessDeniedException" if denied else None,
            event_time=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            region=region,
            request=None if denied else {},
        )
        events.append(lookup_event(record))
    return events


def pages(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [events[i : i + PAGE_SIZE] for i in range(0, len(events), PAGE_SIZE)] or [[]]


def expected(token: str | None = None, attributes: list[dict[str, str]] | None = APP_RUNNER) -> dict[str, Any]:
    params: dict[str, Any] = {"StartTime": START, "EndTime": END, "MaxResults": 50}
    if attributes is not None:
        params["LookupAttributes"] = attributes
    if token:
        params["NextToken"] = token
    return params


def stub_pages(stubber: Stubber, events: list[dict[str, Any]], attributes: Any = APP_RUNNER, tag: str = "") -> None:
    chunks = pages(events)
    for number, chunk in enumerate(chunks):
        response: dict[str, Any] = {"Events": chunk}
        if number < len(chunks) - 1:
            response["NextToken"] = f"{tag}token-{number + 1}"
        token = f"{tag}token-{number}" if number else None
        stubber.add_response("lookup_events", response, expected(token, attributes))


def cloudtrail(region: str = f.REGION) -> tuple[Any, Stubber]:
    client = boto3.client("cloudtrail", region_name=region)
    return client, Stubber(client)


class FakeTime:
    """A clock that sleeping advances: pacing is checked without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def pacer_factory(fake: FakeTime) -> Callable[[], Pacer]:
    return lambda: Pacer(clock=fake.clock, sleep=fake.sleep)


def source_for(clients: dict[str, Any], fake: FakeTime | None = None, name: str = "lookup:test") -> LookupSource:
    fake = fake or FakeTime()
    return LookupSource(
        name, tuple(clients), clients.__getitem__, START, END, ("apprunner.amazonaws.com",), pacer_factory(fake)
    )


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client, stubber = cloudtrail()
    with stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


# --- pages, pacing, throttling ------------------------------------------------------------------------


def test_every_page_is_followed_with_the_documented_parameters(stubbed):
    client, stubber = stubbed
    events = day_of_events(120)
    stub_pages(stubber, events)
    fake = FakeTime()

    result = analyse([source_for({f.REGION: client}, fake)], WINDOW, Options())

    assert result.report.document()["sources"][0]["records_read"] == 120
    assert len(result.frame) == len([e for e in events if "AccessDenied" in e["CloudTrailEvent"]]) == 18
    assert fake.sleeps == [0.5, 0.5], "three requests, 2 a second"


def test_a_page_of_at_most_50_newest_first_comes_back_in_order(stubbed):
    client, stubber = stubbed
    events = day_of_events(50)
    stub_pages(stubber, events)
    items = list(source_for({f.REGION: client}).read())
    times = [i["eventTime"] for i in items]
    assert len(items) == 50 and times == sorted(times, reverse=True)


# Stubber answers before botocore's retry handler runs, so retries are shown with answers given at the
# HTTP layer ("before-send"): botocore parses each one and retries it or not, as it would AWS's.


class Answer:
    """A canned HTTP answer to one LookupEvents request: a status and a JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.data = status, json.dumps(body, default=lambda t: t.timestamp()).encode()

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def throttled() -> Answer:
    return Answer(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})


def answered(client: Any, answers: list[Answer]) -> list[int]:
    """Answer the client's LookupEvents requests in order; returns the statuses answered so far."""
    sent: list[int] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        given = answers[len(sent)]
        sent.append(given.status)
        return AWSResponse(request.url, given.status, {"Content-Type": "application/x-amz-json-1.1"}, given)

    client.meta.events.register("before-send.cloudtrail.LookupEvents", answer)
    return sent


@pytest.fixture
def real_client(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[float]]:
    """A CloudTrail client made as the source makes it (botocore's adaptive retries), and the backoff pauses
    botocore takes, recorded instead of slept; the adaptive rate limiter's clock runs a minute a reading."""
    pauses: list[float] = []
    ticks = itertools.count(1_000_000, 60)
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=pauses.append))
    monkeypatch.setattr(botocore.retries.bucket.Clock, "current_time", lambda self: next(ticks))
    session = boto3.Session(region_name=f.REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto_client_maker(session)(None, f.REGION), pauses


def test_throttling_is_retried_by_botocore_with_backoff(real_client):
    client, pauses = real_client
    chunks = pages(day_of_events(60))
    first, last = Answer(200, {"Events": chunks[0], "NextToken": "t"}), Answer(200, {"Events": chunks[1]})
    sent = answered(client, [throttled(), throttled(), first, last])
    fake = FakeTime()
    assert len(list(source_for({f.REGION: client}, fake).read())) == 60
    assert sent == [400, 400, 200, 200]
    assert len(pauses) == 2 and 0 < pauses[0] <= 1 and 0 < pauses[1] <= 2, "exponential backoff, jittered"
    assert fake.sleeps == [0.5], "the pacer spaces the pages; retries are botocore's"
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 8}, "throttles lower the rate"


def test_a_request_throttled_past_the_attempts_fails_the_source(real_client):
    client, _ = real_client
    sent = answered(client, [throttled() for _ in range(aws_clients.MAX_ATTEMPTS + 1)])
    with pytest.raises(SourceError, match=rf"{f.REGION}: .*ThrottlingException.*Rate exceeded"):
        list(source_for({f.REGION: client}).read())
    assert len(sent) == aws_clients.MAX_ATTEMPTS == 8


def test_the_pacer_keeps_two_requests_a_second():
    fake = FakeTime()
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep)
    for _ in range(4):
        pacer.wait()
    assert fake.sleeps == [0.5, 0.5, 0.5]
    fake.now += 10
    pacer.wait()
    assert fake.sleeps == [0.5, 0.5, 0.5], "no pause once the last call is long past"


# --- regions, window, services -----------------------------------------------------------------------


def test_regions_are_read_concurrently_and_a_failing_one_leaves_the_other():
    east, east_stub = cloudtrail("us-east-1")
    west, west_stub = cloudtrail("eu-west-1")
    stub_pages(east_stub, day_of_events(70))
    west_stub.add_client_error(
        "lookup_events", "AccessDeniedException", "not authorized to perform cloudtrail:LookupEvents"
    )
    with east_stub, west_stub:
        result = analyse([source_for({"us-east-1": east, "eu-west-1": west})], WINDOW, Options())
    status = result.report.document()["sources"][0]
    assert status["records_read"] == 70 and status["status"] == "partial"
    assert status["error"].startswith("eu-west-1: ") and "(AccessDeniedException)" in status["error"]


def test_both_regions_are_read():
    east, east_stub = cloudtrail("us-east-1")
    west, west_stub = cloudtrail("eu-west-1")
    stub_pages(east_stub, day_of_events(30))
    stub_pages(west_stub, day_of_events(80, region="eu-west-1"))
    with east_stub, west_stub:
        items = list(source_for({"us-east-1": east, "eu-west-1": west}).read())
    regions = [i["awsRegion"] for i in items]
    assert regions.count("us-east-1") == 30 and regions.count("eu-west-1") == 80


def test_a_91_day_window_is_refused_and_90_days_accepted():
    with pytest.raises(SourceError, match=r"LookupEvents keeps 90 days.*91 days ago.*s3://"):
        lookup_window(Window(NOW - timedelta(days=91), NOW), NOW)
    assert lookup_window(Window(NOW - timedelta(days=90), NOW), NOW) == (NOW - timedelta(days=90), NOW)
    assert lookup_window(Window(None, None), NOW) == (NOW - timedelta(days=90), NOW)
    real_now = datetime.now(UTC)
    with pytest.raises(SourceError, match="91 days ago"):
        sources_from_spec(
            "lookup:us-east-1", Window(real_now - timedelta(days=91), None), ReadOptions(session=object())
        )


def test_a_future_end_is_clipped_to_now():
    assert lookup_window(Window(START, NOW + timedelta(days=2)), NOW) == (START, NOW)


@pytest.mark.parametrize(
    ("service", "sources"),
    [
        ("apprunner", ("apprunner.amazonaws.com",)),
        ("cloudwatch", ("cloudwatch.amazonaws.com", "monitoring.amazonaws.com")),
        ("all", (None,)),
    ],
)
def test_the_audited_service_picks_the_lookup_attribute(service, sources):
    assert event_sources_for(service) == sources


def test_service_all_sends_no_lookup_attribute(stubbed):
    client, stubber = stubbed
    stub_pages(stubber, day_of_events(3), attributes=None)
    source = LookupSource(
        "lookup:x", (f.REGION,), {f.REGION: client}.__getitem__, START, END, (None,), pacer_factory(FakeTime())
    )
    assert len(list(source.read())) == 3


def test_a_bad_cloudtrail_event_string_is_named():
    client, stubber = cloudtrail()
    broken = day_of_events(2)
    broken[1]["CloudTrailEvent"] = "{not json"
    stub_pages(stubber, broken)
    with stubber:
        items = list(source_for({f.REGION: client}, name="lookup:us-east-1").read())
    problems = [i for i in items if isinstance(i, Malformed)]
    assert len(items) == 2 and len(problems) == 1
    assert problems[0].origin == f"lookup:us-east-1 {f.REGION} event {broken[1]['EventId']}"


# --- several accounts ---------------------------------------------------------------------------------


def sts_stub(outcomes: dict[str, bool]) -> tuple[Any, Stubber]:
    """assume_role answered in account order: True gives credentials, False AccessDenied."""
    sts = boto3.client("sts", region_name=f.REGION)
    stubber = Stubber(sts)
    for account, allowed in sorted(outcomes.items()):
        params = {"RoleArn": f"arn:aws:iam::{account}:role/{ROLE}", "RoleSessionName": "apprunner-access-auditor"}
        if allowed:
            credentials = {
                "AccessKeyId": f"ASIA{account}",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": NOW + timedelta(hours=1),
            }
            stubber.add_response("assume_role", {"Credentials": credentials}, params)
        else:
            stubber.add_client_error(
                "assume_role",
                "AccessDenied",
                f"not authorized to assume role in {account}",
                403,
                expected_params=params,
            )
    return sts, stubber


def test_an_account_whose_role_cannot_be_assumed_fails_alone(monkeypatch):
    good, bad = f.ACCOUNT, f.OTHER_ACCOUNT
    sts, sts_stubber = sts_stub({good: True, bad: False})
    client, stubber = cloudtrail()
    stub_pages(stubber, day_of_events(20))
    made: list[tuple[str, str]] = []

    def make_client(credentials: dict[str, str] | None, region: str) -> Any:
        made.append((credentials["AccessKeyId"], region))
        return client

    monkeypatch.setattr(lookup_module, "Pacer", pacer_factory(FakeTime()))
    with sts_stubber, stubber:
        sources = lookup_sources(
            "lookup:us-east-1",
            WINDOW,
            accounts=[bad, good],
            role_name=ROLE,
            sts=sts,
            organizations=object(),
            make_client=make_client,
            now=NOW,
        )
        result = analyse(sources, WINDOW, Options())

    by_name = {s["name"]: s for s in result.report.document()["sources"]}
    assert by_name[f"lookup:us-east-1@{good}"]["status"] == "ok"
    assert by_name[f"lookup:us-east-1@{good}"]["records_read"] == 20
    failed = by_name[f"lookup:us-east-1@{bad}"]
    assert failed["status"] == "failed"
    assert f"account {bad}: cannot assume arn:aws:iam::{bad}:role/{ROLE}" in failed["error"]
    assert made == [(f"ASIA{good}", f.REGION)]
    assert len(result.frame) == 3


def test_accounts_come_from_organizations_active_ones_only():
    organizations = boto3.client("organizations", region_name=f.REGION)
    stubber = Stubber(organizations)
    accounts = [
        {"Id": f.ACCOUNT, "Status": "ACTIVE"},
        {"Id": f.OTHER_ACCOUNT, "Status": "ACTIVE"},
        {"Id": "999988887777", "Status": "SUSPENDED"},
    ]
    stubber.add_response("list_accounts", {"Accounts": accounts[:2], "NextToken": "more"}, {})
    stubber.add_response("list_accounts", {"Accounts": accounts[2:]}, {"NextToken": "more"})
    with stubber:
        sources = lookup_sources(
            "lookup:us-east-1,eu-west-1",
            WINDOW,
            accounts_from_organizations=True,
            role_name=ROLE,
            sts=object(),
            organizations=organizations,
            make_client=lambda c, r: None,
            now=NOW,
        )
    assert [s.name for s in sources] == [f"lookup:us-east-1,eu-west-1@{a}" for a in (f.ACCOUNT, f.OTHER_ACCOUNT)]
    assert all(s.regions == ("us-east-1", "eu-west-1") for s in sources)


def test_organizations_refusing_is_one_failed_source():
    organizations = boto3.client("organizations", region_name=f.REGION)
    stubber = Stubber(organizations)
    stubber.add_client_error("list_accounts", "AccessDeniedException", "You don't have permissions")
    with stubber:
        sources = lookup_sources(
            "lookup:us-east-1",
            WINDOW,
            accounts_from_organizations=True,
            role_name=ROLE,
            sts=object(),
            organizations=organizations,
            make_client=lambda c, r: None,
            now=NOW,
        )
    result = analyse(sources, WINDOW, Options())
    status = result.report.document()["sources"][0]
    assert status["name"] == "lookup:us-east-1@organization" and status["status"] == "failed"
    assert "cannot list the organization's accounts" in status["error"]


def test_several_accounts_need_a_role_name():
    with pytest.raises(SourceError, match="--role-name"):
        lookup_sources(
            "lookup:us-east-1",
            WINDOW,
            accounts=[f.ACCOUNT],
            sts=object(),
            organizations=object(),
            make_client=lambda c, r: None,
            now=NOW,
        )


@pytest.mark.parametrize("spec", ["lookup:", "lookup: ,", "lookup:us_east_1"])
def test_bad_region_lists_are_refused(spec):
    with pytest.raises(SourceError, match="region"):
        lookup_sources(spec, WINDOW, make_client=lambda c, r: None, sts=object(), organizations=object(), now=NOW)


# --- the command line ---------------------------------------------------------------------------------


def test_the_command_line_passes_accounts_and_role_through(monkeypatch, capsys):
    sts, sts_stubber = sts_stub({f.ACCOUNT: True, f.OTHER_ACCOUNT: False})
    client, stubber = cloudtrail()
    stub_pages(stubber, day_of_events(14), attributes=APP_RUNNER)
    seen: dict[str, Any] = {}
    real = lookup_module.lookup_sources

    def with_stubs(spec: str, window: Window, **options: Any) -> list[Any]:
        seen.update(options)
        return real(
            spec,
            window,
            **{**options, "sts": sts, "organizations": object(), "make_client": lambda c, r: client, "now": NOW},
        )

    monkeypatch.setattr(lookup_module, "lookup_sources", with_stubs)
    monkeypatch.setattr(lookup_module, "Pacer", pacer_factory(FakeTime()))
    with sts_stubber, stubber:
        code = cli.main(
            [
                "report",
                "--source",
                "lookup:us-east-1",
                "--since",
                "2026-11-28T00:00:00Z",
                "--until",
                "2026-11-29T00:00:00Z",
                "--accounts",
                f"{f.OTHER_ACCOUNT},{f.ACCOUNT}",
                "--role-name",
                ROLE,
            ]
        )
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 0
    assert list(seen["accounts"]) == [f.ACCOUNT, f.OTHER_ACCOUNT] and seen["role_name"] == ROLE
    assert seen["service"] == "apprunner" and seen["accounts_from_organizations"] is False
    assert [(s["name"], s["status"]) for s in report["sources"]] == [
        (f"lookup:us-east-1@{f.ACCOUNT}", "ok"),
        (f"lookup:us-east-1@{f.OTHER_ACCOUNT}", "failed"),
    ]
    assert report["totals"]["denials"] == 2
    assert f"lookup:us-east-1@{f.OTHER_ACCOUNT}" in captured.err


def test_a_server_error_is_retried_and_a_refusal_is_not(real_client):
    client, _ = real_client
    failure = Answer(500, {"__type": "InternalFailure", "message": "try again"})
    refused = Answer(400, {"__type": "InvalidTimeRangeException", "message": "bad range"})
    sent = answered(client, [failure, Answer(200, {"Events": day_of_events(5)}), refused, refused])
    assert len(list(source_for({f.REGION: client}).read())) == 5
    with pytest.raises(SourceError, match="InvalidTimeRangeException"):
        list(source_for({f.REGION: client}).read())
    assert sent == [500, 200, 400]


def test_assumed_role_credentials_are_renewed_before_they_expire():
    """A run that outlives the role session keeps reading: the client refreshes the credentials through
    sts:AssumeRole before they expire (botocore refreshes inside its 10-minute mandatory window)."""
    from datetime import UTC, datetime, timedelta

    from analysis.sources.lookup import AssumedRoleClients, boto_client_maker

    issued = []

    class Sts:
        def assume_role(self, RoleArn: str, RoleSessionName: str) -> dict:
            issued.append(RoleArn)
            lifetime = timedelta(minutes=5) if len(issued) == 1 else timedelta(hours=1)
            return {
                "Credentials": {
                    "AccessKeyId": f"ASIAEXAMPLE{len(issued):09d}",
                    "SecretAccessKey": "secret",
                    "SessionToken": "token",
                    "Expiration": datetime.now(UTC) + lifetime,
                }
            }

    clients = AssumedRoleClients(f.OTHER_ACCOUNT, f"arn:aws:iam::{f.OTHER_ACCOUNT}:role/{ROLE}", Sts(),
                                 boto_client_maker(boto3.Session(region_name=f.REGION)))  # fmt: skip
    client = clients(f.REGION)
    assert len(issued) == 1
    frozen = client._request_signer._credentials.get_frozen_credentials()
    assert frozen.access_key == "ASIAEXAMPLE000000002", "credentials 5 minutes from expiry were renewed"
    assert issued == [f"arn:aws:iam::{f.OTHER_ACCOUNT}:role/{ROLE}"] * 2
    assert client._request_signer._credentials.get_frozen_credentials().access_key == "ASIAEXAMPLE000000002"
    assert len(issued) == 2, "fresh credentials are not renewed again"
