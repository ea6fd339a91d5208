"""The report as an HTML email: inline CSS only, no scripts, no SVG, no external images.

Every value goes through Jinja2's autoescaping; strings are also cleaned (access key IDs masked, control
and bidi characters replaced, very long values cut) by the environment's ``finalize``. Code blocks (policies
and commands) are escaped here and passed as Markup, so they are shown whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup, escape

from analysis.contract import DeniedAction, Finding, Report, as_report
from analysis.redact import mask_secrets, printable
from analysis.render import common

BANNER_MARK = "<!-- report-banner -->"  # where delivery may put a short notice (e.g. the link to S3)
# Defence in depth where the file is opened in a browser (from S3, or `make demo`): nothing but inline styles
# may load or run, even if some value escaped escaping. Mail clients drop it; they run no scripts anyway.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
CHART_ROWS = 48  # at most this many bars; the rest are summed into the last one shown
KIND_COLOURS = {
    "investigate": "#b42318",
    "org_policy": "#6941c6",
    "review_deny": "#b54708",
    "cross_account_role": "#175cd3",
    "permission_set": "#0e7090",
    "grant": "#067647",
}
SEVERITY_COLOURS = {"critical": "#b42318", "high": "#b54708", "medium": "#175cd3", "low": "#475467"}
STYLE = {
    "body": "margin:0;padding:0;background:#f2f4f7;",
    "outer": "width:100%;background:#f2f4f7;",
    "page": "width:100%;max-width:800px;background:#ffffff;border:1px solid #d0d5dd;border-collapse:collapse;"
    "font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.45;color:#101828;",
    "cell": "padding:16px 24px;",
    "h1": "margin:0 0 4px 0;font-size:22px;line-height:1.3;color:#101828;",
    "h2": "margin:0 0 8px 0;font-size:18px;line-height:1.3;color:#101828;",
    "h3": "margin:14px 0 6px 0;font-size:15px;color:#344054;",
    "muted": "color:#475467;font-size:13px;",
    "numbers": "width:100%;border-collapse:collapse;",
    "number_cell": "padding:8px;border:1px solid #eaecf0;text-align:center;background:#f9fafb;",
    "number": "font-size:22px;font-weight:bold;color:#101828;",
    "number_label": "font-size:12px;color:#475467;",
    "chart": "width:100%;border-collapse:collapse;font-size:11px;color:#475467;",
    "chart_label": "padding:1px 6px 1px 0;white-space:nowrap;width:110px;",
    "chart_bar_cell": "padding:1px 0;",
    "chart_bar": "background:#2e90fa;height:10px;line-height:10px;font-size:1px;",
    "chart_count": "padding:1px 0 1px 6px;width:40px;text-align:right;",
    "grid": "width:100%;border-collapse:collapse;font-size:13px;",
    "th": "text-align:left;padding:6px 8px;border:1px solid #d0d5dd;background:#f2f4f7;font-weight:bold;",
    "td": "text-align:left;padding:6px 8px;border:1px solid #eaecf0;vertical-align:top;"
    "word-break:break-word;overflow-wrap:anywhere;",
    "td_num": "text-align:right;padding:6px 8px;border:1px solid #eaecf0;vertical-align:top;",
    "key": "padding:3px 8px 3px 0;color:#475467;vertical-align:top;white-space:nowrap;width:130px;",
    "value": "padding:3px 0;vertical-align:top;word-break:break-word;overflow-wrap:anywhere;",
    "finding": "border-top:4px solid #d0d5dd;",
    "warning": "margin:8px 0;padding:8px 12px;background:#fef3f2;border-left:4px solid #b42318;color:#7a271a;",
    "severity": "display:inline-block;margin:0 6px 4px 0;padding:1px 8px;color:#ffffff;font-size:12px;"
    "font-weight:bold;text-transform:uppercase;",
    "notice": "margin:8px 0;padding:8px 12px;background:#eff8ff;border-left:4px solid #175cd3;color:#194185;",
    "pre": "margin:4px 0 10px 0;padding:10px;background:#f6f8fa;border:1px solid #d0d7de;"
    "font-family:Consolas,Menlo,'Courier New',monospace;font-size:12px;line-height:1.4;"
    "white-space:pre-wrap;overflow-wrap:anywhere;",
    "code": "font-family:Consolas,Menlo,'Courier New',monospace;font-size:12px;",
    "link": "color:#175cd3;",
    "list": "margin:4px 0 8px 0;padding-left:20px;",
    "footer": "padding:12px 24px;color:#667085;font-size:12px;border-top:1px solid #eaecf0;",
}


def render_html(report: Report | Mapping[str, Any]) -> str:
    report = as_report(report)
    return _environment().get_template("report.html.j2").render(view=html_view(report), s=STYLE, colours=KIND_COLOURS)


def html_view(report: Report | Mapping[str, Any]) -> dict[str, Any]:
    """What the template shows, prepared here so the template stays simple."""
    report = as_report(report)
    findings = common.by_urgency(report.findings)
    return {
        "report": report,
        "service": common.service_name(report.service),
        "day": common.report_day(report),
        "window": common.window_words(report),
        "empty": common.empty_sentence(report) if not findings else None,
        "numbers": _numbers(report),
        "kinds": [(common.KIND_SHORT[k], n, KIND_COLOURS[k]) for k, n in common.kind_counts(report).items()],
        "severities": [(k, n, SEVERITY_COLOURS[k]) for k, n in common.severity_counts(report).items()],
        "chart": chart(report),
        "findings": [_finding_view(index, finding) for index, finding in enumerate(findings, start=1)],
        "late": common.late_rows(report),
        "problems": [s for s in report.sources if s.status != "ok"],
        "banner_mark": Markup(BANNER_MARK),
        "csp": CSP,
    }


def _numbers(report: Report) -> list[tuple[str, int]]:
    totals = report.totals.model_dump(exclude_none=True)
    labels = (
        ("denials", "denials"),
        ("principals", "principals"),
        ("findings", "findings"),
        ("records_read", "records read"),
        ("malformed_records", "malformed records"),
        ("late_denials", "late from earlier days"),
    )
    return [(label, totals.get(key, 0)) for key, label in labels if key in totals]


def chart(report: Report | Mapping[str, Any]) -> dict[str, Any]:
    """Bars for the chart: denials per hour/day/week when the report has a timeline, else per finding."""
    report = as_report(report)
    timeline = report.timeline
    if timeline and timeline.buckets:
        unit = timeline.unit
        starts = [b.start for b in timeline.buckets]
        rows = list(zip(bucket_labels(starts, unit), (b.denials for b in timeline.buckets), strict=True))
        title = f"Denials per {unit} (UTC)"
        rows = _fold(rows[::-1], "earlier")[::-1]  # a long timeline keeps its latest bars
    else:
        rows = [(_principal_label(f), f.denials) for f in report.findings]
        title = "Denials per principal"
        rows = _fold(rows, "more")
    peak = max((count for _, count in rows), default=0)
    bars = [{"label": label, "count": count, "width": _width(count, peak)} for label, count in rows]
    return {"title": title, "bars": bars, "peak": peak}


def _fold(rows: list[tuple[str, int]], word: str) -> list[tuple[str, int]]:
    """At most CHART_ROWS bars: the rows past the limit summed into one ('12 more', '12 earlier')."""
    if len(rows) <= CHART_ROWS:
        return rows
    kept, rest = rows[: CHART_ROWS - 1], rows[CHART_ROWS - 1 :]
    return [*kept, (f"{len(rest)} {word}", sum(count for _, count in rest))]


def _width(count: int, peak: int) -> int:
    """Bar width in percent; any denial gets a visible bar."""
    if not count or not peak:
        return 0
    return max(1, round(100 * count / peak))


def bucket_labels(starts: list[str], unit: str) -> list[str]:
    """'09:00' per hour (with the date on the first bar and at midnight), the date per day or week."""
    if unit == "day":
        return [start[:10] for start in starts]
    if unit == "week":
        return [f"week of {start[:10]}" for start in starts]
    return [
        f"{start[:10]} {start[11:16]}" if index == 0 or start[11:16] == "00:00" else start[11:16]
        for index, start in enumerate(starts)
    ]


def _principal_label(finding: Finding, limit: int = 32) -> str:
    """The short name of a finding's principal for a chart label (the last part of its ARN, cut)."""
    principal = finding.principal
    name = principal.arn or principal.key or principal.type
    name = name.rsplit("/", 1)[-1] if "/" in name else name
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _finding_view(index: int, finding: Finding) -> dict[str, Any]:
    remedy = finding.remedy
    kind = common.remedy_kind(finding)
    return {
        "index": index,
        "finding": finding,
        "principal": finding.principal,
        "kind": kind,
        "kind_words": common.REMEDY_WORDS.get(kind or "", "No advice yet"),
        "severity": finding.severity,
        "severity_colour": SEVERITY_COLOURS[finding.severity],
        "hazards": [{"words": common.hazard_words(h), "source": common.hazard_source(h)} for h in finding.hazards],
        "colour": KIND_COLOURS.get(kind or "", "#667085"),
        "warning": common.KIND_WARNINGS.get(kind or ""),
        "why": _why(finding),
        "actions": [_action_view(action) for action in finding.actions],
        "remedy": remedy,
        "no_fix": kind in common.NO_FIX_KINDS,
        "blocks": [dict(block, text=code_text(block["document"])) for block in common.policy_blocks(remedy)],
        "commands": code_text("\n".join(common.remedy_commands(remedy))) if common.remedy_commands(remedy) else None,
        "docs": common.remedy_docs(remedy),
    }


