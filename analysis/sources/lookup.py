"""CloudTrail ``LookupEvents``: ``lookup:REGION[,REGION…]``, for one account or several.

The API's contract, which this module keeps: management events of the last 90 days only; one lookup
attribute per call (``EventSource=apprunner.amazonaws.com``, or the audited service's event
sources; none for ``--service all``), so errors are filtered here, not by the API; at most 50
events a page, newest first, the next page by ``NextToken``; 2 requests a second per account and
region, ``ThrottlingException`` past that. Each event's record is the JSON string
``CloudTrailEvent``.

Regions are read at once, one thread each, each paced to the API's rate; a throttled call is
retried by botocore, whose adaptive mode also slows the client down (:mod:`analysis.aws_clients`).
Several accounts (``accounts`` or every active account of AWS Organizations) are read by assuming
a named read-only role in each; each account is its own source, so one whose
role cannot be assumed is reported as a failed source while the others are read.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis import aws_clients, identifiers
from analysis.aws_errors import describe_error
from analysis.catalog import mapped_event_sources
from analysis.identifiers import partition_for_region
from analysis.model import Window
from analysis.progress import NO_PROGRESS, Progress
from analysis.records import RecordOrProblem, unwrap
from analysis.sources.base import Source, SourceError

RETENTION = timedelta(days=90)
RETENTION_GRACE = timedelta(minutes=5)  # a window starting "90 days ago" a moment before the call
PAGE_SIZE = 50  # the API's maximum
REQUESTS_PER_SECOND = 2.0  # per account and region
CLIENT_CONNECTIONS = 4  # a region's client serves one thread
SESSION_NAME = "apprunner-access-auditor"
_QUEUE_PAGES = 64

Clients = Callable[[str], Any]  # region -> CloudTrail client


# --- pacing -------------------------------------------------------------------------------------


@dataclass
class Pacer:
    """At most ``rate`` calls a second: the API's quota, kept so that calls are not throttled to begin with."""

    rate: float = REQUESTS_PER_SECOND
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _next: float = field(init=False, default=0.0)

    def wait(self) -> None:
        """Before each call: sleep until the next call is allowed."""
        now = self.clock()
        if self._next > now:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + 1.0 / self.rate


# --- one region ---------------------------------------------------------------------------------


def lookup_arguments(event_source: str | None, start: datetime, end: datetime) -> dict[str, Any]:
    arguments: dict[str, Any] = {"StartTime": start, "EndTime": end, "MaxResults": PAGE_SIZE}
    if event_source:
        arguments["LookupAttributes"] = [{"AttributeKey": "EventSource", "AttributeValue": event_source}]
    return arguments


def event_pages(
    client: Any, event_source: str | None, start: datetime, end: datetime, pacer: Pacer
) -> Iterator[list[dict[str, Any]]]:
    """Every page of events for one event source, following ``NextToken`` to the last page."""
    arguments = lookup_arguments(event_source, start, end)
    while True:
        pacer.wait()
        response = client.lookup_events(**arguments)
        yield response.get("Events", [])
        token = response.get("NextToken")
        if not token:
            return
        arguments = {**arguments, "NextToken": token}


def event_sources_for(service: str) -> tuple[str | None, ...]:
    """The ``EventSource`` values to look up for the audited service (``None``: no attribute, every event)."""
    if service == "all":
        return (None,)
    return tuple(sorted({f"{service}.amazonaws.com", *mapped_event_sources(service)}))


# --- the source ---------------------------------------------------------------------------------


@dataclass
class LookupSource:
    """The events of one account in several regions, read at once, one thread per region."""

    name: str
    regions: tuple[str, ...]
    clients: Clients
    start: datetime
    end: datetime
    event_sources: tuple[str | None, ...] = ("apprunner.amazonaws.com",)
    pacer: Callable[[], Pacer] | None = None  # makes one per region; default Pacer()
    progress: Progress = NO_PROGRESS  # told the pages and events read in each region

    def read(self) -> Iterator[RecordOrProblem]:
        # Clients first, in this thread: an account whose role cannot be assumed fails here, once.
        producers = {region: self._region_reader(self.clients(region)) for region in self.regions}
        pages = dict.fromkeys(self.regions, 0)
        events = dict.fromkeys(self.regions, 0)
        for region, page in merged(producers):
            pages[region] += 1
            events[region] += len(page)
            self.progress.pages(self.name, region, pages[region], events[region])
            for event in page:
                yield from unwrap(event, f"{self.name} {region} event {event.get('EventId', '?')}")

    def _region_reader(self, client: Any) -> Callable[[], Iterator[list[dict[str, Any]]]]:
        def pages() -> Iterator[list[dict[str, Any]]]:
            pacer = (self.pacer or Pacer)()
            for event_source in self.event_sources:
                yield from event_pages(client, event_source, self.start, self.end, pacer)

        return pages


