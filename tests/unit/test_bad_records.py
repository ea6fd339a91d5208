"""Issue 15's bad records: one record that cannot be fully understood never crashes a run, never stops the
reading of the records and files after it, and is either reported (a denial whose odd fields read as absent)
or counted and named (what is no record at all). Expected counts are worked out by hand from each input."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from analysis.cli import main
from analysis.explain import explain_bytes
from analysis.records import Malformed, parse_bytes
from analysis.sources.rows import record_from_row
from tests import factories as f


def _report(capsys: pytest.CaptureFixture[str], source: Path, service: str = "all") -> dict[str, Any]:
    status = main(["report", "--source", str(source), "--service", service, "--format", "json"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return dict(json.loads(captured.out))


def _deploy_denials() -> list[dict[str, Any]]:
    """Three denials of one principal (the Deploy role), each a row of the same finding."""
    identity = f.assumed_role()
    return [
        f.record("DescribeService", identity=copy.deepcopy(identity), event_id="e-1"),
        f.record("ListServices", identity=copy.deepcopy(identity), event_id="e-2"),
        f.record("PassRole", identity=copy.deepcopy(identity), event_source="iam.amazonaws.com", event_id="e-3"),
    ]


ODD_EVENT_FIELDS = [
    ("eventSource", None),
    ("eventSource", 7),
    ("eventSource", ["apprunner.amazonaws.com"]),
    ("eventSource", {"name": "apprunner.amazonaws.com"}),
    ("eventName", None),
    ("eventName", 7),
    ("eventName", ["CreateService"]),
    ("eventName", {"name": "CreateService"}),
]


@pytest.mark.parametrize(("field", "value"), ODD_EVENT_FIELDS)
def test_a_denial_without_a_string_event_source_or_name_beside_its_principals_other_rows_is_reported(
    tmp_path, capsys, field, value
):
    records = _deploy_denials()
    odd = records[0]
    if value is None:
        del odd[field]
    else:
        odd[field] = value
    (tmp_path / "trail.json").write_text(json.dumps(f.trail_file(records)))

    report = _report(capsys, tmp_path / "trail.json")

    assert report["totals"]["records_read"] == 3
    assert report["totals"]["denials"] == 3  # the odd one is still a denial (its errorCode says so)
    assert report["totals"]["malformed_records"] == 0
    deploy = [x for x in report["findings"] if x["principal"]["arn"] == "arn:aws:iam::111122223333:role/Deploy"]
    assert [x["denials"] for x in deploy] == [3]


NESTED_NOT_OBJECTS = [
    (("userIdentity",), "AssumedRole"),
    (("userIdentity",), None),
    (("userIdentity", "sessionContext"), "not an object"),
    (("userIdentity", "sessionContext"), [1, 2]),
    (("userIdentity", "sessionContext", "sessionIssuer"), ["arn:aws:iam::111122223333:role/Deploy"]),
    (("userIdentity", "sessionContext", "sessionIssuer"), 12),
    (("userIdentity", "sessionContext", "attributes"), 5),
    (("userIdentity", "sessionContext", "attributes"), "true"),
    (("userIdentity", "onBehalfOf"), "someone"),
    (("userIdentity", "invokedBy"), {"service": "x"}),
    (("requestParameters",), "serviceArn=x"),
    (("requestParameters",), [{"serviceArn": "arn:aws:apprunner:us-east-1:111122223333:service/web/1"}]),
    (("resources",), {"ARN": "arn:aws:apprunner:us-east-1:111122223333:service/web/1"}),
    (("resources",), ["arn:aws:apprunner:us-east-1:111122223333:service/web/1", 5]),
]


def _set(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        record = record.setdefault(key, {})
    record[path[-1]] = value


def _write(folder: Path, name: str, records: list[dict[str, Any]], layout: str) -> None:
    if layout == "jsonl":
        data = "".join(json.dumps(r) + "\n" for r in records).encode()
    else:  # a trail file as AWS writes it: compact, eventVersion first (the fast path's layout)
        data = json.dumps(f.trail_file(records), separators=(",", ":")).encode()
    (folder / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)


@pytest.mark.parametrize("layout", ["trail", "jsonl"])
@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize(("path", "value"), NESTED_NOT_OBJECTS)
def test_a_nested_field_that_is_not_an_object_stops_nothing_after_it(tmp_path, capsys, layout, gzipped, path, value):
    first, second, third = _deploy_denials()
    _set(first, path, value)
    suffix = (".jsonl" if layout == "jsonl" else ".json") + (".gz" if gzipped else "")
    _write(tmp_path, f"a{suffix}", [first, second], layout)
    _write(tmp_path, f"b{suffix}", [third], layout)

    report = _report(capsys, tmp_path)

    assert report["totals"]["records_read"] == 3
    assert report["totals"]["denials"] == 3
    assert report["totals"]["malformed_records"] == 0
    assert [s["status"] for s in report["sources"]] == ["ok"]
    explained = explain_bytes(json.dumps(first).encode())
    assert explained.denials == 1
    assert explained.actions[0].action == "apprunner:DescribeService"


DEEP = "[" * 5000 + "]" * 5000  # valid JSON nested deeper than Python's json module goes


@pytest.mark.parametrize(
    "request_text",
    [DEEP, json.dumps({"serviceArn": "x", "tags": DEEP}), json.dumps({"a": json.loads("[" * 50 + "]" * 50)})],
)
def test_a_query_row_whose_request_is_nested_too_deep_is_still_a_record(request_text):
    """Athena gives the request as JSON text, Lake nested values as JSON text: a caller chooses how deep."""
    row = {
        "eventid": "e-1",
        "eventsource": "apprunner.amazonaws.com",
        "eventname": "DescribeService",
        "errorcode": "AccessDeniedException",
        "requestparameters": request_text,
    }
    record = record_from_row(row)
    assert (record["eventID"], record["errorCode"]) == ("e-1", "AccessDeniedException")


@pytest.mark.parametrize("shape", ["lookup", "eventbridge"])
def test_a_container_inside_a_lookup_event_or_an_envelope_is_malformed(shape):
    container = {"Records": 5}
    wrapped = f.lookup_event(container) if shape == "lookup" else f.eventbridge_envelope(container)
    items = list(parse_bytes(json.dumps({"Events": [wrapped]} if shape == "lookup" else wrapped).encode(), "x"))
    assert [type(i) for i in items] == [Malformed]


@pytest.mark.parametrize("token", ["1e400", '"\\ud800"', "[" * 1100 + "]" * 1100])
def test_one_record_the_json_parser_refuses_does_not_hide_the_others_of_its_file(token):
    """Valid JSON (RFC 8259) that orjson refuses: a number beyond a double, a lone surrogate, deep nesting."""
    good = [f.record(event_id="e-1"), f.record("ListServices", event_id="e-2")]
    text = json.dumps(f.trail_file([good[0], {**f.record(event_id="e-3"), "userAgent": "TOKEN"}, good[1]]))
    items = list(parse_bytes(text.replace('"TOKEN"', token).encode(), "trail.json"))
    read = [i.get("eventID") for i in items if isinstance(i, dict)]
    assert "e-1" in read
    assert "e-2" in read


@pytest.mark.parametrize("session", ["low", "unknown"])
def test_a_session_named_like_a_word_of_the_contract_does_not_break_a_redacted_report(tmp_path, capsys, session):
    """A role session's name is the caller's choice (sts:AssumeRole's RoleSessionName)."""
    record = f.record(identity=f.assumed_role("Deploy", session), error_message="Access Denied")  # reason unknown
    (tmp_path / "trail.json").write_text(json.dumps(f.trail_file([record])))
    status = main(["report", "--source", str(tmp_path / "trail.json"), "--redact", "--format", "json"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["findings"][0]["confidence"], report["findings"][0]["actions"][0]["reasons"]) == ("low", ["unknown"])


@pytest.mark.parametrize(
    "event_time",
    [
        "0001-01-01T00:00:00Z",  # no CloudTrail record; the report (pandas) cannot hold it either
        "0999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+05:00",  # in UTC, before year 1
        "9999-12-31T23:59:59-05:00",  # in UTC, after year 9999
    ],
)
def test_the_denial_alert_takes_an_event_time_no_report_can_write_as_unreadable(event_time):
    from analysis.alert_service import alert_on_event
    from analysis.settings import load_settings

    record = f.record(event_time=event_time)
    envelope = f.eventbridge_envelope(record)

    run = alert_on_event(envelope, load_settings(env={}, service="apprunner"))

    assert run.denials == 1
    assert (run.findings[0].first_seen, run.findings[0].last_seen) == (None, None)


@pytest.mark.parametrize("odd", ["5", '"text"', "null", "true"])
def test_a_value_that_is_no_record_in_a_cut_trail_file_is_counted(odd):
    first, second = f.record(event_id="e-1"), f.record("ListServices", event_id="e-2")
    data = f'{{"Records":[{json.dumps(first)},{odd},{json.dumps(second)}'.encode()
    cut = data[:-10]  # inside the second record

    items = list(parse_bytes(cut, "trail.json"))

    assert [i.get("eventID") for i in items if isinstance(i, dict)] == ["e-1"]
    assert len([i for i in items if isinstance(i, Malformed)]) == 2  # the odd value, and the cut record


@pytest.mark.parametrize(
    "field", [("userIdentity", "arn"), ("userIdentity", "userName"), ("userAgent",), ("errorMessage",)]
)
def test_the_denial_alert_mends_a_lone_surrogate_as_the_file_readers_do(field):
    """Lambda's runtime parses the event with Python's json, which takes a lone surrogate escape ('\\ud800');
    orjson (the report's writer) and UTF-8 refuse such a string."""
    from analysis.alert_service import alert_on_event
    from analysis.settings import load_settings

    record = f.record(identity=f.iam_user("dev-alice"))
    holder = record
    for key in field[:-1]:
        holder = holder[key]
    holder[field[-1]] += "-SURROGATE"  # a user named dev-alice-\ud800, a message that names it ...
    event = json.loads(json.dumps(f.eventbridge_envelope(record)).replace("-SURROGATE", "\\ud800"))

    run = alert_on_event(event, load_settings(env={}, service="apprunner"))

    assert (run.records, run.denials, len(run.findings)) == (1, 1, 1)
    assert "\ud800" not in run.findings[0].model_dump_json()


def test_a_query_row_with_a_lone_surrogate_is_mended_not_fatal_to_the_report():
    """botocore parses Athena's and Lake's answers with Python's json, which takes a '\\ud800' escape."""
    from analysis.sources.base import RecordsSource
    from tests.analysed import analysed

    row = {
        "eventid": "e-1",
        "eventsource": "apprunner.amazonaws.com",
        "eventname": "DescribeService",
        "errorcode": "AccessDeniedException",
        "useridentity_type": "IAMUser",
        "useridentity_arn": "arn:aws:iam::111122223333:user/dev-alice\ud800",
        "useridentity_accountid": "111122223333",
        "requestparameters": '{"serviceArn": "arn:aws:apprunner:us-east-1:111122223333:service/web\\udc00/1"}',
    }
    report = analysed([RecordsSource([record_from_row(row)])])
    assert report["totals"]["denials"] == 1
    assert report["findings"][0]["principal"]["arn"] == "arn:aws:iam::111122223333:user/dev-alice\ufffd"


def test_a_denial_alert_nested_deeper_than_the_interpreter_goes_is_still_read():
    from analysis.alert_service import alert_on_event
    from analysis.settings import load_settings

    record = f.record()
    record["requestParameters"]["tags"] = json.loads("[" * 900 + "]" * 900)  # Python's json reads it; 900 frames
    run = alert_on_event(f.eventbridge_envelope(record), load_settings(env={}, service="apprunner"))
    assert (run.denials, len(run.findings)) == (1, 1)