def _why(finding: Finding) -> str:
    """The reasons of all the finding's actions in plain words, as one sentence."""
    reasons = [reason for action in finding.actions for reason in action.reasons]
    words = "; ".join(common.reason_words(reason) for reason in dict.fromkeys(reasons)) or "not stated"
    return f"{words[0].upper()}{words[1:]}."


def _action_view(action: DeniedAction) -> dict[str, Any]:
    return {
        "action": action,
        "why": [common.reason_words(reason) for reason in action.reasons],
        "notes": common.action_notes(action),
    }


def code_text(value: Any) -> Markup:
    """A policy document or commands, escaped for a <pre> and shown whole (never cut)."""
    text = value if isinstance(value, str) else common.pretty_json(value)
    return escape(printable(mask_secrets(text)))


def _finalize(value: Any) -> Any:
    """Applied to every {{ value }} before autoescaping: None is empty, strings are cleaned."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return common.clean_text(value)
    return value


def _long_text(value: Any) -> Markup:
    """A remedy note: cleaned and escaped like any value, but cut only past common.LONG_TEXT."""
    return escape(common.clean_text(str(value), limit=common.LONG_TEXT))


def _join(items: Any, separator: str = ", ") -> str:
    """Join to a plain string, so the result is cleaned and escaped as one value."""
    return separator.join(str(item) for item in items or [])


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis.render", "templates"),
        autoescape=True,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.ChainableUndefined,  # optional fields (extras, remedy parts) may be missing
    )
    environment.filters.update(join=_join, long=_long_text, reason=common.reason_words)
    return environment
