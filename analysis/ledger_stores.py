"""Where the ledger's claims and reports are kept: a JSON file per run, or a DynamoDB table.

Both offer :class:`analysis.ledger.Ledger`; what to claim is decided in :mod:`analysis.ledger`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

from analysis.ledger import EventKey
from analysis.times import iso

_RUN_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
_TEMPORARY = re.compile(r"^\.[0-9A-Za-z][0-9A-Za-z._-]*\.tmp$")  # FileLedger._write's, left by a killed run


class LedgerError(ValueError):
    """A ledger folder that cannot be used as one; the message names the path and says why."""


def _checked_run(run: str) -> str:
    if not _RUN_NAME.match(run):
        raise ValueError(f"not a window key: {run!r}")
    return run


@dataclass
class FileLedger:
    """One JSON file per run under ``folder``: ``{"window", "events": [[id, account, window]…], "report"}``.

    For one writer at a time (a scheduled job, a notebook); concurrent runs need the DynamoDB ledger.
    The folder holds nothing else: a path that is not a folder, or an entry that is not a ledger file a run
    wrote (another file, a folder, a file whose content is not a ledger's), is refused with ``LedgerError``
    naming it, before anything is read or claimed. A run's temporary file left by a killed write is ignored.
    """

    folder: Path

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise LedgerError(f"{self.folder}: not a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        for entry in sorted(self.folder.iterdir()):
            if not _TEMPORARY.match(entry.name):
                self._check_entry(entry)

    def _check_entry(self, entry: Path) -> None:
        run = entry.name.removesuffix(".json")
        if entry.suffix != ".json" or not _RUN_NAME.match(run) or entry.is_symlink() or not entry.is_file():
            raise LedgerError(f"{entry}: not a ledger file (the folder must hold only the RUN.json files runs wrote)")
        self._load(run)

    def _path(self, run: str) -> Path:
        return self.folder / f"{_checked_run(run)}.json"

    def _load(self, run: str) -> dict[str, Any]:
        path = self._path(run)
        if not path.exists():
            return {"window": run, "events": [], "report": None}
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise LedgerError(f"{path}: not a ledger file ({error})") from error
        if not _is_ledger_document(document, run):
            raise LedgerError(f"{path}: not a ledger file (not {{'window': {run!r}, 'events': [...], 'report': ...}})")
        return dict(document)

    def _runs(self) -> Iterator[str]:
        for path in sorted(self.folder.glob("*.json")):
            yield path.stem

    def _write(self, run: str, document: Mapping[str, Any]) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{run}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, ensure_ascii=False)
        os.replace(temporary, self._path(run))

    def reported(self, keys: Collection[EventKey]) -> dict[EventKey, str]:
        wanted = set(keys)
        found: dict[EventKey, str] = {}
        for run in self._runs():
            for event_id, account, _ in self._load(run)["events"]:
                if (event_id, account) in wanted:
                    found.setdefault((event_id, account), run)
        return found

    def claim(self, run: str, entries: Mapping[EventKey, str]) -> frozenset[EventKey]:
        others = {key: owner for key, owner in self.reported(entries.keys()).items() if owner != run}
        document = self._load(run)
        mine = {(e[0], e[1]): e[2] for e in document["events"]}
        mine.update({key: home for key, home in entries.items() if key not in others})
        document["events"] = [[event_id, account, home] for (event_id, account), home in sorted(mine.items())]
        self._write(run, document)
        return frozenset(key for key in entries if key not in others)

    def counted(self, run: str) -> dict[EventKey, str]:
        return {(e[0], e[1]): e[2] for e in self._load(run)["events"]}

    def save_report(self, run: str, report: Mapping[str, Any]) -> None:
        document = self._load(run)
        document["report"] = report
        self._write(run, document)

    def load_report(self, run: str) -> dict[str, Any] | None:
        return self._load(run).get("report")


def _is_ledger_document(document: Any, run: str) -> bool:
    """What FileLedger writes: its run's name, events as [event id, account, window] strings, a report or null."""
    if not isinstance(document, dict) or document.get("window") != run:
        return False
    events, report = document.get("events"), document.get("report")
    return (
        isinstance(events, list)
        and all(isinstance(e, list) and len(e) == 3 and all(isinstance(part, str) for part in e) for e in events)
        and (report is None or isinstance(report, dict))
    )


MAX_REPORT_BYTES_IN_ITEM = 350_000  # DynamoDB items stop at 400 KB
RECORD_DAYS = 400  # items carry ``expires_at`` (epoch seconds) for the table's TTL: kept past any lookback
BATCH_GET_LIMIT = 100
# BatchGetItem returns what it could not read under load as UnprocessedKeys; AWS asks callers to retry
# those with exponential backoff (botocore does not: the call itself succeeded).
UNPROCESSED_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4)


