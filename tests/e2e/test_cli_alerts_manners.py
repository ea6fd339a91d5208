"""``apprunner-audit alerts``: its manners (review findings 8 and 16): one note when no trusted or organization
accounts are given (every caller from another account then counts as unknown), a header that says what was read when
there is no window, a --suppressions document the user named that cannot be used is a usage error (exit 2, one
line) while refused entries stay warnings, and the fate of a denial that fired no rule is ``no_rule``.

Expected values come from the sample day's raw records read here with json and gzip only (no analysis code), and
from scripts/SAMPLE_DAY.md: scenario 4a, role/PartnerReadOnly of the trusted partner 123456789012, DescribeService x5;
scenario 4b, role/ExternalAuditor of the outside account 999988887777, 5 denials; the root user of 444455556666.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analysis.cli import main
from analysis.sources.files import bundled_sample_path
from tests.e2e.test_cli_alerts import DAY, ORGANIZATION

pytestmark = pytest.mark.e2e

PARTNER = "arn:aws:iam::123456789012:role/PartnerReadOnly"
NOTE = (
    "apprunner-audit: no --trusted-accounts or --org-accounts (TRUSTED_ACCOUNTS, ORG_ACCOUNTS): every caller from "
    "another account counts as unknown (the unknown_account rule)"
)
ENVIRONMENT = ("TRAIL_SOURCE", "ALERT_RULES", "ALERT_PERIOD_HOURS", "RECON_ACTIONS", "ORG_ID", "ORG_ACCOUNTS",
               "TRUSTED_ACCOUNTS", "AUDITED_SERVICE")  # fmt: skip


@pytest.fixture(autouse=True)
def _no_alert_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def _sample_denials() -> dict[str, dict[str, Any]]:
    """The sample day's App Runner denials by eventID (a redelivery once), read without analysis code."""
    records: list[dict[str, Any]] = []
    for path in sorted(bundled_sample_path().rglob("*.json.gz")):
        with gzip.open(path) as file:
            records += json.loads(file.read())["Records"]
    return {
        r["eventID"]: r
        for r in records
        if r["eventSource"] == "apprunner.amazonaws.com" and str(r.get("errorCode") or "").startswith("AccessDenied")
    }


