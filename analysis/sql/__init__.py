"""SQL sent to Athena and CloudTrail Lake, kept as package data (``*.sql`` Jinja templates).

Templates hold the query text; values reach them only through :func:`literal` and
:func:`identifier`, which refuse anything that could change the statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

import jinja2

from analysis import catalog
from analysis.identifiers import SERVICE_PREFIX

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@cache
def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(lambda name: resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))
    return jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # SQL, not HTML: values are escaped by literal()/identifier()
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **values: object) -> str:
    """One template of this package, filled in, without its comment lines; unknown placeholders are an error."""
    text = _environment().get_template(name).render(**values)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")).strip() + "\n"


def literal(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def literals(values: Iterable[str]) -> str:
    return ", ".join(literal(v) for v in values)


def identifier(name: str, quote: str = '"') -> str:
    """A quoted identifier made only of letters, digits and underscores."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a valid table or database name: {name!r}")
    return f"{quote}{name}{quote}"


def service_condition(service: str | None, column: str = "eventsource") -> str | None:
    """The engine-side filter on the audited service: the SQL twin of ``denials.audits_service``.

    ``None`` or ``all`` audits every service (no filter). A prefix matches event sources whose first
    label is the prefix, plus the event sources the catalog maps to that IAM prefix
    (``monitoring.amazonaws.com`` for ``cloudwatch``).
    """
    if service is None or service == "all":
        return None
    if not SERVICE_PREFIX.match(service):
        raise ValueError(f"not a service prefix: {service!r}")
    mapped = catalog.mapped_event_sources(service)
    condition = f"{column} = {literal(service)} OR {column} LIKE {literal(service + '.%')}"
    if mapped:
        condition += f" OR {column} IN ({literals(mapped)})"
    return f"({condition})"


DENIAL_CONDITION_TEMPLATE = "({column} LIKE 'AccessDenied%' OR {column} LIKE '%UnauthorizedOperation')"


def denial_condition(column: str = "errorcode") -> str:
    """The CIS filter, as ``denials.is_denial`` applies it: ``AccessDenied*`` or ``*UnauthorizedOperation``."""
    return DENIAL_CONDITION_TEMPLATE.format(column=column)
