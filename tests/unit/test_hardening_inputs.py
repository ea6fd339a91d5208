"""Issue 15, bad records: the cost of one record is bounded, and what cannot be read is counted and named.

The message parser's work grows linearly with the message and stops at a documented cap; the timeline's
buckets are bounded whatever dates the records carry; records whose time cannot be read in a bounded
window are counted as malformed, not dropped in silence.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from analysis import fastscan, messages
from analysis import records as records_module
from analysis.findings import denial_frame
from analysis.grouping import event_times
from analysis.messages import parse_message
from analysis.model import Window
from analysis.pipeline import MAX_WARNINGS_PER_SOURCE, analyse, collect
from analysis.records import Malformed, load_bytes, parse_bytes

try:
    from analysis.records import max_content_bytes
except ImportError:  # before the cap existed (the reproducer's run)

    def max_content_bytes() -> int:
        raise AssertionError("no cap")


from analysis.sources import SourceError, files, source_from_spec, sources_from_spec
from analysis.sources.files import FileSource
from analysis.timeline import denial_timeline
from tests import factories as f

try:
    from analysis.timeline import MAX_BUCKETS
except ImportError:  # before the bound existed (the reproducer's run)
    MAX_BUCKETS = 1_000

# What used to take 65 s (60 KB) and 197 s (200 KB); a linear parser does each in milliseconds. The bound
# is generous on purpose: it separates linear from quadratic work, not one machine from another.
GENEROUS_SECONDS = 2.0
BIG = 200_000
USER = "arn:aws:iam::111122223333:user/dev-alice"


def _adversarial_messages(size: int) -> dict[str, str]:
    spaces = " " * size
    return {
        "spaces only": spaces,
        "spaces between words": "x" + spaces + "x",
        "User, spaces, a resource clause, spaces, a period": "User:" + spaces + " on resource: x" + spaces + ".",
        "a resource clause followed by spaces": f"User: {USER} is not authorized to perform: s3:GetObject"
        + " on resource: x"
        + spaces
        + "y",
        "'on resource: ' then spaces": " on resource: " + spaces,
        "repeated 'is not authorized to perform:'": "is not authorized to perform:" * (size // 29),
        "repeated 'User:' glued": "User:" * (size // 5) + " y",
        "repeated 'User: ' spaced": "User: " * (size // 6),
        "repeated explicit deny clauses": "with an explicit deny in an identity-based policy: arn:a. " * (size // 58),
        "a policy ARN of dots and spaces": "with an explicit deny in a service control policy: arn:"
        + ". " * (size // 2),
        "encoded marker then spaces": "Encoded authorization failure message:" + spaces + "x",
        "tabs and newlines in a resource": " on resource: x" + "\t\n" * (size // 2) + "y.",
    }


@pytest.mark.parametrize("shape", sorted(_adversarial_messages(10)))
def test_an_adversarial_message_parses_in_well_under_a_second(shape):
    message = _adversarial_messages(BIG)[shape]
    started = time.perf_counter()
    parse_message(message)
    assert time.perf_counter() - started < GENEROUS_SECONDS


@pytest.mark.parametrize("shape", sorted(_adversarial_messages(10)))
def test_the_patterns_are_linear_even_without_the_length_cap(shape, monkeypatch):
    """The cap is a second line: the patterns alone do linear work (no backtracking blow-up)."""
    monkeypatch.setattr(messages, "MESSAGE_PARSE_LIMIT", 10**9, raising=False)
    message = _adversarial_messages(BIG)[shape]
    started = time.perf_counter()
    parse_message(message)
    assert time.perf_counter() - started < GENEROUS_SECONDS


def test_a_message_longer_than_the_cap_is_read_up_to_the_cap_and_flagged():
    limit = messages.MESSAGE_PARSE_LIMIT
    head = f"User: {USER} is not authorized to perform: apprunner:DescribeService because no identity-based "
    tail = "policy allows the apprunner:DescribeService action"
    parsed = parse_message(head + tail + " " + "z" * (limit + 10))
    assert parsed.capped and parsed.truncated  # cut: counted where the report counts cut messages
    assert parsed.action == "apprunner:DescribeService" and parsed.reason == "no_identity_allow"
    assert any(f"{limit:,}" in note for note in parsed.notes)
    # A clause past the cap is not read: the parser's work stops there.
    late = parse_message("z" * (limit + 1) + " " + head + tail)
    assert late.capped and late.action is None


def test_the_cap_is_well_above_the_longest_message_aws_writes():
    """CloudTrail cuts errorMessage at about 1,024 characters (the longest in the real corpus, an EC2 encoded
    form, is 1,026); the cap leaves room for uncut encoded messages of other sources, several KB."""
    assert messages.MESSAGE_PARSE_LIMIT >= 16 * 1024
    encoded_form = (
        "You are not authorized to perform this operation. User: arn:aws:iam::111122223333:user/x is not "
        "authorized to perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:111122223333:instance/* "
        "because no identity-based policy allows the ec2:RunInstances action. Encoded authorization failure "
        "message: " + "A" * 8000
    )
    parsed = parse_message(encoded_form)
    assert not parsed.capped and not parsed.truncated
    assert parsed.encoded_message == "A" * 8000 and parsed.reason == "no_identity_allow"


def test_a_message_within_the_cap_is_not_flagged():
    parsed = parse_message(f.message(USER, "apprunner:ListServices"))
    assert not parsed.capped and parsed.notes == ()


# --- the timeline's buckets -------------------------------------------------------------------------


class ListSource:
    """A source over records in memory."""

    def __init__(self, items, name="memory"):
        self.items, self.name = list(items), name

    def read(self):
        yield from self.items


def _times_frame(*times: str):
    return denial_frame(
        {"event_time": t, "action": "apprunner:DescribeService", "target_account_id": "111122223333"} for t in times
    )


def _times(*texts: str):
    """The times the report reads (``analysis.grouping``), as ``denial_timeline`` takes them."""
    return event_times(texts)


def test_one_record_dated_9999_gives_two_weeks_not_416_thousand():
    """2026-11-28 is a Saturday: its week starts Monday 2026-11-23; 9999-12-31 is a Friday: Monday 9999-12-27."""
    timeline = denial_timeline(_times("2026-11-28T09:15:00Z", "2026-11-28T10:00:00Z", "9999-12-31T12:00:00Z"))
    assert timeline == {
        "unit": "week",
        "buckets": [
            {"start": "2026-11-23T00:00:00Z", "denials": 2},
            {"start": "9999-12-27T00:00:00Z", "denials": 1},
        ],
    }


def test_a_window_of_centuries_lists_only_the_weeks_with_denials():
    window = Window(datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    timeline = denial_timeline(_times("2026-11-28T09:15:00Z", "1970-01-01T00:00:00Z"), window)
    # 1970-01-01 was a Thursday: its week starts Monday 1969-12-29, before the window, as a dense timeline's would.
    assert [b["start"] for b in timeline["buckets"]] == ["1969-12-29T00:00:00Z", "2026-11-23T00:00:00Z"]


def test_a_span_of_up_to_max_buckets_weeks_keeps_every_week_zero_included():
    window = Window(datetime(2007, 1, 1, tzinfo=UTC), datetime(2007, 1, 1, tzinfo=UTC) + timedelta(weeks=MAX_BUCKETS))
    timeline = denial_timeline(_times("2010-06-01T00:00:00Z"), window)  # 2007-01-01 was a Monday
    assert timeline["unit"] == "week" and len(timeline["buckets"]) == MAX_BUCKETS
    assert sum(b["denials"] for b in timeline["buckets"]) == 1


def test_more_weeks_with_denials_than_the_maximum_keep_the_latest():
    first_monday = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday
    times = [
        (first_monday + timedelta(weeks=w, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ") for w in range(MAX_BUCKETS + 5)
    ]
    timeline = denial_timeline(_times(*times))
    assert len(timeline["buckets"]) == MAX_BUCKETS
    assert timeline["buckets"][0]["start"] == (first_monday + timedelta(weeks=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert timeline["buckets"][-1]["start"] == times[-1][:11] + "00:00:00Z"


def test_a_report_over_a_record_dated_9999_stays_small():
    records = [f.record(), f.record("ListServices", request={}), f.record(event_time="9999-12-31T23:59:59Z")]
    analysis = analyse([ListSource(records)], now=datetime(2026, 11, 29, tzinfo=UTC))
    assert analysis.report.totals.denials == 3
    assert analysis.report.timeline is not None and len(analysis.report.timeline.buckets) == 2
    assert len(analysis.report.model_dump_json()) < 100_000


def test_a_record_dated_in_the_first_millennium_is_reported_with_a_four_digit_year():
    """strftime's %Y writes year 1 as '1' on Linux: the report then broke its own schema (a traceback, exit 1)."""
    records = [f.record(), f.record(event_time="0001-01-03T00:00:00Z")]
    analysis = analyse([ListSource(records)], now=datetime(2026, 11, 29, tzinfo=UTC))
    assert analysis.report.totals.denials == 2
    assert analysis.report.findings[0].first_seen == "0001-01-03T00:00:00Z"