def _run(capsys, *arguments: str) -> tuple[int, str, list[str]]:
    code = main(["alerts", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


# --- finding 8: without trusted or organization accounts, one note ------------------------------------------


def test_without_trusted_or_organization_accounts_one_note_says_outside_callers_count_as_unknown(capsys):
    denials = _sample_denials()
    # a caller whose account is known and is not the owner's: 4a (5) and 4b (5) in SAMPLE_DAY.md
    outsiders = [
        r for r in denials.values() if r["userIdentity"].get("accountId") not in (None, r["recipientAccountId"])
    ]
    assert len(denials) == 82 and len(outsiders) == 10
    code, _, err = _run(capsys, *DAY)
    assert code == 0
    [note] = [line for line in err if "every caller from another account" in line]
    assert note == f"{NOTE}; 10 of the 82 denial(s) here are by such callers"


@pytest.mark.parametrize(
    "settings",
    [
        ["--trusted-accounts", "123456789012"],
        ["--org-accounts", "111122223333,444455556666"],
        ORGANIZATION,
    ],
    ids=["trusted accounts", "organization accounts", "the sample organization"],
)
def test_no_note_once_trusted_or_organization_accounts_are_given(capsys, settings):
    code, _, err = _run(capsys, *DAY, *settings)
    assert code == 0 and not any("every caller from another account" in line for line in err)


def test_the_environment_counts_as_given_and_an_organization_id_alone_does_not(capsys, monkeypatch):
    monkeypatch.setenv("TRUSTED_ACCOUNTS", "123456789012")
    assert not any("every caller" in line for line in _run(capsys, *DAY)[2])
    monkeypatch.delenv("TRUSTED_ACCOUNTS")
    # an organization id tells no account apart: the rules need the accounts
    assert any(line.startswith(NOTE) for line in _run(capsys, *DAY, "--org-id", "o-a1b2c3d4e5")[2])


def test_quiet_hides_the_note(capsys):
    code, out, err = _run(capsys, *DAY, "-q")
    assert code == 0 and out and err == []


def test_what_the_note_warns_of_the_trusted_partner_fires_unknown_account_only_without_the_organization(capsys):
    """Review finding 8: docs/alerts-replay.md's figures need the sample organization; without it the trusted
    partner's role is an unknown account."""

    def partner_rules(*settings: str) -> set[str]:
        code, out, _ = _run(capsys, *DAY, *settings, "--format", "json")
        assert code == 0
        run = json.loads(out)
        return {rule["name"] for a in run["alerts"] if a["principal"] == PARTNER for rule in a["rules"]}

    assert "unknown_account" in partner_rules()
    assert "unknown_account" not in partner_rules(*ORGANIZATION)
    assert partner_rules(*ORGANIZATION)  # it still alerts, for another reason (first_seen)


# --- finding 16: the header says what was read ---------------------------------------------------------------


def test_without_a_window_the_header_says_all_records_and_when_the_denials_happened(capsys):
    times = sorted(r["eventTime"] for r in _sample_denials().values())
    code, out, _ = _run(capsys, "--source", "sample", *ORGANIZATION)
    assert code == 0
    assert (
        out.splitlines()[0] == f"all records in the sources (denials from {times[0]} to {times[-1]}); sources: sample"
    )
    assert "…" not in out.splitlines()[0]


@pytest.mark.parametrize(
    ("window", "header"),
    [
        (["--since", "2026-11-28T12:00:00Z"], "window from 2026-11-28T12:00:00Z (no end); sources: sample"),
        (["--until", "2026-11-28T12:00:00Z"], "window before 2026-11-28T12:00:00Z (no start); sources: sample"),
        (["--day", "2026-11-28"], "window 2026-11-28T00:00:00Z .. 2026-11-29T00:00:00Z; sources: sample"),
    ],
)
def test_a_window_open_on_one_side_says_so(capsys, window, header):
    code, out, _ = _run(capsys, "--source", "sample", *window, *ORGANIZATION)
    assert code == 0 and out.splitlines()[0] == header


def test_without_a_denial_the_header_says_there_was_none(capsys, tmp_path):
    (tmp_path / "trail.json").write_text(json.dumps({"Records": []}))
    code, out, _ = _run(capsys, "--source", str(tmp_path), *ORGANIZATION)
    assert code == 0
    assert out.splitlines()[0] == f"all records in the sources (no denial among them); sources: {tmp_path}"


# --- finding 16: a --suppressions document that cannot be used is a usage error --------------------------------


def _one_error_line(capsys, *arguments: str) -> str:
    code, out, err = _run(capsys, *DAY, *ORGANIZATION, *arguments)
    assert code == 2 and out == ""
    [line] = err
    assert line.startswith("apprunner-audit: error: --suppressions ")
    return line.removeprefix("apprunner-audit: error: ")


def test_a_directory_is_named_as_a_directory(capsys, tmp_path):
    assert (
        _one_error_line(capsys, "--suppressions", str(tmp_path))
        == f"--suppressions {tmp_path}: a directory, not a file"
    )


def test_a_missing_file_is_named_as_missing(capsys, tmp_path):
    missing = tmp_path / "none.json"
    assert _one_error_line(capsys, "--suppressions", str(missing)) == f"--suppressions {missing}: no such file"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"suppressions": [', "not JSON (Expecting value: line 1 column 19 (char 18))"),
        ("[]", 'not a suppression document ({"suppressions": [...]})'),
        ('{"suppressions": {}}', 'not a suppression document ({"suppressions": [...]})'),
        (b"\xff\xfe{}", "cannot be read (not UTF-8 text)"),
    ],
    ids=["not JSON", "a list", "suppressions not a list", "not UTF-8"],
)
def test_a_document_that_cannot_be_used_stops_the_run_in_one_line(capsys, tmp_path, content, why):
    path = tmp_path / "suppressions.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert _one_error_line(capsys, "--suppressions", str(path)) == f"--suppressions {path}: {why}"


def test_a_file_that_cannot_be_read_stops_the_run(capsys, tmp_path, monkeypatch):
    path = tmp_path / "suppressions.json"
    path.write_text('{"suppressions": []}')
    opened = Path.open

    def refuse(self: Path, *args, **kwargs):  # what a mode of 000 does to anyone but root (CI may run as root)
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert _one_error_line(capsys, "--suppressions", str(path)) == (
        f"--suppressions {path}: cannot be read (permission denied)"
    )


def test_a_refused_entry_is_a_warning_and_the_others_apply(capsys, tmp_path):
    ahead = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    document = {
        "suppressions": [
            {"principal": PARTNER, "reason": "partner sync being fixed (OPS-7)", "expires": ahead},
            {"account": "*", "reason": "everything", "expires": ahead},
        ]
    }
    path = tmp_path / "suppressions.json"
    path.write_text(json.dumps(document))
    code, out, err = _run(capsys, *DAY, *ORGANIZATION, "--suppressions", str(path), "--format", "json")
    assert code == 0
    [warning] = [line for line in err if line.startswith("apprunner-audit: warning: ")]
    assert f"suppressions[1] in {path}" in warning and "refused" in warning
    run = json.loads(out)
    suppressed = [item for item in run["not_alerted"] if item["fate"] == "suppressed"]
    assert len(suppressed) == 5 and {item["principal"] for item in suppressed} == {PARTNER}  # SAMPLE_DAY.md 4a: x5


def test_the_usage_error_names_the_document_in_s3_too(capsys, monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="ops-suppressions")
        line = _one_error_line(capsys, "--suppressions", "s3://ops-suppressions/none.json")
    assert line.startswith("--suppressions s3://ops-suppressions/none.json: cannot be read (")


# --- finding 16: the fate of a denial that fired no rule is no_rule -------------------------------------------


def test_a_denial_that_fires_no_rule_has_the_fate_no_rule_not_ignored(capsys, monkeypatch):
    """With only the root rule on, every denial but the root user's fires no rule: 82 - 2 (SAMPLE_DAY.md's root
    user of 444455556666 is denied twice, one key: it alerts once and is counted once)."""
    denials = _sample_denials()
    roots = [r for r in denials.values() if r["userIdentity"].get("type") == "Root"]
    assert len(roots) == 2 and len({(r["eventName"], r["recipientAccountId"]) for r in roots}) == 1
    monkeypatch.setenv("ALERT_RULES", "root")
    code, out, _ = _run(capsys, *DAY, *ORGANIZATION, "--format", "json")
    assert code == 0
    run = json.loads(out)
    assert "ignored" not in run["counts"]
    assert (run["counts"]["no_rule"], run["counts"]["alert"], run["counts"]["counted"]) == (80, 1, 1)
    fates = {item["fate"] for item in run["not_alerted"]}
    assert fates == {"no_rule", "counted", "redelivered"}
    assert len([item for item in run["not_alerted"] if item["fate"] == "no_rule"]) == 80
    text_code, text, _ = _run(capsys, *DAY, *ORGANIZATION)
    assert text_code == 0 and "80 no rule fired" in text.splitlines()[1]