class LedgerUnavailable(RuntimeError):
    """DynamoDB kept some keys unprocessed after every retry: the ledger cannot say what was reported."""


@dataclass
class DynamoDBLedger:
    """Claims as DynamoDB items, written with a condition so two runs never claim the same event.

    ``table`` is a boto3 ``Table`` resource whose partition key (``key``, a string) is the only key:
    an event item is ``event#ID#ACCOUNT`` with ``window`` (original) and ``reported_in`` (the run);
    a report item is ``report#RUN`` holding the report JSON when it fits in an item (its SHA-256
    always). ``counted`` scans: fine for tests and audits, add a GSI on ``reported_in`` for volume.
    """

    table: Any
    key: str = "pk"
    clock: Any = None
    sleep: Any = time.sleep

    def _now(self) -> str:
        return iso(self._moment())

    def _moment(self) -> datetime:
        return self.clock() if self.clock else datetime.now(UTC)

    def _expires_at(self) -> int:
        return int((self._moment() + timedelta(days=RECORD_DAYS)).timestamp())

    @staticmethod
    def _event_pk(key: EventKey) -> str:
        return f"event#{key[0]}#{key[1]}"

    def reported(self, keys: Collection[EventKey]) -> dict[EventKey, str]:
        by_pk = {self._event_pk(key): key for key in keys}
        found: dict[EventKey, str] = {}
        for item in self._batch_get(list(by_pk)):
            found[by_pk[item[self.key]]] = item["reported_in"]
        return found

    def _batch_get(self, pks: list[str]) -> Iterator[dict[str, Any]]:
        client = self.table.meta.client
        for offset in range(0, len(pks), BATCH_GET_LIMIT):
            request = {
                self.table.name: {
                    "Keys": [{self.key: pk} for pk in pks[offset : offset + BATCH_GET_LIMIT]],
                    "ProjectionExpression": "#k, #run",
                    "ExpressionAttributeNames": {"#k": self.key, "#run": "reported_in"},
                }
            }
            yield from self._read_all(client, request)

    def _read_all(self, client: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for delay in (*UNPROCESSED_DELAYS, None):
            answer = client.batch_get_item(RequestItems=request)
            yield from answer.get("Responses", {}).get(self.table.name, [])
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return
            if delay is not None:
                self.sleep(delay)
        unread = len(request[self.table.name]["Keys"])
        raise LedgerUnavailable(f"DynamoDB left {unread} key(s) unprocessed after {len(UNPROCESSED_DELAYS)} retries")

    def claim(self, run: str, entries: Mapping[EventKey, str]) -> frozenset[EventKey]:
        _checked_run(run)
        owned = set()
        for key, home in entries.items():
            if self._claim_one(run, key, home):
                owned.add(key)
        return frozenset(owned)

    def _claim_one(self, run: str, key: EventKey, home: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.table.put_item(
                Item={
                    self.key: self._event_pk(key),
                    "kind": "event",
                    "event_id": key[0],
                    "recipient_account_id": key[1],
                    "window": home,
                    "reported_in": run,
                    "recorded_at": self._now(),
                    "expires_at": self._expires_at(),
                },
                ConditionExpression="attribute_not_exists(#k) OR #run = :run",
                ExpressionAttributeNames={"#k": self.key, "#run": "reported_in"},
                ExpressionAttributeValues={":run": run},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def counted(self, run: str) -> dict[EventKey, str]:
        found: dict[EventKey, str] = {}
        request: dict[str, Any] = {
            "FilterExpression": "#kind = :event AND #run = :run",
            "ExpressionAttributeNames": {"#kind": "kind", "#run": "reported_in"},
            "ExpressionAttributeValues": {":event": "event", ":run": run},
        }
        while True:
            page = self.table.scan(**request)
            for item in page.get("Items", []):
                found[(item["event_id"], item["recipient_account_id"])] = item["window"]
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def save_report(self, run: str, report: Mapping[str, Any]) -> None:
        text = json.dumps(report, ensure_ascii=False, sort_keys=True)
        item: dict[str, Any] = {
            self.key: f"report#{_checked_run(run)}",
            "kind": "report",
            "window": run,
            "saved_at": self._now(),
            "expires_at": self._expires_at(),
            "report_sha256": sha256(text.encode("utf-8")).hexdigest(),
        }
        if len(text.encode("utf-8")) <= MAX_REPORT_BYTES_IN_ITEM:
            item["report"] = text
        self.table.put_item(Item=item)

    def load_report(self, run: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={self.key: f"report#{_checked_run(run)}"}).get("Item")
        if not item or "report" not in item:
            return None
        report: dict[str, Any] = json.loads(item["report"])
        return report