# --- records whose eventTime cannot be read, in a bounded window -------------------------------------

DAY = Window(datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))


def _timeless_records():
    good = f.record(event_id="good-1")
    unreadable = f.record(event_id="bad-time", event_time="2026-13-45T99:00:00Z")
    missing = f.record(event_id="no-time")
    del missing["eventTime"]
    not_text = f.record(event_id="number-time")
    not_text["eventTime"] = 20261128
    return [good, unreadable, missing, not_text]


def test_in_a_bounded_window_a_denial_whose_time_cannot_be_read_is_counted_and_named():
    analysis = analyse([ListSource(_timeless_records(), name="trail")], window=DAY, now=DAY.end)
    source = analysis.report.sources[0]
    assert analysis.report.totals.denials == 1 and analysis.report.totals.malformed_records == 3
    assert source.malformed_records == 3 and source.status == "partial" and source.records_read == 4
    named = "\n".join(source.problems)
    for event_id in ("bad-time", "no-time", "number-time"):
        assert event_id in named
    assert "2026-13-45T99:00:00Z" in named and named.count("eventTime") == 3


def test_each_source_counts_its_own_unreadable_times_and_the_others_are_read():
    first = ListSource([f.record(event_id="a1"), f.record(event_id="a2", event_time="yesterday")], name="first")
    empty = ListSource([], name="empty")
    second = ListSource([f.record(event_id="b1", event_time="later"), f.record(event_id="b2")], name="second")
    analysis = analyse([first, empty, second], window=DAY, now=DAY.end)
    counts = {s.name: s.malformed_records for s in analysis.report.sources}
    assert counts == {"first": 1, "empty": 0, "second": 1}
    assert analysis.report.totals.denials == 2
    assert any("b1" in p for p in analysis.report.sources[2].problems)


