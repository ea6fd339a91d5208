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


def _sample_day() -> list[dict]:
    from pathlib import Path

    import analysis

    folder = Path(analysis.__file__).parent / "data" / "sample"
    return [item for item in read_files(sorted(folder.rglob("*.json*"))) if isinstance(item, dict)]


def test_a_probing_principals_event_gets_the_reports_advice_when_the_alert_state_saw_the_sweep():
    """svc-legacy's sweep of the sample day: the daily report (pandas, the whole day) says "do not grant:
    investigate"; one of its events alone says grant, but with ``reconnaissance=True`` (the alert state saw the
    threshold crossed) the event's advice and severity are the report's."""
    from tests.analysed import report_of

    options = Options(
        service="apprunner",
        trusted_accounts=frozenset({"123456789012"}),
        organization_accounts=frozenset({"111122223333", "444455556666", "777788889999", "210987654321"}),
        organization_id="o-a1b2c3d4e5",
    )
    records = _sample_day()
    report = report_of(records, options)
    legacy = next(f for f in report["findings"] if (f["principal"]["arn"] or "").endswith(":user/svc-legacy"))
    assert legacy["remedy"]["kind"] == "investigate"  # SAMPLE_DAY.md: the probing script, reconnaissance
    denial = next(
        r
        for r in records
        if is_denial(r)
        and r["eventSource"] == "apprunner.amazonaws.com"
        and (r.get("userIdentity") or {}).get("userName") == "svc-legacy"
    )
    alone = event_finding(denial, options)
    swept = event_finding(denial, options, reconnaissance=True)
    assert alone["remedy"]["kind"] == "grant"
    assert swept["remedy"]["kind"] == legacy["remedy"]["kind"]
    assert swept["severity"] == legacy["severity"]
    assert swept["remedy"]["notes"][0].startswith("At least 10 distinct actions were denied to this principal")
    assert swept["remedy"]["notes"][0].endswith("Do not grant.")
