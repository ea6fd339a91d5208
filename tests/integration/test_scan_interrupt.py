"""Ctrl-C during a scan: the worker pool stops at once, with no traceback from its workers and no process left.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group, the workers too: the subprocess here is
started in a session of its own and the signal sent to its group, as a terminal would. Each task sleeps for
seconds, so a pool that waited for its running tasks (as ``shutdown(wait=True)`` does) would be seen to.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import scanpool

ROOT = Path(__file__).resolve().parents[2]
TASK_SECONDS = 8  # each task; a batch of scanpool.PROCESS_BATCH tasks would hold a waiting pool for a minute
# argv: the folder each busy worker leaves its PID in; "waiting" (Ctrl-C while the reader waits for a result),
# "parsing" (while the reader works on one: the first result comes at once, the reader then takes its time) or
# "idle" (one task: the other worker waits for work, where a SIGINT it did not ignore prints a traceback)
SCAN = f"""
import os, sys, time
from pathlib import Path
from analysis import scanpool

started, moment = Path(sys.argv[1]), sys.argv[2]
scanpool.PROCESS_BATCH = 1

def slow_load(n):
    if moment == "parsing" and n == 0:
        return n
    (started / str(os.getpid())).touch()
    time.sleep({TASK_SECONDS})
    return n

try:
    tasks = range(1 if moment == "idle" else 10_000)
    for _ in scanpool.ordered_map(slow_load, tasks, workers=2, processes=True):
        time.sleep(60)  # parsing, for as long as a test takes
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting to be reaped by init has stopped running)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status


def _interrupted_scan(tmp_path: Path, moment: str) -> tuple[subprocess.CompletedProcess[str], float, list[int]]:
    """Start a scan, Ctrl-C it once its workers are busy: how it ended, how long it took, the workers still alive."""
    started = tmp_path / "started"
    started.mkdir()
    script = tmp_path / "scan.py"
    script.write_text(SCAN)
    process = subprocess.Popen(
        [sys.executable, str(script), str(started), moment],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which gets the terminal's SIGINT
    )
    try:
        busy = 1 if moment == "idle" else 2
        deadline = time.monotonic() + 30
        while len(list(started.iterdir())) < busy and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(list(started.iterdir())) >= busy, "the workers never started"
        time.sleep(0.3)  # the workers are inside their tasks
        sent = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
        took = time.monotonic() - sent
        time.sleep(0.2)  # a worker told to stop has had time to
        left = [pid for pid in (int(p.name) for p in started.iterdir()) if _alive(pid)]
    finally:
        # a hung scan or a worker left running: the group is ended, so that no test leaves processes behind
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), took, left


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("moment", ["waiting", "parsing", "idle"])
def test_ctrl_c_stops_worker_processes_at_once_without_tracebacks(tmp_path, moment):
    done, took, left = _interrupted_scan(tmp_path, moment)
    print(f"exited {took:.2f}s after SIGINT")
    assert done.returncode == 130, done.stderr
    assert done.stdout == "interrupted\n"
    assert "Traceback" not in done.stderr, done.stderr
    assert took < 2.5, f"took {took:.1f}s to stop (each task sleeps {TASK_SECONDS}s)"
    assert not left, f"workers {left} outlived the scan"


def test_worker_processes_leave_ctrl_c_to_the_parent():
    """A worker waiting for work when Ctrl-C comes would print a traceback of its own, however fast the parent
    ends it: workers ignore SIGINT from the start."""
    pool = scanpool._process_pool(2)
    assert pool is not None
    try:
        assert pool.submit(signal.getsignal, signal.SIGINT).result(timeout=30) == signal.SIG_IGN
    finally:
        pool.shutdown()


# argv: the folder each worker leaves its PID in, "close" (the reader closes the results) or "error" (an error in
# the reader: the results are closed as its frame goes), and the seconds it reads for. Results are large, so that
# the workers spend most of their time sending them and are ended part-way through one.
STOPPED_EARLY = """
import os, sys, time
from pathlib import Path
from analysis import scanpool

started, how, seconds = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])

def load(n):
    (started / str(os.getpid())).touch()
    return bytes(4 * 1024 * 1024)

class ReaderError(Exception):
    pass

def read():
    results = scanpool.ordered_map(load, range(1_000_000), workers=2, ahead=16, processes=True)
    began = time.monotonic()
    for _ in results:
        if time.monotonic() - began >= seconds:
            if how == "close":
                results.close()
            else:
                raise ReaderError

try:
    read()
except ReaderError:
    pass
print("stopped", flush=True)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_reader_that_stops_early_lets_the_program_end(tmp_path):
    """A worker ended while it sends a result left the pool's manager thread reading the rest of it for ever,
    and the program waiting for that thread at its exit: the reader stops at 20 moments, half by closing the
    results, half by an error, and the program must end each time, without a word on standard error."""
    script = tmp_path / "scan.py"
    script.write_text(STOPPED_EARLY)
    for run in range(20):
        how, seconds = ("close", "error")[run % 2], 0.2 + 0.1 * (run // 2)
        started = tmp_path / f"started-{run}"
        started.mkdir()
        process = subprocess.Popen(
            [sys.executable, str(script), str(started), how, str(seconds)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=20)
            time.sleep(0.1)  # a worker ended has had time to
            left = [pid for pid in (int(p.name) for p in started.iterdir()) if _alive(pid)]
        except subprocess.TimeoutExpired:
            pytest.fail(f"run {run}: the program did not end, {how} after {seconds:.1f}s")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            if process.poll() is None:
                process.communicate()
        assert (process.returncode, stdout, stderr) == (0, "stopped\n", ""), f"run {run}: {how} after {seconds:.1f}s"
        assert any(started.iterdir()), f"run {run}: no worker started"
        assert not left, f"run {run}: workers {left} outlived the program"
