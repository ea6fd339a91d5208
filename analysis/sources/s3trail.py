"""Trail files in S3: ``s3://BUCKET[/PREFIX][?option=value&…]``.

CloudTrail delivers to ``[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`` and, for an
organization trail, ``[PREFIX/]AWSLogs/o-ID/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/``; each file is
``ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz``, named and filed by its *delivery*
time (UTC), about every 5 minutes, not guaranteed in order. So the source lists only:

- the accounts and regions under ``AWSLogs/`` (one delimiter listing per level, skipped for what the
  spec names: ``s3://BUCKET/PREFIX/AWSLogs/o-ID/ACCOUNT/`` or ``?accounts=…&regions=…``);
- the day folders from the window's start to its end plus the late-delivery margin
  (``?margin_hours=``, default 6): a file's folder is its delivery date;

and reads the files whose delivery time falls in ``[start, end + margin]`` (a file holds events up to
its delivery), several at once, each one gunzipped and passed through the fast path
(:mod:`analysis.fastscan`).

Options: ``accounts``, ``regions`` (comma-separated), ``margin_hours``, ``workers`` (files fetched
at once, default 8), ``region`` (the bucket's region, for the client).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from analysis import aws_clients, scanpool
from analysis.identifiers import ACCOUNT_ID, ORG_ID, REGION, InvalidIdentifier, parse_list
from analysis.model import Window
from analysis.progress import NO_PROGRESS, Progress
from analysis.records import (
    ContentTooLarge,
    Loaded,
    Malformed,
    RecordOrProblem,
    load_bytes,
    max_content_bytes,
    parse_loaded,
    read_capped,
)
from analysis.sources.base import SourceError

DEFAULT_LATE_MARGIN = timedelta(hours=6)
DEFAULT_WORKERS = 8
TRAIL_SUFFIXES = (".json.gz", ".json")
_DELIVERED = re.compile(r"_(\d{8}T\d{4}Z)_[^/]*$")
_OPTIONS = frozenset({"accounts", "regions", "margin_hours", "workers", "region"})


@dataclass(frozen=True)
class S3Spec:
    bucket: str
    prefix: str = ""  # before AWSLogs/, '' or ending in '/'
    organization: str | None = None
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    margin: timedelta = DEFAULT_LATE_MARGIN
    workers: int = DEFAULT_WORKERS
    client_region: str | None = None


@dataclass(frozen=True)
class Location:
    """One account and region's trail folder: ``…/AWSLogs/[o-ID/]ACCOUNT/CloudTrail/REGION/``."""

    base: str  # '…/AWSLogs/' or '…/AWSLogs/o-ID/'
    account: str
    region: str

    def day_prefix(self, day: date) -> str:
        return f"{self.base}{self.account}/CloudTrail/{self.region}/{day:%Y/%m/%d}/"


def parse_spec(spec: str) -> S3Spec:
    if not spec.startswith("s3://"):
        raise SourceError(f"{spec}: an S3 source is s3://BUCKET[/PREFIX]")
    location, _, query = spec[len("s3://") :].partition("?")
    bucket, _, path = location.partition("/")
    if not bucket:
        raise SourceError(f"{spec}: no bucket named")
    options = _options(spec, query)
    prefix, organization, accounts, regions = _split_path(spec, path)
    return S3Spec(
        bucket=bucket,
        prefix=prefix,
        organization=organization,
        accounts=tuple(accounts) or _listed(spec, options.get("accounts", ""), ACCOUNT_ID, "a 12-digit AWS account ID"),
        regions=tuple(regions) or _listed(spec, options.get("regions", ""), REGION, "an AWS region"),
        margin=timedelta(
            hours=_number(spec, options, "margin_hours", DEFAULT_LATE_MARGIN.total_seconds() / 3600, float)
        ),
        workers=max(1, int(_number(spec, options, "workers", DEFAULT_WORKERS, int))),
        client_region=options.get("region") or None,
    )


def _options(spec: str, query: str) -> dict[str, str]:
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise SourceError(f"{spec}: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(_OPTIONS))})")
    return options


