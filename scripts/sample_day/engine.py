"""The day being written: one seeded random generator, and every record in the order it was made."""

from __future__ import annotations

import random
import string
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from .actors import Actor, seen_by_owner
from .records import Details, assumed_role_user, cloudtrail_record, credentials, role_resource
from .world import DAY, SEED, US_EAST, iso, stable

Api = tuple[str, str, str, Any]  # event source, event name, region, requestParameters


@dataclass
class Event:
    record: dict[str, Any]
    when: datetime
    seq: int
    late: int = 0  # how many delivery slots after its own it arrives


class Day:
    """Every random draw goes through ``rng`` in a fixed order, so the output is byte-identical each run.

    ``date`` (midnight UTC) is the day being written; every time of day is placed on it with ``at``.
    """

    def __init__(self, seed: int = SEED, date: datetime = DAY) -> None:
        self.rng = random.Random(seed)
        self.start = date
        self.end = date + timedelta(days=1)
        self.events: list[Event] = []
        self.duplicates: list[Event] = []
        self.scenario_ids: dict[str, list[str]] = defaultdict(list)

    def at(self, hour: int, minute: int = 0, second: int = 0) -> datetime:
        """A time of this day."""
        return self.start + timedelta(hours=hour, minutes=minute, seconds=second)

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def token(self, length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def hex(self, length: int) -> str:
        return self.token(length, "0123456789abcdef")

    def jitter(self, when: datetime, seconds: int) -> datetime:
        return when + timedelta(seconds=self.rng.randint(0, seconds))

    def ip(self, first: int, second: tuple[int, int]) -> str:
        return f"{first}.{self.rng.randint(*second)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"

    def call(
        self,
        actor: Actor,
        when: datetime,
        source: str,
        name: str,
        region: str,
        *,
        scenario: str | None = None,
        late: int | None = None,
        **details: Any,
    ) -> dict[str, Any]:
        """Write one record; ``late=None`` lets a few records miss their slot and arrive in the next file."""
        fields = Details(**details)
        if fields.event_type == "AwsApiCall" and fields.request_id is None:
            fields = replace(fields, request_id=self.token(16) if source == "s3.amazonaws.com" else self.uuid4())
        rec = cloudtrail_record(actor, when, source, name, region, fields, self.uuid4())
        if late is None:
            late = 1 if self.rng.random() < 0.02 else 0
        moment = datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        self.events.append(Event(rec, moment, len(self.events), late))
        if scenario is not None:
            self.scenario_ids[scenario].append(rec["eventID"])
        return rec

    def burst(self, actor: Actor, start: datetime, calls: Iterable[Api], gap: tuple[int, int]) -> datetime:
        """Several successful calls in a row, ``gap`` seconds apart; returns the time after the last pause."""
        when = start
        for source, name, region, request in calls:
            self.call(actor, when, source, name, region, request=request)
            when += timedelta(seconds=self.rng.randint(*gap))
        return when

    def duplicate(self, rec: dict[str, Any]) -> None:
        """Deliver ``rec`` a second time, in the file one slot after its first delivery."""
        event = next(e for e in reversed(self.events) if e.record is rec)
        self.duplicates.append(replace(event, late=event.late + 1))

    def assume_role(
        self, caller: Actor, when: datetime, role_arn: str, session: str, key: str, region: str, **details: Any
    ) -> None:
        """An sts:AssumeRole record handing out credentials with access key ``key``."""
        role = role_arn.rsplit("/", 1)[1]
        request = {"roleArn": role_arn, "roleSessionName": session}
        response = {
            "credentials": credentials(key, when),
            "assumedRoleUser": assumed_role_user(role_arn.split(":")[4], role, session),
        }
        resources = role_resource(role_arn)
        sts = "sts.amazonaws.com"
        self.call(
            caller, when, sts, "AssumeRole", region, request=request, response=response, resources=resources, **details
        )

    def cross_account_assume(self, caller: Actor, when: datetime, role_arn: str, session: str) -> None:
        """sts:AssumeRole into another account: one record in each account's log, one sharedEventID."""
        owner = role_arn.split(":")[4]
        shared, request_id = self.uuid4(), self.uuid4()
        key = stable("ASIA", f"{owner}/{role_arn.rsplit('/', 1)[1]}/{session}/{iso(when)}", 16)
        for who, recipient in ((caller, caller.account), (seen_by_owner(caller), owner)):
            self.assume_role(
                who, when, role_arn, session, key, US_EAST, recipient=recipient, shared=shared, request_id=request_id
            )