def test_in_an_open_window_a_record_without_a_readable_time_is_still_a_denial():
    analysis = analyse([ListSource(_timeless_records())], now=DAY.end)
    assert analysis.report.totals.denials == 4 and analysis.report.totals.malformed_records == 0


# --- files that are not regular files; an empty source spec -----------------------------------------

HANG_SECONDS = 20


def _read_with_deadline(path, fifos=()):
    """Every item read from ``path``; fails (instead of hanging the suite) when reading blocks."""
    items: list = []
    reader = threading.Thread(target=lambda: items.extend(FileSource(path).read()), daemon=True)
    reader.start()
    reader.join(HANG_SECONDS)
    blocked = reader.is_alive()
    for fifo in fifos:  # a reader blocked on a FIFO is let go: a writer opens and closes it
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(HANG_SECONDS)
    assert not blocked, f"reading {path} blocked on a file that is not a regular file"
    return items


def test_a_fifo_named_json_in_a_folder_is_named_and_skipped_and_the_other_files_are_read(tmp_path):
    for name in ("a.json", "c.json"):
        (tmp_path / name).write_text(json.dumps(f.trail_file([f.record()])))
    os.mkfifo(tmp_path / "b.json")
    (tmp_path / "d.json").symlink_to("/dev/null")  # a character device
    items = _read_with_deadline(tmp_path, fifos=[tmp_path / "b.json"])
    records = [i for i in items if isinstance(i, dict)]
    problems = {Path(p.origin).name: p.error for p in items if isinstance(p, Malformed)}
    assert len(records) == 2
    assert set(problems) == {"b.json", "d.json"}
    assert "not a regular file" in problems["b.json"] and "FIFO" in problems["b.json"]
    assert "not a regular file" in problems["d.json"] and "character device" in problems["d.json"]


def test_a_fifo_given_as_the_source_is_named_not_opened(tmp_path):
    fifo = tmp_path / "trail.json"
    os.mkfifo(fifo)
    items = _read_with_deadline(fifo, fifos=[fifo])
    assert len(items) == 1 and isinstance(items[0], Malformed) and "not a regular file" in items[0].error


@pytest.mark.parametrize("spec", ["", " ", "\t"])
def test_an_empty_source_spec_is_a_usage_error_not_the_current_folder(spec):
    with pytest.raises(SourceError, match="empty"):
        sources_from_spec(spec, Window())
    with pytest.raises(SourceError, match="empty"):
        source_from_spec(spec, Window())


# --- decompression: a cap on each file's content ----------------------------------------------------

SMALL_CAP = 1024 * 1024  # set through the environment, as an operator would
BOMB_PADDING = 10 * 1024 * 1024
CAP_VARIABLE = "APPRUNNER_AUDIT_MAX_DECOMPRESSED_BYTES"


def _bomb(padding: int = BOMB_PADDING) -> bytes:
    """A valid trail file of one denial and ``padding`` spaces, gzipped: about 10 KB for 10 MB."""
    text = b'{"Records": [' + json.dumps(f.record()).encode() + b"]" + b" " * padding + b"}"
    return gzip.compress(text)


def _trail_gz(count: int = 1) -> bytes:
    return gzip.compress(json.dumps(f.trail_file([f.record() for _ in range(count)])).encode())


def _cap_problem(items) -> list[Malformed]:
    return [i for i in items if isinstance(i, Malformed) and "exceeds" in i.error]


def test_the_bomb_is_small_and_valid_below_the_cap():
    assert len(_bomb()) < 100_000
    assert [i for i in parse_bytes(_bomb(), "bomb.json.gz") if isinstance(i, dict)]


