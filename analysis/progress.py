"""Progress of long reads, told to whoever watches: files and bytes scanned, LookupEvents pages, query states.

Sources report through a :class:`Progress` passed down to them (``ReadOptions.progress``; :data:`NO_PROGRESS` by
default, which does nothing). :func:`terminal_progress` gives the CLI's reporter: a few live lines on standard
error, drawn by Rich only when that stream is a terminal, at most ten times a second, and cleared when the run
closes it, so nothing of it is left in a log or a pipe. Reports may come from any thread.

Importing this module loads neither Rich nor pandas: the reporter is built when a terminal asks for one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import Task, TaskID

REFRESHES_PER_SECOND = 10
# Athena's and CloudTrail Lake's states of a query that will not change any more
ENDED_STATES = frozenset({"SUCCEEDED", "FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"})
BAR_WIDTH = 24
SHOW_AFTER_SECONDS = 0.3  # a run done sooner draws nothing: no flash of a bar that is cleared at once


class Progress(Protocol):
    """What sources tell about a read under way. Each call gives the counts so far (not increments)."""

    def files(self, done: int, total: int, bytes_done: int, bytes_total: int) -> None:
        """Files read of those found, and their bytes on disk or in S3 (``total``/``bytes_total`` 0: not known)."""

    def pages(self, source: str, region: str, pages: int, events: int) -> None:
        """LookupEvents pages read in one region of a source, and the events they held."""

    def query(self, source: str, state: str) -> None:
        """A query engine's state of the source's query (Athena: QUEUED, RUNNING, SUCCEEDED…)."""

    def close(self) -> None:
        """The run is over (or interrupted): whatever was drawn is cleared."""


class _NoProgress:
    """Reports nothing: the default of every source, of Lambda runs, and of output that is not a terminal."""

    def files(self, done: int, total: int, bytes_done: int, bytes_total: int) -> None:
        pass

    def pages(self, source: str, region: str, pages: int, events: int) -> None:
        pass

    def query(self, source: str, state: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "NO_PROGRESS"


NO_PROGRESS: Progress = _NoProgress()


def terminal_progress(stream: TextIO, *, quiet: bool = False) -> Progress:
    """A live reporter on ``stream`` (standard error) when it is a terminal and not ``quiet``; else NO_PROGRESS."""
    if quiet or not _is_terminal(stream):
        return NO_PROGRESS
    return LiveProgress(stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # a closed stream, or one without isatty
        return False


class LiveProgress:
    """Rich's live display: one line of files (bar, bytes, rate, time left), one per LookupEvents region, one per
    query. Counts are recorded as they come; the display starts at the first report past ``show_after`` seconds
    and redraws itself at most ``REFRESHES_PER_SECOND`` times a second from its own thread."""

    def __init__(
        self, stream: TextIO, *, show_after: float = SHOW_AFTER_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        import sys

        from rich.console import Console
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn

        from analysis.redact import printable

        self._printable: Callable[..., str] = printable
        detail = _detail_column()
        console = Console(file=stream, markup=False, emoji=False, highlight=False)
        self._display: RichProgress = RichProgress(
            SpinnerColumn(finished_text="✓"),
            detail(),
            console=console,
            transient=True,
            refresh_per_second=REFRESHES_PER_SECOND,
            redirect_stdout=False,  # standard output may be the report itself
            redirect_stderr=stream is sys.stderr,  # warnings printed meanwhile go above the live lines
        )
        self._lock = threading.Lock()
        self._tasks: dict[tuple[str, ...], TaskID] = {}
        self._clock = clock
        self._show_at = clock() + show_after
        self._shown = False
        self._closed = False

    def files(self, done: int, total: int, bytes_done: int, bytes_total: int) -> None:
        fields = {"kind": "files", "done": done, "found": total, "bytes_done": bytes_done, "bytes_total": bytes_total}
        # Rich's rate follows the bytes done; its bar and time left their total, once known (None: not yet)
        ended = 0 < total <= done
        self._report(("files",), "", fields, completed=bytes_done, total=bytes_total or (bytes_done if ended else None))

    def pages(self, source: str, region: str, pages: int, events: int) -> None:
        fields = {"kind": "pages", "pages": pages, "events": events}
        self._report(("pages", source, region), f"{source} {region}", fields)

    def query(self, source: str, state: str) -> None:
        ended = {"total": 1, "completed": 1} if state in ENDED_STATES else {}
        self._report(("query", source), source, {"kind": "query", "state": state}, **ended)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._shown:
                self._display.stop()

    def _report(self, key: tuple[str, ...], label: str, fields: dict[str, Any], **counts: Any) -> None:
        safe_fields = {name: self._safe(value) for name, value in fields.items()}
        with self._lock:
            if self._closed:
                return
            task = self._tasks.get(key)
            if task is None:
                task = self._tasks[key] = self._display.add_task(self._safe(label), total=None)
            self._display.update(task, **counts, **safe_fields)
            if not self._shown and self._clock() >= self._show_at:
                self._shown = True
                self._display.start()

    def _safe(self, value: Any) -> Any:
        """Names come from paths, specs and AWS answers: shown, never obeyed (nor read as markup: see Detail)."""
        return self._printable(value, keep="") if isinstance(value, str) else value


def _duration(seconds: float | None) -> str:
    return str(timedelta(seconds=int(seconds))) if seconds is not None else "-:--:--"


def _size(count: float) -> str:
    from rich.filesize import decimal

    return str(decimal(int(count)))


def _files_text(task: Task) -> str:
    found, bytes_done, bytes_total = task.fields["found"], task.fields["bytes_done"], task.fields["bytes_total"]
    files = f"{task.fields['done']:,}/{found:,} files" if found else f"{task.fields['done']:,} files"
    size = f"{_size(bytes_done)}/{_size(bytes_total)}" if bytes_total else _size(bytes_done)
    parts = [f"Scanning {files}", size]
    if task.speed:
        parts.append(f"{_size(task.speed)}/s")
    if bytes_total and not task.finished:
        parts.append(f"{_duration(task.time_remaining)} left")
    return " · ".join(parts)


def _pages_text(task: Task) -> str:
    pages, events = task.fields["pages"], task.fields["events"]
    return (
        f"{task.description}: {pages:,} page{'s' if pages != 1 else ''}, {events:,} event{'s' if events != 1 else ''}"
    )


def _query_text(task: Task) -> str:
    return f"{task.description}: query {task.fields['state']} ({_duration(task.elapsed)})"


_TEXTS = {"files": _files_text, "pages": _pages_text, "query": _query_text}


def _detail_column() -> Any:
    """Rich's column class for the lines' words (Rich is imported only when a terminal reporter is built)."""
    from rich.progress import ProgressColumn
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    class Detail(ProgressColumn):
        """The line's words, built here from counts: plain text, never markup, cut rather than wrapped; the files
        line leads with a bar when its bytes are known."""

        def render(self, task: Task) -> Any:
            kind = task.fields.get("kind")
            words = Text(_TEXTS[kind](task) if kind in _TEXTS else task.description, no_wrap=True, overflow="ellipsis")
            if kind != "files" or not task.fields["bytes_total"]:
                return words
            line = Table.grid(padding=(0, 1))
            line.add_column(width=BAR_WIDTH)
            line.add_column(no_wrap=True, overflow="ellipsis")
            line.add_row(ProgressBar(total=task.total, completed=task.completed, width=BAR_WIDTH), words)
            return line

    return Detail
