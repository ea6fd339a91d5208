"""The report's fast paths give what the slow ones gave (issue 14): the secrets check before the masking regexes,
and orjson writing the indented JSON the standard library wrote."""

from __future__ import annotations

import json
import math
import re

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.contract import pretty_json
from analysis.redact import map_strings, mask_secrets, may_hold_secrets, without_secrets

pytestmark = pytest.mark.unit

# What the three patterns look for, in any case, and the letters Python's re folds onto ASCII ones (found by trying
# every code point against each letter of the words with re.IGNORECASE: U+0130 and U+0131 for i, U+017F for s, U+212A
# for k).
WORDS = [
    "X-Amz-Signature=1",
    "X-Amz-Credential=b",
    "X-Amz-Security-Token: c",
    "AWSAccessKeyId=d",
    "&Signature=e",
    "%26signature%3Df",
]
KEY_PREFIXES = ["AKIA", "ASIA", "ABIA", "ACCA", "A3TX"]
TOKEN_PREFIXES = ["IQoJb3JpZ2lu", "FwoGZXIvYXdzE", "FQoDYXdzE", "AQoEXAMPLE"]
PIECES = ["AKIA", "ASIA", "A3TX", "IQoJb3JpZ2lu", "FwoGZXIvYXdzE", "AQoEXAMPLE", "%3D", "%26", "&", "=", " ", "\n"]
FOLDED = ["\u0130", "\u0131", "\u017f", "\u212a"]


def _recased(word: str, pattern: list[bool]) -> str:
    return "".join(c.upper() if up else c for c, up in zip(word, pattern + [False] * len(word), strict=False))


words = st.builds(_recased, st.sampled_from(WORDS), st.lists(st.booleans(), max_size=20))
folded_words = st.builds(
    lambda word, at, letter: word[:at] + letter + word[at + 1 :],
    st.sampled_from(WORDS),
    st.integers(0, 14),
    st.sampled_from(FOLDED),
)
keys = st.builds(str.__add__, st.sampled_from(KEY_PREFIXES), st.text("ABCXYZ0189", min_size=15, max_size=17))
tokens = st.builds(str.__add__, st.sampled_from(TOKEN_PREFIXES), st.text("abcXYZ09+/=", min_size=7, max_size=12))
alphabet = st.sampled_from([*"AKIQSabcoJ01239+/=%-_:", *FOLDED])
texts = st.lists(
    st.one_of(
        words, folded_words, keys, tokens, st.sampled_from(PIECES), st.text(alphabet, max_size=20), st.text(max_size=8)
    ),
    max_size=8,
).map("".join)


@given(texts)
def test_a_text_the_check_passes_is_one_the_masking_leaves_as_it_is(text):
    if not may_hold_secrets(text):
        assert _masked_by_the_regexes(text) == text


def _masked_by_the_regexes(text: str) -> str:
    """mask_secrets without its check: the three patterns run whatever the text."""
    from analysis import redact

    text = redact._SIGNING_VALUE.sub(lambda m: m.group(1) + "(masked)", text)
    text = redact._ACCESS_KEY.sub(lambda m: m.group(1) + "************", text)
    return redact._SESSION_TOKEN.sub(lambda m: m.group(1) + "…(session token masked)", text)


@given(texts)
def test_mask_secrets_is_the_three_patterns(text):
    assert mask_secrets(text) == _masked_by_the_regexes(text)


@pytest.mark.parametrize(
    "text",
    [
        "x-amz-\u017fignature=abc",  # long s: re's (?i) reads it as s
        "X-Amz-Credent\u0131al=AKIA",
        "AWSACCESS\u212aEYID=1",
        "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=FwoGZXIvYXdzEabcdefghijkl",
        "key AKIAIOSFODNN7EXAMPLE in a name",
        *(f"a{prefix}ABCDEFGHIJ012345z" for prefix in KEY_PREFIXES),
        *(f"{prefix}abcdefgh12" for prefix in TOKEN_PREFIXES),
        *(word.replace("i", "\u0131", 1) for word in WORDS),
        *(word.replace("s", "\u017f", 1).replace("S", "\u017f", 1) for word in WORDS),
    ],
)
def test_texts_that_hold_a_secret_are_checked(text):
    assert may_hold_secrets(text)
    assert mask_secrets(text) != text


def test_a_report_without_secrets_is_returned_unwalked_and_one_with_a_secret_everywhere_masked():
    clean = {"findings": [{"principal": {"arn": "arn:aws:iam::111122223333:user/dev-alice"}, "count": 3}]}
    assert without_secrets(clean) is clean
    nested = {"a": [{"AKIAIOSFODNN7EXAMPLE": ["x", "ASIAIOSFODNN7EXAMPLE"]}], "n": 1, "t": (1, 2)}
    assert without_secrets(nested) == map_strings(nested, mask_secrets)
    assert "IOSFODNN7EXAMPLE" not in json.dumps(without_secrets(nested))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-05, 1.5e-07, -2.5e-300, 1e16, 1.2345e20, 1e21, 5e-324, 0.0001, 9999999999999998.0])
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@given(json_values.filter(lambda v: not _has_surrogates(v)))
def test_pretty_json_is_the_standard_librarys_indented_text(value):
    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _has_surrogates(value: object) -> bool:
    return bool(re.search("[\ud800-\udfff]", json.dumps(value, ensure_ascii=False)))


