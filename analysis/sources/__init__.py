"""Reading CloudTrail: one module per kind of source, chosen from a ``--source`` spec.

:func:`check_spec` checks a spec's form without any AWS call (the command line calls it before the run, and
:func:`sources_from_spec` again, for the Lambda functions' ``TRAIL_SOURCE``): a scheme that is none of the
supported forms, or a region AWS does not have, is refused in one line that says what would be accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from analysis.identifiers import AWS_PREFIXES
from analysis.model import Window
from analysis.sources.base import ReadOptions, Source, SourceError
from analysis.sources.files import FileSource, sample_source

SOURCE_FORMS = (
    "a path, sample, s3://BUCKET[/PREFIX], lookup:REGION[,REGION…], athena:DATABASE.TABLE, lake:EVENT_DATA_STORE"
)
# 'gs://x', 's3:/b', 'HTTP://…': a name before ':' that is a URI scheme's, two letters at least (C:\ is a drive)
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+):(?P<rest>.*)$", re.DOTALL)
_SCHEME_NAMES = {prefix.split(":")[0]: prefix for prefix in AWS_PREFIXES}  # 's3' -> 's3://'


@dataclass(frozen=True)
class SpecNeeds:
    """What reading a spec needs from the environment before any AWS call can work."""

    credentials: bool = False
    region: bool = False  # a default region (AWS_REGION, a profile's): the spec names none


def check_spec(spec: str) -> SpecNeeds:
    """Check ``spec``'s form (SourceError naming what is wrong and what would do); what it needs to be read.

    A path that exists is a path, whatever it looks like (a folder named ``gs:``).
    """
    _not_empty(spec)
    if spec.startswith(AWS_PREFIXES):
        return _check_aws_spec(spec)
    scheme = _SCHEME.match(spec)
    if scheme and not Path(spec).exists():
        raise SourceError(f"{spec}: not a source{_did_you_mean(scheme['scheme'], scheme['rest'])}; use {SOURCE_FORMS}")
    return SpecNeeds()


def _did_you_mean(scheme: str, rest: str) -> str:
    """'S3://b' or 's3:/b' -> " (did you mean s3://b?)"; nothing for a scheme we do not read (gs, http)."""
    prefix = _SCHEME_NAMES.get(scheme.lower())
    if prefix is None:
        return ""
    body = rest.lstrip("/") if prefix.endswith("//") else rest
    return f" (did you mean {prefix}{body}?)"


def _check_aws_spec(spec: str) -> SpecNeeds:
    """The spec parsed as its source module parses it (no client is made), and every region it names checked."""
    from analysis.aws_clients import region_problem

    regions, named_region = _regions_of(spec)
    for region in regions:
        problem = region_problem(region)
        if problem:
            raise SourceError(f"{spec}: {problem}")
    return SpecNeeds(credentials=True, region=not named_region and not spec.startswith(("lookup:", "s3://")))


def _regions_of(spec: str) -> tuple[list[str], bool]:
    """The regions a spec names, and whether it names the one its client calls (else the default region is
    used: S3 works from any region, LookupEvents calls each region it names)."""
    if spec.startswith("lookup:"):
        from analysis.sources.lookup import parse_regions

        return list(parse_regions(spec)), True
    if spec.startswith("s3://"):
        from analysis.sources import s3trail

        s3 = s3trail.parse_spec(spec)
        return [*s3.regions, *([s3.client_region] if s3.client_region else [])], bool(s3.client_region)
    if spec.startswith("athena:"):
        from analysis.sources import athena

        table = athena.parse_spec(spec)
        return [*table.regions, *([table.region] if table.region else [])], bool(table.region)
    from analysis.sources import lake

    store = lake.parse_spec(spec)
    return ([store.region] if store.region else []), bool(store.region)


def source_from_spec(spec: str, window: Window, options: ReadOptions | None = None) -> Source:
    """``sample``, a path, or (see the AWS source modules) ``lookup:``, ``s3://``, ``athena:``, ``lake:``."""
    options = options or ReadOptions()
    check_spec(spec)
    if spec.startswith(AWS_PREFIXES):
        from analysis.sources.aws import aws_source

        return aws_source(spec, window, options)
    return sources_from_spec(spec, window, options)[0]


def sources_from_spec(spec: str, window: Window, options: ReadOptions | None = None) -> list[Source]:
    """Like :func:`source_from_spec`, but ``lookup:`` over several accounts gives one source per account."""
    options = options or ReadOptions()
    check_spec(spec)
    if spec == "sample":
        return [sample_source(options.service)]
    if spec.startswith(AWS_PREFIXES):
        from analysis.sources.aws import aws_sources

        return aws_sources(spec, window, options)
    return [FileSource(Path(spec), service=options.service)]


def _not_empty(spec: str) -> None:
    """An empty spec names no source (as a path it would be the current folder)."""
    if not spec.strip():
        raise SourceError(f"empty --source: use {SOURCE_FORMS}")


__all__ = [
    "SOURCE_FORMS",
    "ReadOptions",
    "Source",
    "SourceError",
    "SpecNeeds",
    "check_spec",
    "source_from_spec",
    "sources_from_spec",
]
