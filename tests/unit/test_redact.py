"""--redact masks account IDs, ARNs' names, sessions and IPs consistently; access keys never reach a report."""

import json
import re

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


@pytest.mark.parametrize("form", ["json", "md", "html", "csv", "csv_details", "text"])
def test_a_key_glued_to_a_word_and_a_session_token_are_masked_in_every_format(form):
    record = f.record(error_message=f"Access Denied (token {TOKEN})")
    record["userAgent"] = "ci_AKIAIOSFODNN7EXAMPLE deploy"
    report = analyse([f.MemorySource([record])]).report
    rendered = render(report, form) if form != "text" else finding_text(report.findings[0])
    assert "IOSFODNN7EXAMPLE" not in rendered and TOKEN[:40] not in rendered


def test_masking_keeps_the_prefix_and_leaves_other_words_alone():
    assert mask_secrets("ci_AKIAIOSFODNN7EXAMPLE") == "ci_AKIA************"
    assert mask_secrets(f"x {TOKEN} y") == "x IQoJb3JpZ2lu…(session token masked) y"
    assert mask_secrets("AROAEXAMPLEROLEID12") == "AROAEXAMPLEROLEID12"  # a role's unique ID is not a credential


# An access key ID is 20 characters: a four-character prefix and 16 upper-case letters and digits (IAM user guide,
# "IAM identifiers", unique ID prefixes: AKIA access key, ASIA temporary key, ABIA STS service bearer token,
# ACCA context-specific credential; A3T… the oldest keys). Glued to whatever comes before or after, it is a key.
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("CIAKIAIOSFODNN7EXAMPLE", "CIAKIA************"),
        ("ci1AKIAIOSFODNN7EXAMPLE", "ci1AKIA************"),
        ("XAKIAIOSFODNN7EXAMPLEX", "XAKIA************X"),
        ("key=ASIAEXAMPLETEMPKEY12.", "key=ASIA************."),
        ("A3TBEXAMPLEKEY1234567", "A3TB************7"),
        ("ABIAEXAMPLEBEARER123", "ABIA************"),
    ],
)
def test_an_access_key_id_glued_to_letters_or_digits_is_masked(text, masked):
    assert mask_secrets(text) == masked


def test_an_access_key_id_in_a_url_encoded_credential_is_masked():
    text = "X-Amz-Credential%3DAKIAIOSFODNN7EXAMPLE%2F20261128%2Fus-east-1%2Fs3%2Faws4_request%26X-Amz-Date"
    masked = mask_secrets(text)
    assert "IOSFODNN7EXAMPLE" not in masked and "20261128%2Fus-east-1" not in masked
    assert masked.startswith("X-Amz-Credential%3D(masked)")


@pytest.mark.parametrize("separator", ["%3D", "%3d", "%3A", "="])
def test_a_signing_value_after_an_encoded_separator_is_masked_whole(separator):
    text = f"?q=1%26X-Amz-Signature{separator}3f7c2b1a9e8d7c6b5a4f3e2d1c0b9a8f&next"
    assert mask_secrets(text) == f"?q=1%26X-Amz-Signature{separator}(masked)&next"


def test_a_sigv2_signature_after_an_encoded_ampersand_is_masked():
    """A presigned URL inside another URL's query: its & are %26 (RFC 3986)."""
    text = "next=https%3A%2F%2Fb.s3.amazonaws.com%2Fk%3FExpires%3D1%26Signature%3DvjbyPxybdZaNmGa%252ByT2%26x%3D1"
    assert (
        mask_secrets(text) == "next=https%3A%2F%2Fb.s3.amazonaws.com%2Fk%3FExpires%3D1%26Signature%3D(masked)%26x%3D1"
    )


def test_ordinary_words_and_ids_that_are_not_keys_are_left_alone():
    text = "AROAEXAMPLEROLEID1234 AIDAEXAMPLEUSERID1234 AKIA-short ASIA ACCOUNTING DEPARTMENT ABIAS"
    assert mask_secrets(text) == text


