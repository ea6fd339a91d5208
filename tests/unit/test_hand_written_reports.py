"""Every report tests/reports.py writes by hand keeps the contract: the renderers and delivery are tested on
reports the pipeline could have produced, not on shapes it never would."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from analysis import report
from tests import reports as r


def _builders() -> dict[str, Callable[[], dict[str, Any]]]:
    """Every public function of tests/reports.py that builds a whole report without arguments."""
    found = {}
    for name, function in inspect.getmembers(r, inspect.isfunction):
        if name.startswith("_") or function.__module__ != r.__name__:
            continue
        parameters = inspect.signature(function).parameters.values()
        if all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters):
            found[name] = function
    return found


BUILDERS = {name: build for name, build in _builders().items() if "schema_version" in build()}


def test_the_builders_are_found():
    assert {"every_kind", "hostile", "empty_day", "daily_with_late_arrivals", "report"} <= set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_hand_written_report_validates_against_the_schema(name):
    report.validate(BUILDERS[name]())
