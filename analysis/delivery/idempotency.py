"""Exactly once per window and channel: SES and SNS deliver at least once, so each send is guarded.

Before sending, a run *claims* the key ``<window>#<channel>`` with a conditional write. The claim is
granted when no record exists, when the last attempt failed, or when an earlier run's claim is still
"in progress" past its lease (it crashed between claiming and finishing); ``force`` always takes it.
The lease is a fixed time, or in a Lambda function the invocation's remaining time (as Powertools'
idempotency does with ``register_lambda_context``): Lambda stops the function by then, so a claim past
it belongs to a run that can no longer be sending.
After sending, the record becomes ``sent`` with what was sent; after a failure, ``failed`` so a retry may
send. Every retry checks the record again, so running the report again for a window sends nothing new.

The table has a string partition key ``id`` (the default of Powertools' idempotency, so one table can
serve both). Items carry ``expires_at`` (epoch seconds) for a TTL attribute.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from analysis.contract import Report
from analysis.times import iso

log = logging.getLogger(__name__)
KEY_ATTRIBUTE = "id"
IN_PROGRESS, SENT, FAILED = "in_progress", "sent", "failed"
RECORD_DAYS = 400  # kept a little over a year: re-running an old day still finds what was sent
LEASE_CLOCK_MARGIN = timedelta(seconds=5)  # added to a Lambda's remaining time: clocks of two hosts differ a little
TimeLeft = Callable[[], int]  # milliseconds, as ``context.get_remaining_time_in_millis``
_SERIALIZER, _DESERIALIZER = TypeSerializer(), TypeDeserializer()


class ClaimTakenOver(Exception):
    """This run's lease ended and another run claimed the channel: it may have been sent twice."""


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: granted (send now) or not, with the record that stands in the way."""

    key: str
    granted: bool
    token: str | None = None
    previous: dict[str, Any] = field(default_factory=dict)


class Guard(Protocol):
    def claim(self, key: str, *, force: bool = False, now: datetime | None = None) -> Claim: ...

    def complete(self, claim: Claim, result: dict[str, Any], now: datetime | None = None) -> None: ...

    def release(self, claim: Claim, error: str, now: datetime | None = None) -> None: ...


class Unguarded:
    """No idempotency table configured: every send goes ahead (and the delivery record says so)."""

    def claim(self, key: str, *, force: bool = False, now: datetime | None = None) -> Claim:
        return Claim(key=key, granted=True, previous={"guard": "none"})

    def complete(self, claim: Claim, result: dict[str, Any], now: datetime | None = None) -> None:
        return None

    def release(self, claim: Claim, error: str, now: datetime | None = None) -> None:
        return None


class DynamoGuard:
    """Claims as DynamoDB conditional writes (``client`` is a boto3 DynamoDB client).

    ``lease``: how long a claim holds; with ``time_left`` (a Lambda context's remaining milliseconds) the
    remaining time at the claim, plus ``LEASE_CLOCK_MARGIN``, instead."""

    def __init__(
        self, client: Any, table: str, lease: timedelta = timedelta(minutes=15), time_left: TimeLeft | None = None
    ) -> None:
        self.client = client
        self.table = table
        self.lease = lease
        self.time_left = time_left

    def lease_until(self, now: datetime) -> int:
        """The epoch second a claim made at ``now`` stops holding (rounded up: never shorter than asked)."""
        lease = self.lease if self.time_left is None else timedelta(milliseconds=self.time_left()) + LEASE_CLOCK_MARGIN
        return math.ceil((now + lease).timestamp())

    def claim(self, key: str, *, force: bool = False, now: datetime | None = None) -> Claim:
        now = now or datetime.now(UTC)
        token = uuid.uuid4().hex
        values: dict[str, Any] = {
            ":in_progress": IN_PROGRESS,
            ":token": token,
            ":now": iso(now),
            ":lease_until": self.lease_until(now),
            ":expires_at": int((now + timedelta(days=RECORD_DAYS)).timestamp()),
            ":forced": force,
            ":one": 1,
        }
        request: dict[str, Any] = {
            "UpdateExpression": "SET #status = :in_progress, #token = :token, claimed_at = :now, "
            "lease_until = :lease_until, expires_at = :expires_at, forced = :forced ADD attempts :one",
            "ReturnValues": "ALL_OLD",
        }
        if not force:
            request["ConditionExpression"] = (
                f"attribute_not_exists({KEY_ATTRIBUTE}) OR #status = :failed "
                "OR (#status = :in_progress AND lease_until < :epoch)"
            )
            values |= {":failed": FAILED, ":epoch": int(now.timestamp())}
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            answer = self._update(key, {"#status": "status", "#token": "token"}, values, **request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = cast(dict[str, Any], error.response).get("Item", {})  # ALL_OLD on a failed condition
            return Claim(key=key, granted=False, previous=_plain(old))
        return Claim(key=key, granted=True, token=token, previous=_plain(answer.get("Attributes", {})))

    def complete(self, claim: Claim, result: dict[str, Any], now: datetime | None = None) -> None:
        sent_at = iso(now or datetime.now(UTC))
        self._finish(claim, SENT, {"sent_at": sent_at, "result": json.dumps(result, sort_keys=True, default=str)})

    def release(self, claim: Claim, error: str, now: datetime | None = None) -> None:
        self._finish(claim, FAILED, {"failed_at": iso(now or datetime.now(UTC)), "error": error[:1000]})

    def _finish(self, claim: Claim, status: str, attributes: dict[str, str]) -> None:
        names = {f"#a{index}": name for index, name in enumerate(attributes)}
        sets = ", ".join(f"#a{index} = :a{index}" for index in range(len(attributes)))
        values = {f":a{index}": value for index, value in enumerate(attributes.values())}
        try:
            self._update(
                claim.key,
                {"#status": "status", "#token": "token", **names},
                {":status": status, ":token": claim.token or "", **values},
                UpdateExpression=f"SET #status = :status, {sets}",
                ConditionExpression="#token = :token",  # only the run holding the claim finishes it
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            raise ClaimTakenOver(
                f"not recorded {status}: this run's lease on {claim.key} ended and another run claimed it "
                "(it may have been sent twice)"
            ) from error

    def _update(self, key: str, names: dict[str, str], values: dict[str, Any], **request: Any) -> dict[str, Any]:
        """UpdateItem on the record of ``key``, with plain ``values`` (serialized by boto3)."""
        answer: dict[str, Any] = self.client.update_item(
            TableName=self.table,
            Key=_typed({KEY_ATTRIBUTE: key}),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_typed(values),
            **request,
        )
        return answer


def delivery_key(report: Report, channel: str) -> str:
    """The idempotency key of one report window and channel, e.g. ``report#apprunner#2026-11-28@UTC#email``."""
    service = report.service or "apprunner"
    if report.daily:
        window = f"{report.daily.key}@{report.daily.time_zone}"
    else:
        window = f"{report.window.start or '-'}/{report.window.end or '-'}"
    return f"report#{service}#{window}#{channel}"


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values as DynamoDB attribute values."""
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain values; its numbers are whole (ints) and its ``result`` JSON, decoded."""
    plain = {name: _DESERIALIZER.deserialize(typed) for name, typed in item.items()}
    plain = {name: int(value) if isinstance(value, Decimal) else value for name, value in plain.items()}
    if isinstance(plain.get("result"), str):
        with contextlib.suppress(ValueError):
            plain["result"] = json.loads(plain["result"])
    return plain
