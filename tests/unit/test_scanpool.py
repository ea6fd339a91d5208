"""The worker pools: results in order, errors in order, read-ahead bounded, settings from the environment."""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from analysis import scanpool


def test_ordered_map_keeps_the_order_and_reads_ahead_in_threads():
    seen: set[str] = set()

    def work(n: int) -> int:
        seen.add(threading.current_thread().name)
        return n * n

    assert list(scanpool.ordered_map(work, range(50), workers=3)) == [n * n for n in range(50)]
    assert any(name.startswith("apprunner-audit-read") for name in seen)
    assert list(scanpool.ordered_map(work, range(5), workers=1)) == [0, 1, 4, 9, 16]


def test_ordered_map_raises_the_first_error_in_order_and_stops():
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 3:
            raise ValueError("three")
        return n

    results = scanpool.ordered_map(work, range(1000), workers=2, ahead=4)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="three"):
        next(results)
    assert len(started) < 20, "no more than the read-ahead is started"


def test_read_workers_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("APPRUNNER_AUDIT_READ_WORKERS", "3")
    assert scanpool.read_workers() == 3
    monkeypatch.setenv("APPRUNNER_AUDIT_READ_WORKERS", "zero")
    assert scanpool.read_workers(5) == 5


def _collector_running(_: int) -> bool:
    import gc

    return gc.isenabled()


def test_a_worker_forked_while_the_collector_is_paused_runs_it_again():
    from analysis.cycle_collector import no_cycle_collection

    with no_cycle_collection():
        running = list(scanpool.ordered_map(_collector_running, range(4), 2, processes=True))
    assert running == [True] * 4


def test_started_map_hands_its_first_tasks_to_the_workers_before_it_is_read():
    begun = threading.Event()
    seen: list[int] = []

    def work(n: int) -> int:
        seen.append(n)
        begun.set()
        return n + 1

    results = scanpool.started_map(work, range(40), workers=2, first=10)
    assert begun.wait(5), "a task ran before the first result was asked for"
    assert list(results) == list(range(1, 41))
    assert sorted(seen) == list(range(40))


def test_started_map_submits_first_tasks_then_keeps_the_usual_read_ahead():
    submitted: list[int] = []

    def items():
        for n in range(1000):
            submitted.append(n)
            yield n

    results = scanpool.started_map(lambda n: n, items(), workers=2, first=30)
    assert len(submitted) == 30  # before any result is read
    assert [next(results) for _ in range(40)] == list(range(40))
    assert len(submitted) <= 40 + 2 * 2 + 1, "once read, 2 x workers tasks ahead, not 30"
    results.close()


def test_started_map_in_one_worker_is_map():
    assert list(scanpool.started_map(lambda n: n * 2, range(5), workers=1, first=3)) == [0, 2, 4, 6, 8]


def test_closing_a_started_map_ends_its_worker_processes():
    results = scanpool.started_map(_collector_running, range(200), workers=2, first=4, processes=True)
    processes = multiprocessing.active_children()
    assert processes, "worker processes started before anything was read"
    results.close()
    for process in processes:
        process.join(timeout=5)
    assert not any(process.is_alive() for process in processes)


def test_an_error_of_the_items_themselves_comes_after_every_result_computed_before_it():
    """As in map(): a listing that fails after 10 items gives the results the pool had, then its error."""

    def items():
        yield from range(10)
        raise OSError("listing failed")

    results = scanpool.ordered_map(lambda n: n, items(), workers=2, ahead=4)
    got = []
    with pytest.raises(OSError, match="listing failed"):
        for result in results:
            got.append(result)
    assert got == list(range(7))  # the 4 ahead: 7, 8 and 9 were in flight when the listing failed
