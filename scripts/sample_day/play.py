"""Turn a scenario's steps into records, in order (the order fixes every random draw)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .actors import Actor
from .ci import ci_run
from .engine import Day
from .plan import After, Call, CiWorkflow, Denials, Drawn, Op, Paced, Scenario, Successes, Timeline
from .records import APPRUNNER
from .world import at


def play(day: Day, scenario: Scenario) -> None:
    mark = at(0)  # the end of the previous burst or refusals, for `After`
    for step in scenario.steps:
        if isinstance(step, Call):
            _call(day, step, mark)
        elif isinstance(step, Successes):
            mark = day.burst(step.actor, at(*step.start), step.calls, step.gap)
        elif isinstance(step, Timeline):
            mark = _timeline(day, scenario.key, step)
        else:
            mark = _paced(day, scenario.key, step)


def _caller(day: Day, actor: Actor | CiWorkflow) -> Actor:
    if isinstance(actor, CiWorkflow):
        return ci_run(day, actor.run, at(*actor.start), actor.account, actor.region, actor.service, actor.kind)
    return actor


def _timeline(day: Day, key: str, series: Timeline) -> datetime:
    actor = _caller(day, series.actor)
    for clock, op in series.calls:
        rec = _refuse(day, key, series, actor, at(*clock), op)
        if clock in series.duplicated:
            day.duplicate(rec)
    return at(*series.calls[-1][0])


def _paced(day: Day, key: str, series: Paced) -> datetime:
    actor = _caller(day, series.actor)
    when = at(*series.start)
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
    when = mark + timedelta(seconds=step.at.seconds) if isinstance(step.at, After) else at(*step.at)
    error = None
    if step.refusal is not None:
        refusal = step.refusal
        error = (refusal.code, refusal.form.text(step.actor.arn or "", refusal.action, refusal.resource, day))
    day.call(
        step.actor,
        when,
        step.source,
        step.name,
        step.region,
        request=_drawn(day, step.request),
        response=step.response,
        error=error,
        recipient=step.recipient,
        resources=step.resources,
        additional=step.additional,
        read_only=step.read_only,
        event_type=step.event_type,
    )


def _drawn(day: Day, value: Any) -> Any:
    """The request with each `Drawn` placeholder replaced by its random value, in key order."""
    if isinstance(value, Drawn):
        return value.prefix + day.hex(value.digits)
    if isinstance(value, dict):
        return {key: _drawn(day, item) for key, item in value.items()}
    return value