def merged(producers: Mapping[str, Callable[[], Iterable[Any]]]) -> Iterator[tuple[str, Any]]:
    """(name, item) from every producer, each run in its own thread, as they come.

    Producers that fail do not stop the others; once all are done, their errors are raised as one
    :class:`SourceError` (the pipeline then marks the source partial, or failed if nothing was read).
    """
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=_QUEUE_PAGES)
    done = object()
    stop = threading.Event()
    failures: dict[str, Exception] = {}

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                items.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(name: str, produce: Callable[[], Iterable[Any]]) -> None:
        try:
            for item in produce():
                if not put((name, item)):
                    return
        except Exception as error:  # reported once every producer is done
            failures[name] = error
        finally:
            put((name, done))

    threads = [threading.Thread(target=run, args=(n, p), name=f"lookup-{n}", daemon=True) for n, p in producers.items()]
    for thread in threads:
        thread.start()
    try:
        remaining = len(threads)
        while remaining:
            name, item = items.get()
            if item is done:
                remaining -= 1
            else:
                yield name, item
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    if failures:
        raise SourceError("; ".join(f"{name}: {_describe(error)}" for name, error in sorted(failures.items())))


def _describe(error: Exception) -> str:
    return describe_error(error)


@dataclass
class FailedSource:
    """A source that could not even be set up (e.g. AWS Organizations refused to list accounts)."""

    name: str
    error: str

    def read(self) -> Iterator[RecordOrProblem]:
        raise SourceError(self.error)
        yield  # pragma: no cover - makes this a generator


# --- the window, regions and accounts ------------------------------------------------------------


def lookup_window(window: Window, now: datetime) -> tuple[datetime, datetime]:
    """[start, end] for the API: the last 90 days at most, refused with a clear error beyond."""
    oldest = now - RETENTION
    start = window.start or oldest
    if start < oldest - RETENTION_GRACE:
        days = (now - start).total_seconds() / 86400
        raise SourceError(
            f"LookupEvents keeps 90 days of management events; the window starts {days:.0f} days ago "
            f"({start:%Y-%m-%dT%H:%MZ}): read older events from the trail (s3://… or athena:…)"
        )
    end = min(window.end or now, now)
    if end <= start:
        raise SourceError(f"LookupEvents: the window [{start:%Y-%m-%dT%H:%MZ}, {end:%Y-%m-%dT%H:%MZ}) is empty")
    return start, end


def parse_regions(spec: str) -> tuple[str, ...]:
    try:
        regions = identifiers.parse_regions(spec[len("lookup:") :])
    except identifiers.InvalidIdentifier as error:
        raise SourceError(f"{spec}: {error}") from error
    if not regions:
        raise SourceError(f"{spec}: name at least one region, e.g. lookup:us-east-1,eu-west-1")
    return regions


def role_arn(account: str, role_name: str, region: str) -> str:
    """The role to assume in ``account``; ``role_name`` may carry a path (``audit/ReadOnly``)."""
    return f"arn:{partition_for_region(region)}:iam::{account}:role/{role_name.strip('/')}"


def organization_accounts(client: Any) -> list[str]:
    """Every active account of the organization (``organizations:ListAccounts``)."""
    accounts = []
    for page in client.get_paginator("list_accounts").paginate():
        for account in page.get("Accounts", []):
            if account.get("State", account.get("Status")) == "ACTIVE":
                accounts.append(account["Id"])
    return sorted(accounts)


class RenewableCredentials(dict[str, Any]):
    """An ``sts:AssumeRole`` answer's ``Credentials`` that can be renewed: a run longer than the role's
    session (an hour by default) keeps reading, as clients made from it refresh them before they expire."""

    def __init__(self, credentials: Mapping[str, Any], renew: Callable[[], Mapping[str, Any]]) -> None:
        super().__init__(credentials)
        self.renew = renew


@dataclass
class AssumedRoleClients:
    """CloudTrail clients of one account, made from the role assumed there on first use (thread-safe)."""

    account: str
    role_arn: str
    sts: Any
    make_client: Callable[[dict[str, str] | None, str], Any]
    _credentials: RenewableCredentials | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __call__(self, region: str) -> Any:
        with self._lock:
            if self._credentials is None:
                self._credentials = RenewableCredentials(self._assume(), self._assume)
        return self.make_client(self._credentials, region)

    def _assume(self) -> dict[str, str]:
        try:
            response = self.sts.assume_role(RoleArn=self.role_arn, RoleSessionName=SESSION_NAME)
        except Exception as error:
            raise SourceError(f"account {self.account}: cannot assume {self.role_arn}: {error}") from error
        credentials: dict[str, str] = response["Credentials"]
        return credentials


