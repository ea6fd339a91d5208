"""Shared fixtures. moto is imported before any boto3 client exists, and no test reaches real AWS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)

import moto  # noqa: F401  (before any boto3 client)
from hypothesis import settings

# Hypothesis: random in local runs; in CI (CI=true) derandomised, so a rare case found by chance never flakes a run
# (the seed is derived from each test). HYPOTHESIS_PROFILE picks one by name (`make fuzz` explores longer).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("fuzz", max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "default"))

DATA = Path(__file__).parent / "data"
REAL = DATA / "real"


@pytest.fixture
def real_corpus() -> Path:
    return REAL


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests are marked by their folder: tests/unit, tests/integration, tests/e2e."""
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in {"unit", "integration", "e2e"}:
            item.add_marker(getattr(pytest.mark, folder))
