"""Delivering a report: S3 (every format), SES (email), SNS (notice), EventBridge (event), exactly once.

``deliver(report, rendered, clients, config)`` is the one entry point. boto3 clients are passed in
(``Clients``), so tests give moto-backed ones and handlers reuse theirs. Order:

1. the report's files go to S3 (``reports/YYYY/MM/DD/report.{json,html,md,csv}``, encrypted);
2. each configured channel (email, SNS, EventBridge) is claimed in the idempotency table, sent, and
   marked sent; a channel already sent for this window is not sent again unless ``force``;
3. ``report.json`` is written again with a ``delivery`` section recording what was sent.

Nothing that fails stops the rest: a missing bucket is an ``s3`` outcome ``failed`` (the messages go out
without a link), a table that cannot be read fails each channel it guards (not sent: sending unguarded
could repeat on every retry), a refused send fails its channel. ``DeliveryError`` is raised at the end
when any channel failed or is held by another run (``in_progress``); a Lambda retry then sends only what
did not go out.

At least once, not exactly once: a run killed after a send and before its record keeps the claim
``in_progress`` until its lease ends (a Lambda's remaining time, else ``idempotency_lease_seconds``);
a run within the lease is told so and fails, a run after it sends that channel again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis.config import DeliveryConfig
from analysis.contract import BUILDING, Delivery, Report, as_report
from analysis.delivery import email, events, s3, sns
from analysis.delivery.idempotency import (
    Claim,
    ClaimTakenOver,
    DynamoGuard,
    Guard,
    TimeLeft,
    Unguarded,
    delivery_key,
)
from analysis.delivery.s3 import Link, Location
from analysis.redact import map_strings, mask_secrets
from analysis.render import render
from analysis.times import iso

log = logging.getLogger(__name__)
FORMATS = s3.FORMATS


@dataclass
class Clients:
    """boto3 clients; a channel whose client is missing is not used."""

    s3: Any = None
    sesv2: Any = None
    sns: Any = None
    events: Any = None
    dynamodb: Any = None


def default_clients(session: Any = None) -> Clients:
    """Clients from the default boto3 session (AWS_* variables, AWS_ENDPOINT_URL honoured)."""
    import boto3
    from botocore.config import Config

    from analysis.aws_clients import client

    session = session or boto3.session.Session()
    return Clients(
        s3=client(session, "s3", config=Config(signature_version="s3v4")),
        sesv2=client(session, "sesv2"),
        sns=client(session, "sns"),
        events=client(session, "events"),
        dynamodb=client(session, "dynamodb"),
    )


@dataclass
class Outcome:
    """What happened to one channel: sent, already_sent, in_progress (another run), skipped or failed."""

    channel: str
    status: str
    message_id: str | None = None
    detail: str | None = None
    at: str | None = None
    forced: bool = False
    guarded: bool = True
    recorded: bool = True  # False: sent, but the idempotency table does not know (a later run may resend)


@dataclass
class DeliveryResult:
    locations: dict[str, Location] = field(default_factory=dict)
    link: Link | None = None
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def in_progress(self) -> list[Outcome]:
        """Channels another run holds: it is sending them, or it was killed before recording them."""
        return [outcome for outcome in self.outcomes if outcome.status == "in_progress"]

    @property
    def undelivered(self) -> list[Outcome]:
        return self.failed + self.in_progress

    def outcome(self, channel: str) -> Outcome | None:
        return next((outcome for outcome in self.outcomes if outcome.channel == channel), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "objects": {fmt: location.uri for fmt, location in self.locations.items()},
            "link": asdict(self.link) if self.link else None,
            "channels": [_stored(outcome) for outcome in self.outcomes],
        }


def _stored(outcome: Outcome) -> dict[str, Any]:
    """An outcome as the report's ``delivery.channels`` holds it (``recorded`` shows in its ``detail``)."""
    fields = asdict(outcome)
    del fields["recorded"]
    return fields


class DeliveryError(RuntimeError):
    """One or more channels failed or are held by another run; ``result`` says which, and what did go out."""

    def __init__(self, result: DeliveryResult) -> None:
        problems = "; ".join(f"{o.channel} {o.status}: {o.detail}" for o in result.undelivered)
        super().__init__(f"delivery incomplete: {problems}")
        self.result = result


