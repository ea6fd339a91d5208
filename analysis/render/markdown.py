"""The report as Markdown, for tickets, chat and GitHub. Every log-derived string is escaped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2

from analysis.contract import Report, as_report
from analysis.redact import mask_secrets, printable
from analysis.render import common
from analysis.render.common import REMEDY_WORDS, fence, pretty_json, reason_words

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~&])")
_LINE_START = re.compile(r"^([-+=])")


class Raw(str):
    """Text already safe for Markdown (a code fence we built): not escaped again."""


def escape_markdown(value: Any, limit: int = common.MAX_TEXT) -> str:
    if value is None:
        return ""
    if isinstance(value, Raw):
        return value
    text = common.clean_text(str(value), limit=limit).replace("\r", " ").replace("\n", " ")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _LINE_START.sub(r"\\\1", text) if text[:1] in "-+=" else text


def code_block(document: Any, language: str = "json") -> Raw:
    text = document if isinstance(document, str) else pretty_json(document)
    return Raw(fence(printable(mask_secrets(text)), language))


def long_text(value: Any) -> Raw:
    """A remedy note, escaped, cut only past common.LONG_TEXT (it may hold a whole command)."""
    return Raw(escape_markdown(value, limit=common.LONG_TEXT))


def commands_block(commands: list[str]) -> Raw:
    return code_block("\n".join(commands), "sh")


def link(doc: dict[str, str]) -> Raw:
    """A Markdown link to a documentation page (URLs are checked by common.remedy_docs)."""
    url = doc["url"].replace("(", "%28").replace(")", "%29")
    return Raw(f"[{escape_markdown(doc['title'])}]({url})")


def inline_code(value: Any) -> Raw:
    text = common.clean_text(str(value)).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    if not longest:
        return Raw(f"`{text.replace('|', '&#124;')}`")
    ticks = "`" * (longest + 1)
    return Raw(f"{ticks} {text.replace('|', '&#124;')} {ticks}")


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis.render", "templates"),
        autoescape=False,
        finalize=escape_markdown,  # every {{ value }} is escaped unless it is Raw
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(
        code=code_block,
        commands=commands_block,
        inline=inline_code,
        link=link,
        reason=reason_words,
        long=long_text,
        blocks=common.policy_blocks,
        docs=common.remedy_docs,
        action_notes=common.action_notes,
        hazard=common.hazard_words,
        source=common.hazard_source,
    )
    environment.globals.update(
        remedy_words=REMEDY_WORDS,
        warnings=common.KIND_WARNINGS,
        kind_short=common.KIND_SHORT,
        no_fix_kinds=common.NO_FIX_KINDS,
        remedy_commands=common.remedy_commands,
    )
    return environment


def render_markdown(report: Report | Mapping[str, Any]) -> str:
    report = as_report(report)
    view = {
        "service": common.service_name(report.service),
        "findings": common.by_urgency(report.findings),
        "kinds": common.kind_counts(report),
        "severities": common.severity_counts(report),
        "empty": common.empty_sentence(report),
        "redacted": bool(report.redacted),
        "late": common.late_rows(report),
    }
    return _environment().get_template("report.md.j2").render(report=report, view=view)