def test_a_gzip_file_over_the_cap_is_named_and_the_other_files_of_the_folder_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv(CAP_VARIABLE, str(SMALL_CAP))
    (tmp_path / "a.json.gz").write_bytes(_trail_gz(2))
    (tmp_path / "b.json.gz").write_bytes(_bomb())
    (tmp_path / "c.json").write_text(json.dumps(f.trail_file([f.record()])))
    items = list(FileSource(tmp_path).read())
    assert len([i for i in items if isinstance(i, dict)]) == 3
    [problem] = _cap_problem(items)
    assert Path(problem.origin).name == "b.json.gz"
    assert problem.error.startswith(f"decompressed size exceeds {SMALL_CAP:,} bytes")


def test_the_cap_holds_on_the_streamed_path_for_large_files(tmp_path, monkeypatch):
    monkeypatch.setenv(CAP_VARIABLE, str(SMALL_CAP))
    monkeypatch.setattr(files, "WHOLE_FILE_LIMIT", 0)  # every file streamed
    (tmp_path / "a.json.gz").write_bytes(_bomb())
    lines = b"\n".join(json.dumps(f.record(event_id=f"e{n}")).encode() for n in range(2000))  # about 2.6 MB
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(lines))
    (tmp_path / "c.json").write_text(json.dumps(f.trail_file([f.record()])))
    items = list(FileSource(tmp_path).read())
    problems = {Path(p.origin).name: p.error for p in _cap_problem(items)}
    assert set(problems) == {"a.json.gz", "b.jsonl.gz"}
    assert problems["b.jsonl.gz"].startswith(f"decompressed size exceeds {SMALL_CAP:,} bytes")
    records = [i for i in items if isinstance(i, dict)]
    # the lines before the cap are read (each about 1.3 KB: several hundred), then c.json's record
    assert 100 < len(records) < 2000 and records[-1]["eventID"] != "e1999"


def test_a_plain_file_over_the_cap_is_named_too(tmp_path, monkeypatch):
    monkeypatch.setenv(CAP_VARIABLE, "1000")
    (tmp_path / "a.json").write_text(json.dumps(f.trail_file([f.record(), f.record()])))
    [problem] = _cap_problem(FileSource(tmp_path).read())
    assert problem.error.startswith("size exceeds 1,000 bytes")


