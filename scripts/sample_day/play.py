"""Turn a scenario's steps into records, in order (the order fixes every random draw)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .actors import Actor
from .ci import ci_run
from .engine import Day
from .plan import After, Call, CiWorkflow, Denials, Drawn, Issued, Later, Op, Paced, Scenario, Successes, Timeline
from .records import APPRUNNER, credentials


def play(day: Day, scenario: Scenario) -> None:
    mark = day.at(0)  # the end of the previous burst or refusals, for `After`
    for step in scenario.steps:
        if isinstance(step, Call):
            _call(day, step, mark)
        elif isinstance(step, Successes):
            mark = day.burst(_actor(day, step.actor), day.at(*step.start), step.calls, step.gap)
        elif isinstance(step, Timeline):
            mark = _timeline(day, scenario.key, step)
        else:
            mark = _paced(day, scenario.key, step)


def _caller(day: Day, actor: Actor | Later | CiWorkflow) -> Actor:
    if isinstance(actor, CiWorkflow):
        return ci_run(day, actor.run, day.at(*actor.start), actor.account, actor.region, actor.service, actor.kind)
    return _actor(day, actor)


def _actor(day: Day, actor: Actor | Later) -> Actor:
    """The caller on this day (a `Later` session is built with its start on ``day``)."""
    return actor.build(day) if isinstance(actor, Later) else actor


def _timeline(day: Day, key: str, series: Timeline) -> datetime:
    actor = _caller(day, series.actor)
    for clock, op in series.calls:
        rec = _refuse(day, key, series, actor, day.at(*clock), op)
        if clock in series.duplicated:
            day.duplicate(rec)
    return day.at(*series.calls[-1][0])


def _paced(day: Day, key: str, series: Paced) -> datetime:
    actor = _caller(day, series.actor)
    when = day.at(*series.start)
    for op in series.calls:
        _refuse(day, key, series, actor, when, op)
        when += timedelta(seconds=day.rng.randint(*series.gap))
    return when


def _refuse(day: Day, key: str, series: Denials, actor: Actor, when: datetime, op: Op) -> dict[str, Any]:
    message = series.form.text(actor.arn or "", op.refused, op.resource, day)
    return day.call(
        actor,
        when,
        APPRUNNER,
        op.event,
        series.region,
        request=op.request,
        error=(series.code, message),
        recipient=series.recipient,
        vpce=series.vpce,
        scenario=key,
        late=series.late,
    )


def _call(day: Day, step: Call, mark: datetime) -> None:
    when = mark + timedelta(seconds=step.at.seconds) if isinstance(step.at, After) else day.at(*step.at)
    actor = _actor(day, step.actor)
    error = None
    if step.refusal is not None:
        refusal = step.refusal
        error = (refusal.code, refusal.form.text(actor.arn or "", refusal.action, refusal.resource, day))
    day.call(
        actor,
        when,
        step.source,
        step.name,
        step.region,
        request=_drawn(day, step.request),
        response=_drawn(day, step.response),
        error=error,
        recipient=step.recipient,
        resources=step.resources,
        additional=step.additional,
        read_only=step.read_only,
        event_type=step.event_type,
    )


def _drawn(day: Day, value: Any) -> Any:
    """The value with each `Drawn` placeholder replaced by its random value, in key order, and each `Issued`
    by its credentials on this day."""
    if isinstance(value, Drawn):
        return value.prefix + day.hex(value.digits)
    if isinstance(value, Issued):
        return credentials(value.key, day.at(*value.clock))
    if isinstance(value, dict):
        return {key: _drawn(day, item) for key, item in value.items()}
    return value
