"""Loading alert suppressions (analysis.suppression_config) from S3, SSM Parameter Store and a file, against moto.

The errors expected are the ones the S3 and SSM API references list for GetObject (NoSuchKey, NoSuchBucket) and
GetParameter (ParameterNotFound); whatever fails, the alerts go on without suppressions and the problem says why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from analysis.suppression_config import MAX_BYTES, SuppressionCache, load_suppressions

pytestmark = pytest.mark.integration

REGION = "us-east-1"
BUCKET = "audit-config"
EXAMPLE = Path(__file__).parents[1] / "data" / "suppressions" / "example.json"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def document(*actions: str) -> str:
    entries = [{"action": action, "reason": f"r{i}", "expires": "2026-12-31"} for i, action in enumerate(actions)]
    return json.dumps({"suppressions": entries})


class Aws:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.ssm = boto3.client("ssm", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        self.calls: list[str] = []
        for client in (self.s3, self.ssm):
            client.meta.events.register("before-call.*.*", self._seen)

    def _seen(self, event_name: str, **_: Any) -> None:
        self.calls.append(event_name.rsplit(".", 1)[-1])


@pytest.fixture
def aws(monkeypatch) -> Iterator[Aws]:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield Aws()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- load_suppressions -----------------------------------------------------------------------------------------------


def test_an_s3_object_is_read(aws):
    aws.s3.put_object(Bucket=BUCKET, Key="alerts/suppressions.json", Body=EXAMPLE.read_bytes())
    aws.calls.clear()
    loaded = load_suppressions(f"s3://{BUCKET}/alerts/suppressions.json", s3=aws.s3, now=NOW)
    assert loaded.problems == ()
    assert loaded.items[0].reason == "quarterly pen test, ticket SEC-42"
    assert len(loaded.items) == 3
    assert loaded.items[0].name == f"suppressions[0] in s3://{BUCKET}/alerts/suppressions.json"
    assert aws.calls == ["GetObject"]


def test_an_ssm_parameter_is_read_decrypted(aws):
    aws.ssm.put_parameter(Name="/audit/suppressions", Value=document("apprunner:ListServices"), Type="SecureString")
    loaded = load_suppressions("ssm:/audit/suppressions", ssm=aws.ssm, now=NOW)
    assert loaded.problems == ()
    assert [item.action for item in loaded.items] == [("apprunner:ListServices",)]


def test_a_parameter_without_a_leading_slash_is_refused_unread_as_the_settings_and_template_refuse_it(aws):
    aws.ssm.put_parameter(Name="suppressions", Value=document("apprunner:ListServices"), Type="String")
    aws.calls.clear()
    loaded = load_suppressions("ssm:suppressions", ssm=aws.ssm, now=NOW)
    assert loaded.items == () and aws.calls == []
    [problem] = loaded.problems
    assert problem.startswith("ssm:suppressions: cannot be read (")
    assert "not an SSM parameter name (ssm:/name" in problem


@pytest.mark.parametrize("key", ["alerts/*.json", "alerts/s?.json", "alerts/${aws:username}.json"])
def test_an_s3_key_with_an_iam_wildcard_or_variable_is_refused_unread(aws, key):
    aws.calls.clear()
    [problem] = load_suppressions(f"s3://{BUCKET}/{key}", s3=aws.s3, now=NOW).problems
    assert "not an S3 object URI" in problem and aws.calls == []


def test_the_expected_bucket_owner_is_sent_when_the_spec_names_it(aws):
    """moto 5 does not check ExpectedBucketOwner (S3 answers 403 AccessDenied on a mismatch, per the S3 user guide's
    "Verifying bucket ownership"), so the test checks what is sent, through botocore's parameter hook."""
    sent: list[dict[str, Any]] = []
    aws.s3.meta.events.register("before-parameter-build.s3.GetObject", lambda params, **_: sent.append(dict(params)))
    aws.s3.put_object(Bucket=BUCKET, Key="s.json", Body=document("apprunner:A").encode())
    pinned = load_suppressions(f"s3://{BUCKET}/s.json?owner=123456789012", s3=aws.s3, now=NOW)
    assert len(pinned.items) == 1 and pinned.problems == ()
    assert pinned.items[0].name == f"suppressions[0] in s3://{BUCKET}/s.json?owner=123456789012"
    assert load_suppressions(f"s3://{BUCKET}/s.json", s3=aws.s3, now=NOW).problems == ()
    assert sent == [
        {"Bucket": BUCKET, "Key": "s.json", "ExpectedBucketOwner": "123456789012"},
        {"Bucket": BUCKET, "Key": "s.json"},
    ]