# Session tokens as STS has written them over the years: base64 of a serialised message whose first field is a
# string (an "origin" or "er/aws" or "aws" tag), so each era's tokens start alike: IQoJb3JpZ2lu and AgoJb3JpZ2lu
# (today), FwoGZXIvYXdzE and FQoGZXIvYXdzE, FQoDYXdzE and AQoDYXdzE (older), AQoEXAMPLE (the AWS documentation's
# example). In a URL or a form they are URL-encoded (+ is %2B, / is %2F, = is %3D).
@pytest.mark.parametrize(
    "token",
    [
        "IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2F%2F%2F%2F%2FwEaCXVzLWVhc3QtMSJHMEUCIQD%2Btest",
        "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+test",
        "AgoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+test",
        "FwoGZXIvYXdzEBYaDHh5enRlc3R0b2tlbiKlAT%2BtestTokenBody%3D%3D",
        "FQoGZXIvYXdzEBYaDHh5enRlc3R0b2tlbiKlAT+testTokenBody==",
        "FQoDYXdzEJr%2F%2Fsome%2Btoken%3D",
        "FQoDYXdzEPT//////////wEaDDp1c3Rlc3R0b2tlbmJvZHk=",
        "AQoDYXdzEPT//////////wEaDDp1c3Rlc3R0b2tlbmJvZHk=",
        "AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT+FvwqnKwRcOIfrRh3c/LTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE",
    ],
)
@pytest.mark.parametrize("around", ["{}", "token={}&next=1", "x-amz-security-token: {}", "glued{}"])
def test_a_session_token_of_any_era_plain_or_url_encoded_is_masked(token, around):
    masked = mask_secrets(around.format(token))
    tail = token[14:]
    assert [tail[i : i + 6] for i in range(0, len(tail) - 5, 3) if tail[i : i + 6] in masked] == []


# --- issue 11: what each kind of identifier becomes ----------------------------------------------------------------


def _redacted_text(text: str) -> str:
    """One free-text string redacted as a note of a report would be."""
    report = {"findings": [{"remedy": {"notes": [text]}}]}
    return redact_report(report)["findings"][0]["remedy"]["notes"][0]


@pytest.mark.parametrize(
    ("arn", "kept", "gone"),
    [
        # S3 buckets' ARNs have no resource type: the bucket is a name (S3 user guide, "Policy resources")
        ("arn:aws:s3:::payroll-exports/2026/report.csv", ["arn:aws:s3:::"], ["payroll-exports", "report.csv"]),
        ("arn:aws:sns:us-east-1:111122223333:payroll-alerts", ["arn:aws:sns:us-east-1:"], ["payroll-alerts"]),
        # AWS managed policies are AWS's names
        ("arn:aws:iam::aws:policy/service-role/AWSAppRunnerServicePolicyForECRAccess", ["AWSAppRunnerService"], []),
        # Identity Center: the path, its Region and the prefix stay; the permission set and the suffix go
        (
            "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Payroll_0a1b2c3d4e5f6789",
            ["role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_"],
            ["Payroll", "0a1b2c3d4e5f6789", "111122223333"],
        ),
        # a log group's wildcard and AWS's /aws/<service>/ path stay
        (
            "arn:aws:logs:us-east-1:111122223333:log-group:/aws/apprunner/payroll:*",
            ["log-group:/aws/apprunner/", ":*"],
            ["payroll"],
        ),
        # a path part is a name too
        ("arn:aws:iam::111122223333:role/payroll-team/Deploy", ["role/"], ["payroll-team", "Deploy"]),
    ],
)
def test_each_part_of_an_arn_is_kept_or_replaced_by_what_it_is(arn, kept, gone):
    redacted = _redacted_text(f"see {arn} now")
    assert all(k in redacted for k in kept), redacted
    assert [g for g in gone if g in redacted] == [], redacted
    assert redacted.startswith("see arn:") and redacted.endswith(" now")


