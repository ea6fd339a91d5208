"""One generated case through everything a user runs: the readers (a folder or its files as sources), the
report path (``service.run_window``: records -> denials -> findings -> remedies -> report), every renderer,
``explain`` and its text, the message parser, and the query sources' rows; each result against the oracle.

An :class:`Outcome` lists what went wrong, by class:

- ``crash``: an exception a user would see as a traceback;
- ``loss``: a silent loss: a good denial missing or changed, a bad record not counted, a source whose
  reading stopped, ``explain`` calling a denial "not a denial";
- ``hidden``: good records not read because the file (or line) holding them was refused whole, and counted
  as malformed: not silent, but a bad record hid good ones;
- ``overcount``: more counted than the oracle expects (not a loss);
- ``escape``: a control character from a log printed raw where a person reads.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from analysis import alert_service, service
from analysis.explain import ExplainError, explain_bytes
from analysis.ledger_stores import FileLedger
from analysis.messages import parse_message
from analysis.model import Options, Window
from analysis.pipeline import analyse
from analysis.render import render
from analysis.render.csv import FORMULA_START
from analysis.render.text import finding_text
from analysis.settings import load_settings
from analysis.sources import files as file_sources
from analysis.sources.base import RecordsSource
from analysis.sources.rows import record_from_row
from analysis.sql.columns import RECORD_COLUMNS, REQUEST_PARAMETERS, RESOURCE_ARNS
from tests.fuzz.generator import BAD_ACCOUNT, DAY, Case, Item, dumps
from tests.fuzz.oracle import Expected, expected, explains, is_cis_denial, is_record

T = TypeVar("T")
FORMATS = ("json", "md", "html", "csv", "csv_details")
PROCESSES = "APPRUNNER_AUDIT_READ_PROCESSES"
EXPLAINED_PER_CASE = 3
UNCOUNTED_SCALARS = "a value that is no record, in a trail file read record by record, not counted"
WRAPPED_CONTAINER = "a container (Records not a list) as a lookup event or an EventBridge detail read as a record"
# What a terminal obeys: C0 controls but tab and newline, DEL, C1 controls, bidi overrides and isolates.
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Outcome:
    inputs: int = 0
    explained: int = 0
    messages: int = 0
    rows: int = 0
    problems: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, kind: str, detail: str) -> None:
        self.problems.setdefault(kind, []).append(detail)

    def count(self, kind: str) -> int:
        return len(self.problems.get(kind, []))


class Stage:
    """Runs the stages of one case, recording a crash of any stage and going on with the next."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome

    def run(self, name: str, function: Callable[[], T]) -> T | None:
        try:
            return function()
        except Hang:
            raise
        except Exception as error:
            self.outcome.add("crash", f"{name}: {_short_traceback(error)}")
            return None


class Hang(BaseException):
    """Raised by the per-case timer (a BaseException: the code under test catches Exception, not this)."""


def check_case(case: Case, workdir: Path) -> Outcome:
    outcome = Outcome(inputs=case.inputs)
    started = time.perf_counter()
    stage = Stage(outcome)
    folder = _write(case, workdir)
    oracle = expected(case)
    report = stage.run("report", lambda: _report(case, folder))
    if report is not None:
        _compare_totals(case, oracle, report, outcome)
        stage.run("differential", lambda: _compare_findings(case, oracle, report, outcome))
        stage.run("render", lambda: _render_all(report, outcome))
    stage.run("explain", lambda: _explain_some(case, outcome))
    stage.run("messages", lambda: _parse_messages(case, outcome))
    stage.run("rows", lambda: _rows(case, outcome))
    stage.run("alert", lambda: _alerts(case, outcome))
    outcome.seconds = time.perf_counter() - started
    return outcome


# --- the report path -----------------------------------------------------------------------------


def _write(case: Case, workdir: Path) -> Path:
    folder = workdir / "case"
    for old in (folder, workdir / "ledger"):
        shutil.rmtree(old, ignore_errors=True)
    folder.mkdir(parents=True)
    (workdir / "ledger").mkdir()
    for case_file in case.files:
        (folder / case_file.name).write_bytes(case_file.data)
    return folder


