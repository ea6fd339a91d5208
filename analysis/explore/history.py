"""Many days of stored reports, side by side: who keeps failing, which fixes remove the most denials, who reaches
in from outside, who is new, and how each kind of remedy trends.

The daily function stores each day's report at ``reports/YYYY/MM/DD/report.json`` (``analysis.delivery.s3``'s
``report_prefix``), in the reports bucket; :func:`load_history` reads a local copy of that folder and
:func:`load_history_s3` the bucket itself. Both load what they can: a file that is not a report, or that is filed
under another day than the one it reports, is named in ``History.problems`` and skipped; so is each day between
the first and the last loaded that has no report stored at all. The tables show a day without a report as missing
(NaN), never as a clean day (0).

A principal is one identity across the days: its grouping key and the account that refused it
(``principal_key``, ``target_account``), labelled once over the whole history (:func:`history_labels`).

:func:`history_frame` makes one row per day × finding; each question is then a small pure function over that
frame returning a table ready to display.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import pandas as pd

from analysis.advice_words import policy_actions
from analysis.contract import Finding, Report
from analysis.explore.day import GRANT_KINDS, REMEDY_ORDER, SEVERITY_ORDER, parse_report, principal_key, principal_label
from analysis.render.common import report_day

DAY_DTYPE: Final = "datetime64[ns]"  # the frame's days, whatever unit pandas would infer
S3Client = Any  # a boto3 S3 client (no stubs for it are installed)
REPORT_PATH = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/report\.json$")
GRANTING = tuple(kind for kind in REMEDY_ORDER if kind in GRANT_KINDS)  # remedies that propose something to grant
NOT_GRANTING = ("review_deny", "org_policy", "investigate")  # remedies that say: do not grant, look first
IDENTITY = ["principal_key", "target_account"]  # one principal across days: who, and the account refusing it
SAME_ACCOUNT = "same account"
TRUSTED = "trusted or organization"
OUTSIDE = "outside: confirm the owner first"
NOT_STATED = "not stated: no role proposed"
CALLER_ORDER = (OUTSIDE, TRUSTED, NOT_STATED, SAME_ACCOUNT)  # the most cautious first
FRAME_COLUMNS = [
    "day",
    "finding_id",
    "principal",
    "principal_key",
    "principal_type",
    "caller_account",
    "target_account",
    "cross_account",
    "denials",
    "actions",
    "severity",
    "remedy",
    "caller",
    "fix_actions",
    "fix",
]


@dataclass(frozen=True)
class StoredReport:
    """One stored daily report: the day it is filed under (and reports), where it was read, and the report."""

    day: date
    location: str
    report: Report


@dataclass(frozen=True)
class History:
    """The stored reports read, one per day, earliest first; and what could not be read, each naming the file and
    why (skipped files, a second report for a day, nothing found)."""

    reports: list[StoredReport]
    problems: list[str] = field(default_factory=list)
    unreadable_days: list[date] = field(default_factory=list)  # days whose report file is named in problems

    @property
    def days(self) -> list[date]:
        """The days that have a report, earliest first (a day without one is simply absent)."""
        return [stored.day for stored in self.reports]


# --- loading ------------------------------------------------------------------------------------


def load(where: str | Path, *, s3: S3Client | None = None) -> History:
    """The history at ``where``: ``s3://BUCKET/PREFIX`` reads the bucket (with ``s3``, or a client of the default
    boto3 session), anything else is a local folder (see :func:`load_history`)."""
    text = str(where)
    if not text.startswith("s3://"):
        return load_history(text)
    bucket, _, prefix = text.removeprefix("s3://").partition("/")
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    return load_history_s3(s3, bucket, prefix)


def load_history(folder: str | Path) -> History:
    """Every ``…/YYYY/MM/DD/report.json`` under ``folder`` (the folder holding ``reports/``, ``reports/`` itself,
    or any folder whose files are laid out so), one per day, earliest first.

    A file that is not JSON, not a valid report, or filed under a day other than the one it reports is named in
    ``problems`` with why, and skipped; so is a ``report.json`` outside a ``YYYY/MM/DD/`` folder. Two reports for
    one day: the one generated later is kept, and ``problems`` says so. Nothing found: no reports, and a problem
    saying so (never an exception)."""
    root = Path(folder)
    if not root.is_dir():
        return History(reports=[], problems=[f"{root}: not a folder"])
    loaded: list[StoredReport] = []
    problems: list[tuple[str, str]] = []  # (where the file says it is filed, why it is not loaded)
    for path in _report_files(root):
        relative = path.relative_to(root).as_posix()
        try:
            text = path.read_bytes()
        except OSError as error:
            problems.append((relative, f"{path}: cannot be read ({error.strerror or error})"))
            continue
        _take(relative, _parsed(str(path), relative, text), loaded, problems)
    return _assembled(loaded, problems, str(root))


def load_history_s3(s3: S3Client, bucket: str, prefix: str = "reports/") -> History:
    """:func:`load_history` for the reports bucket: every ``PREFIX…YYYY/MM/DD/report.json`` key (listed with the
    ``list_objects_v2`` paginator, read with ``get_object``). A key that cannot be read (access denied, deleted
    meanwhile) is named in ``problems`` with why, as a file that is not a report is; the rest loads. A listing
    that fails raises (nothing could be read: the client's error says why)."""
    loaded: list[StoredReport] = []
    problems: list[tuple[str, str]] = []
    for key in _report_keys(s3, bucket, prefix):
        location = f"s3://{bucket}/{key}"
        try:
            text = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as error:  # botocore's ClientError and transport errors alike: named, and the rest loads
            problems.append((key, f"{location}: cannot be read ({_error_words(error)})"))
            continue
        _take(key, _parsed(location, key, text), loaded, problems)
    return _assembled(loaded, problems, f"s3://{bucket}/{prefix}")


def _report_files(root: Path) -> list[Path]:
    """Every file named report.json under ``root``, in path order (deterministic whatever the file system)."""
    found = [Path(top) / name for top, _dirs, names in os.walk(root) for name in names if name == "report.json"]
    return sorted(found)


def _report_keys(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return sorted(key for key in keys if key.rsplit("/", 1)[-1] == "report.json")


def _error_words(error: Exception) -> str:
    response = getattr(error, "response", None)
    details = response.get("Error", {}) if isinstance(response, dict) else {}
    if details.get("Code"):
        return f"{details['Code']}: {details.get('Message') or 'no message'}"
    return f"{type(error).__name__}: {error}"


def _parsed(location: str, relative: str, text: bytes) -> StoredReport | str:
    """The stored report at ``location`` (``relative``: its path under the folder or key, which says its day), or
    why it cannot be one, naming it."""
    filed = _filed_day(relative)
    if isinstance(filed, str):
        return f"{location}: skipped ({filed})"
    try:
        report = parse_report(text, location)
    except ValueError as error:
        return str(error)
    reported = report_day(report)
    if reported != filed.isoformat():
        return f"{location}: skipped (filed under {filed.isoformat()} but reports {reported})"
    return StoredReport(day=filed, location=location, report=report)


def _filed_day(relative: str) -> date | str:
    """The day a path says (``…/YYYY/MM/DD/report.json``), or why it says none."""
    match = REPORT_PATH.search(relative)
    if not match:
        return "not in a YYYY/MM/DD/ folder"
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return f"{year:04d}/{month:02d}/{day:02d} is not a date"


def _take(
    relative: str, outcome: StoredReport | str, loaded: list[StoredReport], problems: list[tuple[str, str]]
) -> None:
    if isinstance(outcome, str):
        problems.append((relative, outcome))
    else:
        loaded.append(outcome)


def _assembled(loaded: Sequence[StoredReport], named: list[tuple[str, str]], where: str) -> History:
    """One report per day, earliest first: of two for a day, the later generated (ties: the later location).
    ``named``: the files not loaded (their path under the folder, and why); each day between the first and the
    last loaded that has neither a report nor such a file is a gap, named after them."""
    problems = [why for _relative, why in named]
    by_day: dict[date, StoredReport] = {}
    for stored in sorted(loaded, key=lambda s: (s.day, s.report.generated_at, s.location)):
        earlier = by_day.get(stored.day)
        if earlier is not None:
            problems.append(
                f"two reports for {stored.day.isoformat()}: kept {stored.location} (generated "
                f"{stored.report.generated_at}), skipped {earlier.location} (generated {earlier.report.generated_at})"
            )
        by_day[stored.day] = stored
    if not by_day:
        problems.append(f"no report found under {where} (expected …/YYYY/MM/DD/report.json)")
    already_named = {filed for relative, _why in named if isinstance(filed := _filed_day(relative), date)}
    problems.extend(f"{gap.isoformat()}: no report stored for this day" for gap in _gaps(by_day, already_named))
    unreadable = sorted(already_named - set(by_day))
    return History(reports=[by_day[day] for day in sorted(by_day)], problems=problems, unreadable_days=unreadable)


def _gaps(by_day: dict[date, StoredReport], already_named: set[date]) -> list[date]:
    """The days between the first and the last with a report that have none, and no unreadable file named."""
    if not by_day:
        return []
    first, last = min(by_day), max(by_day)
    every = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in every if day not in by_day and day not in already_named]


# --- the frame ----------------------------------------------------------------------------------


def history_frame(history: History) -> pd.DataFrame:
    """One row per day × finding, in day order then the report's order.

    Columns: ``day`` (datetime64[ns], midnight of the day), ``finding_id``, ``principal`` (a short label, one per
    identity over the whole history, :func:`history_labels`: ``user/dev-alice @111122223333``, `` → TARGET`` for a
    cross-account finding), ``principal_key`` (the grouping key, stable across days; with ``target_account`` it is
    the principal's identity), ``principal_type``, ``caller_account`` (the principal's account), ``target_account``
    (the owning account), ``cross_account``, ``denials``, ``actions`` (the refused actions, most denials first),
    ``severity``, ``remedy`` (its kind, ``none`` without one), ``caller`` (:func:`caller_kind`), ``fix_actions``
    (sorted: the proposed policy's actions for a remedy that grants, else the refused ones) and ``fix`` (the fix in
    one stable line: remedy kind, principal, owning account and ``fix_actions``, so the same fix on two days is one
    fix). Accounts the log does not name are None.

    ``frame.attrs["days"]`` holds the days with a report, so the questions know a day without findings (0) from a
    day without a report (NaN); ``frame.attrs["unreadable"]`` the days whose report could not be read, which are
    in the history's span (an unreadable last day is a missing day, not the end of the history).
    """
    found = [(stored.day, finding) for stored in history.reports for finding in stored.report.findings]
    labels = history_labels([finding for _day, finding in found])
    rows = [_row(day, labels[_identity(finding)], finding) for day, finding in found]
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    frame["day"] = pd.to_datetime(frame["day"]).astype(DAY_DTYPE)
    frame["denials"] = frame["denials"].astype("int64")
    frame["cross_account"] = frame["cross_account"].astype(bool)
    frame.attrs["days"] = [pd.Timestamp(day) for day in history.days]
    frame.attrs["unreadable"] = [pd.Timestamp(day) for day in history.unreadable_days]
    return frame


def history_labels(findings: Sequence[Finding]) -> dict[tuple[str, str | None], str]:
    """A label per identity (``principal_key``, ``target_account``) among ``findings`` (every day's), unique over
    all of them, so one principal is one row on every day and two are never one.

    The label is ``analysis.explore.day.principal_label``'s. Where one label would name identities refused in two
    owning accounts (a principal without a known account, such as ``service:apprunner.amazonaws.com``, refused in
    two accounts on any day), each gets `` → TARGET``; should two still share a label (two keys that read the
    same), the key is added in brackets."""
    first: dict[tuple[str, str | None], Finding] = {}
    for finding in findings:
        first.setdefault(_identity(finding), finding)
    labels = {identity: principal_label(finding) for identity, finding in first.items()}
    labels = _apart(labels, lambda label, identity: label if "→" in label else f"{label} → {identity[1] or 'unknown'}")
    return _apart(labels, lambda label, identity: f"{label} ({identity[0]})")


def _apart(
    labels: dict[tuple[str, str | None], str], longer: Callable[[str, tuple[str, str | None]], str]
) -> dict[tuple[str, str | None], str]:
    shared = {label for label, count in Counter(labels.values()).items() if count > 1}
    return {identity: longer(label, identity) if label in shared else label for identity, label in labels.items()}


def _identity(finding: Finding) -> tuple[str, str | None]:
    return principal_key(finding), finding.target_account_id


def caller_kind(finding: Finding) -> str:
    """Who the caller is to the owning account, as the proposed remedy says (never guessed from the log):
    ``same account`` (not a cross-account finding); for a cross-account one, ``outside: confirm the owner first``
    when the proposed role's trust policy requires ``sts:ExternalId`` (the contract's rule 4: the caller's account is
    neither trusted nor in the organization), ``trusted or organization`` when it does not, and ``not stated: no role
    proposed`` without a trust policy (a remedy other than ``cross_account_role``)."""
    if not finding.cross_account:
        return SAME_ACCOUNT
    trust = finding.remedy.trust_policy if finding.remedy else None
    if trust is None:
        return NOT_STATED
    return OUTSIDE if any(_requires_external_id(statement) for statement in trust.Statement) else TRUSTED


def _requires_external_id(statement: dict[str, Any]) -> bool:
    """A trust statement's conditions name ``sts:ExternalId`` (under any operator, as IAM reads them)."""
    conditions = statement.get("Condition") or {}
    return any(
        isinstance(keys, dict) and any(str(key).lower() == "sts:externalid" for key in keys)
        for keys in conditions.values()
    )


def _row(day: date, label: str, finding: Finding) -> dict[str, Any]:
    principal, remedy = finding.principal, finding.remedy.kind if finding.remedy else "none"
    fix_actions = _fix_actions(finding)
    target = finding.target_account_id
    return {
        "day": pd.Timestamp(day),
        "finding_id": finding.id,
        "principal": label,
        "principal_key": principal_key(finding),
        "principal_type": principal.type,
        "caller_account": principal.account_id,
        "target_account": target,
        "cross_account": finding.cross_account,
        "denials": finding.denials,
        "actions": [denied.action for denied in finding.actions],
        "severity": finding.severity,
        "remedy": remedy,
        "caller": caller_kind(finding),
        "fix_actions": fix_actions,
        "fix": f"{remedy}: {label} in {target or 'unknown account'}: {', '.join(fix_actions)}",
    }


def _fix_actions(finding: Finding) -> list[str]:
    """What the fix is about: the actions its policies allow when the remedy grants, else the refused actions."""
    remedy = finding.remedy
    if remedy is not None and remedy.kind in GRANTING and remedy.policy is not None:
        allowed = [a for policy in (remedy.policy, *remedy.more_policies) for a in policy_actions(policy)]
        return sorted(set(allowed))
    return sorted({denied.action for denied in finding.actions})


# --- the questions ------------------------------------------------------------------------------


def principal_days(frame: pd.DataFrame) -> pd.DataFrame:
    """Denials per principal (rows: one per identity, by its label) and day (columns, every day from the history's
    first to its last): 0 where the principal was not refused on a day with a report, NaN on a day without one (not
    stored, or unreadable: nothing is known of it); floats, for the NaN. Rows by total denials, most first (ties by
    label)."""
    days = pd.DatetimeIndex(_days(frame), name="day").astype(DAY_DTYPE)
    matrix = frame.pivot_table(index="principal", columns="day", values="denials", aggfunc="sum", fill_value=0)
    matrix = matrix.reindex(columns=days, fill_value=0).astype("float64")
    matrix.loc[:, matrix.columns.isin(_missing(frame))] = float("nan")
    totals = matrix.sum(axis=1).to_dict()
    matrix = matrix.loc[sorted(matrix.index, key=lambda label: (-totals[label], label))]
    matrix.index.name, matrix.columns.name = "principal", "day"
    return matrix


def recurring_principals(frame: pd.DataFrame, min_days: int = 2) -> pd.DataFrame:
    """Principals (identities) refused on at least ``min_days`` days: fixes nobody applied.

    Columns ``principal``, ``days`` (days with a denial), ``first_day``, ``last_day``, ``denials`` (over every
    day), ``on_latest_day`` (refused on the history's last day: still failing); most days first, then most
    denials, then by label."""
    columns = ["principal", "days", "first_day", "last_day", "denials", "on_latest_day"]
    table = _per_principal(frame)
    table = table[table["days"] >= min_days].copy()
    table["on_latest_day"] = _on_latest_day(frame, table["last_day"])
    table = table.sort_values(["days", "denials", "principal"], ascending=[False, False, True])
    return table[columns].reset_index(drop=True)


def fixes_by_impact(frame: pd.DataFrame) -> pd.DataFrame:
    """The proposed fixes that grant something (``grant``, ``cross_account_role``, ``permission_set``), ranked by
    the denials they would have removed over the whole history: the order to apply them in, **once each is safe**.

    The ranking is by denials only: a fix for a caller from outside the organization (``caller`` says ``outside:
    confirm the owner first``; severity ``critical``) can rank high because that caller keeps trying. Its role must
    not be created before the account's owner is confirmed and an external ID agreed (the contract's rule 4): read
    ``caller`` and ``severity`` before applying a fix.

    One row per fix (``history_frame``'s ``fix``: one identity, remedy kind and policy actions): ``fix``,
    ``remedy``, ``principal``, ``target_account``, ``actions`` (the proposed policy's actions), ``denials``,
    ``days``, ``last_day``, ``severity`` (the worst over the days), ``still_failing`` (refused on the history's
    last day: a fix that stopped earlier may have been applied already), ``caller`` (:func:`caller_kind`, the most
    cautious over the days); most denials first (ties: more days, then the fix's text). Remedies that say not to
    grant are in :func:`do_not_grant`."""
    return _fixes(frame[frame["remedy"].isin(GRANTING)], with_caller=True)


def fix_bars(fixes: pd.DataFrame) -> pd.Series:
    """The denials of each fix of ``fixes`` (:func:`fixes_by_impact` or :func:`do_not_grant`), named for a bar
    chart: by its principal, and where a principal has several fixes also by remedy kind and actions, so that no
    two bars share a name."""
    several = fixes["principal"].duplicated(keep=False)
    names = [
        f"{principal} ({remedy}: {', '.join(actions)})" if repeated else principal
        for principal, remedy, actions, repeated in zip(
            fixes["principal"], fixes["remedy"], fixes["actions"], several, strict=True
        )
    ]
    return pd.Series(fixes["denials"].to_numpy(), index=names, name="denials")


def do_not_grant(frame: pd.DataFrame) -> pd.DataFrame:
    """The findings whose remedy says **not** to grant (``review_deny``, ``org_policy``, ``investigate``): a deny,
    an organization policy or reconnaissance refused them, and a person must look.

    The columns of :func:`fixes_by_impact` but ``caller``, ``actions`` being the refused actions; most denials
    first."""
    return _fixes(frame[frame["remedy"].isin(NOT_GRANTING)], with_caller=False)


def outside_accounts(frame: pd.DataFrame) -> pd.DataFrame:
    """Callers from one account refused in another (cross-account findings), one row per caller account.

    Columns ``caller_account`` (``unknown`` where the log does not say), ``target_accounts``, ``principals`` (sorted
    lists), ``days``, ``denials``, ``remedies`` (the remedy kinds proposed, sorted), ``severity`` (the most severe
    over its findings: ``critical`` for an account neither trusted nor in the organization) and ``caller``
    (:func:`caller_kind`, the most cautious over its findings: ``outside: confirm the owner first`` where a proposed
    role requires sts:ExternalId); most denials first."""
    columns = ["caller_account", "target_accounts", "principals", "days", "denials", "remedies", "severity", "caller"]
    crossing = frame[frame["cross_account"]]
    rows = [
        {
            "caller_account": caller,
            "target_accounts": _sorted_values(group["target_account"]),
            "principals": _sorted_values(group["principal"]),
            "days": group["day"].nunique(),
            "denials": int(group["denials"].sum()),
            "remedies": _sorted_values(group["remedy"]),
            "severity": _worst(group["severity"], SEVERITY_ORDER),
            "caller": _worst(group["caller"], CALLER_ORDER),
        }
        for caller, group in crossing.assign(caller_account=crossing["caller_account"].fillna("unknown")).groupby(
            "caller_account", sort=True
        )
    ]
    table = _typed(pd.DataFrame(rows, columns=columns), ["days", "denials"])
    return table.sort_values(["denials", "caller_account"], ascending=[False, True]).reset_index(drop=True)


def new_principals(frame: pd.DataFrame, since: date | None = None) -> pd.DataFrame:
    """Principals (identities) first refused on or after ``since`` (default: the day after the history's first
    day, i.e. not refused on day one): new deployments, new people, or someone new trying doors.

    Columns ``principal``, ``first_day``, ``last_day``, ``days``, ``denials``; earliest first day first, then most
    denials, then by label."""
    columns = ["principal", "first_day", "last_day", "days", "denials"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    start = pd.Timestamp(since) if since is not None else _days(frame)[0] + pd.Timedelta(days=1)
    table = _per_principal(frame)
    table = table[table["first_day"] >= start]
    table = table.sort_values(["first_day", "denials", "principal"], ascending=[True, False, True])
    return table[columns].reset_index(drop=True)


def remedy_trends(frame: pd.DataFrame) -> pd.DataFrame:
    """Denials per day (rows: every day from the history's first to its last) and remedy kind (columns: the kinds
    found, in the contract's order, ``none`` last): 0 where none on a day with a report, NaN on a day without one
    (not stored, or unreadable); floats, for the NaN."""
    days = pd.DatetimeIndex(_days(frame), name="day").astype(DAY_DTYPE)
    kinds = [kind for kind in REMEDY_ORDER if kind in set(frame["remedy"])]
    trends = frame.pivot_table(index="day", columns="remedy", values="denials", aggfunc="sum", fill_value=0)
    trends = trends.reindex(index=days, columns=kinds, fill_value=0).astype("float64")
    trends.loc[trends.index.isin(_missing(frame))] = float("nan")
    trends.columns.name = "remedy"
    return trends


# --- shared -------------------------------------------------------------------------------------


def _days(frame: pd.DataFrame) -> list[pd.Timestamp]:
    """Every day from the history's first to its last (``attrs["days"]`` and ``attrs["unreadable"]``, else the
    frame's own days)."""
    listed = [*frame.attrs.get("days", []), *frame.attrs.get("unreadable", [])]
    known = [pd.Timestamp(day) for day in listed] + list(frame["day"])
    if not known:
        return []
    first, last = min(known), max(known)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _on_latest_day(frame: pd.DataFrame, last_days: pd.Series) -> pd.Series:
    """Whether each last day is the history's last day; unknown (NA) when that day has no report to tell."""
    days = _days(frame)
    if not days or days[-1] in _missing(frame):
        return pd.Series(pd.NA, index=last_days.index, dtype="boolean")
    return (last_days == days[-1]).astype("boolean")


def _missing(frame: pd.DataFrame) -> list[pd.Timestamp]:
    """The days of :func:`_days` without a report. The days with one are ``attrs["days"]``; a frame without them
    (not made by :func:`history_frame`) counts only its own days as reported, so an unknown day is never a clean
    one."""
    reported = {pd.Timestamp(day) for day in frame.attrs.get("days", frame["day"].unique())}
    return [day for day in _days(frame) if day not in reported]


def _per_principal(frame: pd.DataFrame) -> pd.DataFrame:
    """Per identity (``principal_key``, ``target_account``; named by its label): days refused, first and last day,
    denials."""
    grouped = frame.groupby(IDENTITY, sort=False, dropna=False)
    table = pd.DataFrame(
        {
            "principal": grouped["principal"].first(),
            "days": grouped["day"].nunique(),
            "first_day": grouped["day"].min(),
            "last_day": grouped["day"].max(),
            "denials": grouped["denials"].sum(),
        }
    ).reset_index(drop=True)
    return _typed(table, ["days", "denials"])


def _fixes(rows: pd.DataFrame, *, with_caller: bool) -> pd.DataFrame:
    """One row per fix: an identity, its remedy kind and the fix's actions (``fix`` says all three)."""
    columns = ["fix", "remedy", "principal", "target_account", "actions", "denials", "days", "last_day", "severity"]
    fixes = [
        {
            "fix": group["fix"].iloc[0],
            "remedy": group["remedy"].iloc[0],
            "principal": group["principal"].iloc[0],
            "target_account": group["target_account"].iloc[0],
            "actions": list(group["fix_actions"].iloc[0]),
            "denials": int(group["denials"].sum()),
            "days": group["day"].nunique(),
            "last_day": group["day"].max(),
            "severity": _worst(group["severity"], SEVERITY_ORDER),
            "caller": _worst(group["caller"], CALLER_ORDER),
        }
        for _fix, group in rows.assign(_fix_key=rows["fix_actions"].map(tuple)).groupby(
            [*IDENTITY, "remedy", "_fix_key"], sort=False, dropna=False
        )
    ]
    table = _typed(pd.DataFrame(fixes, columns=[*columns, "caller"]), ["denials", "days"])
    table["still_failing"] = _on_latest_day(rows, table["last_day"])
    table = table.sort_values(["denials", "days", "fix"], ascending=[False, False, True]).reset_index(drop=True)
    return table[[*columns, "still_failing", "caller"]] if with_caller else table[[*columns, "still_failing"]]


def _worst(values: Iterable[str], order: Sequence[str]) -> str:
    """The first of ``values`` in ``order`` (most severe, most cautious first)."""
    return min(values, key=order.index)


def _sorted_values(values: Iterable[Any]) -> list[str]:
    return sorted({str(value) for value in values if value is not None and not pd.isna(value)})


def _typed(table: pd.DataFrame, counts: list[str]) -> pd.DataFrame:
    for column in counts:
        table[column] = table[column].astype("int64")
    return table
