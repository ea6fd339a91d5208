"""Every policy the remedies propose, proven by an IAM evaluator (analysis.proof, iamprover on Z3): each refused
request it is meant to fix is allowed, and nothing else is. Over the bundled sample day, the real corpus and the
hand-written edge records (tests/data/edge, one case per file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analysis.demo import DEMO_ORGANIZATION, DEMO_TRUSTED_ACCOUNTS
from analysis.pipeline import Options, analyse
from analysis.proof import Proof, proof_line, prove_report
from analysis.sources.files import FileSource, sample_source
from tests.conftest import DATA, REAL

pytestmark = pytest.mark.integration

EDGE = DATA / "edge"


def unproven(report: dict[str, Any]) -> list[str]:
    """Each finding whose proposed policies are not proven, with every counterexample and problem."""
    return [_explained(proof) for proof in prove_report(report) if proof.status == "not_proven"]


def _explained(proof: Proof) -> str:
    reasons = [c.describe() for c in proof.counterexamples] + list(proof.problems)
    return "\n    ".join([proof_line(proof), *reasons])


def _report(*sources: Any, options: Options) -> dict[str, Any]:
    return analyse(list(sources), options=options).report.document()


def test_every_policy_of_the_sample_day_is_proven():
    options = Options(
        trusted_accounts=DEMO_TRUSTED_ACCOUNTS, organization_accounts=DEMO_ORGANIZATION, organization_id="o-a1b2c3d4e5"
    )
    report = _report(sample_source(), options=options)
    assert any(f["remedy"] and f["remedy"]["policy"] for f in report["findings"]), "the sample day proposes policies"
    failing = unproven(report)
    assert not failing, "\n".join(failing)


def test_every_policy_of_the_real_corpus_is_proven():
    report = _report(FileSource(REAL), options=Options(service="all"))
    assert any(f["remedy"] and f["remedy"]["policy"] for f in report["findings"]), "the corpus gets policies"
    failing = unproven(report)
    assert not failing, "\n".join(failing)


@pytest.mark.parametrize("path", sorted(EDGE.glob("*.json")), ids=lambda path: path.name)
def test_every_policy_of_an_edge_record_is_proven(path: Path):
    failing = unproven(_report(FileSource(path), options=Options(service="all")))
    assert not failing, "\n".join(failing)


def test_the_edge_records_folder_is_there_and_says_what_goes_in_it():
    # The parametrized test above runs once per record file: none yet is no failure, a missing folder would be.
    assert "one file per case" in (EDGE / "README.md").read_text().lower()
