"""Denials as a pandas frame, and their grouping into findings (per principal and owning account) with pandas.

The report groups plain rows (:mod:`analysis.grouping`, without pandas); this reading of the same rows is the
notebooks' frame (``Analysis.frame``) and the tests' second method for the findings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd

from analysis.contract import EVENT_IDS_PER_ACTION
from analysis.grouping import action_dict, finding_dict, series_times

FRAME_COLUMNS = [
    "event_id", "recipient_account_id", "event_time", "event_source", "event_name", "region",
    "source_ip", "user_agent", "error_code", "error_message", "principal_key", "principal_arn",
    "principal_type", "principal_account_id", "session", "permission_set", "action",
    "action_from_message", "action_known", "resources", "resource_origin", "reason", "policy_arn",
    "encoded_message", "truncated", "non_iam_failure", "target_account_id", "cross_account",
    "denied_explicitly", "passed_to_service", "vpc_endpoint_id", "vpc_endpoint_account_id",
]  # fmt: skip
FINDING_KEY = ["principal_key", "target_account_id"]
ACTION_KEY = [*FINDING_KEY, "action"]


def denial_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per denial event, event_time parsed to UTC (unparseable times become NaT)."""
    frame = pd.DataFrame(list(rows), columns=FRAME_COLUMNS)
    frame["event_time"] = series_times(frame["event_time"])
    frame["target_account_id"] = frame["target_account_id"].fillna("unknown")
    return frame