def test_a_missing_object_gives_no_suppressions_and_says_why(aws):
    loaded = load_suppressions(f"s3://{BUCKET}/nothing.json", s3=aws.s3, now=NOW)
    assert loaded.items == ()
    [problem] = loaded.problems
    assert problem.startswith(f"s3://{BUCKET}/nothing.json: cannot be read (AWS refused GetObject (NoSuchKey)")
    assert problem.endswith("; no suppression applies")


def test_a_missing_bucket_says_so(aws):
    [problem] = load_suppressions("s3://no-such-bucket-here/s.json", s3=aws.s3, now=NOW).problems
    assert "AWS refused GetObject (NoSuchBucket)" in problem


def test_a_missing_parameter_gives_no_suppressions_and_says_why(aws):
    loaded = load_suppressions("ssm:/audit/none", ssm=aws.ssm, now=NOW)
    assert loaded.items == ()
    [problem] = loaded.problems
    assert problem.startswith("ssm:/audit/none: cannot be read (AWS refused GetParameter (ParameterNotFound)")


def test_an_object_over_the_cap_is_refused_unread(aws):
    aws.s3.put_object(Bucket=BUCKET, Key="big.json", Body=b" " * (MAX_BYTES + 1))
    [problem] = load_suppressions(f"s3://{BUCKET}/big.json", s3=aws.s3, now=NOW).problems
    assert problem == (
        f"s3://{BUCKET}/big.json: cannot be read (larger than 1,048,576 bytes, the most a suppression document may "
        "be); no suppression applies"
    )
    aws.s3.put_object(Bucket=BUCKET, Key="fits.json", Body=document("apprunner:X").encode().ljust(MAX_BYTES))
    assert load_suppressions(f"s3://{BUCKET}/fits.json", s3=aws.s3, now=NOW).problems == ()


def test_a_document_that_is_no_json_is_read_but_gives_no_suppressions(aws):
    aws.s3.put_object(Bucket=BUCKET, Key="s.yaml", Body=b"suppressions:\n  - action: x\n")
    loaded = load_suppressions(f"s3://{BUCKET}/s.yaml", s3=aws.s3, now=NOW)
    assert loaded.items == ()
    assert loaded.problems[0].startswith(f"s3://{BUCKET}/s.yaml: not JSON")


def test_a_local_file_is_read_and_its_errors_are_in_words(tmp_path):
    path = tmp_path / "s.json"
    path.write_bytes(b"\xef\xbb\xbf" + document("apprunner:ListServices").encode())  # a BOM: no error
    assert [item.action for item in load_suppressions(str(path), now=NOW).items] == [("apprunner:ListServices",)]
    assert load_suppressions(str(tmp_path / "none.json"), now=NOW).problems == (
        f"{tmp_path / 'none.json'}: cannot be read (no such file); no suppression applies",
    )
    assert "(a directory, not a file)" in load_suppressions(str(tmp_path), now=NOW).problems[0]
    (tmp_path / "latin1.json").write_bytes(b'{"suppressions": [{"reason": "caf\xe9"}]}')
    assert "(not UTF-8 text)" in load_suppressions(str(tmp_path / "latin1.json"), now=NOW).problems[0]
    (tmp_path / "big.json").write_bytes(b" " * (MAX_BYTES + 1))
    assert "larger than 1,048,576 bytes" in load_suppressions(str(tmp_path / "big.json"), now=NOW).problems[0]


