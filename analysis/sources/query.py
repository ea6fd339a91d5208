"""What the query sources (Athena, CloudTrail Lake) share: run one denial query, poll it, read its pages.

A query source starts its query, polls until the engine says it finished (within a timeout and the
run's deadline; past them the query is stopped), then reads the result page by page and turns
each row into a CloudTrail record (:mod:`analysis.sources.rows`). AWS errors fail the source by name.
Throttled calls are retried by botocore (:mod:`analysis.aws_clients`); polling is not a retry.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from analysis.model import Window
from analysis.progress import NO_PROGRESS, Progress
from analysis.records import RecordOrProblem
from analysis.sources.base import SourceError
from analysis.sources.rows import Row, record_from_row

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """The polling schedule of a query: ``first``, ``first*factor``, … capped at ``ceiling``, within ``timeout``."""

    first: float = 0.5
    factor: float = 2.0
    ceiling: float = 10.0
    timeout: float = 30 * 60.0
    sleep: Callable[[float], None] = time.sleep
    deadline: float | None = None  # a ``clock()`` reading not to poll past (a Lambda's remaining time)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.first <= 0 or self.factor < 1 or self.ceiling < self.first:
            raise ValueError("backoff needs first > 0, factor >= 1 and ceiling >= first")

    def delays(self) -> Iterator[float]:
        """The pauses between polls, until their sum would pass ``timeout``."""
        waited, delay = 0.0, self.first
        while waited + delay <= self.timeout:
            if self.deadline is not None and self.clock() + delay > self.deadline:
                return
            yield delay
            waited += delay
            delay = min(delay * self.factor, self.ceiling)

    def limit_text(self) -> str:
        """How long polling was allowed, for error messages."""
        if self.deadline is not None and self.deadline - self.clock() < self.ceiling:
            return "before the run's deadline (the time the Lambda function had left)"
        return f"within {self.timeout:.0f}s"


def backoff_until(deadline: float | None) -> Backoff:
    """The default polling schedule, stopping at ``deadline`` (a ``time.monotonic()`` reading) if given."""
    return Backoff(deadline=deadline)


@dataclass(kw_only=True)
class QuerySource(ABC):
    """One denial query over ``window``, run in an engine; yields one rebuilt record per result row.

    Subclasses name the engine's calls: how to start the query, read its state, stop it and fetch a page.
    """

    client: Any
    window: Window
    service: str | None = None
    backoff: Backoff = field(default_factory=Backoff)
    name: str = ""
    progress: Progress = NO_PROGRESS  # told each state the engine gives the query, as it is polled

    engine: ClassVar[str]  # for messages: "Athena", "CloudTrail Lake"
    finished_state: ClassVar[str]
    failed_states: ClassVar[tuple[str, ...]]
    stopped_word: ClassVar[str]  # what stopping a query is called: "stopped", "cancelled"

    @property
    @abstractmethod
    def query(self) -> str:
        """The SQL this source sends."""

    @abstractmethod
    def start(self) -> str:
        """Start the query; its ID."""

    @abstractmethod
    def state(self, query_id: str) -> tuple[str | None, Mapping[str, Any]]:
        """The query's state and the engine's description of it."""

    @abstractmethod
    def failure_reason(self, described: Mapping[str, Any]) -> str:
        """Why a query in a failed state failed, as the engine tells it."""

    @abstractmethod
    def stop(self, query_id: str) -> None:
        """Ask the engine to stop the query."""

    @abstractmethod
    def page(self, query_id: str, token: str | None) -> tuple[list[dict[str, str | None]], str | None]:
        """One page of result rows (``token`` None: the first), and the next page's token."""

    def unreturned(self, described: Mapping[str, Any], returned: int) -> Iterator[RecordOrProblem]:
        """What to yield after the rows, given the finished query's description (default: nothing)."""
        return iter(())

    def read(self) -> Iterator[RecordOrProblem]:
        try:
            query_id = self.start()
            described = self.wait(query_id)
            returned = 0
            for row in self.rows(query_id):
                returned += 1
                yield record_from_row(row)
        except SourceError:
            raise
        except Exception as error:  # botocore ClientError, endpoint errors: name the source
            raise SourceError(f"{self.name}: {error}") from error
        yield from self.unreturned(described, returned)

    def wait(self, query_id: str) -> Mapping[str, Any]:
        """Poll until the query finished; a failed state or the end of the schedule raise SourceError."""
        for delay in chain(self.backoff.delays(), [None]):
            state, described = self.state(query_id)
            self.progress.query(self.name, state or "UNKNOWN")
            if state == self.finished_state:
                return described
            if state in self.failed_states:
                raise SourceError(f"{self.engine} query {query_id} {state}: {self.failure_reason(described)}")
            if delay is None:
                break
            log.debug("%s query %s is %s; next poll in %.1fs", self.engine, query_id, state, delay)
            self.backoff.sleep(delay)
        self._stop_quietly(query_id)
        limit = self.backoff.limit_text()
        raise SourceError(f"{self.engine} query {query_id} did not finish {limit} ({self.stopped_word})")

    def rows(self, query_id: str) -> Iterator[Row]:
        """Every result row, page by page."""
        token: str | None = None
        while True:
            rows, token = self.page(query_id, token)
            yield from rows
            if not token:
                return

    def _stop_quietly(self, query_id: str) -> None:
        try:
            self.stop(query_id)
        except Exception as error:  # stopping is best effort; the timeout is what gets reported
            log.warning("could not stop %s query %s: %s", self.engine, query_id, error)


def spec_options(spec: str, query: str, known: frozenset[str]) -> dict[str, str]:
    """The ``?name=value&…`` options of a spec; an unknown name is a SourceError."""
    options = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    unknown = sorted(set(options) - known)
    if unknown:
        raise SourceError(f"{spec}: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return options


def time_bound(moment: datetime | None, layout: str, *, up: bool) -> str | None:
    """A window bound in UTC to the second, as ``layout`` writes it; rounded up when ``up`` (the end)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if moment.microsecond and up:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime(layout)
