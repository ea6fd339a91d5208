"""--redact masks account IDs, ARNs' names, sessions and IPs consistently; access keys never reach a report."""

import json

import pytest

from analysis.pipeline import Options, analyse
from analysis.redact import mask_secrets, redact_report
from analysis.render import render
from analysis.render.text import finding_text
from tests import factories as f

SECRETS = ["111122223333", "444455556666", "dev-alice", "GitHubActionsDeploy", "run-7", "198.51.100.7"]


def _report():
    records = [f.record() for _ in range(3)]
    records += [f.record(identity=f.assumed_role("GitHubActionsDeploy", "run-7")) for _ in range(2)]
    records += [f.record(identity=f.aws_account("444455556666", "partner"), error_message="Access Denied")]
    return analyse([f.MemorySource(records)], options=Options()).report.document()


def test_no_identifying_string_survives_and_structure_is_kept():
    report = _report()
    redacted = redact_report(report)
    text = json.dumps(redacted)
    assert [s for s in SECRETS if s in text] == []
    assert redacted["redacted"] is True
    assert len(redacted["findings"]) == len(report["findings"])
    assert redacted["totals"] == report["totals"]


def test_the_same_value_gets_the_same_pseudonym_everywhere():
    redacted = redact_report(_report())
    alice = next(x for x in redacted["findings"] if x["principal"]["type"] == "IAMUser")
    account = alice["principal"]["account_id"]
    assert alice["principal"]["arn"] == f"arn:aws:iam::{account}:user/" + alice["principal"]["arn"].rsplit("/", 1)[1]
    assert alice["target_account_id"] == account
    resource = alice["actions"][0]["resources"][0]
    assert resource.split(":")[4] == account
    user = alice["principal"]["arn"].rsplit("/", 1)[1]
    assert any(f"--user-name {user} " in c for c in alice["remedy"]["commands"])


def test_access_key_ids_are_masked_in_every_report():
    assert (
        mask_secrets("key AKIAIOSFODNN7EXAMPLE and ASIAEXAMPLETEMPKEY12") == "key AKIA************ and ASIA************"
    )
    record = f.record(error_message="Access Denied")
    record["userAgent"] = "leaky-tool AKIAIOSFODNN7EXAMPLE"
    report = analyse([f.MemorySource([record])]).report.document()
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(report)


def test_times_are_not_taken_for_ipv6_addresses_and_full_addresses_are_masked():
    from analysis.redact import redact_report

    report = {
        "generated_at": "2026-11-28T09:15:00Z",
        "window": {"start": "2026-11-27T08:00:00Z", "end": None},
        "findings": [{"principal": {"sessions": []}, "source_ips": ["2001:0db8:85a3:0000:0000:8a2e:0370:7334"]}],
    }
    redacted = redact_report(report)
    assert redacted["generated_at"] == "2026-11-28T09:15:00Z"
    assert redacted["window"]["start"] == "2026-11-27T08:00:00Z"
    assert "2001:0db8" not in str(redacted["findings"])


# A session token as AWS STS writes one (the AWS CLI user guide's example begins "IQoJb3JpZ2luX2Vj…").
TOKEN = (
    "IQoJb3JpZ2luX2VjEOz////////////////////wEaCXVzLWVhc3QtMSJHMEUCIDoKK3JH9uGQE1z0sINr5M4jk+Na"
    "8KHDcCYRVjJCZEvOAiEA3OvJGtw1EcViOleS2vhs8VdCKFJQWPQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy"
    "0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZb"
    "qBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)


@pytest.mark.parametrize("form", ["json", "md", "html", "csv", "text"])
def test_a_key_glued_to_a_word_and_a_session_token_are_masked_in_every_format(form):
    record = f.record(error_message=f"Access Denied (token {TOKEN})")
    record["userAgent"] = "ci_AKIAIOSFODNN7EXAMPLE deploy"
    report = analyse([f.MemorySource([record])]).report
    rendered = render(report, form) if form != "text" else finding_text(report.findings[0])
    assert "IOSFODNN7EXAMPLE" not in rendered and TOKEN[:40] not in rendered


def test_masking_keeps_the_prefix_and_leaves_other_words_alone():
    assert mask_secrets("ci_AKIAIOSFODNN7EXAMPLE") == "ci_AKIA************"
    assert mask_secrets(f"x {TOKEN} y") == "x IQoJb3JpZ2lu…(session token masked) y"
    assert mask_secrets("XAKIAIOSFODNN7EXAMPLEX AROAEXAMPLEROLEID12") == "XAKIAIOSFODNN7EXAMPLEX AROAEXAMPLEROLEID12"
