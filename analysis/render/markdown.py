"""The report as Markdown, for tickets, chat and GitHub. Every log-derived string is escaped."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jinja2

from analysis.render.common import REMEDY_WORDS, fence, pretty_json, reason_words

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~&])")
_LINE_START = re.compile(r"^([-+=])")


class Raw(str):
    """Text already safe for Markdown (a code fence we built): not escaped again."""


def escape_markdown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Raw):
        return value
    text = str(value).replace("\r", " ").replace("\n", " ")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _LINE_START.sub(r"\\\1", text) if text[:1] in "-+=" else text


def code_block(document: Any, language: str = "json") -> Raw:
    text = document if isinstance(document, str) else pretty_json(document)
    return Raw(fence(text, language))


def inline_code(value: Any) -> Raw:
    text = str(value).replace("\n", " ")
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
    environment.filters.update(code=code_block, inline=inline_code, reason=reason_words)
    environment.globals.update(remedy_words=REMEDY_WORDS)
    return environment


def render_markdown(report: dict[str, Any]) -> str:
    return _environment().get_template("report.md.j2").render(report=report)