def _split_path(spec: str, path: str) -> tuple[str, str | None, list[str], list[str]]:
    """'logs/AWSLogs/o-x/111122223333/CloudTrail/us-east-1/' -> ('logs/', 'o-x', [account], [region])."""
    parts = [part for part in path.split("/") if part]
    if "AWSLogs" not in parts:
        return ("/".join(parts) + "/" if parts else ""), None, [], []
    at = parts.index("AWSLogs")
    prefix = "/".join(parts[:at]) + "/" if at else ""
    rest = parts[at + 1 :]
    organization = rest.pop(0) if rest and ORG_ID.match(rest[0]) else None
    accounts = [rest.pop(0)] if rest and ACCOUNT_ID.match(rest[0]) else []
    if rest and rest[0] == "CloudTrail":
        rest.pop(0)
    regions = [rest.pop(0)] if accounts and rest and REGION.match(rest[0]) else []
    if rest:
        raise SourceError(
            f"{spec}: expected …/AWSLogs/[o-ID/]ACCOUNT/CloudTrail/REGION/ at most, found {'/'.join(rest)}"
        )
    return prefix, organization, accounts, regions


def _listed(spec: str, value: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    try:
        return parse_list(value, pattern, what)
    except InvalidIdentifier as error:
        raise SourceError(f"{spec}: {error}") from error


def _number(spec: str, options: dict[str, str], key: str, default: float, kind: type) -> float:
    try:
        value = kind(options[key]) if key in options else default
    except ValueError as error:
        raise SourceError(f"{spec}: {key} must be a number, not {options[key]!r}") from error
    if value < 0:
        raise SourceError(f"{spec}: {key} must not be negative")
    return value


# --- which folders and files a window needs -----------------------------------------------------


def delivery_span(window: Window, margin: timedelta, now: datetime) -> tuple[datetime, datetime]:
    """The delivery times whose files may hold events of the window: [start, end + margin]."""
    if window.start is None:
        raise SourceError("an S3 trail source needs the window's start (--since or --day)")
    return window.start, (window.end or now) + margin


def days_between(first: datetime, last: datetime) -> list[date]:
    days, day = [], first.astimezone(UTC).date()
    while day <= last.astimezone(UTC).date():
        days.append(day)
        day += timedelta(days=1)
    return days


def delivered_at(key: str) -> datetime | None:
    """The delivery time in a CloudTrail file name, or None for a name of another form."""
    match = _DELIVERED.search(key)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)


def wanted(key: str, first: datetime, last: datetime) -> bool:
    if not key.endswith(TRAIL_SUFFIXES):
        return False
    delivered = delivered_at(key)
    # A name gives the minute: the file may have been written until the end of that minute.
    return delivered is None or (first <= delivered + timedelta(minutes=1) and delivered <= last)


# --- the source ---------------------------------------------------------------------------------


