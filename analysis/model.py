"""The types every layer shares: the reporting window, the advice settings (a leaf: imports nothing of ours)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DEFAULT_SERVICE = "apprunner"


@dataclass(frozen=True)
class Window:
    """The reporting window, ``[start, end)`` on ``eventTime``; None means unbounded."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass
class Options:
    """The audited service and what the remedy rules need to know about the organization."""

    service: str = DEFAULT_SERVICE
    trusted_accounts: frozenset[str] = frozenset()
    organization_accounts: frozenset[str] = frozenset()
    organization_id: str | None = None
    recon_distinct_actions: int = 10
    recon_window_minutes: int = 10