def test_the_example_file_loads_through_the_clis_signature():
    # now: the clock's; the example's expiries (December 2026) are within a year of it, or past (expired, no problem)
    assert load_suppressions(str(EXAMPLE)).problems == ()


# --- SuppressionCache ------------------------------------------------------------------------------------------------


def test_the_cache_reads_once_per_ttl(aws):
    aws.s3.put_object(Bucket=BUCKET, Key="s.json", Body=document("apprunner:A").encode())
    clock = Clock()
    cache = SuppressionCache.for_spec(f"s3://{BUCKET}/s.json", s3=aws.s3, ttl_seconds=300, clock=clock)
    assert [item.action for item in cache.current().items] == [("apprunner:A",)]
    aws.s3.put_object(Bucket=BUCKET, Key="s.json", Body=document("apprunner:B").encode())
    aws.calls.clear()
    clock.now += 299.9
    assert [item.action for item in cache.current().items] == [("apprunner:A",)]  # still fresh: no request
    assert aws.calls == []
    clock.now += 0.1  # 300 s old: read again
    assert [item.action for item in cache.current().items] == [("apprunner:B",)]
    assert aws.calls == ["GetObject"]


def test_a_failed_reload_keeps_the_last_good_suppressions_and_says_so(aws):
    aws.ssm.put_parameter(Name="/s", Value=document("apprunner:A", "apprunner:B"), Type="String")
    clock = Clock()
    cache = SuppressionCache.for_spec("ssm:/s", ssm=aws.ssm, ttl_seconds=60, clock=clock)
    first = cache.current()
    assert len(first.items) == 2 and first.problems == ()
    aws.ssm.delete_parameter(Name="/s")
    clock.now += 61
    kept = cache.current()
    assert kept.items == first.items
    assert kept.problems[0].startswith("ssm:/s: cannot be read (AWS refused GetParameter (ParameterNotFound)")
    assert kept.problems[1] == "the 2 suppression(s) read before still apply"
    # back: read as it is now
    aws.ssm.put_parameter(Name="/s", Value=document("apprunner:C"), Type="String")
    clock.now += 61
    again = cache.current()
    assert [item.action for item in again.items] == [("apprunner:C",)] and again.problems == ()


def test_a_broken_document_is_what_the_owner_wrote_and_applies_as_such(aws):
    """A document that was read but is broken is no failed read: the owner's latest word, so no suppressions
    (fail open), not the previous document's."""
    aws.s3.put_object(Bucket=BUCKET, Key="s.json", Body=document("apprunner:A").encode())
    clock = Clock()
    cache = SuppressionCache.for_spec(f"s3://{BUCKET}/s.json", s3=aws.s3, ttl_seconds=60, clock=clock)
    assert len(cache.current().items) == 1
    aws.s3.put_object(Bucket=BUCKET, Key="s.json", Body=b"{oops")
    clock.now += 60
    broken = cache.current()
    assert broken.items == () and broken.problems[0].startswith(f"s3://{BUCKET}/s.json: not JSON")


def test_a_first_read_that_fails_is_tried_again_after_the_ttl(aws):
    clock = Clock()
    cache = SuppressionCache.for_spec(f"s3://{BUCKET}/later.json", s3=aws.s3, ttl_seconds=60, clock=clock)
    assert cache.current().items == () and "NoSuchKey" in cache.current().problems[0]
    aws.s3.put_object(Bucket=BUCKET, Key="later.json", Body=document("apprunner:A").encode())
    clock.now += 60
    assert len(cache.current().items) == 1


def test_the_cache_makes_its_client_only_when_it_reads(aws, monkeypatch):
    made: list[str] = []
    import analysis.suppression_config as config

    def client(name: str) -> Any:
        made.append(name)
        return {"s3": aws.s3, "ssm": aws.ssm}[name]

    monkeypatch.setattr(config, "_client", client)
    aws.ssm.put_parameter(Name="/s", Value=document("apprunner:A"), Type="String")
    cache = SuppressionCache.for_spec("ssm:/s", clock=Clock())
    assert made == []  # at cold start: nothing yet
    cache.current()
    cache.current()
    assert made == ["ssm"]  # once, and kept
