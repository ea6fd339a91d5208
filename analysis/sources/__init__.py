"""Reading CloudTrail: one module per kind of source, chosen from a ``--source`` spec."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from analysis.sources.base import Source, SourceError, Window
from analysis.sources.files import FileSource, sample_source

AWS_PREFIXES = ("lookup:", "s3://", "athena:", "lake:")


def source_from_spec(
    spec: str,
    window: Window,
    *,
    service: str | None = None,
    accounts: Iterable[str] = (),
    accounts_from_organizations: bool = False,
    role_name: str | None = None,
    session: Any = None,
) -> Source:
    """``sample``, a path, or (see the AWS source modules) ``lookup:``, ``s3://``, ``athena:``, ``lake:``.

    ``service`` is the audited service (``--service``): it narrows what a source reads (LookupEvents'
    event source, the Athena and Lake filters) and lets the fast path skip other services' denials;
    None narrows nothing (LookupEvents then reads App Runner's events). The other keywords are for
    ``lookup:``: the accounts to read and the role to assume in each.
    """
    if spec.startswith(AWS_PREFIXES):
        from analysis.sources.aws import aws_source

        return aws_source(spec, window, **_aws_options(locals()))
    return sources_from_spec(spec, window, service=service)[0]


def sources_from_spec(
    spec: str,
    window: Window,
    *,
    service: str | None = None,
    accounts: Iterable[str] = (),
    accounts_from_organizations: bool = False,
    role_name: str | None = None,
    session: Any = None,
) -> list[Source]:
    """Like :func:`source_from_spec`, but ``lookup:`` over several accounts gives one source per account."""
    if spec == "sample":
        return [sample_source(service)]
    if spec.startswith(AWS_PREFIXES):
        from analysis.sources.aws import aws_sources

        return aws_sources(spec, window, **_aws_options(locals()))
    return [FileSource(Path(spec), service=service)]


def _aws_options(arguments: dict[str, Any]) -> dict[str, Any]:
    names = ("service", "accounts", "accounts_from_organizations", "role_name", "session")
    return {name: arguments[name] for name in names}


__all__ = ["Source", "SourceError", "Window", "source_from_spec", "sources_from_spec"]
