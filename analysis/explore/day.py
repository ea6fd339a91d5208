"""One run, to explore: the report and the denial rows behind it, from any source or a stored ``report.json``.

Every table here is computed from the report (the contract, ``docs/CONTRACT.md``), so a stored report gives the
same tables as a fresh run; the denial rows (``Exploration.frame``) are only there for a fresh run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pandas as pd
from pydantic import ValidationError

from analysis.contract import Finding, RemedyKind, Report, Severity, as_report
from analysis.model import Options, Window
from analysis.records import RecordOrProblem
from analysis.sources.base import ReadOptions, Source, SourceError
from analysis.sources.files import WHOLE_FILE_LIMIT

SEVERITY_ORDER: tuple[str, ...] = get_args(Severity)  # critical, high, medium, low
REMEDY_ORDER: tuple[str, ...] = (*get_args(RemedyKind), "none")  # "none": a finding without a remedy
GRANT_KINDS = frozenset({"grant", "cross_account_role", "permission_set"})  # remedies that propose access
SSO_ROLE_PATH = "aws-reserved/sso.amazonaws.com/"
REPORT_KEYS = frozenset({"schema_version", "findings"})  # a JSON object with both is a stored report
SOURCE_PROBLEM_COLUMNS = ["source", "status", "records_read", "malformed_records", "problem"]


@dataclass(frozen=True)
class Exploration:
    """A run to explore: ``report`` (the contract), ``frame`` (one row per denial, ``None`` for a stored report)
    and ``source`` (what was read, in words)."""

    report: Report
    frame: pd.DataFrame | None
    source: str


# --- reading ------------------------------------------------------------------------------------


def explore(
    source: str | os.PathLike[str] = "sample",
    *,
    window: Window | None = None,
    options: Options | None = None,
    session: Any = None,
    now: datetime | None = None,
) -> Exploration:
    """Read ``source`` as the CLI's ``--source`` does (``sample``, a folder, ``s3://``, ``lookup:``, ``athena:``,
    ``lake:``) or load a stored ``report.json`` (a path ending in ``.json`` holding a report).

    ``sample`` is the bundled day with the demo's window and organization (``analysis.demo``) unless ``window`` or
    ``options`` are given. Other sources take the options of the environment, as the CLI does
    (``analysis.settings.load_settings``: AUDITED_SERVICE, TRUSTED_ACCOUNTS, ORG_ACCOUNTS, ORG_ID, RECON_ACTIONS,
    RECON_MINUTES; a malformed one raises ``ConfigError`` naming it); an AWS source without a window reads the last
    24 hours before ``now``. ``session`` is the boto3 session AWS sources use (default: a new default session).

    A ``.json`` file is a stored report only when it holds a JSON object with ``schema_version`` and ``findings``
    (then a ValueError names it if it is not a valid report); any other file is read as the CLI's ``--source``
    reads it (a trail file, an array of records, a saved ``lookup-events`` output …), and what the sources cannot
    read is named in ``report.sources`` (see :func:`source_problems`). A source that fails to read is not raised:
    the report says so (status ``failed``, its error), as the CLI's report does. ``window`` and ``options`` do not
    apply to a stored report: it is shown as it was made.
    """
    source = os.fspath(source)
    if _is_stored_report(source):
        return Exploration(report=load_report(Path(source)), frame=None, source=f"stored report {source}")
    from analysis.pipeline import analyse

    window, options = _run_settings(source, window, options, now or datetime.now(UTC))
    sources = _open_sources(source, window, ReadOptions(service=options.service, session=session))
    analysis = analyse(sources, window, options, now=now)
    return Exploration(report=analysis.report, frame=analysis.frame, source=_described(source))


def load_report(path: Path) -> Report:
    """The report stored in ``path`` (as ``report --format json`` or the reports bucket writes it); a ValueError
    naming the file when it is not valid JSON or not a report."""
    return parse_report(path.read_bytes(), str(path))


def parse_report(text: bytes, location: str) -> Report:
    """The report ``text`` holds (UTF-8 JSON); a ValueError naming ``location`` and why when it is none: not
    JSON, not an object, or the contract's first problem with the count of all."""
    try:
        data = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{location}: not a report (not valid JSON: {error})") from error
    if not isinstance(data, dict):
        raise ValueError(f"{location}: not a report (a JSON {type(data).__name__}, not an object)")
    try:
        return as_report(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise ValueError(
            f"{location}: not a report ({error.error_count()} problem(s); first: {where}: {first['msg']})"
        ) from error


def _is_stored_report(source: str) -> bool:
    """A ``.json`` file holding a JSON object with ``schema_version`` and ``findings``: what a report has and no
    CloudTrail data does. A file too large to read whole is left to the sources, which stream it."""
    path = Path(source)
    if path.suffix.lower() != ".json" or not path.is_file() or path.stat().st_size > WHOLE_FILE_LIMIT:
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False  # the sources name it, as the CLI does
    return isinstance(data, dict) and data.keys() >= REPORT_KEYS


def _run_settings(source: str, window: Window | None, options: Options | None, now: datetime) -> tuple[Window, Options]:
    """The window and options a run of ``source`` takes when not given (see :func:`explore`)."""
    if source == "sample":
        from analysis.demo import DEMO_OPTIONS, SAMPLE_DAY

        return window or SAMPLE_DAY, options or DEMO_OPTIONS
    from analysis.service import WindowRequest, report_window
    from analysis.settings import advice_options, load_settings

    window = window or report_window(WindowRequest(), [source], now)
    return window, options or advice_options(load_settings())  # the environment's, as the CLI reads it


def _open_sources(spec: str, window: Window, options: ReadOptions) -> list[Source]:
    """The spec's sources; a spec of a wrong form raises (SourceError, in one line), but one whose source cannot
    even be opened (no credentials, AWS refused) becomes a failed source, so the report says why."""
    from analysis.sources import check_spec, sources_from_spec

    check_spec(spec)
    try:
        return sources_from_spec(spec, window, options)
    except Exception as error:  # reported on the source, as a failed read is
        return [_Unopened(spec, error)]


@dataclass
class _Unopened:
    """A source that could not be opened: reading it raises why, which the pipeline reports as failed."""

    name: str
    error: Exception

    def read(self) -> Iterator[RecordOrProblem]:
        if isinstance(self.error, SourceError):
            raise self.error
        raise SourceError(f"{self.name}: cannot be opened ({type(self.error).__name__}: {self.error})")


def _described(source: str) -> str:
    return "the bundled sample day" if source == "sample" else source


# --- labels -------------------------------------------------------------------------------------


def principal_label(finding: Finding) -> str:
    """A short name for a finding's principal, unique among a report's findings.

    ``user/dev-alice @111122223333``, ``role/GitHubActionsDeploy @111122223333`` (a role's path left out: role
    names are unique in an account), an IAM Identity Center role by its permission set
    (``permission-set/Developer_Access @444455556666``), ``root @444455556666``, and the grouping key where there is
    no ARN (``service:apprunner.amazonaws.com``, ``account:999988887777``). A cross-account finding adds
    `` → TARGET`` (the owning account): findings are one per principal and owning account, and at most one of a
    principal's is in its own account, so a principal refused in two accounts gets two labels. (A principal whose
    own account the log does not say is told apart by :func:`finding_labels`.)
    """
    principal = finding.principal
    name = _arn_label(principal.arn, principal.permission_set) if principal.arn else None
    label = name or principal.key or "unknown principal"
    if finding.cross_account and finding.target_account_id:
        label += f" → {finding.target_account_id}"
    return label


def _arn_label(arn: str, permission_set: str | None) -> str | None:
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    account, resource = parts[4], parts[5]
    kind, _, path = resource.partition("/")
    if resource == "root":
        short = "root"
    elif kind == "role" and (permission_set or path.startswith(SSO_ROLE_PATH)):
        short = f"permission-set/{permission_set}" if permission_set else f"role/{path.rsplit('/', 1)[-1]}"
    elif kind in ("role", "user") and path:
        short = f"{kind}/{path.rsplit('/', 1)[-1]}"
    else:
        short = resource
    return f"{short} @{account}" if account else short


def finding_labels(report: Report) -> list[str]:
    """:func:`principal_label` of each finding, in the report's order, each unique: where two are equal (a
    principal without a known account refused in two accounts), `` → TARGET`` is added to them, and should they
    still be (a hand-made report), the finding's id, so no row of a table hides another."""
    labels = _told_apart([principal_label(f) for f in report.findings], report.findings, _with_target)
    return _told_apart(labels, report.findings, lambda label, finding: f"{label} ({finding.id})")


def _told_apart(labels: list[str], findings: Sequence[Finding], longer: Callable[[str, Finding], str]) -> list[str]:
    repeated = {label for label, count in Counter(labels).items() if count > 1}
    return [
        longer(label, finding) if label in repeated else label for label, finding in zip(labels, findings, strict=True)
    ]


def _with_target(label: str, finding: Finding) -> str:
    target = finding.target_account_id or "unknown"
    return label if "→" in label else f"{label} → {target}"


# --- tables -------------------------------------------------------------------------------------


def day_in_numbers(report: Report) -> pd.DataFrame:
    """One row per figure of the run: records read, denials, principals, findings, actions, malformed records,
    sources read, ok, partial and failed, sources with problems, the window.

    Columns ``figure`` and ``value`` (numbers as ints; the window's bounds as their UTC text, ``open`` when
    unbounded). ``sources with problems``: those with an error or a problem line (:func:`source_problems`), ok
    ones included: a source read in full may still hold nothing to report (no CloudTrail record in it), which an
    empty day must not hide. ``late denials`` is there only when the report counts them (a daily report).
    """
    totals, statuses = report.totals, [source.status for source in report.sources]
    figures: list[tuple[str, Any]] = [
        ("records read", totals.records_read),
        ("denials", totals.denials),
        ("principals", totals.principals),
        ("findings", len(report.findings)),
        ("distinct actions", len({denied.action for finding in report.findings for denied in finding.actions})),
        ("malformed records", totals.malformed_records),
        ("sources", len(statuses)),
        ("sources ok", statuses.count("ok")),
        ("sources partial", statuses.count("partial")),
        ("sources failed", statuses.count("failed")),
        ("sources with problems", sum(1 for source in report.sources if source.error or source.problems)),
        ("window start", report.window.start or "open"),
        ("window end", report.window.end or "open"),
    ]
    if totals.late_denials is not None:
        figures.append(("late denials", totals.late_denials))
    return pd.DataFrame(figures, columns=["figure", "value"])


def source_problems(report: Report) -> pd.DataFrame:
    """What the sources could not read or did not hold, one row per line: each source's ``error`` first, then
    each of its ``problems`` (the first malformed items, named; why it held nothing to report).

    Columns ``source`` (its name), ``status``, ``records_read``, ``malformed_records`` (the source's, repeated on
    each of its rows) and ``problem`` (the line, as the report holds it: text from the log, to show, not run).
    An empty frame with these columns when every source was read clean.
    """
    rows = [
        (source.name, source.status, source.records_read, source.malformed_records, line)
        for source in report.sources
        for line in ([source.error] if source.error else []) + list(source.problems)
    ]
    table = pd.DataFrame(rows, columns=SOURCE_PROBLEM_COLUMNS)
    return table.astype({"records_read": "int64", "malformed_records": "int64"})


def denials_over_time(report: Report) -> pd.Series:
    """Denials per bucket of the report's timeline, indexed by each bucket's UTC start.

    The series is named after the buckets' unit (``hour``, ``day``, ``week``), which a chart's labels need; its
    sum is the report's ``totals.denials``. A report without a timeline (or an empty one) gives an empty series.
    """
    timeline = report.timeline
    if timeline is None or not timeline.buckets:
        empty_index = pd.DatetimeIndex([], tz="UTC", name="start")
        return pd.Series([], index=empty_index, dtype="int64", name=timeline.unit if timeline else None)
    starts = pd.DatetimeIndex([pd.Timestamp(bucket.start) for bucket in timeline.buckets], name="start")
    return pd.Series([bucket.denials for bucket in timeline.buckets], index=starts, dtype="int64", name=timeline.unit)


def principal_action_matrix(report: Report, *, top: int | None = None) -> pd.DataFrame:
    """Denials per principal (rows, :func:`principal_label`) and action (columns), busiest first.

    Counts are the findings' ``DeniedAction.count`` (ints, 0 where the principal was not refused the action).
    Rows go by total denials, most first (ties by label); columns likewise (ties by action name). ``top`` keeps the
    ``top`` busiest rows, and then only the actions they were refused.
    """
    counts = {
        label: {denied.action: denied.count for denied in finding.actions}
        for label, finding in zip(finding_labels(report), report.findings, strict=True)
    }
    matrix = pd.DataFrame.from_dict(counts, orient="index").fillna(0).astype("int64")
    matrix = _busiest_first(matrix)
    if top is not None:
        matrix = matrix.head(top)
        matrix = matrix.loc[:, matrix.sum(axis=0) > 0]
    matrix.index.name, matrix.columns.name = "principal", "action"
    return matrix


def _busiest_first(matrix: pd.DataFrame) -> pd.DataFrame:
    row_totals, column_totals = matrix.sum(axis=1).to_dict(), matrix.sum(axis=0).to_dict()
    rows = sorted(matrix.index, key=lambda label: (-row_totals[label], label))
    columns = sorted(matrix.columns, key=lambda action: (-column_totals[action], action))
    return matrix.loc[rows, columns]


def top_principals(report: Report, n: int = 10) -> pd.DataFrame:
    """The ``n`` principals with the most denials (ties by label): ``principal`` (its label), ``denials``,
    ``actions`` (distinct), ``severity``, ``remedy`` (kind), ``confidence``, ``first_seen`` and ``last_seen``
    (UTC text)."""
    rows = [
        {
            "principal": label,
            "denials": finding.denials,
            "actions": len(finding.actions),
            "severity": finding.severity,
            "remedy": finding.remedy.kind if finding.remedy else "none",
            "confidence": finding.confidence,
            "first_seen": finding.first_seen,
            "last_seen": finding.last_seen,
        }
        for label, finding in zip(finding_labels(report), report.findings, strict=True)
    ]
    columns = ["principal", "denials", "actions", "severity", "remedy", "confidence", "first_seen", "last_seen"]
    return _ranked(rows, columns, "principal").head(n)


def top_actions(report: Report, n: int = 10) -> pd.DataFrame:
    """The ``n`` actions refused most (ties by name): ``action``, ``denials``, ``principals`` (how many distinct
    principals were refused it) and ``reasons`` (every reason it was refused for, sorted)."""
    denials: Counter[str] = Counter()
    principals: dict[str, set[str]] = {}
    reasons: dict[str, set[str]] = {}
    for finding in report.findings:
        for denied in finding.actions:
            denials[denied.action] += denied.count
            principals.setdefault(denied.action, set()).add(principal_key(finding))
            reasons.setdefault(denied.action, set()).update(denied.reasons)
    rows = [
        {"action": action, "denials": count, "principals": len(principals[action]), "reasons": sorted(reasons[action])}
        for action, count in denials.items()
    ]
    return _ranked(rows, ["action", "denials", "principals", "reasons"], "action").head(n)


def top_reasons(report: Report) -> pd.DataFrame:
    """Why the denials were refused, one row per ``reason`` (most denials first, ties by reason).

    The report counts denials per action, and an action may list several reasons (``DeniedAction.reasons``: some
    of its denials were refused for one, some for another) without saying how many for each. So ``denials``
    counts every denial of an action under each of its reasons (a two-reason action's denials are counted twice:
    the column may add up to more than ``totals.denials``), and ``sole_reason_denials`` only those of actions
    refused for that reason alone (that column adds up to at most ``totals.denials``). ``actions`` and
    ``principals``: how many distinct actions and principals the reason refused.
    """
    denials: Counter[str] = Counter()
    sole: Counter[str] = Counter()
    actions: dict[str, set[str]] = {}
    principals: dict[str, set[str]] = {}
    for finding in report.findings:
        for denied in finding.actions:
            for reason in denied.reasons:
                denials[reason] += denied.count
                sole[reason] += denied.count if len(denied.reasons) == 1 else 0
                actions.setdefault(reason, set()).add(denied.action)
                principals.setdefault(reason, set()).add(principal_key(finding))
    rows = [
        {
            "reason": reason,
            "denials": count,
            "sole_reason_denials": sole[reason],
            "actions": len(actions[reason]),
            "principals": len(principals[reason]),
        }
        for reason, count in denials.items()
    ]
    return _ranked(rows, ["reason", "denials", "sole_reason_denials", "actions", "principals"], "reason")


def severity_and_remedies(report: Report) -> pd.DataFrame:
    """Findings and denials per severity × remedy kind.

    Columns ``severity``, ``remedy``, ``findings``, ``denials``; one row per pair the report holds, severities in
    order critical, high, medium, low, then remedy kinds in the contract's order (``none`` for a finding without
    a remedy); both are ordered categoricals, so ``pivot_table(index="severity", columns="remedy",
    values="denials", fill_value=0, observed=True)`` gives a grid in that order.
    """
    findings: Counter[tuple[str, str]] = Counter()
    denials: Counter[tuple[str, str]] = Counter()
    for finding in report.findings:
        pair = (finding.severity, finding.remedy.kind if finding.remedy else "none")
        findings[pair] += 1
        denials[pair] += finding.denials
    pairs = sorted(findings, key=lambda pair: (SEVERITY_ORDER.index(pair[0]), REMEDY_ORDER.index(pair[1])))
    return pd.DataFrame(
        {
            "severity": pd.Categorical([p[0] for p in pairs], categories=SEVERITY_ORDER, ordered=True),
            "remedy": pd.Categorical([p[1] for p in pairs], categories=REMEDY_ORDER, ordered=True),
            "findings": pd.Series([findings[p] for p in pairs], dtype="int64"),
            "denials": pd.Series([denials[p] for p in pairs], dtype="int64"),
        }
    )


def severity_grid(report: Report) -> pd.DataFrame:
    """Denials per severity (rows: critical, high, medium, low, those the report has) and remedy kind (columns, in
    the contract's order, those the report has), zeros filled: :func:`severity_and_remedies` as a grid to draw."""
    long = severity_and_remedies(report)
    grid = long.pivot_table(index="severity", columns="remedy", values="denials", fill_value=0, observed=True)
    return grid.astype("int64")


def _ranked(rows: Sequence[dict[str, Any]], columns: list[str], name: str) -> pd.DataFrame:
    """Rows by ``denials``, most first, ties by ``name`` (the first column)."""
    ordered = sorted(rows, key=lambda row: (-row["denials"], row[name]))
    table = pd.DataFrame(ordered, columns=columns)
    table["denials"] = table["denials"].astype("int64")
    return table


def principal_key(finding: Finding) -> str:
    """Who the finding's principal is, whatever the owning account (reports made before ``key`` existed: arn)."""
    principal = finding.principal
    return principal.key or principal.arn or f"account:{principal.account_id}"
