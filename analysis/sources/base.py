"""What every CloudTrail source offers the pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from analysis.records import RecordOrProblem


class SourceError(Exception):
    """A source that cannot be read at all (bad argument, missing path, AWS refused)."""


@dataclass(frozen=True)
class Window:
    """The reporting window, ``[start, end)`` on ``eventTime``; None means unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None


class Source(Protocol):
    name: str

    def read(self) -> Iterator[RecordOrProblem]:
        """Every record the source holds for its window, and what could not be read."""
        ...
