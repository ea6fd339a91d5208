"""Advice for each finding (filled in by the remedies work)."""

from __future__ import annotations

from typing import Any


def advise(findings: list[dict[str, Any]], frame: Any, options: Any) -> None:
    return None
