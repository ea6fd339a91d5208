"""A gzip file's content is read in one call per member, with GzipFile's meaning: members concatenated,
NUL padding ignored, the cap counted across members, a cut or corrupt file named as GzipFile names it."""

import gzip
import io
import json
import zlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from isal import igzip

from analysis import records
from analysis.records import ContentTooLarge, Malformed, load_bytes, parse_loaded

DOCUMENT = json.dumps({"Records": [{"eventVersion": "1.08", "eventName": "ListServices"}]}).encode()
CUT_MESSAGE = "cannot decompress gzip (Compressed file ended before the end-of-stream marker was reached)"


def by_gzipfile(data: bytes) -> bytes:
    """The reading before members were inflated one call each: python-isal's GzipFile, to the end."""
    with igzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        return stream.read()


def problem(data: bytes, limit: int | None = None) -> str | None:
    loaded = load_bytes(data, "f.json.gz", limit=limit)
    return None if loaded.problem is None else loaded.problem.error


def test_one_member_is_its_content():
    assert records._content(gzip.compress(DOCUMENT), 10**6) == DOCUMENT


def test_two_members_hold_their_contents_one_after_the_other():
    first, second = b'{"Records":[', b"]}"
    data = gzip.compress(first) + gzip.compress(second)
    assert records._content(data, 10**6) == b'{"Records":[]}' == by_gzipfile(data)


def test_two_trail_documents_in_two_members_read_as_their_concatenation_reads():
    """``cat a.json.gz b.json.gz``: the content is both documents end to end, as GzipFile reads it, and is
    read as that same content uncompressed is read."""
    data = gzip.compress(DOCUMENT) * 2
    assert records._content(data, 10**6) == DOCUMENT + DOCUMENT
    from_gzip = list(parse_loaded(load_bytes(data, "f")))
    assert from_gzip == list(parse_loaded(load_bytes(DOCUMENT + DOCUMENT, "f")))
    first_record = json.loads(DOCUMENT)["Records"][0]
    assert from_gzip == [first_record, Malformed("f.Records", "content after the end of the array, not read")]


def test_an_empty_member_adds_nothing():
    data = gzip.compress(DOCUMENT) + gzip.compress(b"")
    assert records._content(data, 10**6) == DOCUMENT


@pytest.mark.parametrize("padding", [1, 7, 512])
def test_nul_padding_after_the_last_member_is_ignored_as_gzipfile_ignores_it(padding):
    data = gzip.compress(DOCUMENT) + b"\0" * padding
    assert records._content(data, 10**6) == DOCUMENT == by_gzipfile(data)


def test_nul_padding_between_members_is_ignored_too():
    data = gzip.compress(b"ab") + b"\0" * 3 + gzip.compress(b"cd")
    assert records._content(data, 10**6) == b"abcd" == by_gzipfile(data)


def test_the_cap_counts_the_content_of_every_member():
    data = gzip.compress(b"a" * 600) + gzip.compress(b"b" * 600)  # 1,200 bytes in all
    with pytest.raises(ContentTooLarge):
        records._content(data, 1_000)
    assert records._content(data, 1_200) == b"a" * 600 + b"b" * 600
    with pytest.raises(ContentTooLarge):
        records._content(data, 1_199)


def test_the_cap_holds_inside_one_member():
    with pytest.raises(ContentTooLarge):
        records._content(gzip.compress(b"a" * 5_000), 4_999)
    assert problem(gzip.compress(b"a" * 5_000), 4_999) == ContentTooLarge(4_999, compressed=True).args[0]


@pytest.mark.parametrize(
    "name, data",
    [
        ("the first member cut", gzip.compress(DOCUMENT)[:-5]),
        ("the second member cut", gzip.compress(DOCUMENT) + gzip.compress(b"more")[:12]),
        ("the second member only its magic", gzip.compress(DOCUMENT) + b"\x1f\x8b"),
        ("short garbage after the member", gzip.compress(DOCUMENT) + b"garbage"),
        ("NULs then garbage", gzip.compress(DOCUMENT) + b"\0\0x"),
        ("a zlib stream after the member", gzip.compress(DOCUMENT) + zlib.compress(b"q")),
    ],
)
def test_a_cut_file_or_trailing_bytes_are_named_as_before(name, data):
    assert problem(data) == CUT_MESSAGE


def _corrupted(position: int, mask: int = 1) -> bytes:
    data = bytearray(gzip.compress(DOCUMENT * 20))
    data[position] ^= mask
    return bytes(data)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("a wrong CRC", _corrupted(-6), "CRC check failed"),
        ("a wrong length", _corrupted(-2), "Incorrect length of data produced"),
        ("an unknown method", _corrupted(2, 0x05), "Unknown compression method"),
        ("long garbage after the member", gzip.compress(DOCUMENT) + b"garbage, " * 20, "Not a gzipped file (b'ga')"),
    ],
)
def test_a_corrupt_file_is_named_as_gzipfile_names_it(name, data, message):
    assert (problem(data) or "").startswith(f"cannot decompress gzip ({message}")


@settings(max_examples=150, deadline=None)
@given(
    contents=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
    padding=st.integers(0, 8),
    cut=st.integers(0, 40),
    limit=st.integers(0, 1_300),
)
def test_any_members_cut_or_padded_read_as_gzipfile_reads_them(contents, padding, cut, limit):
    data = b"".join(gzip.compress(content) for content in contents) + b"\0" * padding
    data = data[: len(data) - cut] if cut else data
    assume(data[:2] == b"\x1f\x8b")  # without the magic the bytes are content, not gzip
    try:
        expected: bytes | type[Exception] = by_gzipfile(data)
    except (OSError, EOFError) as error:
        expected = type(error)
    if isinstance(expected, bytes):
        total = len(expected)
        if total > limit:
            with pytest.raises(ContentTooLarge):
                records._content(data, limit)
        else:
            assert records._content(data, limit) == expected
    else:
        with pytest.raises((expected, ContentTooLarge)):
            records._content(data, limit)
