"""The advice settings every layer shares (a leaf module: it imports nothing of the project)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Options:
    """The audited service and what the remedy rules need to know about the organization."""

    service: str = "apprunner"
    trusted_accounts: frozenset[str] = frozenset()
    organization_accounts: frozenset[str] = frozenset()
    organization_id: str | None = None
    recon_distinct_actions: int = 10
    recon_window_minutes: int = 10
