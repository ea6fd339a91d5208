"""One run, to explore: the report and the denial rows behind it, from any source or a stored ``report.json``.

Every table here is computed from the report (the contract, ``docs/CONTRACT.md``), so a stored report gives the
same tables as a fresh run; the denial rows (``Exploration.frame``) are only there for a fresh run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.contract import Finding, Report
from analysis.model import Options, Window


@dataclass(frozen=True)
class Exploration:
    """A run to explore: ``report`` (the contract), ``frame`` (one row per denial, ``None`` for a stored report)
    and ``source`` (what was read, in words)."""

    report: Report
    frame: pd.DataFrame | None
    source: str


def explore(source: str = "sample", *, window: Window | None = None, options: Options | None = None) -> Exploration:
    """Read ``source`` as the CLI's ``--source`` does (``sample``, a folder, ``s3://``, ``lookup:``, ``athena:``,
    ``lake:``) or load a stored ``report.json`` (a path ending in ``.json`` holding a report)."""
    raise NotImplementedError


def principal_label(finding: Finding) -> str:
    """A short name for a finding's principal, unique among a report's findings."""
    raise NotImplementedError


def day_in_numbers(report: Report) -> pd.DataFrame:
    """One row per figure of the run: records read, denials, principals, findings, actions, malformed records,
    sources read and failed, the window."""
    raise NotImplementedError


def denials_over_time(report: Report) -> pd.Series:
    """Denials per bucket of the report's timeline, indexed by each bucket's UTC start."""
    raise NotImplementedError


def principal_action_matrix(report: Report, *, top: int | None = None) -> pd.DataFrame:
    """Denials per principal (rows, :func:`principal_label`) and action (columns), busiest first."""
    raise NotImplementedError


def top_principals(report: Report, n: int = 10) -> pd.DataFrame:
    raise NotImplementedError


def top_actions(report: Report, n: int = 10) -> pd.DataFrame:
    raise NotImplementedError


def top_reasons(report: Report) -> pd.DataFrame:
    raise NotImplementedError


def severity_and_remedies(report: Report) -> pd.DataFrame:
    """Findings and denials per severity × remedy kind."""
    raise NotImplementedError