def deliver(
    report: Report | Mapping[str, Any],
    rendered: dict[str, str] | None = None,
    clients: Clients | None = None,
    config: DeliveryConfig | None = None,
    *,
    force: bool = False,
    now: datetime | None = None,
    time_left: TimeLeft | None = None,
) -> DeliveryResult:
    """Store the report in S3 and send it through every configured channel, once per window.

    ``time_left`` (a Lambda context's ``get_remaining_time_in_millis``) makes each claim's lease the
    invocation's remaining time: once Lambda has stopped the run, its claims may be taken over."""
    report = as_report(report)
    clients = clients or Clients()
    config = config or DeliveryConfig.from_env()
    started = now or datetime.now(UTC)
    rendered = complete(report, rendered)
    result = DeliveryResult()
    if config.bucket and clients.s3:
        _store(report, rendered, clients, config, result, started)
    guard = _guard(clients, config, time_left)
    for channel, send in _channels(report, rendered, clients, config, result):
        # each claim at its own time: a lease (the Lambda's remaining time) counted from the start of the
        # delivery would end early by however long the uploads and the channels before it took
        at = now or datetime.now(UTC)
        result.outcomes.append(_deliver_once(channel, send, report, config, guard, force=force, now=at))
    if result.locations:
        _store_record(report, clients, config, result, started)
    if result.undelivered:
        raise DeliveryError(result)
    return result


def _store(
    report: Report,
    rendered: dict[str, str],
    clients: Clients,
    config: DeliveryConfig,
    result: DeliveryResult,
    now: datetime,
) -> None:
    """Every format in S3, and the link to the HTML one; a failure is the ``s3`` outcome, not an exception."""
    bucket = config.bucket or ""
    try:
        result.locations = s3.put_reports(
            clients.s3, bucket, report, rendered, prefix=config.prefix, kms_key_id=config.kms_key_id
        )
        result.link = s3.link_to(clients.s3, result.locations["html"], config.link_mode)
    except Exception as error:  # recorded; the channels still go out, without a link
        log.warning("storing the report in s3://%s failed: %s", bucket, error)
        done = "stored, but no link to it" if result.locations else f"not stored in s3://{bucket}/{config.prefix}"
        result.outcomes.append(Outcome("s3", "failed", detail=f"{done}: {_reason(error)}", at=iso(now), guarded=False))


def _store_record(
    report: Report, clients: Clients, config: DeliveryConfig, result: DeliveryResult, now: datetime
) -> None:
    """``report.json`` again, with what was sent; a failure is the ``s3`` outcome."""
    stored = report.model_copy(update={"delivery": delivery_record(result)})
    location = result.locations["json"]
    try:
        s3.put_text(clients.s3, location, render(stored, "json"), "json", config.kms_key_id)
    except Exception as error:
        log.warning("recording the delivery in %s failed: %s", location.uri, error)
        detail = f"the delivery record was not written to {location.uri}: {_reason(error)}"
        result.outcomes.append(Outcome("s3", "failed", detail=detail, at=iso(now), guarded=False))


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def delivery_record(result: DeliveryResult) -> Delivery:
    """What was sent, as stored in the report (secrets masked, as in the report itself)."""
    record = result.as_dict()
    return Delivery.model_validate(map_strings(record, mask_secrets), context=BUILDING)


def complete(report: Report, rendered: dict[str, str] | None) -> dict[str, str]:
    """Every format of the report: those given, the others rendered here (rendering is pure)."""
    rendered = rendered or {}
    return {fmt: rendered[fmt] if fmt in rendered else render(report, fmt) for fmt in FORMATS}


Send = Callable[[], tuple[str, str | None]]  # returns (message id, detail)


def _channels(
    report: Report, rendered: dict[str, str], clients: Clients, config: DeliveryConfig, result: DeliveryResult
) -> list[tuple[str, Send]]:
    channels: list[tuple[str, Send]] = []
    if config.email_enabled and clients.sesv2:
        channels.append(("email", lambda: _send_email(report, rendered, clients, config, result.link)))
    if config.sns_enabled and clients.sns:
        channels.append(("sns", lambda: _send_sns(report, clients, config, result)))
    if config.events_enabled and clients.events:
        channels.append(("events", lambda: _send_event(report, clients, config, result)))
    return channels


def _deliver_once(
    channel: str,
    send: Send,
    report: Report,
    config: DeliveryConfig,
    guard: Guard,
    *,
    force: bool,
    now: datetime,
) -> Outcome:
    at = iso(now)
    guarded = not isinstance(guard, Unguarded)
    if channel != "events" and not report.findings and not config.send_empty:
        return Outcome(channel, "skipped", detail="no denials, and sending empty reports is off", at=at)
    try:
        claim = guard.claim(delivery_key(report, channel), force=force, now=now)
    except Exception as error:  # not sent: unguarded, a retried run could send it again and again
        log.warning("claiming %s in the idempotency table failed: %s", channel, error)
        problem = f"not sent: the idempotency table {config.idempotency_table} could not be used: {_reason(error)}"
        return Outcome(channel, "failed", detail=problem, at=at, forced=force, guarded=guarded)
    if not claim.granted:
        return _not_again(channel, claim.previous, at)
    outcome = _send(channel, send, guard, claim, force=force, now=now)
    outcome.guarded = guarded
    return outcome