def deduplicate(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop repeats of the same (eventID, recipientAccountId); records without an eventID stay."""
    has_id = frame["event_id"].notna()
    repeated = frame.duplicated(subset=["event_id", "recipient_account_id"], keep="first") & has_id
    return frame.loc[~repeated]


def in_window(frame: pd.DataFrame, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        mask &= frame["event_time"] >= pd.Timestamp(start)
    if end is not None:
        mask &= frame["event_time"] < pd.Timestamp(end)
    if start is not None or end is not None:
        mask &= frame["event_time"].notna()
    return frame.loc[mask]


def _unique_sorted(values: pd.Series) -> list[str]:
    return sorted({v for v in values if isinstance(v, str) and v})


def _most_common(values: pd.Series, limit: int = 10) -> list[str]:
    return [v for v in values.dropna().value_counts().index[:limit] if isinstance(v, str) and v]


def action_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per principal, owning account and action."""
    grouped = frame.groupby(ACTION_KEY, sort=False, dropna=False)
    summary = grouped.agg(
        count=("action", "size"),
        first_seen=("event_time", "min"),
        last_seen=("event_time", "max"),
        reasons=("reason", _unique_sorted),
        policy_arns=("policy_arn", _unique_sorted),
        event_names=("event_name", _unique_sorted),
        resource_origins=("resource_origin", _unique_sorted),
        non_iam_failures=("non_iam_failure", _unique_sorted),
        encoded_messages=("encoded_message", "count"),
        truncated_messages=("truncated", "sum"),
        action_from_message=("action_from_message", "all"),
        action_known=("action_known", "all"),
        denied_explicitly=("denied_explicitly", "all"),
        passed_to_services=("passed_to_service", _unique_sorted),
    )
    resources = frame[[*ACTION_KEY, "resources"]].explode("resources")
    summary["resources"] = resources.groupby(ACTION_KEY, sort=False, dropna=False)["resources"].agg(_unique_sorted)
    event_ids = first_event_ids(frame).reindex(summary.index)
    summary["event_ids"] = [ids if isinstance(ids, list) else [] for ids in event_ids]
    return summary.reset_index()


def first_event_ids(frame: pd.DataFrame, limit: int = EVENT_IDS_PER_ACTION) -> pd.Series:
    """The first ``limit`` distinct eventIDs of each principal, owning account and action, earliest first (ties by
    eventID, so the choice does not depend on the order the sources were read in; no time last), indexed by
    ``ACTION_KEY``; an action whose records carry none is left out.

    Sorting and grouping by strings took seconds for 500,000 denials, so the work is done on integer codes: rows
    ranked by group and time, repeats dropped, each group cut after its ``limit``-th time (keeping the rows that
    tie with it), and only those few ranked by ID."""
    frame = frame[[*ACTION_KEY, "event_time", "event_id"]].reset_index(drop=True)  # rows found by label below
    ids = frame["event_id"]
    codes = pd.factorize(ids)[0]  # -1: no ID
    rows = pd.DataFrame(
        {
            "group": frame.groupby(ACTION_KEY, sort=False, dropna=False).ngroup().to_numpy(),
            "time": frame["event_time"],
            "id": codes,
        },
        index=frame.index,
    )[(codes >= 0) & (ids.to_numpy() != "")]
    rows = rows.sort_values(["group", "time"], kind="stable", na_position="last")
    rows = rows[~rows.duplicated(["group", "id"])]
    position = rows.groupby("group", sort=False).cumcount()
    boundary = rows["time"].where(position == limit - 1).groupby(rows["group"], sort=False).transform("first")
    near = rows[(position < limit) | (rows["time"] == boundary) | (rows["time"].isna() & boundary.isna())]
    near = near.assign(id=pd.factorize(ids.loc[near.index], sort=True)[0])  # codes in the IDs' sorted order
    ranked = near.sort_values(["group", "time", "id"], kind="stable", na_position="last")
    ranked = ranked[ranked.groupby("group", sort=False).cumcount().to_numpy() < limit]
    return _lists_by_group(ranked["group"].to_numpy(), ids.loc[ranked.index], frame.loc[ranked.index, ACTION_KEY])


def _lists_by_group(groups: Any, values: pd.Series, keys: pd.DataFrame) -> pd.Series:
    """The values of each run of equal ``groups`` as a list, indexed by the run's keys."""
    if not len(groups):
        return pd.Series([], index=pd.MultiIndex.from_frame(keys), dtype=object)
    starts = [0, *(index + 1 for index in (groups[1:] != groups[:-1]).nonzero()[0])]
    ends = [*starts[1:], len(groups)]
    array = values.to_numpy()
    lists = [array[start:end].tolist() for start, end in zip(starts, ends, strict=True)]
    return pd.Series(lists, index=pd.MultiIndex.from_frame(keys.iloc[starts]), dtype=object)


def finding_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per principal and owning account."""
    grouped = frame.groupby(FINDING_KEY, sort=False, dropna=False)
    summary = grouped.agg(
        denials=("action", "size"),
        principal_arn=("principal_arn", "first"),
        principal_type=("principal_type", lambda s: s.mode().iloc[0]),
        principal_account_id=("principal_account_id", "first"),
        permission_set=("permission_set", "first"),
        cross_account=("cross_account", "any"),
        sessions=("session", _unique_sorted),
        regions=("region", _unique_sorted),
        user_agents=("user_agent", _most_common),
        source_ips=("source_ip", _unique_sorted),
        first_seen=("event_time", "min"),
        last_seen=("event_time", "max"),
    )
    return summary.reset_index().sort_values(
        ["denials", "principal_key", "target_account_id"], ascending=[False, True, True], kind="stable"
    )


def findings(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Findings as plain dicts in the contract's shape (``remedy`` left for the remedies layer)."""
    if frame.empty:
        return []
    actions = action_summary(frame)
    actions = actions.sort_values(["count", "action"], ascending=[False, True], kind="stable")
    actions_by_finding = {key: group for key, group in actions.groupby(FINDING_KEY, sort=False, dropna=False)}
    result = []
    for row in finding_summary(frame).itertuples(index=False):
        group = actions_by_finding[(row.principal_key, row.target_account_id)]
        result.append(finding_dict(row, [action_dict(action) for action in group.itertuples(index=False)]))
    return result
