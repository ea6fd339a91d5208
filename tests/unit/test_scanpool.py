"""The worker pools: results in order, errors in order, read-ahead bounded, settings from the environment."""

from __future__ import annotations

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