def _send(channel: str, send: Send, guard: Guard, claim: Claim, *, force: bool, now: datetime) -> Outcome:
    """Send what was claimed, and record it sent (or failed, so a retry may send it)."""
    try:
        message_id, detail = send()
    except Exception as error:  # recorded, the other channels go on, and deliver() raises at the end
        log.warning("delivery through %s failed: %s", channel, error)
        _record(guard.release, claim, _reason(error), now)
        return Outcome(channel, "failed", detail=_reason(error), at=iso(now), forced=force)
    unrecorded = _record(guard.complete, claim, {"message_id": message_id, "detail": detail, "forced": force}, now)
    if unrecorded:
        detail = f"{detail}; {unrecorded}" if detail else unrecorded
    return Outcome(channel, "sent", message_id, detail, iso(now), forced=force, recorded=not unrecorded)


def _record(finish: Callable[[Claim, Any, datetime], None], claim: Claim, outcome: Any, now: datetime) -> str | None:
    """Mark the claim sent or failed; what went wrong doing so, if anything (the send itself stands)."""
    try:
        finish(claim, outcome, now)
    except ClaimTakenOver as error:
        log.warning("%s", error)
        return str(error)
    except Exception as error:
        log.warning("recording %s in the idempotency table failed: %s", claim.key, error)
        return f"not recorded in the idempotency table ({_reason(error)}): a run after its lease may send it again"
    return None


def _not_again(channel: str, previous: dict[str, Any], at: str) -> Outcome:
    result = previous.get("result")
    sent = result if isinstance(result, dict) else {}
    if previous.get("status") == "sent":
        detail = f"already sent at {previous.get('sent_at')} for this window; not sent again (use force to resend)"
        return Outcome(channel, "already_sent", sent.get("message_id"), detail, at)
    return Outcome(channel, "in_progress", None, _held(previous), at)


def _held(previous: dict[str, Any]) -> str:
    """Why a claimed channel was not sent: another run holds its lease (and may have been killed)."""
    lease_until = previous.get("lease_until")
    until = iso(datetime.fromtimestamp(lease_until, UTC)) if isinstance(lease_until, int) else "its lease ends"
    return (
        f"not sent: another run claimed it at {previous.get('claimed_at')} and holds it until {until}; "
        "it is sending it, or it was killed before recording it (then run again after that time; "
        "force sends now, possibly twice)"
    )


def _guard(clients: Clients, config: DeliveryConfig, time_left: TimeLeft | None = None) -> Guard:
    if config.idempotency_table and clients.dynamodb:
        lease = timedelta(seconds=config.idempotency_lease_seconds)
        return DynamoGuard(clients.dynamodb, config.idempotency_table, lease=lease, time_left=time_left)
    log.warning("no idempotency table: a retried delivery may send twice")
    return Unguarded()


def _send_email(
    report: Report, rendered: dict[str, str], clients: Clients, config: DeliveryConfig, link: Link | None
) -> tuple[str, str | None]:
    message = email.build_email(
        report,
        rendered,
        sender=config.sender or "",
        recipients=config.recipients,
        link=link,
        max_bytes=config.email_max_bytes,
    )
    message_id = email.send_email(
        clients.sesv2,
        message,
        sender=config.sender or "",
        recipients=config.recipients,
        configuration_set=config.ses_configuration_set,
    )
    attached = ", ".join(message.attached) or "nothing attached"
    detail = f"to {', '.join(config.recipients)}; {attached}" + (f"; {message.reduced}" if message.reduced else "")
    return message_id, detail


def _send_sns(
    report: Report, clients: Clients, config: DeliveryConfig, result: DeliveryResult
) -> tuple[str, str | None]:
    message_id = sns.publish(
        clients.sns,
        config.topic_arn or "",
        report,
        result.link,
        fmt=config.sns_format,
        location=result.locations.get("json"),
    )
    return message_id, f"to {config.topic_arn} ({config.sns_format})"


def _send_event(
    report: Report, clients: Clients, config: DeliveryConfig, result: DeliveryResult
) -> tuple[str, str | None]:
    entry = events.event_entry(report, result.locations, source=config.event_source, bus=config.event_bus or "")
    event_id = events.publish_event(clients.events, entry)
    return event_id, f"{events.DETAIL_TYPE} on {config.event_bus}"


__all__ = ["Clients", "DeliveryError", "DeliveryResult", "Outcome", "complete", "deliver"]