def test_pretty_json_writes_what_orjson_refuses_with_the_standard_library():
    value = {"big": 2**70, "control": "\x00\x1f\u2028"}
    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def test_a_report_read_back_with_a_lone_surrogate_is_still_a_document():
    """Python's json reads '\\ud800' into a string UTF-8 cannot hold: model_dump_json refuses it, the document
    is then made as before (model_dump)."""
    from analysis.contract import Report
    from tests import factories as f
    from tests.analysed import report_of

    report = report_of([f.record(event_id="e-1")])
    report["sources"][0]["name"] = "trail-\ud800"
    document = Report.model_validate(report).document()
    assert document["sources"][0]["name"] == "trail-\ud800"
    assert document == report


def test_a_report_with_an_integer_beyond_64_bits_keeps_it_exact():
    """orjson reads such an integer as a float: the document takes the slow way then."""
    from analysis.contract import Report
    from tests import factories as f
    from tests.analysed import report_of

    report = report_of([f.record(event_id="e-1")])
    report["x_count"] = 2**64 + 1  # a field a later version adds, read back
    document = Report.model_validate(report).document()
    assert document["x_count"] == 2**64 + 1 and isinstance(document["x_count"], int)


def test_a_secret_under_a_key_json_cannot_write_is_masked():
    value = {("k", 1): "key AKIAIOSFODNN7EXAMPLE"}
    assert without_secrets(value) == {("k", 1): "key AKIA************"}


def _floats_across_every_exponent() -> list[float]:
    """Some 9,000 floats: each power of ten a double holds, times a few mantissas, both signs, and the edges of
    repr's exponent form (1e-4 and 1e16) with their neighbours."""
    values = [m * float(f"1e{e}") for e in range(-323, 308) for m in (1, 1.5, 2.5, 5, 9.999, 1.23456789012345, 7e-1)]
    values += [math.nextafter(1e-4, 0), 1e-4, math.nextafter(1e16, 0), 1e16, math.nextafter(1e16, 2e16), 5e-324]
    return [v for x in values for v in (x, -x) if math.isfinite(v)]


def test_every_float_orjson_writes_otherwise_than_repr_holds_a_mark_the_check_looks_for():
    """The premise of pretty_json's check, on every exponent: a float orjson writes otherwise than ``repr`` holds
    ``e``/``E`` and a sign, or ``0.0000``; the others are written the same."""
    written_otherwise = 0
    for value in _floats_across_every_exponent():
        text = orjson.dumps(value)
        if text != repr(value).encode():
            written_otherwise += 1
            assert re.search(rb"[eE][-+]\d|0\.0000", text), (value, text)
    assert written_otherwise > 50  # the sweep reaches the forms that differ (below 1e-4 and from 1e16)


@pytest.mark.parametrize("value", [1e-05, -3.5e-05, 2e-07, 1.5e16, -1e300, 5e-324])
def test_one_float_written_otherwise_among_thousands_of_lines_with_marks_in_strings(value):
    """Event IDs such as ``…-1d2e-4f3a-…`` hold the marks on many lines; the one line with the float is still read."""
    ids = [f"5b1f0e0c-1d2e-4f3a-9b8c-{n:012d}" for n in range(2000)]
    document = {"ids": ids, "window": {"start": "2026-11-28T00:00:00Z"}, "figures": [1, 2.5, {"small": value}]}
    assert pretty_json(document) == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_a_mark_inside_a_string_is_no_float():
    document = {"message": "1e-05 and 0.00001 and 1E+16", "ratio": 0.5}
    assert pretty_json(document) == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@given(st.lists(st.sampled_from([b"0", b"7", b"9", b"1" * 18, b"2" * 19, b"a", b"-", b"\xd9\xa3", b" "]), max_size=40))
def test_a_run_of_19_digits_is_found_as_the_regex_finds_it(pieces):
    from analysis.contract import _holds_long_digit_runs

    text = b"".join(pieces)
    assert _holds_long_digit_runs(text) == bool(re.search(rb"[0-9]{19}", text))


@given(texts)
def test_the_check_of_json_bytes_is_the_check_of_its_text(text):
    from analysis.redact import json_may_hold_secrets

    assert json_may_hold_secrets(text.encode("utf-8", "surrogatepass")) == may_hold_secrets(text)


def test_the_only_letters_beyond_ascii_that_lower_to_ascii_letters_are_the_folded_ones():
    """bytes.lower() lowers ASCII letters only; str.lower() also takes these code points to ASCII letters (every
    code point tried), and the byte check finds each of them before it lowers anything."""
    from analysis.redact import _FOLDED_AS_ASCII

    lowering_to_ascii = {
        chr(c)
        for c in range(0x80, 0x110000)
        if not 0xD800 <= c <= 0xDFFF and any(ch.isascii() and ch.isalpha() for ch in chr(c).lower())
    }
    assert lowering_to_ascii and lowering_to_ascii <= set(_FOLDED_AS_ASCII)


def test_a_long_line_full_of_marks_is_read_once_per_mark(monkeypatch):
    """A string of 20,000 marks is one line: read once for each kind of mark, not once per mark (that was 18 s)."""
    from analysis import contract

    reads: list[tuple[int, int]] = []
    pattern = contract._FLOAT_VALUES

    class Counting:
        def findall(self, text: bytes, start: int, end: int) -> list[bytes]:
            reads.append((start, end))
            return pattern.findall(text, start, end)

    monkeypatch.setattr(contract, "_FLOAT_VALUES", Counting())
    document = {"message": "e-1 E+2 0.00001 " * 20_000, "small": 1e-05}
    assert pretty_json(document) == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    assert len(reads) <= 3 + 1, reads[:5]
