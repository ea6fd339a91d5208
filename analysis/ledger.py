"""Which denials each daily report counted, so every denial is reported exactly once.

An event is known by ``(eventID, recipientAccountId)``, the same pair the report uses to drop
repeats. Each daily run *claims* the events it reports (the claim is written before the report is
built or sent, as a conditional write), and keeps the report beside its claims:

- an event of this run's window that no other run claimed is counted in this report;
- an event of an earlier window that no run claimed yet is a *late arrival*: its log came after
  that window's report, so this report lists it in its own section, with its original window;
- an event another run already claimed is skipped.

A run that is repeated (a retry, a re-run of the same day) owns its own claims again, so it
produces the same report instead of an empty one.

Records without an ``eventID`` cannot be tracked across runs: they are never claimed, and are
counted only by the report of the window holding their ``eventTime`` (each run of that day counts
them again; no later run lists them as late).

This module decides (pure functions over plain data); the claims are kept by the stores of
:mod:`analysis.ledger_stores` (a JSON file per run, or DynamoDB).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

EventKey = tuple[str, str]  # (eventID, recipientAccountId or "")


def event_key(event_id: Any, recipient_account_id: Any) -> EventKey | None:
    """The ledger key of a denial, or None when it has no eventID (untrackable)."""
    if not isinstance(event_id, str) or not event_id:
        return None
    return (event_id, recipient_account_id if isinstance(recipient_account_id, str) else "")


# --- deciding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Where each tracked denial of a run goes."""

    current: frozenset[EventKey]  # this window, not claimed by another run: count here
    late: Mapping[EventKey, str]  # earlier window, not claimed by any run -> original window
    already: Mapping[EventKey, str]  # claimed by another run -> that run's window: skip
    later: frozenset[EventKey]  # after this window: a later run's business


def split(candidates: Mapping[EventKey, str], window: str, reported: Mapping[EventKey, str]) -> Split:
    """Split a run's denials (key -> window of its eventTime) given the claims already recorded.

    Window keys are ``YYYY-MM-DD`` so their order is the days' order. Claims made by ``window``
    itself count as not yet made (a repeated run reproduces its report).
    """
    current, later = set(), set()
    late: dict[EventKey, str] = {}
    already: dict[EventKey, str] = {}
    for key, home in candidates.items():
        owner = reported.get(key)
        if owner is not None and owner != window:
            already[key] = owner
        elif home == window:
            current.add(key)
        elif home < window:
            late[key] = home
        else:
            later.add(key)
    return Split(frozenset(current), late, already, frozenset(later))


def claims(split_: Split, window: str) -> dict[EventKey, str]:
    """The claims a run records: each key with its original window (this window for current ones)."""
    return {**{key: window for key in split_.current}, **split_.late}


# --- what a store offers -----------------------------------------------------------------------


class Ledger(Protocol):
    """Where claims and reports are kept (:mod:`analysis.ledger_stores`)."""

    def reported(self, keys: Collection[EventKey]) -> dict[EventKey, str]:
        """For each key already claimed, the window of the run that claimed it."""
        ...

    def claim(self, run: str, entries: Mapping[EventKey, str]) -> frozenset[EventKey]:
        """Record ``entries`` (key -> original window) as counted by ``run``; return the keys ``run``
        now owns (newly claimed, or claimed by ``run`` before). Keys owned by another run are left."""
        ...

    def counted(self, run: str) -> dict[EventKey, str]:
        """Every key ``run`` claimed, with its original window."""
        ...

    def save_report(self, run: str, report: Mapping[str, Any]) -> None: ...

    def load_report(self, run: str) -> dict[str, Any] | None: ...
