"""The fast path never skips a denial that JSON spells with escapes.

JSON may write any character of a string as ``\\uXXXX`` (RFC 8259, section 7), and a quote inside a string
as ``\\"``: ``"\\u0041ccessDenied"`` is the string ``AccessDenied``. A byte-level test that judged such an
``errorCode`` by its raw bytes would count the record as a non-denial and never parse it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from analysis import fastscan
from analysis.model import Options
from analysis.sources.files import FileSource
from tests import factories as f
from tests.analysed import analysed

PLAIN_CODE = b'"errorCode":"AccessDeniedException"'


def trail(denial: dict[str, Any]) -> bytes:
    """A compact trail document as CloudTrail writes it: three successful calls, a throttled one, the denial."""
    others = [f.record("ListServices", error_code=None) for _ in range(3)]
    throttled = f.record("DescribeService", error_code="ThrottlingException", error_message="Rate exceeded")
    data = orjson.dumps({"Records": [*others, throttled, denial]})
    assert data.count(PLAIN_CODE) == 1
    return data


ESCAPED = [
    pytest.param(PLAIN_CODE, b'"errorCode":"\\u0041ccessDeniedException"', id="code-with-u-escape"),
    pytest.param(PLAIN_CODE, b'"errorCode":"Access\\u0044enied"', id="code-with-u-escape-inside"),
    pytest.param(PLAIN_CODE, b'"error\\u0043ode":"AccessDeniedException"', id="key-with-u-escape"),
    pytest.param(PLAIN_CODE, b'"errorCode":"Client.\\"UnauthorizedOperation"', id="code-with-quote-escape"),
]


@pytest.mark.parametrize(("plain", "escaped"), ESCAPED)
def test_an_escaped_denial_is_parsed_by_the_fast_path(plain, escaped):
    denial = f.record("DeleteService", event_id="the-denial")
    data = trail(denial).replace(plain, escaped)
    assert orjson.loads(data)["Records"][-1]["eventID"] == "the-denial", "still one valid trail document"

    scan = fastscan.scan_trail(data)

    assert scan is not None, "the document has the layout the fast path reads"
    assert scan.records == 5
    assert [record["eventID"] for record in scan.candidates] == ["the-denial"]


@pytest.mark.parametrize(("plain", "escaped"), ESCAPED)
def test_an_escaped_denial_reaches_the_report(tmp_path: Path, plain, escaped):
    path = tmp_path / "trail.json"
    path.write_bytes(trail(f.record("DeleteService")).replace(plain, escaped))

    result = analysed([FileSource(path, service="apprunner")], options=Options())

    assert (result["totals"]["records_read"], result["totals"]["denials"]) == (5, 1)
    assert [a["action"] for a in result["findings"][0]["actions"]] == ["apprunner:DeleteService"]


def test_an_escaped_event_source_is_kept_when_a_service_is_audited():
    """``"\\u0061pprunner.amazonaws.com"`` is App Runner's event source: the service filter keeps it too."""
    denial = f.record("DeleteService", event_id="the-denial")
    head, _, tail = trail(denial).rpartition(b'"eventSource":"apprunner.')
    data = head + b'"eventSource":"\\u0061pprunner.' + tail  # the denial's, the last record's
    assert orjson.loads(data)["Records"][-1]["eventSource"] == "apprunner.amazonaws.com"

    scan = fastscan.scan_trail(data, service="apprunner")

    assert scan is not None
    assert [record["eventID"] for record in scan.candidates] == ["the-denial"]


def test_plain_non_denials_are_counted_not_parsed():
    """The control: without escapes, only the denial is parsed; the throttled call and the others are counted."""
    scan = fastscan.scan_trail(trail(f.record("DeleteService", event_id="the-denial")))
    assert scan is not None
    assert (scan.records, scan.skipped, [r["eventID"] for r in scan.candidates]) == (5, 4, ["the-denial"])