@dataclass
class S3TrailSource:
    """Trail files of the window under one bucket and prefix, read several at once."""

    client: Any
    spec: S3Spec
    window: Window
    name: str = ""
    service: str | None = None  # the audited service: lets the fast path skip other services' denials
    max_bytes: int | None = None  # each object's content at most (after gunzip); None: records.max_content_bytes()
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    progress: Progress = NO_PROGRESS  # told the objects and bytes read (their total once the listing is done)
    first: datetime = field(init=False)  # the delivery times of the files to read
    last: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.name or f"s3://{self.spec.bucket}/{self.spec.prefix}"
        self.first, self.last = delivery_span(self.window, self.spec.margin, self.now)

    def read(self) -> Iterator[RecordOrProblem]:
        listing = _Listing(self.objects())
        loaded_objects = scanpool.ordered_map(self._fetch, listing.keys(), self.spec.workers)
        for done, loaded in enumerate(loaded_objects, start=1):
            yield from parse_loaded(loaded)
            self.progress.files(done, *listing.read(done))

    def keys(self) -> Iterator[str]:
        """The keys of every trail file the window needs, folder by folder."""
        return (key for key, _ in self.objects())

    def objects(self) -> Iterator[tuple[str, int]]:
        """The key and size of every trail file the window needs, folder by folder."""
        days = days_between(self.first, self.last)
        for location in self.locations():
            for day in days:
                for key, size in self._list_objects(location.day_prefix(day)):
                    if wanted(key, self.first, self.last):
                        yield key, size

    def locations(self) -> Iterator[Location]:
        for base, accounts in self._bases():
            for account in self.spec.accounts or accounts:
                regions = self.spec.regions or _matching(self._children(f"{base}{account}/CloudTrail/"), REGION)
                for region in regions:
                    yield Location(base, account, region)

    def _bases(self) -> list[tuple[str, list[str]]]:
        """``…/AWSLogs/`` (account trails) and ``…/AWSLogs/o-ID/`` (organization trails), with their accounts."""
        root = f"{self.spec.prefix}AWSLogs/"
        if self.spec.organization:
            base = f"{root}{self.spec.organization}/"
            return [(base, [] if self.spec.accounts else _matching(self._children(base), ACCOUNT_ID))]
        names = self._children(root)
        bases = [(root, _matching(names, ACCOUNT_ID))]
        for organization in _matching(names, ORG_ID):
            base = f"{root}{organization}/"
            bases.append((base, [] if self.spec.accounts else _matching(self._children(base), ACCOUNT_ID)))
        return bases

    def _children(self, prefix: str) -> list[str]:
        """The folder names right under ``prefix`` (one delimiter listing)."""
        names: list[str] = []
        for page in self._pages(Prefix=prefix, Delimiter="/"):
            names.extend(common["Prefix"][len(prefix) :].rstrip("/") for common in page.get("CommonPrefixes", []))
        return names

    def _list_objects(self, prefix: str) -> Iterator[tuple[str, int]]:
        for page in self._pages(Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], item.get("Size", 0)

    def _pages(self, **arguments: str) -> Iterator[dict[str, Any]]:
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            yield from paginator.paginate(Bucket=self.spec.bucket, **arguments)
        except Exception as error:  # botocore ClientError, endpoint errors: name the bucket and prefix
            where = f"s3://{self.spec.bucket}/{arguments.get('Prefix', '')}"
            raise SourceError(f"cannot list {where}: {error}") from error

    def _fetch(self, key: str) -> Loaded:
        """One object, read a chunk at a time up to the cap (its gzip is then gunzipped up to the cap too)."""
        origin = f"s3://{self.spec.bucket}/{key}"
        limit = self.max_bytes or max_content_bytes()
        try:
            body = self.client.get_object(Bucket=self.spec.bucket, Key=key)["Body"]
            try:
                data = read_capped(body, limit)
            finally:
                body.close()
        except ContentTooLarge as error:
            return Loaded(origin, problem=Malformed(origin, str(error)))
        except Exception as error:  # one unreadable object is reported; the others are read
            return Loaded(origin, problem=Malformed(origin, f"cannot read object ({error})"))
        return load_bytes(data, origin, self.service, limit)


class _Listing:
    """The objects as the reader lists them (it lists ahead of the reading) and how far the reading is: the
    objects and bytes done, of how many, which is known once the listing has ended (0 until then)."""

    def __init__(self, objects: Iterator[tuple[str, int]]) -> None:
        self._objects = objects
        self._sizes: list[int] = []
        self._bytes_listed = 0
        self._bytes_done = 0
        self._ended = False

    def keys(self) -> Iterator[str]:
        for key, size in self._objects:
            self._sizes.append(size)
            self._bytes_listed += size
            yield key
        self._ended = True

    def read(self, done: int) -> tuple[int, int, int]:
        """The ``done``-th object has been read: (objects listed, bytes done, bytes listed), totals 0 while the
        listing goes on."""
        self._bytes_done += self._sizes[done - 1]
        if not self._ended:
            return 0, self._bytes_done, 0
        return len(self._sizes), self._bytes_done, self._bytes_listed


def _matching(names: list[str], pattern: re.Pattern[str]) -> list[str]:
    return sorted(name for name in names if pattern.match(name))


def s3_source(
    spec: str, window: Window, session: Any = None, *, client: Any = None, service: str | None = None
) -> S3TrailSource:
    """The source for ``s3://BUCKET[/PREFIX][?…]``; ``client`` (an S3 client) wins over ``session``."""
    parsed = parse_spec(spec)
    if client is None:
        client = aws_clients.client(session, "s3", parsed.client_region)
    return S3TrailSource(client=client, spec=parsed, window=window, name=spec, service=service)