def test_memory_while_loading_a_bomb_is_bounded_by_the_cap(monkeypatch):
    monkeypatch.setenv(CAP_VARIABLE, str(SMALL_CAP))
    bomb = _bomb(50 * 1024 * 1024)
    tracemalloc.start()
    try:
        loaded = load_bytes(bomb, "bomb.json.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loaded.problem is not None and "exceeds" in loaded.problem.error
    assert peak < 8 * SMALL_CAP  # the 50 MB it would decompress to is never held


@pytest.mark.parametrize("configured", ["", "0", "-5", "lots"])
def test_an_unset_or_invalid_cap_is_the_default_of_256_mib(configured, monkeypatch):
    monkeypatch.setenv(CAP_VARIABLE, configured)
    assert max_content_bytes() == 256 * 1024 * 1024


def test_the_cap_given_to_a_file_source_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(CAP_VARIABLE, str(SMALL_CAP))
    (tmp_path / "a.json.gz").write_bytes(_trail_gz(3))
    [problem] = _cap_problem(FileSource(tmp_path, max_bytes=500).read())
    assert problem.error.startswith("decompressed size exceeds 500 bytes")
    assert not _cap_problem(FileSource(tmp_path, max_bytes=10 * SMALL_CAP).read())


# --- one record the JSON parser refuses, a truncated trail file, a container where a record belongs -----

REFUSED_TOKENS = {
    "a number beyond a double": "1e400",
    "an integer beyond 64 bits": "123456789012345678901234567890",
    "a lone surrogate": '"\\ud800"',
    "nesting deeper than the parser goes": "[" * 1100 + "]" * 1100,
}


def _trail_with(token: str) -> bytes:
    records = [f.record(event_id="e-1"), {**f.record(event_id="e-3"), "userAgent": "TOKEN"}, f.record(event_id="e-2")]
    return json.dumps(f.trail_file(records)).replace('"TOKEN"', token).encode()


@pytest.mark.parametrize("shape", sorted(REFUSED_TOKENS))
def test_valid_json_the_fast_parser_refuses_does_not_hide_the_other_records(shape):
    items = list(parse_bytes(_trail_with(REFUSED_TOKENS[shape]), "trail.json"))
    read = [i["eventID"] for i in items if isinstance(i, dict)]
    assert {"e-1", "e-2"} <= set(read)
    if "e-3" not in read:  # the record the parser cannot read is counted and named
        [problem] = [i for i in items if isinstance(i, Malformed)]
        assert problem.origin == "trail.json.Records[1]"


@pytest.mark.parametrize("shape", sorted(REFUSED_TOKENS))
def test_a_report_over_a_record_the_fast_parser_refuses_is_written(shape, tmp_path):
    (tmp_path / "trail.json").write_bytes(_trail_with(REFUSED_TOKENS[shape]))
    analysis = analyse([FileSource(tmp_path)], now=DAY.end)
    assert analysis.report.totals.denials >= 2
    json.loads(analysis.report.model_dump_json())  # the report is JSON, whatever the record held


def test_a_truncated_trail_file_keeps_its_complete_records_and_names_the_cut_one():
    text = json.dumps(f.trail_file([f.record(event_id="e-1"), f.record(event_id="e-2"), f.record(event_id="e-3")]))
    cut = text[: text.index('"e-3"') + 3].encode()  # cut inside the third record, as an interrupted upload
    items = list(parse_bytes(cut, "trail.json"))
    assert [i["eventID"] for i in items if isinstance(i, dict)] == ["e-1", "e-2"]
    [problem] = [i for i in items if isinstance(i, Malformed)]
    assert problem.origin == "trail.json.Records[2]" and "cut" in problem.error
    between = text[: text.index('{"eventVersion"', text.index('"e-2"'))].encode()  # cut after "e-2"'s comma
    items = list(parse_bytes(between, "trail.json"))
    assert [i["eventID"] for i in items if isinstance(i, dict)] == ["e-1", "e-2"]
    assert [i.origin for i in items if isinstance(i, Malformed)] == ["trail.json.Records[2]"]


@pytest.mark.parametrize("shape", ["lookup", "eventbridge"])
def test_a_container_where_a_record_belongs_is_malformed_not_a_record(shape):
    container = {"Records": 5}
    wrapped = f.lookup_event(container) if shape == "lookup" else f.eventbridge_envelope(container)
    document = {"Events": [wrapped]} if shape == "lookup" else wrapped
    items = list(parse_bytes(json.dumps(document).encode(), "x"))
    assert [type(i) for i in items] == [Malformed] and "Records" in items[0].error


def test_json_lines_of_trail_files_whose_first_line_is_broken_keep_the_other_lines():
    lines = [
        '{"Records": [{"eventID": "lost", ',  # cut
        json.dumps(f.trail_file([f.record(event_id="l-2")])),
        json.dumps(f.trail_file([f.record(event_id="l-3")])),
    ]
    items = list(parse_bytes("\n".join(lines).encode(), "lines.jsonl"))
    assert [i["eventID"] for i in items if isinstance(i, dict)] == ["l-2", "l-3"]
    assert [i.origin for i in items if isinstance(i, Malformed)] == ["lines.jsonl:1"]


def test_a_source_of_many_malformed_lines_keeps_a_bounded_list_of_problems_and_log_lines(caplog):
    lines = [b"{broken"] * 50_000 + [json.dumps(f.record()).encode()]
    source = ListSource(parse_bytes(b"\n".join([json.dumps(f.record()).encode(), *lines]), "lines.jsonl"))
    with caplog.at_level(logging.WARNING, logger="analysis.pipeline"):
        frame, [status] = collect([source])
    assert status.malformed_records == 50_000 and len(frame) == 2
    assert len(status.problems) <= MAX_WARNINGS_PER_SOURCE
    assert len(caplog.records) <= MAX_WARNINGS_PER_SOURCE + 1  # and one line saying the rest are not logged


def test_the_fast_path_skips_a_long_run_of_whitespace_after_an_error_code_key_at_c_speed():
    """40 MB of spaces between "errorCode" and its colon: about 2.5 s a byte at a time, 0.2 s now."""
    record = json.dumps(f.record(), separators=(",", ":")).replace(
        '"errorCode":', '"errorCode"' + " " * 40_000_000 + ":"
    )
    data = ('{"Records":[' + record + "]}").encode()
    started = time.perf_counter()
    scan = fastscan.scan_trail(data)
    assert time.perf_counter() - started < 1.5
    assert scan is not None and scan.records == 1 and len(scan.candidates) == 1


def test_a_cut_trail_file_read_record_by_record_names_elements_that_are_not_objects():
    text = json.dumps(f.trail_file([None, 7, "x,]", f.record(event_id="e-1"), f.record(event_id="e-2")]))
    items = list(parse_bytes(text[: text.index('"e-2"')].encode(), "trail.json"))
    assert [i["eventID"] for i in items if isinstance(i, dict)] == ["e-1"]
    origins = [i.origin for i in items if isinstance(i, Malformed)]
    assert origins == [f"trail.json.Records[{n}]" for n in (0, 1, 2, 4)]


# --- a container inside a container; one file never ends its source ----------------------------------

NESTING = 500  # a 6 KB file; unwrapped level by level it overflowed the interpreter's stack


def _nested_trail(depth: int, record: dict) -> bytes:
    return ('{"Records":[' * depth + json.dumps(record) + "]}" * depth).encode()


def test_a_trail_file_nested_500_deep_is_one_malformed_file_and_the_next_files_are_read(tmp_path):
    (tmp_path / "0good.json").write_text(json.dumps(f.trail_file([f.record(event_id="good")])))
    (tmp_path / "1nested.json").write_bytes(_nested_trail(NESTING, f.record(event_id="deep")))
    (tmp_path / "2after.json").write_text(json.dumps(f.trail_file([f.record(event_id="after")])))
    analysis = analyse([FileSource(tmp_path)], now=DAY.end)
    [source] = analysis.report.sources
    assert set(analysis.frame["event_id"]) == {"good", "after"}
    assert source.malformed_records == 1 and source.records_read == 2 and source.status == "partial"
    assert source.error == "1 item(s) could not be read"  # read to its end, not stopped by an exception
    [problem] = source.problems
    assert (
        problem.startswith(f"{tmp_path / '1nested.json'}.Records[0]: ") and "a container inside a container" in problem
    )


@pytest.mark.parametrize(
    "inner",
    [
        {"Records": []},
        {"Records": "x"},
        {"Events": [{"CloudTrailEvent": "{}"}]},
        {"EventId": "1", "CloudTrailEvent": "{}"},
        {"detail-type": "AWS API Call via CloudTrail", "detail": {}},
    ],
    ids=["Records", "Records not a list", "Events", "CloudTrailEvent", "EventBridge"],
)
def test_a_container_inside_a_trail_file_is_named_by_index_and_its_neighbours_are_read(inner):
    data = json.dumps(f.trail_file([f.record(event_id="a"), inner, f.record(event_id="b")])).encode()
    items = list(parse_bytes(data, "t.json"))
    assert [i["eventID"] for i in items if isinstance(i, dict)] == ["a", "b"]
    [problem] = [i for i in items if isinstance(i, Malformed)]
    assert problem.origin == "t.json.Records[1]" and "a container inside a container" in problem.error


def test_a_container_among_lookup_events_is_named_and_the_lookup_events_are_read():
    inner = f.trail_file([f.record(event_id="hidden")])
    document = {"Events": [f.lookup_event(f.record(event_id="a")), inner, f.lookup_event(f.record(event_id="b"))]}
    items = list(parse_bytes(json.dumps(document).encode(), "l.json"))
    assert [i["eventID"] for i in items if isinstance(i, dict)] == ["a", "b"]
    [problem] = [i for i in items if isinstance(i, Malformed)]
    assert problem.origin == "l.json.Events[1]" and "a container inside a container" in problem.error


def test_the_wrappers_cloudtrail_writes_are_still_unwrapped_once():
    rec = f.record(event_id="r")
    shapes = {
        "array of trail files": [f.trail_file([rec]), f.trail_file([rec])],
        "array of envelopes": [f.eventbridge_envelope(rec)],
        "array of lookup outputs": [{"Events": [f.lookup_event(rec)]}],
        "array of lookup events": [f.lookup_event(rec)],
    }
    for shape, document in shapes.items():
        items = list(parse_bytes(json.dumps(document).encode(), "x"))
        assert items and all(isinstance(i, dict) and i["eventID"] == "r" for i in items), shape


def _explode_on(marker: str, error: BaseException, monkeypatch) -> None:
    """Parsing a file whose name holds ``marker`` raises ``error`` after its first record (no fast path)."""
    from analysis import records

    plain = records._parse_plain

    def exploding(data, origin):
        for index, item in enumerate(plain(data, origin)):
            if marker in origin and index == 1:
                raise error
            yield item

    monkeypatch.setattr(records.fastscan, "scan_trail", lambda *args, **kwargs: None)
    monkeypatch.setattr(records, "_parse_plain", exploding)


@pytest.mark.parametrize("streamed", [False, True], ids=["read whole", "streamed"])
@pytest.mark.parametrize("error", [RecursionError("maximum recursion depth exceeded"), KeyError("surprise")])
def test_an_unexpected_error_in_one_file_is_that_file_malformed_and_the_next_files_are_read(
    tmp_path, monkeypatch, error, streamed
):
    for name in ("a.json", "boom.json", "c.json"):
        records = [f.record(event_id=f"{name}-1"), f.record(event_id=f"{name}-2")]
        (tmp_path / name).write_text(json.dumps(f.trail_file(records)))
    _explode_on("boom", error, monkeypatch)
    if streamed:
        monkeypatch.setattr(files, "WHOLE_FILE_LIMIT", 10)
    items = list(FileSource(tmp_path).read())
    read = [i["eventID"] for i in items if isinstance(i, dict)]
    assert read == ["a.json-1", "a.json-2", "boom.json-1", "c.json-1", "c.json-2"]
    [problem] = [i for i in items if isinstance(i, Malformed)]
    assert problem.origin == str(tmp_path / "boom.json")
    assert type(error).__name__ in problem.error and "1 item(s) before it kept" in problem.error


# --- a folder that cannot be listed -------------------------------------------------------------------


def _unlistable(folder: Path, monkeypatch) -> None:
    """``folder`` cannot be listed: by its permissions, or (as root, whom permissions do not stop) by scandir."""
    if os.geteuid() != 0:
        folder.chmod(0)
        return
    real = os.scandir

    def scandir(path=".", *args, **kwargs):
        if Path(os.fsdecode(path)) == folder:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)


