"""The alert path's pandas-free finding of one event equals the daily report's finding of that event."""

from __future__ import annotations

import pytest

from analysis.contract import Finding
from analysis.denials import is_denial
from analysis.event_finding import event_finding
from analysis.explain import explain_record
from analysis.pipeline import Options
from analysis.sources.files import read_files
from tests.conftest import REAL

OPTIONS = Options(
    service="all",
    trusted_accounts=frozenset({"123456789012"}),
    organization_accounts=frozenset({"111122223333"}),
    organization_id="o-a1b2c3d4e5",
)


def _real_denials() -> list[dict]:
    records = [item for item in read_files(sorted(REAL.iterdir())) if isinstance(item, dict)]
    return [record for record in records if is_denial(record)]


DENIALS = _real_denials()


def test_the_corpus_has_its_320_denials():
    # tests/data/real/SOURCES.md and docs/messages.md count 320 denial records across the real files
    assert len(DENIALS) == 320


@pytest.mark.parametrize("index", range(len(DENIALS)))
def test_one_event_gives_the_finding_the_frame_gives(index):
    record = DENIALS[index]
    assert Finding.model_validate(event_finding(record, OPTIONS)) == explain_record(record, "corpus", OPTIONS)