def _report(case: Case, folder: Path) -> Any:
    plan = case.plan
    specs = tuple(str(folder / f.name) for f in case.files) if plan.separate_sources else (str(folder),)
    settings = load_settings(env={}, **_settings(plan))
    with _loading(plan.stream, plan.processes):
        try:
            if plan.day and plan.daily:
                ledger = FileLedger(folder.parent / "ledger")
                return service.run_daily(service.DailyRequest(date.fromisoformat(DAY), specs), settings, ledger).report
            request = service.WindowRequest(specs, day=date.fromisoformat(DAY) if plan.day else None)
            return service.run_window(request, settings).report
        except service.AllSourcesFailed as error:
            return _FailedRun(list(error.statuses))


def _settings(plan: Any) -> dict[str, Any]:
    trusted = f"{BAD_ACCOUNT},444455556666" if plan.trusted else None
    return {
        "service": plan.service,
        "trusted_accounts": trusted,
        "organization_accounts": trusted,
        "redact": plan.redact or None,
    }


def _options(plan: Any) -> Options:
    trusted = frozenset({BAD_ACCOUNT, "444455556666"}) if plan.trusted else frozenset()
    return Options(service=plan.service, trusted_accounts=trusted, organization_accounts=trusted)


@dataclass
class _FailedRun:
    """Every source failed: the CLI's exit 2 with one line per source; totals from the statuses."""

    sources: list[Any]


@contextmanager
def _loading(stream: bool, processes: bool) -> Iterator[None]:
    """Files streamed (the path of files too large to hold), and loaded by worker processes, when asked."""
    limit, before = file_sources.WHOLE_FILE_LIMIT, os.environ.get(PROCESSES)
    file_sources.WHOLE_FILE_LIMIT = -1 if stream else limit
    os.environ[PROCESSES] = "1" if processes else "0"
    try:
        yield
    finally:
        file_sources.WHOLE_FILE_LIMIT = limit
        if before is None:
            os.environ.pop(PROCESSES, None)
        else:
            os.environ[PROCESSES] = before


def _totals(report: Any) -> tuple[int, int, int]:
    if isinstance(report, _FailedRun):
        return sum(s.records_read for s in report.sources), sum(s.malformed_records for s in report.sources), 0
    totals = report.totals
    return totals.records_read, totals.malformed_records, totals.denials


def _compare_totals(case: Case, oracle: Expected, report: Any, outcome: Outcome) -> None:
    for status in report.sources:
        if status.error and not status.error.endswith("could not be read"):
            outcome.add("loss", f"source {status.name} stopped: {status.error[:200]}")
    read, malformed, denials = _totals(report)
    want_denials = oracle.denials(case.plan.day)
    if isinstance(report, _FailedRun) and (oracle.records_read or want_denials):
        outcome.add("loss", f"every source failed, expected {oracle.records_read} records")
    for cause, good in oracle.hidden.items():
        outcome.add("hidden", f"{cause}: {good} good record(s) not read")
    wrapped, scalars = oracle.wrapped_containers, oracle.scalars_record_by_record
    if wrapped and (read, malformed) == (oracle.records_read + wrapped, oracle.malformed - wrapped):
        outcome.add("loss", f"{WRAPPED_CONTAINER} ({wrapped})")
    elif scalars and (read, malformed) == (oracle.records_read, oracle.malformed - scalars):
        outcome.add("loss", f"{UNCOUNTED_SCALARS} ({scalars})")
    else:
        _compare_count(outcome, "records read", read, oracle.records_read)
        _compare_count(outcome, "malformed", malformed, oracle.malformed, known=oracle.unreadable_times)
    if not isinstance(report, _FailedRun):
        _compare_count(outcome, "denials", denials, want_denials)


def _compare_count(outcome: Outcome, what: str, got: int, want: int, known: int = 0) -> None:
    if got == want:
        return
    if known and want - known <= got < want:
        outcome.add("known", f"{what}: {got}, expected {want} ({known} unreadable eventTime under --day)")
    elif got < want:
        outcome.add("loss", f"{what}: {got}, expected {want}")
    else:
        outcome.add("overcount", f"{what}: {got}, expected {want}")