def test_a_folder_that_cannot_be_listed_is_named_and_counted_and_the_others_are_read(tmp_path, monkeypatch):
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "t.json").write_text(json.dumps(f.trail_file([f.record(event_id=folder)])))
    locked = tmp_path / "b"
    _unlistable(locked, monkeypatch)
    try:
        analysis = analyse([FileSource(tmp_path)], now=DAY.end)
    finally:
        locked.chmod(0o755)
    [source] = analysis.report.sources
    assert set(analysis.frame["event_id"]) == {"a", "c"}
    assert source.malformed_records == 1 and source.status == "partial"
    [problem] = source.problems
    assert problem.startswith(f"{locked}: cannot list the folder (") and "its files are not read" in problem


def test_a_root_folder_that_cannot_be_listed_is_named_not_an_empty_success(tmp_path, monkeypatch):
    _unlistable(tmp_path, monkeypatch)
    try:
        items = list(FileSource(tmp_path).read())
    finally:
        tmp_path.chmod(0o755)
    [problem] = items
    assert isinstance(problem, Malformed) and problem.origin == str(tmp_path)
    assert problem.error.startswith("cannot list the folder (")


# --- eventTime outside pandas' nanosecond range; duplicate deliveries of an unreadable time -------------


def test_times_far_from_today_are_read_beside_one_written_to_the_nanosecond():
    # datetime64[ns] holds 1677-09-21 to 2262-04-11; a record of any year 1-9999 must be read.
    records = [
        f.record(event_id="far", event_time="9999-12-31T00:00:00Z"),
        f.record(event_id="old", event_time="0100-01-01T00:00:00Z"),
        f.record(event_id="ns", event_time="2026-11-28T09:15:00.123456789Z"),
    ]
    analysis = analyse([ListSource(records)], now=DAY.end)
    assert analysis.report.totals.denials == 3 and analysis.report.totals.malformed_records == 0
    times = dict(zip(analysis.frame["event_id"], analysis.frame["event_time"], strict=True))
    assert times["far"] == pd.Timestamp("9999-12-31T00:00:00Z")
    assert times["old"].year == 100 and (times["old"].month, times["old"].day) == (1, 1)
    assert times["ns"] == pd.Timestamp("2026-11-28T09:15:00.123456Z")  # cut to the microsecond
    assert str(analysis.frame["event_time"].dtype) == "datetime64[us, UTC]"