def boto_client_maker(session: Any) -> Callable[[dict[str, str] | None, str], Any]:
    """CloudTrail clients from ``session``, or from assumed-role credentials when given (renewed before
    they expire when they are :class:`RenewableCredentials`)."""

    def make(credentials: dict[str, str] | None, region: str) -> Any:
        import boto3
        from botocore.config import Config

        origin = session if credentials is None else boto3.Session(botocore_session=_botocore_session(credentials))
        return aws_clients.client(origin, "cloudtrail", region, Config(max_pool_connections=CLIENT_CONNECTIONS))

    return make


def _botocore_session(credentials: Mapping[str, Any]) -> Any:
    """A botocore session whose credentials are ``credentials``, refreshed through ``renew`` when renewable."""
    from botocore.credentials import RefreshableCredentials
    from botocore.session import get_session

    core = get_session()
    renew = getattr(credentials, "renew", None)
    if renew is None or not credentials.get("Expiration"):
        token = credentials.get("SessionToken")
        core.set_credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], token)
    else:  # botocore offers no public setter for refreshable credentials
        core._credentials = RefreshableCredentials.create_from_metadata(  # type: ignore[attr-defined]
            metadata=credential_metadata(credentials),
            refresh_using=lambda: credential_metadata(renew()),
            method="sts-assume-role",
        )
    return core


def credential_metadata(credentials: Mapping[str, Any]) -> dict[str, str]:
    """STS ``Credentials`` in the form botocore's refreshable credentials take."""
    expiration = credentials["Expiration"]
    expiry = expiration.isoformat() if isinstance(expiration, datetime) else str(expiration)
    return {
        "access_key": credentials["AccessKeyId"],
        "secret_key": credentials["SecretAccessKey"],
        "token": credentials["SessionToken"],
        "expiry_time": expiry,
    }


@dataclass
class LookupPlan:
    """What ``lookup:`` reads: the regions, the window, the event sources, and the accounts."""

    spec: str
    regions: tuple[str, ...]
    start: datetime
    end: datetime
    event_sources: tuple[str | None, ...]
    accounts: Sequence[str] = ()
    role_name: str | None = None


def lookup_sources(
    spec: str,
    window: Window,
    *,
    service: str = "apprunner",
    accounts: Iterable[str] = (),
    accounts_from_organizations: bool = False,
    role_name: str | None = None,
    session: Any = None,
    sts: Any = None,
    organizations: Any = None,
    make_client: Callable[[dict[str, str] | None, str], Any] | None = None,
    now: datetime | None = None,
) -> list[Source]:
    """The sources of ``lookup:REGION[,…]``: one for the caller's account, or one per account.

    Several accounts (``accounts``, or every active one in AWS Organizations) need ``role_name``: the
    read-only role assumed in each. AWS clients come from ``session`` (default: boto3's) unless
    given (``sts``, ``organizations``; ``make_client(credentials, region)`` for CloudTrail).
    """
    regions = parse_regions(spec)
    start, end = lookup_window(window, now or datetime.now(UTC))
    plan = LookupPlan(spec, regions, start, end, event_sources_for(service), sorted(set(accounts)), role_name)
    if session is None and (make_client is None or sts is None or organizations is None):
        import boto3

        session = boto3.Session()
    make_client = make_client or boto_client_maker(session)
    if not plan.accounts and not accounts_from_organizations:
        return [_source(plan, spec, lambda region: make_client(None, region))]
    if not role_name:
        raise SourceError(
            f"{spec}: --accounts and --accounts-from-organizations need --role-name, "
            "the read-only role to assume in each account"
        )
    if accounts_from_organizations:
        try:
            found = organization_accounts(organizations or aws_clients.client(session, "organizations"))
        except Exception as error:
            return [FailedSource(f"{spec}@organization", f"cannot list the organization's accounts: {error}")]
        plan.accounts = sorted(set(plan.accounts) | set(found))
    sts = sts or aws_clients.client(session, "sts", regions[0])
    return [_account_source(plan, account, sts, make_client) for account in plan.accounts]


def _source(plan: LookupPlan, name: str, clients: Clients) -> LookupSource:
    return LookupSource(name, plan.regions, clients, plan.start, plan.end, plan.event_sources)


def _account_source(plan: LookupPlan, account: str, sts: Any, make_client: Any) -> LookupSource:
    arn = role_arn(account, plan.role_name or "", plan.regions[0])
    return _source(plan, f"{plan.spec}@{account}", AssumedRoleClients(account, arn, sts, make_client))
