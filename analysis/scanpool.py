"""Worker pools that load files ahead of the parser, and their settings.

Loading (a read or an S3 GET, gunzip, the byte scan of :mod:`analysis.fastscan`) runs in threads, or in
processes when the files are many and large; results come back in the order of the inputs.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from itertools import islice
from typing import Any, TypeVar, cast

PROCESS_MIN_FILES = 16
PROCESS_BATCH = 8  # files per task sent to a worker process
PROCESS_MIN_BYTES = 64 * 1024 * 1024  # on disk: below this, starting processes costs more than it saves
log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def read_workers(default: int | None = None) -> int:
    """Workers that load files ahead of the parser (``APPRUNNER_AUDIT_READ_WORKERS``; default: the cores)."""
    configured = os.environ.get("APPRUNNER_AUDIT_READ_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return default if default is not None else max(2, min(8, os.cpu_count() or 2))


def use_processes(total_bytes: int, files: int) -> bool:
    """Whether loading is worth worker processes: many large files, unless switched off or on.

    ``APPRUNNER_AUDIT_READ_PROCESSES=0`` keeps threads, ``=1`` always takes processes.
    """
    configured = os.environ.get("APPRUNNER_AUDIT_READ_PROCESSES", "")
    if configured in {"0", "1"}:
        return configured == "1"
    return files >= PROCESS_MIN_FILES and total_bytes >= PROCESS_MIN_BYTES and (os.cpu_count() or 1) > 1


def ordered_map(
    function: Callable[[T], R], items: Iterable[T], workers: int, ahead: int | None = None, *, processes: bool = False
) -> Iterator[R]:
    """``map(function, items)`` computed by ``workers`` threads (or processes), ``ahead`` tasks ahead, in order.

    Threads suit I/O and gzip (python-isal, file reads and AWS calls release the GIL); processes also
    run the byte scans and parsing, which hold it, on other cores (``function``, the items and the
    results must pickle; items go ``PROCESS_BATCH`` to a task). Where processes cannot start (AWS
    Lambda has no ``/dev/shm``), threads do the work. An exception raised by ``function`` is raised
    here, in order.
    """
    return cast(Iterator[R], _ordered_map(function, items, workers, ahead, processes=processes))


def started_map(
    function: Callable[[T], R], items: Iterable[T], workers: int, first: int, *, processes: bool = False
) -> Generator[R, None, None]:
    """:func:`ordered_map` with its first ``first`` tasks (batches, with processes) handed to the workers before
    it returns: they work while the caller does something else (imports), and the results wait for it. Once
    the caller reads, the usual ``2 * workers`` tasks are kept ahead. Close the iterator to stop them."""
    results = _ordered_map(function, items, workers, None, processes=processes, first=first)
    next(results)  # _STARTED: the first tasks are with the workers
    return cast(Generator[R, None, None], results)


_STARTED = object()  # what _ordered_map yields once its first tasks are submitted, when asked to


def _ordered_map(
    function: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    ahead: int | None,
    *,
    processes: bool,
    first: int | None = None,
) -> Generator[Any, None, None]:
    if workers <= 1:
        if first is not None:
            yield _STARTED
        yield from map(function, items)
        return
    pool = _process_pool(workers) if processes else None
    if pool is None:
        threads = ThreadPoolExecutor(workers, "apprunner-audit-read")
        first_items = first * PROCESS_BATCH if first is not None and processes else first  # files, not batches
        yield from _pooled(threads, function, items, ahead or 2 * workers, first_items)
        return
    batches = _batched(items, PROCESS_BATCH)
    for results in _pooled(pool, partial(_apply_each, function), batches, ahead or 2 * workers, first):
        if results is _STARTED:
            yield results
        else:
            yield from results


def _pooled(
    pool: Executor, function: Callable[[T], R], items: Iterable[T], ahead: int, first: int | None = None
) -> Iterator[Any]:
    """The results in order, ``ahead`` tasks submitted ahead (``first`` at the start, then :data:`_STARTED`
    yielded). Stopped early (Ctrl-C, an error, a reader that stops reading) the pool stops at once: nothing more
    is started, worker processes are ended, threads finish their one task each."""
    pending: deque[Future[R]] = deque()
    waiting = iter(items)
    finished = False
    try:
        pending.extend(pool.submit(function, item) for item in islice(waiting, ahead if first is None else first))
        if first is not None:
            yield _STARTED
        while pending:
            yield pending.popleft().result()
            # Topped up after the result is used: an error raised by the items themselves (a listing that fails
            # part-way) then comes after every result already computed, as it would in map().
            pending.extend(pool.submit(function, item) for item in islice(waiting, max(0, ahead - len(pending))))
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _stop_now(pool)


def _stop_now(pool: Executor) -> None:
    """Cancel what has not started and end worker processes in their task (loading only reads: nothing is left
    half-written); a thread cannot be ended, and finishes the one file it reads."""
    if isinstance(pool, ProcessPoolExecutor):
        _end_worker_processes(pool)
    else:
        pool.shutdown(wait=False, cancel_futures=True)


def _end_worker_processes(pool: ProcessPoolExecutor) -> None:
    """End the workers, busy or not, and leave the pool's manager thread free to end too.

    ProcessPoolExecutor offers no public way to end busy workers before Python 3.14 (``terminate_workers``).
    A worker ended part-way through sending a result leaves the pool's manager thread reading the rest of it
    for ever, and Python's exit waiting for that thread (``concurrent.futures``' exit handler joins it). Once
    the workers are gone, the pool's own copy of the pipe's writing end is the last one (the pool never writes
    to it, and submits nothing more): closed, the thread reads the end of the pipe instead, takes the pool for
    broken and ends.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    results_writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    # Before the workers end, and no future cancelled here: the manager thread cancels those not started itself.
    # One cancelled by another thread stays in its list, and failing it once the workers are gone raises
    # InvalidStateError, printed as the manager thread dies (seen with more tasks ahead than workers).
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=1)
        if process.is_alive():
            process.kill()
            process.join(timeout=1)
    if results_writer is not None:
        results_writer.close()
    # Let that thread end now: Python 3.11's exit handler wakes each manager thread without a lock, and one closing
    # its wake-up pipe at that moment makes the exit print an ignored EBADF traceback (fixed in CPython 3.12).
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None and manager is not threading.current_thread():
        manager.join(timeout=1)


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _apply_each(function: Callable[[T], R], batch: list[T]) -> list[R]:
    return [function(item) for item in batch]


def _process_pool(workers: int) -> Executor | None:
    try:
        context = multiprocessing.get_context(_start_method())
        return ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_interrupts)
    except (OSError, NotImplementedError, ImportError, ValueError) as error:  # AWS Lambda: no semaphores
        log.info("worker processes unavailable (%s): reading with threads", error)
        return None


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C (SIGINT, sent to the terminal's whole process group) is the parent's to handle, which
    then ends the workers; a worker raising KeyboardInterrupt itself would only print a traceback of its own. The
    cycle collector, which a forked worker inherits paused (``cycle_collector.no_cycle_collection``), runs again."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.enable()


def _start_method() -> str:
    """``fork`` while this process runs one thread (workers start at once, nothing re-imported), else
    ``forkserver`` (safe beside threads), else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"
