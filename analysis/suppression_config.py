"""Loading alert suppressions from S3, SSM or a file (placeholder: being written)."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.alerting.suppressions import Suppressions


@dataclass
class SuppressionCache:
    spec: str

    @classmethod
    def for_spec(cls, spec: str) -> SuppressionCache:
        return cls(spec)

    def current(self) -> Suppressions:
        return Suppressions()
