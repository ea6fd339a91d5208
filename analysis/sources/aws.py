"""AWS-backed sources: LookupEvents, S3 trail files, Athena and CloudTrail Lake, chosen by spec.

- ``lookup:REGION[,REGION…]`` -> :mod:`analysis.sources.lookup` (one source per account when
  several accounts are read);
- ``s3://BUCKET[/PREFIX]`` -> :mod:`analysis.sources.s3trail`;
- ``athena:DATABASE.TABLE`` -> :mod:`analysis.sources.athena`;
- ``lake:EVENT_DATA_STORE`` -> :mod:`analysis.sources.lake`.

Each module is imported when its form is used, so boto3 loads only for AWS sources.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from analysis.identifiers import AWS_PREFIXES
from analysis.model import DEFAULT_SERVICE, Window
from analysis.records import RecordOrProblem
from analysis.sources.base import ReadOptions, Source, SourceError

DEFAULT_LOOKUP_SERVICE = DEFAULT_SERVICE  # LookupEvents needs an event source; --service all reads every event


def aws_sources(spec: str, window: Window, options: ReadOptions | None = None) -> list[Source]:
    """The source(s) for one AWS spec; only ``lookup:`` over several accounts gives more than one."""
    options = options or ReadOptions()
    session = options.session
    narrowed = None if options.service == "all" else options.service
    if spec.startswith("lookup:"):
        from analysis.sources.lookup import lookup_sources

        return lookup_sources(
            spec,
            window,
            service=options.service or DEFAULT_LOOKUP_SERVICE,
            accounts=options.accounts,
            accounts_from_organizations=options.accounts_from_organizations,
            role_name=options.role_name,
            session=session,
        )
    if spec.startswith("s3://"):
        from analysis.sources.s3trail import s3_source

        return [s3_source(spec, window, session=session, service=options.service)]
    if spec.startswith("athena:"):
        from analysis.sources.athena import athena_source
        from analysis.sources.query import backoff_until

        return [athena_source(spec, window, session=session, service=narrowed, backoff=backoff_until(options.deadline))]
    if spec.startswith("lake:"):
        from analysis.sources.lake import lake_source
        from analysis.sources.query import backoff_until

        return [lake_source(spec, window, session=session, service=narrowed, backoff=backoff_until(options.deadline))]
    raise SourceError(f"{spec}: not an AWS source (expected one of {', '.join(AWS_PREFIXES)})")


def aws_source(spec: str, window: Window, options: ReadOptions | None = None) -> Source:
    """One source for the spec: several (accounts) are read as one that reports each failure."""
    sources = aws_sources(spec, window, options)
    return sources[0] if len(sources) == 1 else CombinedSource(spec, sources)


@dataclass
class CombinedSource:
    """Several sources read one after the other; a failing one is reported at the end, not fatal."""

    name: str
    sources: list[Source]

    def read(self) -> Iterator[RecordOrProblem]:
        failures = []
        for source in self.sources:
            try:
                yield from source.read()
            except Exception as error:  # the others are still read
                failures.append(f"{source.name}: {error}")
        if failures:
            raise SourceError("; ".join(failures))