def test_the_time_column_is_microseconds_whatever_its_values():
    for values in ([], [None], ["2026-11-28T09:15:00Z"], ["2026-11-28T09:15:00.1234567Z", "bad"]):
        assert str(_times_frame(*values)["event_time"].dtype) == "datetime64[us, UTC]", values


def test_two_deliveries_of_one_record_with_an_unreadable_time_count_once():
    # CloudTrail may deliver a record more than once (same eventID and account): one denial, one problem.
    record = f.record(event_id="twice", event_time="2026-11-28T25:00:00Z")
    analysis = analyse([ListSource([record, dict(record)])], window=DAY, now=DAY.end)
    [source] = analysis.report.sources
    assert source.malformed_records == 1 and analysis.report.totals.malformed_records == 1
    assert len(source.problems) == 1 and "twice" in source.problems[0]


def test_a_duplicate_in_a_later_source_is_counted_on_the_first_only():
    record = f.record(event_id="twice", event_time="late")
    first, second = ListSource([record], name="first"), ListSource([dict(record)], name="second")
    analysis = analyse([first, second], window=DAY, now=DAY.end)
    assert {s.name: s.malformed_records for s in analysis.report.sources} == {"first": 1, "second": 0}


def test_an_unexpected_error_while_loading_one_file_is_that_file_malformed(tmp_path, monkeypatch):
    for name in ("a.json", "boom.json", "c.json"):
        (tmp_path / name).write_text(json.dumps(f.trail_file([f.record(event_id=name)])))
    load = files.load_bytes

    def exploding(data, origin, *args, **kwargs):
        if "boom" in origin:
            raise MemoryError
        return load(data, origin, *args, **kwargs)

    monkeypatch.setattr(files, "load_bytes", exploding)
    items = list(FileSource(tmp_path).read())
    assert [i["eventID"] for i in items if isinstance(i, dict)] == ["a.json", "c.json"]
    [problem] = [i for i in items if isinstance(i, Malformed)]
    assert problem.origin == str(tmp_path / "boom.json") and "MemoryError" in problem.error


