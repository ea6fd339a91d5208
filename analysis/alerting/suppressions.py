"""Suppressions of alerts (placeholder: being written)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analysis.contract import Finding


@dataclass(frozen=True)
class Suppression:
    reason: str
    expires: datetime


@dataclass(frozen=True)
class Suppressions:
    items: tuple[Suppression, ...] = ()
    problems: tuple[str, ...] = ()  # entries or documents that could not be read, named

    def matching(self, finding: Finding, at: datetime) -> Suppression | None:
        return None

    def expired(self, at: datetime) -> list[Suppression]:
        return [item for item in self.items if item.expires <= at]
