"""The trail files: records grouped by account, region and 5-minute delivery slot, written, read back, counted."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import string
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .engine import Day, Event
from .world import ORG_ID, SLOT, iso

DENIAL_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"}
)
NAME_RE = re.compile(
    r"AWSLogs/(o-[a-z0-9]+)/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/"
    r"(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8})T(\d{4})Z_([A-Za-z0-9]{16})\.json\.gz"
)


def trail_files(day: Day) -> dict[str, list[dict[str, Any]]]:
    """Relative path -> records; each record in its delivery slot's file (``late`` slots after its own)."""
    groups: dict[tuple[str, str, datetime], list[Event]] = defaultdict(list)
    for event in [*day.events, *day.duplicates]:
        start = event.when.replace(second=0) - timedelta(minutes=event.when.minute % 5)
        delivered = start + SLOT * (1 + event.late)
        groups[(event.record["recipientAccountId"], event.record["awsRegion"], delivered)].append(event)
    files: dict[str, list[dict[str, Any]]] = {}
    for (account, region, delivered), events in sorted(groups.items()):
        events.sort(key=lambda e: (e.late, e.when, e.seq))  # stragglers from earlier windows last
        suffix = day.token(16, string.ascii_letters + string.digits)
        folder = f"AWSLogs/{ORG_ID}/{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}"
        files[f"{folder}/{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{suffix}.json.gz"] = [
            e.record for e in events
        ]
    return files


def write(out: Path, files: dict[str, list[dict[str, Any]]]) -> int:
    """Write the trail files under ``out`` (replacing ``out/AWSLogs``); return the bytes written."""
    root = out / "AWSLogs"
    if root.exists():
        shutil.rmtree(root)
    total = 0
    for rel, records in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"Records": records}, separators=(",", ":")).encode()
        data = gzip.compress(body, compresslevel=9, mtime=0)
        path.write_bytes(data)
        total += len(data)
    return total


def read_back(out: Path) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Every record written, after checking each file: gzip, ``{"Records": [...]}``, layout, eventVersion first.

    Also returns the number of files per delivery-date folder.
    """
    records: list[dict[str, Any]] = []
    by_folder: Counter[str] = Counter()
    for path in sorted((out / "AWSLogs").rglob("*.json.gz")):
        rel = path.relative_to(out).as_posix()
        match = NAME_RE.fullmatch(rel)
        if not match:
            raise SystemExit(f"{rel}: name does not follow the CloudTrail layout")
        _, account, region, yyyy, mm, dd, name_account, name_region, name_day, _, _ = match.groups()
        if (account, region, f"{yyyy}{mm}{dd}") != (name_account, name_region, name_day):
            raise SystemExit(f"{rel}: file name disagrees with its folder")
        document = json.loads(gzip.decompress(path.read_bytes()))
        if not isinstance(document, dict) or not isinstance(document.get("Records"), list):
            raise SystemExit(f"{rel}: not a {{'Records': [...]}} document")
        for rec in document["Records"]:
            if next(iter(rec)) != "eventVersion":
                raise SystemExit(f"{rel}: a record does not start with eventVersion")
            if (rec["recipientAccountId"], rec["awsRegion"]) != (account, region):
                raise SystemExit(f"{rel}: record {rec['eventID']} is in another account's or region's folder")
        records.extend(document["Records"])
        by_folder[f"{yyyy}/{mm}/{dd}"] += 1
    return records, by_folder


@dataclass(frozen=True)
class Totals:
    """What the written day holds, as SAMPLE_DAY.md and the summary report it."""

    files: int
    size: int  # bytes, gzip
    by_folder: dict[str, int]
    records: list[dict[str, Any]]  # as written, duplicate deliveries included
    unique: list[dict[str, Any]]  # one per (eventID, recipientAccountId)
    start: datetime  # the day's midnight (UTC)

    @classmethod
    def of(cls, records: list[dict[str, Any]], by_folder: Counter[str], size: int, start: datetime) -> Totals:
        unique = {(r["eventID"], r["recipientAccountId"]): r for r in records}
        folders = dict(sorted(by_folder.items()))
        return cls(sum(folders.values()), size, folders, records, list(unique.values()), start)

    @property
    def denials(self) -> list[dict[str, Any]]:
        return [r for r in self.unique if r.get("errorCode") in DENIAL_CODES]

    @property
    def apprunner_denials(self) -> list[dict[str, Any]]:
        return [r for r in self.denials if r["eventSource"] == "apprunner.amazonaws.com"]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.unique if "errorCode" in r]

    @property
    def before_day(self) -> int:
        return sum(1 for r in self.unique if r["eventTime"] < iso(self.start))

    def identity_types(self) -> Counter[str]:
        return Counter(r["userIdentity"].get("type", "?") for r in self.unique)

    def count(self, field: str, records: list[dict[str, Any]] | None = None) -> Counter[str]:
        """Unique records (or ``records``) by the value of a top-level field."""
        return Counter(r[field] for r in (self.unique if records is None else records))

    def found(self, event_ids: list[str]) -> int:
        """How many of these events were written (each counted once)."""
        written = {r["eventID"] for r in self.records}
        return sum(1 for event_id in event_ids if event_id in written)
