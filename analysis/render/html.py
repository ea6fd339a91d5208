"""The report as an HTML email: inline CSS only, no scripts, no SVG, no external images.

Every value goes through Jinja2's autoescaping; strings are also cleaned (access key IDs masked, control
and bidi characters replaced, very long values cut) by the environment's ``finalize``. Code blocks (policies
and commands) are escaped here and passed as Markup, so they are shown whole.

Laid out for a mail client's reading pane (600 px) and a phone (400 px) as well as a browser: the findings'
summary comes first, every table fits the width, and ARNs and action names may wrap after ``:``, ``/`` and
``_`` (a ``<wbr>`` inserted into the escaped text), never in the middle of a word. A page that would be clipped by
Gmail (``HTML_BUDGET``) leaves out the full policy documents, lists the actions they allow, and says where
the documents are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from email import policy
from email.message import EmailMessage
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from analysis.contract import DeniedAction, Finding, Report, TimelineBucket, as_report
from analysis.redact import mask_secrets, printable
from analysis.render import common

BANNER_MARK = "<!-- report-banner -->"  # where delivery may put a short notice (e.g. the link to S3)
# Defence in depth where the file is opened in a browser (from S3, or `make demo`): nothing but inline styles
# may load or run, even if some value escaped escaping. Mail clients drop it; they run no scripts anyway.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
# Gmail clips a message whose HTML passes about 102 KB ("[Message clipped] View entire message"), safest counted
# as the HTML part's bytes as sent (its transfer encoding included). The budget is measured that way
# (``mail_size``); delivery adds a banner of a few hundred bytes (the link to S3, a notice), so the page stays
# under this, and delivery re-renders smaller in the rare case the banner would still push it past the limit.
HTML_BUDGET = 100_000
GMAIL_CLIP_BYTES = 102_400
# The email's HTML is sent 7bit (ASCII only, lines folded to MAIL_LINE, none past SMTP_LINE): no quoted-printable
# '=3D' for every '=' of an attribute, '=C2=B7' for a '·', or soft line break every 76 characters.
MAIL_LINE = 76
SMTP_LINE = 998  # the longest line SMTP carries (RFC 5321 4.5.3.1.6, RFC 5322 2.1.1)
CHART_ROWS = 48  # at most this many bars per principal; the rest are summed into the last one shown
# At most this many bars over days or weeks: past it, consecutive buckets are added up, the fewest per bar of
# GROUPS that fits (never an 'earlier' bar holding most of the data).
TIME_BARS = 36
GROUPS = {"day": (1, 2, 3, 7, 14, 28), "week": (1, 2, 4, 13, 26, 52)}
BUCKET_DAYS = {"day": 1, "week": 7}
SHORT_WORD = 20  # characters of a word that fits any column whole ('iam:PassRole'): never given a place to wrap
HOUR_LABELS = 24  # an hourly chart labels at most this many bars (every second one past a day)
BAR_HEIGHT = 48  # pixels of the tallest bar of an hourly chart
KIND_COLOURS = {
    "investigate": "#b42318",
    "org_policy": "#6941c6",
    "review_deny": "#b54708",
    "cross_account_role": "#175cd3",
    "permission_set": "#0e7090",
    "grant": "#067647",
}
SEVERITY_COLOURS = {"critical": "#b42318", "high": "#b54708", "medium": "#175cd3", "low": "#475467"}
# Short on purpose: a style is repeated on every cell and Gmail clips long pages. Text-align left and
# vertical-align top come from the markup (a td's default, valign="top" on rows). <wbr> gives the places where
# a long name should wrap; a word longer than the width still wraps rather than widen the page (overflow-wrap,
# inherited), except where a short value must stay whole (nowrap).
STYLE = {
    "body": "margin:0;padding:0;background:#f2f4f7;",
    "outer": "width:100%;background:#f2f4f7;",
    "page": "width:100%;max-width:800px;background:#fff;border:1px solid #d0d5dd;border-collapse:collapse;"
    "font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.45;color:#101828;overflow-wrap:anywhere;",
    "cell": "padding:14px 16px;",
    "h1": "margin:0 0 4px;font-size:21px;line-height:1.3;",
    "h2": "margin:0 0 8px;font-size:17px;line-height:1.3;",
    "h3": "margin:12px 0 4px;font-size:15px;",
    "muted": "color:#475467;font-size:13px;",
    "grey": "color:#475467;",
    "facts": "margin:8px 0 0;font-size:13px;",
    "number": "display:inline-block;margin:0 14px 4px 0;color:#475467;font-size:13px;white-space:nowrap;",
    "number_value": "font-size:18px;color:#101828;",
    "chip": "display:inline-block;margin:0 4px 4px 0;padding:1px 8px;font-size:12px;white-space:nowrap;",
    "columns": "width:100%;border-collapse:collapse;table-layout:fixed;",
    "column": f"padding:0 1px;height:{BAR_HEIGHT + 2}px;",
    "column_bar": "background:#2e90fa;font-size:1px;line-height:1px;",
    "column_zero": "background:#d0d5dd;font-size:1px;line-height:1px;",
    "column_labels": "font-size:10px;color:#475467;text-align:center;",
    "chart": "width:100%;border-collapse:collapse;font-size:11px;color:#475467;",
    "chart_label": "padding:1px 6px 1px 0;white-space:nowrap;width:110px;",
    "chart_bar_cell": "padding:1px 0;",
    "chart_bar": "background:#2e90fa;height:10px;line-height:10px;font-size:1px;",
    "chart_count": "padding:1px 0 1px 6px;width:40px;text-align:right;",
    "grid": "width:100%;font-size:13px;background:#eaecf0;",  # see the template's grid: cellpadding, lines
    "warning": "margin:8px 0;padding:6px 10px;background:#fef3f2;border-left:4px solid #b42318;color:#7a271a;",
    "severity": "padding:1px 8px;color:#fff;font-size:12px;font-weight:bold;text-transform:uppercase;",
    "notice": "margin:8px 0;padding:8px 12px;background:#eff8ff;border-left:4px solid #175cd3;color:#194185;",
    "pre": "margin:4px 0 8px;padding:8px;background:#f6f8fa;border:1px solid #d0d7de;"
    "font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;",
    "link": "color:#175cd3;",
    "list": "margin:4px 0 8px;padding-left:20px;",
    "footer": "padding:12px 16px;color:#667085;font-size:12px;border-top:1px solid #eaecf0;",
}
_BREAK_AFTER = re.compile(r"([:/_])(?![:/_]|$)")  # after the last ':', '/' or '_' of a run, not at the word's end
_LONG_WORD = re.compile(rf"\S{{{SHORT_WORD + 1},}}")


def render_html(report: Report | Mapping[str, Any], *, budget: int | None = HTML_BUDGET) -> str:
    """The page. Past ``budget`` bytes (UTF-8) it is made smaller, nothing lost first: the documentation links
    listed once at the end instead of under each finding; then the full policy documents left out (each fix
    lists the actions its policies allow and where the JSON report holds them), which the page says at the top,
    and, if it is still longer, how to see the end a mail client may cut off (the findings are most urgent
    first: what is cut is the least urgent)."""
    report = as_report(report)
    page = _page(report, docs_each=True, policies_inline=True)
    if budget is None:
        return page
    full_size = mail_size(page)
    if full_size <= budget:
        return page
    page = _page(report, docs_each=False, policies_inline=True)
    if mail_size(page) <= budget or not any(_has_policies(f) for f in report.findings):
        return page
    page = _page(report, docs_each=False, policies_inline=False, full_size=full_size)
    if mail_size(page) <= budget:
        return page
    # Still too long (a very busy day): the reader is told how to see what a mail client cuts off.
    return _page(report, docs_each=False, policies_inline=False, full_size=full_size, still_long=True)


def mail_html(html: str) -> str:
    """The page as the email carries it, the same document: non-ASCII characters as character references, and
    lines folded at MAIL_LINE where a line end changes nothing: between a tag's attributes or a style's
    declarations, before a tag's closing '>', and in a <pre> inside a <wbr> added after a space (where the text
    could wrap already); a run of spaces and line ends outside <pre> is one space, a line end only where a line
    of text would pass SMTP_LINE. A word or URL longer than a line stays whole."""
    pieces: list[_Piece] = []
    in_pre = False
    for token in _TOKEN.findall(html.encode("ascii", "xmlcharrefreplace").decode("ascii")):
        if token.startswith("<!"):
            pieces.append(_Piece(token))
        elif token.startswith("<"):
            parts = _TAG_PART.findall(token[:-1])
            pieces.append(_Piece(parts[0]))
            for part in parts[1:]:
                # A style's (or the CSP's) declarations may be a line each: CSS takes the line end as a space.
                declarations = _DECLARATION.findall(part) if part.startswith(('style="', 'content="')) else [part]
                pieces.append(_Piece(declarations[0], " ", "\n"))
                pieces.extend(_Piece(declaration, "", "\n") for declaration in declarations[1:])
            pieces.append(_Piece(">", "", None if parts[-1].endswith("/") else "\n"))
            name = parts[0].lower()
            in_pre = True if name == "<pre" else False if name == "</pre" else in_pre
        elif in_pre:  # spaces and line ends are kept: a line folded after a space, inside a <wbr>
            for index, line in enumerate(token.split("\n")):
                words = _AFTER_SPACE.split(line)
                pieces.append(_Piece(words[0], "\n" if index else ""))
                pieces.extend(_Piece(word, "", "<wbr\n>") for word in words[1:])
        else:  # a run of spaces and line ends shows as one space: it is one, or a line end where one is needed
            words = _SPACES.split(token)
            pieces.append(_Piece(words[0]))
            pieces.extend(_Piece(word, " ", "\n", SMTP_LINE) for word in words[1:])

    return _fill(pieces)


@dataclass(frozen=True)
class _Piece:
    text: str
    gap: str = ""  # what comes before the text ("\n" for a line end of the page)
    folded: str | None = None  # the gap when the line is folded there (None: it cannot be)
    # Past how many characters the line is folded there: text is folded only where it must be (a line of text,
    # as written, is easier to search in the message's source), markup at MAIL_LINE.
    reach: int = MAIL_LINE


def _fill(pieces: list[_Piece]) -> str:
    """Pieces put together, a line folded before a piece that may be folded when what cannot be parted from it
    would pass MAIL_LINE."""
    chunks: list[list[_Piece]] = []
    for piece in pieces:
        if piece.folded is not None or "\n" in piece.gap or not chunks:
            chunks.append([piece])
        else:
            chunks[-1].append(piece)
    out: list[str] = []
    column = 0
    for chunk in chunks:
        first, length = chunk[0], sum(len(piece.gap) + len(piece.text) for piece in chunk)
        gap = first.gap
        if first.folded is not None and column and column + length > first.reach - len("<wbr"):  # room for a fold
            gap = first.folded
        out.append(gap)
        column = len(gap) - gap.rfind("\n") - 1 if "\n" in gap else column + len(gap)
        for index, piece in enumerate(chunk):
            out.append((piece.gap if index else "") + piece.text)
            column += len(piece.text) + (len(piece.gap) if index else 0)
    return "".join(out)


def mail_part(html: str) -> tuple[str, str | None]:
    """The page as the email's HTML part carries it (``mail_html``) and its transfer encoding: 7bit when every
    line is within SMTP's limit (a long URL or word may pass MAIL_LINE), else None (the email package's choice,
    quoted-printable)."""
    body = mail_html(html)
    lines = body.encode("utf-8").splitlines()
    return body, "7bit" if body.isascii() and max(map(len, lines), default=0) <= SMTP_LINE else None


def mail_size(html: str) -> int:
    """Bytes of the email's text/html part for this page, as sent: the body in its transfer encoding, CRLF line
    ends, built as delivery builds it."""
    body, cte = mail_part(html)
    part = EmailMessage(policy=policy.SMTP)
    part.set_content(body, subtype="html", charset="utf-8", cte=cte)
    return len(part.as_bytes().split(b"\r\n\r\n", 1)[1])


_TOKEN = re.compile(r"<!--.*?-->|<![^>]*>|<[^>]*>|[^<]+", re.S)
_TAG_PART = re.compile(r'(?:[^\s"]|"[^"]*")+')
_DECLARATION = re.compile(r"(?:&#?\w+;|[^;])+;?")  # up to a ';' that does not end a character reference
_AFTER_SPACE = re.compile(r"(?<= )(?=[^ ])")
_SPACES = re.compile(r"[ \n]+")


def _page(
    report: Report, *, docs_each: bool, policies_inline: bool, full_size: int | None = None, still_long: bool = False
) -> str:
    view = html_view(report, docs_each=docs_each, policies_inline=policies_inline)
    view.update(full_size=full_size, still_long=still_long)
    return _environment().get_template("report.html.j2").render(view=view, s=STYLE, colours=KIND_COLOURS)


def _has_policies(finding: Finding) -> bool:
    return bool(common.policy_blocks(finding.remedy))


def html_view(
    report: Report | Mapping[str, Any], *, docs_each: bool = True, policies_inline: bool = True
) -> dict[str, Any]:
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
        "policies_inline": policies_inline,
        "docs_each": docs_each,
        "all_docs": _docs_view(_distinct_docs(findings)),
        "moment": _moment_words(report),
        "late": common.late_rows(report),
        "problems": [s for s in report.sources if s.status != "ok"],
        "banner_mark": Markup(BANNER_MARK),
        "csp": CSP,
    }


def _moment_words(report: Report) -> Callable[[str | None], str | None]:
    """How a time of the report is shown: its time of day when the whole window is one UTC day (the page's
    heading gives the date), else in full."""
    start, end = report.window.start, report.window.end
    one_day = bool(start and end and _instant(start).date() == (_instant(end) - timedelta(microseconds=1)).date())
    day = start[:10] if one_day and start else None

    def moment(stamp: str | None) -> str | None:
        return stamp[11:] if stamp and day and stamp.startswith(day) else stamp

    return moment


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
    """Bars for the chart: one row of columns for denials per hour; a bar per row for denials per day or week,
    or per finding when the report has no timeline."""
    report = as_report(report)
    timeline = report.timeline
    if timeline and timeline.buckets and timeline.unit == "hour":
        return hour_columns(timeline.buckets, report_zone(report))
    if timeline and timeline.buckets:
        return period_rows(timeline.buckets, timeline.unit)
    rows = _fold([(_principal_label(f), f.denials) for f in report.findings], "more")
    return _rows("Denials per principal", rows)


def _rows(title: str, rows: list[tuple[str, int]], note: str = "") -> dict[str, Any]:
    peak = max((count for _, count in rows), default=0)
    bars = [{"label": label, "count": count, "width": _width(count, peak)} for label, count in rows]
    return {"title": title, "columns": False, "bars": bars, "peak": peak, "note": note}


def period_rows(buckets: list[TimelineBucket], unit: str) -> dict[str, Any]:
    """Denials per day or week, a bar per row, at most TIME_BARS of them. A longer timeline is drawn over the
    span that holds denials (the window's quiet days or weeks before and after left out), its consecutive
    buckets added up a few per bar, each bar labelled with the date it starts on."""
    dated = [(date.fromisoformat(bucket.start[:10]), bucket.denials) for bucket in buckets]
    trimmed = _with_denials(dated) if len(dated) > TIME_BARS else dated
    step = timedelta(days=BUCKET_DAYS[unit])
    first, last = trimmed[0][0], trimmed[-1][0]
    span = (last - first) // step + 1  # buckets from the first to the last, the missing ones included
    size = next((n for n in GROUPS[unit] if -(-span // n) <= TIME_BARS), -(-span // TIME_BARS))
    totals = [0] * -(-span // size)
    for start, count in trimmed:
        totals[(start - first) // (step * size)] += count
    starts = [first + step * size * index for index in range(len(totals))]
    labels = bucket_labels([f"{start}" for start in starts], unit) if size == 1 else [f"{s}" for s in starts]
    notes = []
    if size > 1:
        notes.append(f"Each bar adds up the {size} {unit}s from its date.")
    if len(trimmed) < len(dated):
        notes.append(
            f"Drawn from {first} to {last + step - timedelta(days=1)}, the {unit}s with denials: "
            f"the {len(dated) - len(trimmed)} other {unit}s of the timeline had none."
        )
    title = f"Denials per {unit} (UTC)" if size == 1 else f"Denials per {size} {unit}s (UTC)"
    return _rows(title, list(zip(labels, totals, strict=True)), " ".join(notes))


def _with_denials(dated: list[tuple[date, int]]) -> list[tuple[date, int]]:
    """From the first bucket with denials to the last (all of them if none has any)."""
    held = [index for index, (_, count) in enumerate(dated) if count]
    return dated[held[0] : held[-1] + 1] if held else dated


def hour_columns(buckets: list[TimelineBucket], zone: tzinfo = UTC) -> dict[str, Any]:
    """Denials per hour as one row of columns, each labelled with the hour its bucket starts at (in ``zone``,
    the report's time zone), the date said once in the title."""
    starts = [_instant(bucket.start).astimezone(zone) for bucket in buckets]
    counts = [bucket.denials for bucket in buckets]
    peak = max(counts, default=0)
    step = -(-len(buckets) // HOUR_LABELS)  # label every bar of a day, every second one of two days
    bars = [
        {
            "label": f"{start:%H}" if index % step == 0 else "",
            "start": bucket.start,
            "count": count,
            "height": _height(count, peak),
            "words": f"{start:%Y-%m-%d %H:%M}: {count} denial(s)",
        }
        for index, (start, bucket, count) in enumerate(zip(starts, buckets, counts, strict=True))
    ]
    zone_name = _zone_name(zone)
    first, last = f"{starts[0]:%Y-%m-%d}", f"{starts[-1]:%Y-%m-%d}"
    title = f"Denials per hour ({zone_name}), {first}" + (f" to {last}" if last != first else "")
    busiest = max(range(len(bars)), key=lambda index: counts[index])
    note = f"Busiest hour: {starts[busiest]:%H:00} ({zone_name}), {peak} denial(s)." if peak else "No denials."
    return {"title": title, "columns": True, "bars": bars, "peak": peak, "note": note}


def report_zone(report: Report) -> tzinfo:
    """The time zone a daily report's day is in (its hours are labelled in it), else UTC."""
    name = report.daily.time_zone if report.daily else "UTC"
    try:
        return UTC if name in ("UTC", "Etc/UTC") else ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # not a zone this machine knows: the hours in UTC, said so
        return UTC


def _zone_name(zone: tzinfo) -> str:
    return "UTC" if zone is UTC else str(zone)


def _instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _height(count: int, peak: int) -> int:
    """Column height in pixels; any denial gets a visible column, none a baseline."""
    if not count or not peak:
        return 0
    return max(2, round(BAR_HEIGHT * count / peak))


def _fold(rows: list[tuple[str, int]], word: str) -> list[tuple[str, int]]:
    """At most CHART_ROWS bars: the rows past the limit summed into one ('12 more')."""
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
    """The labels of a chart drawn a bar per row: the date per day ('2026-11-28'), per week ('week of …')."""
    if unit == "week":
        return [f"week of {start[:10]}" for start in starts]
    return [start[:10] for start in starts]


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
        "name": common.principal_name(finding),
        "kind": kind,
        "kind_words": common.REMEDY_WORDS.get(kind or "", "No advice yet"),
        "severity": finding.severity,
        "severity_colour": SEVERITY_COLOURS[finding.severity],
        "hazards": [{"words": common.hazard_words(h), "source": common.hazard_source(h)} for h in finding.hazards],
        "colour": KIND_COLOURS.get(kind or "", "#667085"),
        "warning": common.KIND_WARNINGS.get(kind or ""),
        "actions": [_action_view(action) for action in finding.actions],
        "remedy": remedy,
        "no_fix": kind in common.NO_FIX_KINDS,
        "blocks": [dict(block, text=code_text(block["document"])) for block in common.policy_blocks(remedy)],
        "commands": code_text("\n".join(common.remedy_commands(remedy))) if common.remedy_commands(remedy) else None,
        "docs": _docs_view(common.remedy_docs(remedy)),
    }


def _distinct_docs(findings: list[Finding]) -> list[dict[str, str]]:
    """Every finding's documentation links, each once, in the order the findings are shown."""
    seen = {doc["url"]: doc for finding in findings for doc in common.remedy_docs(finding.remedy)}
    return list(seen.values())


def _docs_view(docs: list[dict[str, str]]) -> dict[str, Any]:
    """The documentation links, their titles' common part ('Troubleshooting …: ') said once."""
    heads = {doc["title"].split(": ", 1)[0] for doc in docs if ": " in doc["title"]}
    if len(docs) < 2 or len(heads) != 1 or not all(": " in doc["title"] for doc in docs):
        return {"heading": None, "links": docs}
    return {"heading": heads.pop(), "links": [dict(doc, title=doc["title"].split(": ", 1)[1]) for doc in docs]}


def _action_view(action: DeniedAction) -> dict[str, Any]:
    return {
        "action": action,
        "why": [common.reason_words(reason) for reason in action.reasons],
        "notes": common.action_notes(action),
    }


def breakable(value: Any, limit: int = common.MAX_TEXT) -> Markup:
    """A value cleaned and escaped like any other, then given a place to wrap after each ':', '/' and '_', so an
    ARN, an action name or a permission set's role ('AWSReservedSSO_Developer_Access_…') breaks between its
    parts, not inside one. The ``<wbr>`` is added to the escaped text:
    nothing of the value can become markup."""
    if value is None:
        return Markup("")
    return _break_points(escape(common.clean_text(str(value), limit=limit)))


def _break_points(escaped: Markup) -> Markup:
    """<wbr> after ':', '/' and '_' inside the words longer than SHORT_WORD (an entity holds none of them)."""
    return Markup(_LONG_WORD.sub(lambda word: _BREAK_AFTER.sub(r"\1<wbr>", word.group(0)), str(escaped)))


def _breakable_join(items: Any, separator: str = ", ") -> Markup:
    """Values joined, each breakable (the separator escaped too)."""
    return escape(separator).join(breakable(item) for item in items or [])


def code_text(value: Any) -> Markup:
    """A policy document or commands, escaped for a <pre> and shown whole (never cut), with places to wrap
    after ':', '/' and '_' (copying the text leaves them out)."""
    text = value if isinstance(value, str) else common.pretty_json(value)
    return _break_points(escape(printable(mask_secrets(text))))


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
    return breakable(value, limit=common.LONG_TEXT)


def _join(items: Any, separator: str = ", ") -> str:
    """Join to a plain string, so the result is cleaned and escaped as one value."""
    return separator.join(str(item) for item in items or [])


def _kilobytes(size: int) -> str:
    return f"{size / 1000:,.0f} KB"


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
    environment.filters.update(
        join=_join,
        long=_long_text,
        reason=common.reason_words,
        breakable=breakable,
        breakable_join=_breakable_join,
        kilobytes=_kilobytes,
    )
    environment.globals.update(
        budget=HTML_BUDGET,
        # Grid lines as email clients all draw them: the table's colour through one pixel of cell spacing.
        grid=Markup('cellpadding="5" cellspacing="1" border="0" bgcolor="#eaecf0"'),
        grid_head=Markup('bgcolor="#f2f4f7" valign="top"'),
        grid_row=Markup('bgcolor="white" valign="top"'),
    )
    return environment