def _compare_findings(case: Case, oracle: Expected, report: Any, outcome: Outcome) -> None:
    """Good records' findings, as a run over the good records alone gives them, are in the report: the same
    when no bad record shares a principal with them, else with no fewer denials of each action."""
    if isinstance(report, _FailedRun):
        return
    window = Window(*_day_bounds()) if case.plan.day else Window()
    options = _options(case.plan)
    baseline = analyse([RecordsSource(oracle.good_read)], window, options).report.findings
    if case.plan.redact:
        _compare_redacted(baseline, report.findings, outcome)
        return
    found = {f.id: f for f in report.findings}
    exact = not any(p.shared for p in case.plan.bad)
    for finding in baseline:
        mixed = found.get(finding.id)
        if mixed is None:
            outcome.add("loss", f"finding {finding.id} ({finding.principal.key}) missing")
        elif exact and _comparable(mixed) != _comparable(finding):
            outcome.add("loss", f"finding {finding.id} ({finding.principal.key}) changed by bad records")
        elif not exact:
            _compare_actions(finding, mixed, outcome, "")


def _compare_redacted(baseline: Any, findings: Any, outcome: Outcome) -> None:
    """--redact renames principals and recomputes finding ids from the pseudonyms: each good finding must be
    covered by its own report finding (same principal type, no fewer denials of each action), none used twice."""
    unused = list(findings)
    for finding in sorted(baseline, key=lambda f: -sum(a.count for a in f.actions)):
        match = next((mixed for mixed in unused if _covers(mixed, finding)), None)
        if match is None:
            outcome.add("loss", f"finding {finding.id} ({finding.principal.key}) missing (--redact)")
        else:
            unused.remove(match)


def _covers(mixed: Any, finding: Any) -> bool:
    counts = {a.action: a.count for a in mixed.actions}
    same_type = mixed.principal.type == finding.principal.type
    return same_type and all(counts.get(a.action, 0) >= a.count for a in finding.actions)


def _comparable(finding: Any) -> dict[str, Any]:
    return dict(finding.model_dump(mode="json"))


def _compare_actions(finding: Any, mixed: Any, outcome: Outcome, note: str) -> None:
    counts = {a.action: a.count for a in mixed.actions}
    for action in finding.actions:
        if counts.get(action.action, 0) < action.count:
            outcome.add(
                "loss",
                f"finding {finding.id}: {action.action} x{action.count} became {counts.get(action.action)}{note}",
            )


def _day_bounds() -> tuple[Any, Any]:
    from tests.fuzz.oracle import DAY_END, DAY_START

    return DAY_START, DAY_END


# --- renderers, explain, parser, rows ------------------------------------------------------------


def _render_all(report: Any, outcome: Outcome) -> None:
    if isinstance(report, _FailedRun):
        return
    for fmt in FORMATS:
        text = render(report, fmt)
        if fmt == "json":
            json.loads(text)
        elif fmt == "md" and RAW_CONTROLS.search(text):
            outcome.add("escape", f"{fmt}: {RAW_CONTROLS.search(text)!r}")
        elif fmt in ("csv", "csv_details"):
            _check_cells(text, outcome)
    for finding in report.findings:
        text = finding_text(finding)
        if RAW_CONTROLS.search(text):
            outcome.add("escape", f"text: {RAW_CONTROLS.search(text)!r}")


def _check_cells(text: str, outcome: Outcome) -> None:
    """No cell a spreadsheet would run as a formula (a log's ``=HYPERLINK(…)``)."""
    for row in csv.reader(io.StringIO(text)):
        for value in row:
            if value.lstrip(" \u00a0\u3000")[:1] in FORMULA_START and not _number(value):
                outcome.add("escape", f"csv formula: {value[:60]!r}")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _explain_some(case: Case, outcome: Outcome) -> None:
    chosen: list[Item] = case.bad_items[:EXPLAINED_PER_CASE]
    if case.good_records:
        chosen.append(Item(case.good_records[0], True, 0))
    for item in chosen:
        outcome.explained += 1
        _explain_one(item, case.plan.explain_wrapped, outcome)