def test_an_unexpected_error_in_the_fast_path_parses_that_file_in_full(monkeypatch, caplog):
    def failing(*args, **kwargs):
        raise IndexError("a bug in the fast path")

    monkeypatch.setattr(fastscan, "scan_trail", failing)
    data = json.dumps(f.trail_file([f.record(event_id="kept")])).encode()
    with caplog.at_level(logging.WARNING, logger="analysis.records"):
        items = list(records_module.parse_loaded(load_bytes(data, "t.json")))
    assert [i["eventID"] for i in items if isinstance(i, dict)] == ["kept"] and len(items) == 1
    assert "t.json" in caplog.text and "IndexError" in caplog.text


def test_a_time_centuries_ahead_cannot_wrap_into_another_denial_s_reconnaissance_window():
    """Nanoseconds overflow 64 bits 2**64 ns (about 584.5 years) after 1970: a forged eventTime that far past
    09:02 read back as 09:02, and three actions 'within 15 minutes' made the principal a prober."""
    import numpy as np

    from analysis.grouping import reconnaissance_principals

    target_ns = int(np.datetime64("2026-11-28T09:02:00", "ns").astype("int64"))
    forged_us = -(-(target_ns + 2**64) // 1000)  # the first microsecond whose nanoseconds wrap to 09:02
    forged = np.datetime64(forged_us, "us").astype(str) + "Z"
    assert forged.startswith("2611-")
    texts = ["2026-11-28T09:00:00Z", "2026-11-28T09:01:00Z", forged]
    actions = ["apprunner:ListServices", "apprunner:DescribeService", "apprunner:DeleteService"]
    rows = [{"time": t, "action": a, "principal_key": "p"} for t, a in zip(event_times(texts), actions, strict=True)]
    assert rows[2]["time"].year == 2611  # read as written, not wrapped
    assert reconnaissance_principals(rows, distinct_actions=3, window_minutes=15) == set()
    assert reconnaissance_principals(rows[:2], distinct_actions=2, window_minutes=15) == {"p"}


def test_a_record_the_reading_fails_on_is_malformed_and_the_next_record_is_read(monkeypatch):
    """Defence in depth: whatever bug a record meets in reading its denial, it is that record's problem,
    not the end of its source (the issue's 'one bad record must never hide the others')."""
    from analysis import pipeline

    real = pipeline.denial_row

    def breaks_on_one(record):
        if record.get("eventID") == "breaks":
            raise AttributeError("'int' object has no attribute 'split'")
        return real(record)

    monkeypatch.setattr(pipeline, "denial_row", breaks_on_one)
    records = [f.record(event_id="before"), f.record(event_id="breaks"), f.record("ListServices", event_id="after")]
    analysis = analyse([ListSource(records)], now=datetime(2026, 11, 29, tzinfo=UTC))
    [source] = analysis.report.sources
    assert (analysis.report.totals.denials, source.malformed_records, source.status) == (2, 1, "partial")
    assert source.problems == [
        "memory (eventID 'breaks'): cannot be read (AttributeError: 'int' object has no attribute 'split')"
    ]


def _too_deep(depth: int = 2000) -> str:
    """A denial whose requestParameters nest deeper than orjson (1,024) and Python's json (the stack) go,
    as JSON text (no Python structure that deep can be written by json either)."""
    record = f.record(event_id="too-deep")
    record["requestParameters"] = "DEEP"
    return json.dumps(record).replace('"DEEP"', "[" * depth + "]" * depth)


def _trail_text(*records: str) -> str:
    return '{"Records": [' + ", ".join(records) + "]}"


def test_a_json_array_of_records_with_one_too_deep_is_read_element_by_element():
    first, last = json.dumps(f.record(event_id="first")), json.dumps(f.record("ListServices", event_id="last"))
    items = list(parse_bytes(f"[{first}, {_too_deep()}, {last}]".encode(), "array.json"))
    assert [r["eventID"] for r in items if isinstance(r, dict)] == ["first", "last"]
    [problem] = [i for i in items if isinstance(i, Malformed)]
    assert problem.origin == "array.json[1]"


def test_an_array_of_trail_files_reads_around_one_record_too_deep():
    a, b, c = (json.dumps(f.record(event_id=name)) for name in "abc")
    data = f"[{_trail_text(a, _too_deep(), b)}, {_trail_text(c)}]".encode()
    items = list(parse_bytes(data, "trails.json"))
    assert [r["eventID"] for r in items if isinstance(r, dict)] == ["a", "b", "c"]
    [problem] = [i for i in items if isinstance(i, Malformed)]
    assert problem.origin == "trails.json[0].Records[1]"