def test_a_permission_set_keeps_the_shape_identity_center_gives_its_role():
    from analysis.principals import identity_center_permission_set

    records = [f.record("CreateService", identity=f.identity_center_role("Payroll_Admins", "jane@example.com"))]
    [finding] = redact_report(analyse([f.MemorySource(records)]).report.document())["findings"]
    principal = finding["principal"]
    assert principal["permission_set"] == identity_center_permission_set(principal["arn"]) != "Payroll_Admins"
    assert "Payroll_Admins" not in json.dumps(finding) and "jane" not in json.dumps(finding)


def test_an_aws_predefined_permission_set_is_kept():
    records = [f.record("CreateService", identity=f.identity_center_role("ReadOnlyAccess", "jane@example.com"))]
    [finding] = redact_report(analyse([f.MemorySource(records)]).report.document())["findings"]
    assert finding["principal"]["permission_set"] == "ReadOnlyAccess"
    assert "/AWSReservedSSO_ReadOnlyAccess_" in finding["principal"]["arn"]
    assert "0a1b2c3d4e5f6789" not in finding["principal"]["arn"]


def test_the_finding_id_is_the_digest_of_the_pseudonymised_principal_and_account():
    report = _report()
    redacted = redact_report(report)
    for original, finding in zip(report["findings"], redacted["findings"], strict=True):
        principal = finding["principal"]
        # docs/CONTRACT.md's id, worked out here (tests/factories.py), from what the redacted report says
        assert finding["id"] == f.finding_id_of(principal["key"], finding["target_account_id"] or "unknown")
        assert finding["id"] != original["id"]
        old = original["id"][2:10]
        assert old not in json.dumps(redacted), f"{old} left in the redacted report"
        for command in finding["remedy"]["commands"]:
            if "--policy-name" in command:
                assert f"AppRunnerAudit-{finding['id']}-" in command


def test_a_cross_account_role_and_its_external_id_are_rederived_names_not_originals():
    records = [f.record(identity=f.aws_account("444455556666"), error_message="Access Denied")]
    report = analyse([f.MemorySource(records)]).report.document()  # an untrusted caller: the role wants an external ID
    [original] = report["findings"]
    [finding] = redact_report(report)["findings"]
    external_ids = re.findall(r"--external-id (\S+)", " ".join(original["remedy"]["commands"]))
    assert external_ids, original["remedy"]["commands"]
    text = json.dumps(finding)
    assert [x for x in external_ids if x in text] == []
    assert original["remedy"]["role_name"] not in text
    assert finding["remedy"]["role_name"].startswith("AppRunnerAccessFrom")
    assert finding["remedy"]["role_name"].endswith(finding["id"][2:10])


def test_no_pseudonym_is_an_original_value():
    """An account 000000000001 and a session session-1 would read as pseudonyms of something else."""
    records = [
        f.record(identity=f.assumed_role("Deploy", "session-1", account="000000000001"), recipient="000000000001"),
        f.record(identity=f.assumed_role("Deploy", "jane")),
    ]
    report = analyse([f.MemorySource(records)]).report.document()
    redacted = redact_report(report)
    text = json.dumps(redacted)
    for original in ("000000000001", "111122223333", "session-1", "jane", "Deploy"):
        assert not re.search(rf"(?<![\w-]){original}(?![\w-])", text), original


def test_event_ids_are_kept_and_ipv6_addresses_in_any_form_are_replaced():
    record = f.record(event_id="1f5ab421-6b56-4c9e-9b36-343422418511")
    record["sourceIPAddress"] = "2001:db8::7"
    report = analyse([f.MemorySource([record])]).report.document()
    [finding] = redact_report(report)["findings"]
    assert finding["actions"][0]["event_ids"] == ["1f5ab421-6b56-4c9e-9b36-343422418511"]
    assert finding["source_ips"] != ["2001:db8::7"] and "2001:db8" not in json.dumps(finding)


def test_redacting_a_redacted_report_changes_nothing():
    once = redact_report(_report())
    assert redact_report(once) == once