def _explain_one(item: Item, wrapped: str, outcome: Outcome) -> None:
    data = _wrapped(item.value, wrapped)
    try:
        finding = explain_bytes(data, f"item-{item.index}")
    except ExplainError as error:
        if explains(item.value, wrapped):
            outcome.add("loss", f"explain of a denial ({wrapped}): {str(error)[:200]}")
        return
    if not explains(item.value, wrapped):
        outcome.add("overcount", "explain gave a finding for no denial")
    text = finding_text(finding)
    if RAW_CONTROLS.search(text):
        outcome.add("escape", f"explain text: {RAW_CONTROLS.search(text)!r}")


def _wrapped(value: Any, how: str) -> bytes:
    if how == "trail":
        return dumps({"Records": [value]})
    if how == "lookup":
        return dumps({"Events": [{"CloudTrailEvent": dumps(value).decode("utf-8", "surrogateescape")}]})
    if how == "envelope":
        return dumps({"detail-type": "AWS API Call via CloudTrail", "source": "aws.x", "detail": value})
    return gzip.compress(dumps(value), mtime=0) if how == "gzip" else dumps(value)


def _parse_messages(case: Case, outcome: Outcome) -> None:
    for item in case.bad_items + [Item(r, True, 0) for r in case.good_records]:
        message = item.value.get("errorMessage") if isinstance(item.value, dict) else None
        if isinstance(message, str):
            outcome.messages += 1
            parse_message(message)


def _alerts(case: Case, outcome: Outcome) -> None:
    """Bad records as EventBridge delivers them to the denial alert (``alert_service.alert_on_event``, nothing sent),
    parsed as Lambda's runtime parses an event (Python's json: it takes 1e400, NaN and lone surrogates; what it
    refuses never reaches the handler)."""
    settings = load_settings(env={}, service="all")
    for item in case.bad_items:
        envelope = {"detail-type": "AWS API Call via CloudTrail", "source": "aws.fuzz", "detail": item.value}
        try:
            event = json.loads(dumps(envelope).decode("utf-8"))
        except (ValueError, RecursionError):
            continue
        run = alert_service.alert_on_event(event, settings)
        want = int(is_record(item.value) and is_cis_denial(item.value))
        if run.denials < want:
            outcome.add("loss", "the alert path dropped a denial")


def _rows(case: Case, outcome: Outcome) -> None:
    """Bad records as the query sources (Athena, Lake) return them: text columns, JSON text of the request."""
    from analysis.denials import denial_row

    for item in case.bad_items:
        if is_record(item.value):
            outcome.rows += 1
            record = record_from_row(_row_of(item.value))
            if is_cis_denial(record):
                denial_row(record)


def _row_of(record: dict[str, Any]) -> dict[str, str | None]:
    row = {column: _text_at(record, path.split(".")) for column, path in RECORD_COLUMNS.items()}
    row[REQUEST_PARAMETERS] = _json_text(record.get("requestParameters"))
    row[RESOURCE_ARNS] = _json_text(record.get("resources"))
    return row


def _text_at(record: Any, path: list[str]) -> str | None:
    for key in path:
        record = record.get(key) if isinstance(record, dict) else None
    if record is None or isinstance(record, str):
        return record
    return _json_text(record)  # a struct or number an engine would cast to text


def _json_text(value: Any) -> str | None:
    """The JSON text an engine returns: raw tokens written as themselves (deep nesting, 1e400, lone surrogates)."""
    return None if value is None else dumps(value).decode("utf-8", "replace")


def _short_traceback(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = next((f for f in reversed(frames) if "/analysis/" in f.filename), frames[-1] if frames else None)
    place = f"{Path(where.filename).name}:{where.lineno} {where.name}" if where else "?"
    return f"{type(error).__name__} at {place}: {str(error)[:160]}"
