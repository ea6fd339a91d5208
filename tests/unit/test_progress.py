"""The progress reporter: only on a terminal, plain text from hostile names, throttled, cleared, thread-safe."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import time

import pytest

from analysis.progress import NO_PROGRESS, LiveProgress, terminal_progress

ERASE_LINE = "\x1b[2K"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    """What a terminal's stream says of itself, with what was written kept."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def a_capable_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "100")
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


def test_no_progress_does_nothing():
    NO_PROGRESS.files(1, 2, 3, 4)
    NO_PROGRESS.pages("lookup:us-east-1", "us-east-1", 1, 50)
    NO_PROGRESS.query("athena:db.t", "RUNNING")
    NO_PROGRESS.close()


def test_only_a_terminal_gets_a_live_reporter_and_not_when_quiet():
    closed = io.StringIO()
    closed.close()  # its isatty() raises ValueError
    assert terminal_progress(io.StringIO()) is NO_PROGRESS, "a pipe or a file"
    assert terminal_progress(Terminal(), quiet=True) is NO_PROGRESS
    assert terminal_progress(closed) is NO_PROGRESS
    reporter = terminal_progress(Terminal())
    assert isinstance(reporter, LiveProgress)
    reporter.close()


def test_the_lines_say_files_and_bytes_pages_per_region_and_the_query_state_then_are_cleared():
    stream = Terminal()
    reporter = LiveProgress(stream, show_after=0)
    reporter.files(3, 10, 3_000_000, 10_000_000)
    reporter.pages("lookup:us-east-1,eu-west-1", "eu-west-1", 2, 100)
    reporter.query("athena:audit.trail", "RUNNING")
    reporter.close()
    reporter.close()  # a second close (a finally after an interrupt) is harmless

    written = stream.getvalue()
    assert "Scanning 3/10 files · 3.0 MB/10.0 MB" in written
    assert "lookup:us-east-1,eu-west-1 eu-west-1: 2 pages, 100 events" in written
    assert "athena:audit.trail: query RUNNING" in written
    last_draw = written.rindex("athena:audit.trail: query RUNNING")
    assert written[last_draw:].count(ERASE_LINE) >= 3, "the three lines are erased when the run closes them"


def test_the_rate_and_time_left_follow_the_bytes():
    now = [0.0]
    stream = Terminal()
    reporter = LiveProgress(stream, show_after=0, clock=lambda: now[0])
    reporter._display.get_time = lambda: now[0]  # Rich's own clock for the rate, moved by the test
    for second in range(5):
        now[0] = float(second)
        reporter.files(second + 1, 10, (second + 1) * 2_000_000, 20_000_000)
    reporter._display.refresh()
    reporter.close()

    written = stream.getvalue()
    # 2 MB a second; 10 MB of 20 MB done: 5 seconds left
    assert "Scanning 5/10 files · 10.0 MB/20.0 MB · 2.0 MB/s · 0:00:05 left" in written


def test_before_the_totals_are_known_the_rate_is_shown_without_a_time_left():
    now = [0.0]
    stream = Terminal()
    reporter = LiveProgress(stream, show_after=0, clock=lambda: now[0])
    reporter._display.get_time = lambda: now[0]
    for second in range(4):  # S3 while its listing goes on: totals 0
        now[0] = float(second)
        reporter.files(second + 1, 0, (second + 1) * 1_000_000, 0)
    reporter._display.refresh()
    reporter.close()

    frames = [ANSI.sub("", frame) for frame in stream.getvalue().split("\r") if "Scanning" in frame]
    assert frames[-1].rstrip().endswith("Scanning 4 files · 4.0 MB · 1.0 MB/s")


def test_names_are_shown_as_written_never_obeyed():
    stream = Terminal()
    reporter = LiveProgress(stream, show_after=0)
    reporter.pages("[bold red]lookup[/]\x1b[2J", "us-east-1\x07", 1, 1)
    reporter.query("lake:\x1b]0;pwned\x07", "RUNNING\x1b[5m")
    reporter.close()

    written = stream.getvalue()
    assert "[bold red]lookup[/]\\u001b[2J us-east-1\\u0007: 1 page, 1 event" in written
    assert "lake:\\u001b]0;pwned\\u0007: query RUNNING\\u001b[5m" in written
    assert "\x1b[2J" not in written and "\x07" not in written and "\x1b]0" not in written
    assert "\x1b[5m" not in written and "\x1b[1;31m" not in written


def test_it_redraws_at_most_about_ten_times_a_second_however_often_it_is_told():
    stream = Terminal()
    reporter = LiveProgress(stream, show_after=0)
    told = 0
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        told += 1
        reporter.files(told, 10**9, told, 10**9)
    reporter.close()

    draws = len(re.findall(r"Scanning \d", stream.getvalue()))
    assert told > 1000
    assert draws <= 1 + 12 + 1, f"{draws} draws in a second (the first, ten a second, the last)"


def test_a_run_done_before_the_delay_draws_nothing():
    now = [0.0]
    stream = Terminal()
    reporter = LiveProgress(stream, show_after=0.3, clock=lambda: now[0])
    reporter.files(1, 1, 10, 10)
    now[0] = 0.2
    reporter.query("athena:audit.trail", "SUCCEEDED")
    reporter.close()
    assert stream.getvalue() == ""

    late = Terminal()
    reporter = LiveProgress(late, show_after=0.3, clock=lambda: now[0])
    reporter.files(1, 2, 10, 20)
    now[0] = 0.5
    reporter.files(2, 2, 20, 20)
    reporter.close()
    assert "Scanning 2/2 files" in late.getvalue()


def test_reports_from_many_threads_are_all_counted():
    stream = Terminal()
    reporter = LiveProgress(stream, show_after=0)
    regions = [f"region-{n}" for n in range(8)]
    errors: list[BaseException] = []

    def read(region: str) -> None:
        try:
            for page in range(1, 301):
                reporter.pages("lookup:all", region, page, page * 50)
        except BaseException as error:  # any failure in a thread is the test's
            errors.append(error)

    threads = [threading.Thread(target=read, args=(region,)) for region in regions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reporter.close()

    assert not errors
    written = stream.getvalue()
    for region in regions:  # the last draw, on close, has every region's final count
        assert f"lookup:all {region}: 300 pages, 15,000 events" in written


def test_importing_progress_loads_neither_rich_nor_pandas():
    code = "import sys, analysis.progress; print(*(m in sys.modules for m in ('rich', 'pandas')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
