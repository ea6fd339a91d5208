"""What every CloudTrail source offers the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from analysis.progress import NO_PROGRESS, Progress
from analysis.records import RecordOrProblem


class SourceError(Exception):
    """A source that cannot be read at all (bad argument, missing path, AWS refused)."""


@dataclass(frozen=True)
class ReadOptions:
    """What sources need beyond the window.

    ``service``: the audited service (``--service``; None narrows nothing): it narrows LookupEvents'
    event source and the Athena and Lake filters, and lets the fast path skip other services' denials.
    ``accounts``, ``accounts_from_organizations``, ``role_name``: the accounts ``lookup:`` reads and the
    role it assumes in each. ``session``: a boto3 session (default: a new default session).
    ``deadline``: a ``time.monotonic()`` reading that query sources (Athena, Lake) stop polling at, so a
    Lambda function reports a failed source instead of being killed mid-run.
    ``progress``: told what the sources read as they read it (files and bytes, LookupEvents pages, query
    states); :data:`analysis.progress.NO_PROGRESS` by default.
    """

    service: str | None = None
    accounts: tuple[str, ...] = ()
    accounts_from_organizations: bool = False
    role_name: str | None = None
    session: Any = None
    deadline: float | None = None
    progress: Progress = NO_PROGRESS


class Source(Protocol):
    name: str

    def read(self) -> Iterator[RecordOrProblem]:
        """Every record the source holds for its window, and what could not be read."""
        ...


@dataclass
class RecordsSource:
    """Records already in memory (one record to explain, records a notebook built, test data)."""

    records: list[dict[str, Any]]
    name: str = "memory"

    def read(self) -> Iterator[RecordOrProblem]:
        yield from self.records


def with_progress(sources: Iterable[Source], progress: Progress) -> list[Source]:
    """The sources, each that reports progress (a ``progress`` attribute: files, S3, LookupEvents, Athena, Lake)
    set to tell ``progress``."""
    sources = list(sources)
    for source in sources:
        if hasattr(source, "progress"):
            source.progress = progress
    return sources
