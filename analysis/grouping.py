"""Denial rows into findings, in one pass over plain rows (no pandas): the report's path.

A row is :func:`analysis.denials.denial_row`'s dict plus ``time``, its eventTime read as an aware datetime (None when
it cannot be read). Findings group rows by principal and owning account, and each finding's actions by action; the
figures are those of the pandas reading in :mod:`analysis.findings` (kept for notebooks, and as the tests' second
method): same order, same values, byte for byte in the report. That reading spent most of a day's report on pandas
overhead per small group (seconds for a few hundred findings); this one is a few dictionary updates per row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from analysis.contract import EVENT_IDS_PER_ACTION
from analysis.denials import request_context
from analysis.identifiers import finding_id
from analysis.times import iso

if TYPE_CHECKING:  # pandas reads only the eventTimes CloudTrail does not write (and the notebooks' frame)
    import pandas as pd

Row = dict[str, Any]
T = TypeVar("T")
FindingKey = tuple[str, str]
UNKNOWN_OWNER = "unknown"  # the owning account of a row whose target account is not known
LOW_CONFIDENCE_DENIALS = 2
USER_AGENTS_SHOWN = 10
# CloudTrail writes every eventTime so (2026-11-28T09:15:02Z); any other form is read by pandas, as before.
_CLOUDTRAIL_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z", re.ASCII)  # not ٢٠٢٦


# --------------------------------------------------------------------------- rows


def event_times(texts: Sequence[Any]) -> list[datetime | None]:
    """Each eventTime as an aware UTC datetime, None where it cannot be read: the values of
    :func:`series_times` (pandas' ISO 8601 reading, cut to the microsecond). The form CloudTrail
    writes is read here; the rare other forms (offsets, fractions, a space for the ``T``) are handed to pandas, so
    every edge of that reading (which forms it accepts, which years) stays exactly as it was."""
    times: list[datetime | None] = [_cloudtrail_time(text) for text in texts]
    odd = [index for index, (text, moment) in enumerate(zip(texts, times, strict=True)) if moment is None and text]
    if odd:
        for index, moment in zip(odd, _read_by_pandas([texts[index] for index in odd]), strict=True):
            times[index] = moment
    return times


def _cloudtrail_time(text: Any) -> datetime | None:
    match = _CLOUDTRAIL_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second = map(int, match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # 2026-02-30: pandas says NaT too, but let it say so
        return None


def _read_by_pandas(texts: list[Any]) -> list[datetime | None]:
    import pandas as pd

    return [
        None if pd.isna(moment) else moment.to_pydatetime() for moment in series_times(pd.Series(texts, dtype=object))
    ]


def series_times(texts: pd.Series) -> pd.Series:
    """ISO 8601 texts as ``datetime64[us, UTC]`` (NaT where unreadable), whatever the values (pandas' reading, the
    frame's column and the report's rule for any form but CloudTrail's own).

    pandas takes the column's unit from its values: one time written to the nanosecond made it
    ``datetime64[ns]``, whose years are 1677 to 2262, and every record outside them (9999, 0100) NaT. So
    then fractions are cut to the microsecond (as ``datetime.fromisoformat`` does) and the texts parsed again;
    the unit is then fixed.
    """
    parsed = _parsed(texts)
    if parsed.dt.unit == "ns":  # only when some value is written beyond the microsecond: rare, costs a pass
        parsed = _parsed(texts.astype(object).map(_to_microseconds))
    in_microseconds: pd.Series = parsed.dt.as_unit("us")
    # pandas reads years no datetime holds once in UTC (0000-01-01; 0001-01-01T00:00:00+02:00; 9999-12-31T23:00-02:00)
    years = in_microseconds.dt.year
    readable: pd.Series = in_microseconds.where((years >= datetime.min.year) & (years <= datetime.max.year))
    return readable


def _parsed(texts: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_datetime(texts, utc=True, errors="coerce", format="ISO8601")


_BEYOND_MICROSECONDS = re.compile(r"(\.\d{6})\d+")


def _to_microseconds(text: Any) -> Any:
    return _BEYOND_MICROSECONDS.sub(r"\1", text, count=1) if isinstance(text, str) else text


def deduplicate(items: Iterable[T], key: Callable[[T], Row]) -> list[T]:
    """Items (rows, or what ``key`` finds a row in) without repeats of the same (eventID, recipientAccountId), the
    first kept; rows without an eventID stay."""
    seen: set[tuple[Any, Any]] = set()
    kept = []
    for item in items:
        row = key(item)
        event_id = row["event_id"]
        if event_id is not None:
            pair = (event_id, row["recipient_account_id"])
            if pair in seen:
                continue
            seen.add(pair)
        kept.append(item)
    return kept


def in_window(rows: Iterable[Row], start: datetime | None, end: datetime | None) -> list[Row]:
    """Rows whose time is in [start, end); in a bounded window, a row without a time is out."""
    if start is None and end is None:
        return list(rows)
    return [
        row
        for row in rows
        if (moment := row["time"]) is not None and (start is None or moment >= start) and (end is None or moment < end)
    ]


def finding_key(row: Row) -> FindingKey:
    return row["principal_key"], row["target_account_id"] or UNKNOWN_OWNER


def rows_by_finding(rows: Iterable[Row]) -> dict[FindingKey, list[Row]]:
    """Each finding's rows, in the order read."""
    groups: dict[FindingKey, list[Row]] = {}
    for row in rows:
        groups.setdefault(finding_key(row), []).append(row)
    return groups


# --------------------------------------------------------------------------- findings


@dataclass
class ActionSummary:
    """One principal's denials of one action in one owning account (the attributes of ``findings.action_summary``)."""

    action: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    reasons: list[str]
    policy_arns: list[str]
    event_names: list[str]
    resource_origins: list[str]
    non_iam_failures: list[str]
    passed_to_services: list[str]
    resources: list[str]
    encoded_messages: int
    truncated_messages: int
    action_from_message: bool
    action_known: bool
    denied_explicitly: bool
    event_ids: list[str]


@dataclass
class FindingSummary:
    """One principal's denials in one owning account (the attributes of ``findings.finding_summary``)."""

    principal_key: str
    target_account_id: str
    denials: int
    principal_arn: str | None
    principal_account_id: str | None
    permission_set: str | None
    cross_account: bool
    principal_type: str | None
    sessions: list[str]
    regions: list[str]
    source_ips: list[str]
    user_agents: list[str]
    first_seen: datetime | None
    last_seen: datetime | None


# Each summary is worked out column by column over its rows (comprehensions, not a method call per row): a storm of
# 100,000 denials in 70,000 actions spent most of its grouping on per-row calls.


def action_summary(action: str, rows: list[Row]) -> ActionSummary:
    times = [moment for row in rows if (moment := row["time"]) is not None]
    earliest_by_id: dict[str, datetime | None] = {}
    for row in rows:
        event_id, moment = row["event_id"], row["time"]
        if event_id and (event_id not in earliest_by_id or _before(moment, earliest_by_id[event_id])):
            earliest_by_id[event_id] = moment
    return ActionSummary(
        action=action,
        count=len(rows),
        first_seen=min(times, default=None),
        last_seen=max(times, default=None),
        reasons=_texts(rows, "reason"),
        policy_arns=_texts(rows, "policy_arn"),
        event_names=_texts(rows, "event_name"),
        resource_origins=_texts(rows, "resource_origin"),
        non_iam_failures=_texts(rows, "non_iam_failure"),
        passed_to_services=_texts(rows, "passed_to_service"),
        resources=sorted({r for row in rows for r in row["resources"] or () if isinstance(r, str) and r}),
        encoded_messages=sum(row["encoded_message"] is not None for row in rows),
        truncated_messages=sum(bool(row["truncated"]) for row in rows),
        action_from_message=_all(rows, "action_from_message"),
        action_known=_all(rows, "action_known"),
        denied_explicitly=_all(rows, "denied_explicitly"),
        event_ids=first_event_ids(earliest_by_id),
    )


def finding_summary(key: FindingKey, rows: list[Row]) -> FindingSummary:
    times = [moment for row in rows if (moment := row["time"]) is not None]
    types = Counter(kind for row in rows if (kind := row["principal_type"]) is not None)
    top = max(types.values(), default=0)
    agents = Counter(agent for row in rows if (agent := row["user_agent"]) is not None)  # first seen first
    ranked = sorted(agents.items(), key=lambda item: -item[1])[:USER_AGENTS_SHOWN]  # stable: ties by first seen
    return FindingSummary(
        principal_key=key[0],
        target_account_id=key[1],
        denials=len(rows),
        principal_arn=_first_value(rows, "principal_arn"),
        principal_account_id=_first_value(rows, "principal_account_id"),
        permission_set=_first_value(rows, "permission_set"),
        cross_account=any(bool(row["cross_account"]) for row in rows),
        principal_type=min((kind for kind, n in types.items() if n == top), default=None),
        sessions=_texts(rows, "session"),
        regions=_texts(rows, "region"),
        source_ips=_texts(rows, "source_ip"),
        user_agents=[agent for agent, _ in ranked if isinstance(agent, str) and agent],
        first_seen=min(times, default=None),
        last_seen=max(times, default=None),
    )


def findings(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """Findings as plain dicts in the contract's shape (``remedy`` left for the remedies layer), the busiest first."""
    return findings_of(rows_by_finding(rows))


def findings_of(groups: dict[FindingKey, list[Row]]) -> list[dict[str, Any]]:
    """:func:`findings` of rows already grouped by :func:`rows_by_finding`."""
    ordered = sorted(groups, key=lambda key: (-len(groups[key]), *key))
    return [_finding(key, groups[key]) for key in ordered]


def _finding(key: FindingKey, rows: list[Row]) -> dict[str, Any]:
    by_action: dict[str, list[Row]] = {}
    for row in rows:
        by_action.setdefault(row["action"], []).append(row)
    ordered = sorted(by_action, key=lambda action: (-len(by_action[action]), action))
    actions = [action_dict(action_summary(action, by_action[action])) for action in ordered]
    return finding_dict(finding_summary(key, rows), actions)


def first_event_ids(earliest_by_id: dict[str, datetime | None], limit: int = EVENT_IDS_PER_ACTION) -> list[str]:
    """The first ``limit`` distinct eventIDs, earliest first (each at its earliest time; no time last), ties by ID."""
    return sorted(earliest_by_id, key=lambda event_id: _time_then_text(earliest_by_id[event_id], event_id))[:limit]


def finding_dict(row: Any, actions: list[dict[str, Any]]) -> dict[str, Any]:
    """A finding in the contract's shape from its summary's attributes (a pandas row or a :class:`FindingSummary`)."""
    target = None if row.target_account_id == UNKNOWN_OWNER else row.target_account_id
    return {
        "id": finding_id(row.principal_key, target),
        "principal": {
            "arn": _none(row.principal_arn),
            "type": row.principal_type,
            "account_id": _none(row.principal_account_id),
            "sessions": row.sessions,
            "key": row.principal_key,
            "permission_set": _none(row.permission_set),
        },
        "target_account_id": target,
        "cross_account": bool(row.cross_account),
        "denials": int(row.denials),
        "first_seen": iso(row.first_seen),
        "last_seen": iso(row.last_seen),
        "regions": row.regions,
        "user_agents": row.user_agents,
        "source_ips": row.source_ips,
        "confidence": "low" if row.denials <= LOW_CONFIDENCE_DENIALS else "normal",
        "actions": actions,
        "remedy": None,
    }


def action_dict(row: Any) -> dict[str, Any]:
    """An action of a finding in the contract's shape (a pandas row or an :class:`ActionSummary`)."""
    return {
        "action": row.action,
        "count": int(row.count),
        "resources": row.resources,
        "reasons": row.reasons,
        "first_seen": iso(row.first_seen),
        "last_seen": iso(row.last_seen),
        "policy_arns": row.policy_arns,
        "event_names": row.event_names,
        "resource_origin": row.resource_origins,
        "action_from_message": bool(row.action_from_message),
        "action_in_catalog": bool(row.action_known),
        "encoded_messages": int(row.encoded_messages),
        "truncated_messages": int(row.truncated_messages),
        "non_iam_failures": row.non_iam_failures,
        "denied_explicitly": bool(row.denied_explicitly),
        "context": request_context(row.passed_to_services),
        "event_ids": row.event_ids,
    }


# --------------------------------------------------------------------------- reconnaissance


def reconnaissance_principals(rows: Iterable[Row], distinct_actions: int, window_minutes: int) -> set[str]:
    """Principals denied ``distinct_actions`` or more distinct actions within any ``window_minutes`` (a window opens
    at each of the principal's timed denials and holds those at or after it and before its end)."""
    timed: dict[str, list[tuple[datetime, str]]] = {}
    for row in rows:
        if row["time"] is not None and row["action"] is not None:
            timed.setdefault(row["principal_key"], []).append((row["time"], row["action"]))
    width = timedelta(minutes=window_minutes)
    return {
        key
        for key, denials in timed.items()
        if len({action for _, action in denials}) >= distinct_actions
        and _most_in_a_window(sorted(denials, key=lambda d: d[0]), width) >= distinct_actions
    }


def _most_in_a_window(denials: list[tuple[datetime, str]], width: timedelta) -> int:
    """The most distinct actions in [t, t + width) over the denials' times t (sorted by time)."""
    in_window: Counter[str] = Counter()
    most, first, last = 0, 0, 0
    for start, _ in denials:
        while last < len(denials) and denials[last][0] < start + width:
            in_window[denials[last][1]] += 1
            last += 1
        while denials[first][0] < start:
            _drop(in_window, denials[first][1])
            first += 1
        most = max(most, len(in_window))
    return most


def _drop(counts: Counter[str], action: str) -> None:
    counts[action] -= 1
    if not counts[action]:
        del counts[action]


# --------------------------------------------------------------------------- small helpers


def _texts(rows: list[Row], column: str) -> list[str]:
    """The column's distinct non-empty strings, sorted."""
    return sorted({value for row in rows if isinstance(value := row[column], str) and value})


def _first_value(rows: list[Row], column: str) -> Any:
    return next((value for row in rows if (value := row[column]) is not None), None)


def _all(rows: list[Row], column: str) -> bool:
    return all((value := row[column]) is None or bool(value) for row in rows)  # pandas' ``all`` skips missing values


def _before(moment: datetime | None, other: datetime | None) -> bool:
    return moment is not None and (other is None or moment < other)


def _time_then_text(moment: datetime | None, text: str) -> tuple[bool, datetime, str]:
    return (moment is None, moment or datetime.min.replace(tzinfo=UTC), text)


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value
