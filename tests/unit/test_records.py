"""Every container shape is detected by content; broken input is named and counted, nothing else lost."""

import gzip
import json

from analysis.records import Malformed, parse_bytes
from analysis.sources import files
from analysis.sources.files import iter_paths, read_file
from tests import factories as f


def _records(items):
    return [i for i in items if not isinstance(i, Malformed)]


def _problems(items):
    return [i for i in items if isinstance(i, Malformed)]


def test_trail_file_plain_and_gzip_whatever_the_name(tmp_path):
    records = [f.record(), f.record("ListServices", request={})]
    (tmp_path / "a.json").write_text(json.dumps(f.trail_file(records)))
    (tmp_path / "b.json").write_bytes(gzip.compress(json.dumps(f.trail_file(records)).encode()))
    assert len(_records(read_file(tmp_path / "a.json"))) == 2
    assert len(_records(read_file(tmp_path / "b.json"))) == 2


def test_array_jsonl_lookup_output_and_eventbridge_envelopes(tmp_path):
    rec = f.record()
    shapes = {
        "array.json": json.dumps([rec, rec]),
        "lines.jsonl": "\n".join(json.dumps(r) for r in [rec, rec, rec]) + "\n",
        "lookup.json": json.dumps({"Events": [f.lookup_event(rec), f.lookup_event(rec)], "NextToken": "x"}),
        "envelope.json": json.dumps(f.eventbridge_envelope(rec)),
        "envelopes.jsonl": "\n".join(json.dumps(f.eventbridge_envelope(rec)) for _ in range(2)),
        "pretty.json": json.dumps(f.trail_file([rec]), indent=4),
        "bare.json": json.dumps(rec),
    }
    expected = {
        "array.json": 2,
        "lines.jsonl": 3,
        "lookup.json": 2,
        "envelope.json": 1,
        "envelopes.jsonl": 2,
        "pretty.json": 1,
        "bare.json": 1,
    }
    for name, text in shapes.items():
        (tmp_path / name).write_text(text)
        items = list(read_file(tmp_path / name))
        assert not _problems(items), name
        assert len(items) == expected[name], name
        assert all(i["eventName"] == "DescribeService" for i in items), name


def test_a_broken_line_is_named_and_the_rest_is_read(tmp_path):
    rec = json.dumps(f.record())
    path = tmp_path / "mixed.jsonl"
    path.write_text(f"{rec}\n{{not json\n[1, 2]\n{rec}\n")
    items = list(read_file(path))
    assert len(_records(items)) == 2
    problems = _problems(items)
    assert [p.origin for p in problems] == [f"{path}:2", f"{path}:3[0]", f"{path}:3[1]"]


def test_first_line_broken_still_reads_the_others(tmp_path):
    rec = json.dumps(f.record())
    path = tmp_path / "first-broken.jsonl"
    path.write_text(f"{{broken\n{rec}\n{rec}\n")
    items = list(read_file(path))
    assert len(_records(items)) == 2 and len(_problems(items)) == 1


def test_unreadable_files_are_one_problem_each(tmp_path):
    (tmp_path / "trunc.json.gz").write_bytes(gzip.compress(b'{"Records": [{"a": 1}]}')[:20])
    (tmp_path / "empty.json").write_text("")
    for name in ("trunc.json.gz", "empty.json"):
        items = list(read_file(tmp_path / name))
        assert len(items) == 1 and isinstance(items[0], Malformed), name
        assert name in items[0].origin


def test_a_damaged_trail_file_keeps_its_complete_records_and_names_where_it_is_cut(tmp_path):
    (tmp_path / "damaged.json").write_text('{"Records": [{"eventName": "X"},')
    record, problem = read_file(tmp_path / "damaged.json")
    assert record == {"eventName": "X"}
    assert isinstance(problem, Malformed) and problem.origin.endswith("damaged.json.Records[1]")


def test_non_object_elements_and_bad_lookup_strings_are_malformed():
    items = list(parse_bytes(json.dumps({"Records": [f.record(), 7, "x"]}).encode(), "mem"))
    assert len(_records(items)) == 1 and len(_problems(items)) == 2
    bad_lookup = {"Events": [{"EventId": "1", "CloudTrailEvent": "{not json"}]}
    items = list(parse_bytes(json.dumps(bad_lookup).encode(), "mem"))
    assert len(items) == 1 and "CloudTrailEvent" in items[0].error


def test_record_with_missing_fields_is_still_a_record():
    items = list(parse_bytes(b'{"eventName": "DescribeService"}', "mem"))
    assert items == [{"eventName": "DescribeService"}]


def test_folders_are_read_recursively_for_the_documented_suffixes_only(tmp_path):
    deep = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1" / "2026" / "11" / "28"
    deep.mkdir(parents=True)
    for name in ("a.json", "b.json.gz", "c.jsonl", "d.jsonl.gz", "notes.txt", "e.csv"):
        (deep / name).write_text("{}")
    found = sorted(p.name for p in iter_paths(tmp_path))
    assert found == ["a.json", "b.json.gz", "c.jsonl", "d.jsonl.gz"]


def test_files_too_large_to_hold_are_streamed_and_read_like_small_ones(tmp_path, monkeypatch):
    rec = f.record()
    shapes = {
        "lines.jsonl.gz": gzip.compress(("\n".join(json.dumps(r) for r in [rec, rec, rec]) + "\n{broken\n").encode()),
        "trail.json": json.dumps(f.trail_file([rec, rec])).encode(),
        "trunc.json.gz": gzip.compress(json.dumps(f.trail_file([rec])).encode())[:30],
    }
    for name, data in shapes.items():
        (tmp_path / name).write_bytes(data)
    held = {name: list(read_file(tmp_path / name)) for name in shapes}
    monkeypatch.setattr(files, "WHOLE_FILE_LIMIT", 10)
    assert all(isinstance(files.load_file(tmp_path / name), files.LargeFile) for name in shapes)
    streamed = {name: list(read_file(tmp_path / name)) for name in shapes}
    assert [len(_records(streamed[name])) for name in shapes] == [3, 2, 0]
    assert [p.origin for p in _problems(streamed["lines.jsonl.gz"])] == [f"{tmp_path / 'lines.jsonl.gz'}:4"]
    assert _problems(streamed["trunc.json.gz"])[0].error.startswith("cannot read file (")
    assert streamed["lines.jsonl.gz"] == held["lines.jsonl.gz"] and streamed["trail.json"] == held["trail.json"]


def test_a_trail_container_whose_records_are_not_a_list_is_malformed_not_a_record(tmp_path):
    # A trail file is {"Records": [...]} (CloudTrail log file examples): any other Records holds no record.
    for name, body in (
        ("five.json", '{"Records": 5}'),
        ("none.json", '{"Records": null}'),
        ("obj.json", '{"Records": {}}'),
    ):
        (tmp_path / name).write_text(body)
        items = list(read_file(tmp_path / name))
        assert _records(items) == [], name
        [problem] = _problems(items)
        assert problem.origin == str(tmp_path / name) and "'Records' is" in problem.error
