"""What follows a document's outer array, when the full parse reads it element by element, is named, never
dropped silently: a second document glued to the first (``cat a.json b.json``) is the case seen."""

import json

import pytest

from analysis.records import Malformed, load_bytes, parse_loaded

FIRST = {"eventVersion": "1.08", "eventName": "A"}
SECOND = {"eventVersion": "1.08", "eventName": "B"}
AFTER = "content after the end of the array, not read"


def read(data: bytes) -> list[object]:
    return list(parse_loaded(load_bytes(data, "f.json")))


def test_a_second_trail_document_after_the_first_is_named():
    data = json.dumps({"Records": [FIRST]}).encode() + json.dumps({"Records": [SECOND]}).encode()
    assert read(data) == [FIRST, Malformed("f.json.Records", AFTER)]


def test_a_second_array_after_the_first_is_named():
    data = json.dumps([FIRST]).encode() + b" " + json.dumps([SECOND]).encode()
    assert read(data) == [FIRST, Malformed("f.json", AFTER)]


@pytest.mark.parametrize("tail", [b"", b"\n", b" \r\n\t"])
def test_whitespace_after_a_broken_trail_document_is_not_content(tail):
    """A stray comma sends the document to the record-by-record reading; its end is as a trail file's."""
    data = b'{"Records":[' + json.dumps(FIRST).encode() + b",," + json.dumps(SECOND).encode() + b"]}" + tail
    assert read(data) == [FIRST, SECOND]
