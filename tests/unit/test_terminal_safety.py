"""Nothing from a log may act on the reader's terminal or viewer (issue 15).

A log, a file name or an S3 key may hold ESC (``ESC[2J`` clears the screen, ``ESC]0;…BEL`` retitles the window),
BEL, NUL, other C0 controls, DEL, C1 controls (``\\x9b`` is CSI on an 8-bit terminal) and Unicode bidi controls
(``U+202E`` makes ``Deploy<U+202E>exe.nur`` read ``Deployrun.exe``). Wherever a person reads, each is shown as a
visible ``\\uXXXX`` escape instead; the JSON report stays exact (JSON escaping already shows the C0 controls, and its
strings are data).

The unsafe characters are listed here from the standards, not from the code under test: C0 (U+0000-U+001F) but tab
and line feed, DEL (U+007F), C1 (U+0080-U+009F) (ECMA-48), the bidi embeddings, overrides and isolates
(U+202A-U+202E, U+2066-U+2069), marks (U+200E, U+200F, U+061C) (Unicode UAX #9), the line and paragraph
separators (U+2028, U+2029) that some viewers break lines at, and the invisible format characters (general category
Cf) that hide text or make two names look alike (Unicode TR #36, UTS #39): zero width space, non-joiner and joiner
(U+200B-U+200D), the word joiner, invisible operators and deprecated format characters (U+2060-U+206F), the byte
order mark (U+FEFF), the Mongolian vowel separator (U+180E), interlinear annotation (U+FFF9-U+FFFB) and the tag
characters (U+E0000-U+E007F), which can carry a whole hidden message ("ASCII smuggling"). A character beyond U+FFFF
is shown as JSON shows it, a UTF-16 surrogate pair (RFC 8259 section 7).
"""

from __future__ import annotations

import json
import re
import shutil
from email import message_from_bytes, policy
from typing import Any

import pytest

from analysis import cli
from analysis.alert_service import alert_on_event
from analysis.contract import Report, SourceStatus
from analysis.delivery import email, sns
from analysis.delivery.s3 import Link
from analysis.model import Options
from analysis.redact import map_strings, printable
from analysis.render import render
from analysis.render.text import finding_text
from analysis.service import source_warnings
from analysis.settings import load_settings
from tests.analysed import report_of
from tests.conftest import DATA

HOSTILE_FILE = DATA / "edge" / "terminal_escapes.json"
UNSAFE = (
    [chr(c) for c in range(0x00, 0x20) if chr(c) not in "\t\n"]
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0)]
    + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)
INVISIBLE = (
    [chr(c) for c in range(0x200B, 0x200E)]
    + [chr(c) for c in range(0x2060, 0x2070) if c not in range(0x2066, 0x206A)]
    + ["\ufeff", "\u180e", "\ufff9", "\ufffa", "\ufffb"]
    + [chr(c) for c in range(0xE0000, 0xE0080)]
)
UNSAFE = UNSAFE + INVISIBLE
UNSAFE_PATTERN = re.compile("[" + re.escape("".join(UNSAFE)) + "]")
EVERYTHING = Options(service="all")


def escape_of(character: str) -> str:
    """JSON's escape (RFC 8259 section 7): beyond U+FFFF, the UTF-16 surrogate pair (RFC 2781 section 2.1)."""
    code = ord(character)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
    return f"\\u{high:04x}\\u{low:04x}"


def unsafe_in(text: str) -> list[str]:
    """The unsafe characters a text holds, as code points (empty when a person can read it safely). A CR LF pair
    ends a line (CSV's and mail's line ending, RFC 4180 and RFC 5322): a lone CR is unsafe."""
    return sorted({f"U+{ord(ch):04X}" for ch in UNSAFE_PATTERN.findall(text.replace("\r\n", "\n"))})


def hostile_records() -> list[dict[str, Any]]:
    return json.loads(HOSTILE_FILE.read_text())["Records"]


def hostile_report() -> Report:
    return Report.model_validate(report_of(hostile_records(), EVERYTHING))


# --- the one function ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\u001b[2J"),
        ("\x07", "\\u0007"),
        ("\x00", "\\u0000"),
        ("\r", "\\u000d"),
        ("\x7f", "\\u007f"),
        ("\x9b31m", "\\u009b31m"),
        ("\x85", "\\u0085"),
        ("Deploy\u202eexe.nur", "Deploy\\u202eexe.nur"),
        ("\u2066x\u2069", "\\u2066x\\u2069"),
        ("\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"),
        ("a\u2028b", "a\\u2028b"),
        ("Dep\u200bloy", "Dep\\u200bloy"),
        ("\u200c\u200d\u2060\u2064\ufeff", "\\u200c\\u200d\\u2060\\u2064\\ufeff"),
        ("ok\U000e0001\U000e0069\U000e007f", "ok\\udb40\\udc01\\udb40\\udc69\\udb40\\udc7f"),
    ],
)
def test_printable_shows_each_control_and_bidi_character_as_an_escape(raw, shown):
    assert printable(raw) == shown


def test_every_unsafe_character_is_escaped_and_nothing_else_changes():
    text = "".join(UNSAFE)
    shown = printable(text)
    assert unsafe_in(shown) == []
    assert shown == "".join(escape_of(ch) for ch in UNSAFE)
    ordinary = "Zoë 日本 ü\u00a0x\ttab\nnew line \\u001b stays as written 🚀 \U0001f1fa\U0001f1f8 \U000dffff"
    assert printable(ordinary) == ordinary


def test_on_one_line_tab_and_line_feed_are_escaped_too():
    assert printable("a\nb\tc", keep="") == "a\\u000ab\\u0009c"


def test_json_text_made_printable_is_still_the_same_json():
    value = {"arn": "role/Deploy\u202eexe.nur", "session": "s\x07\x00\x9b\u061c\u200b\U000e0041", "ok": "Zoë"}
    text = printable(json.dumps(value, ensure_ascii=False, indent=2))
    assert unsafe_in(text) == [] and json.loads(text) == value


# --- where a person reads ------------------------------------------------------------------------------------


def test_the_hostile_record_holds_every_kind_of_unsafe_character():
    strings: list[str] = []
    map_strings(hostile_records(), lambda text: strings.append(text) or text)
    found = set(unsafe_in("".join(strings)))
    assert {"U+001B", "U+0007", "U+0000", "U+009B", "U+202E", "U+061C", "U+2066", "U+200F"} <= found


def test_explain_prints_text_a_terminal_cannot_obey(capsys):
    assert cli.main(["explain", str(HOSTILE_FILE)]) == 0
    out = capsys.readouterr().out
    assert unsafe_in(out) == []
    assert "role/Deploy\\u001b[2J\\u001b[H\\u202eexe.nur" in out  # still there, visibly
    assert "Sessions: s\\u0007\\u0000\\u009b31m\\u061c\\u2066\\u200fbob" in out
    assert "service/web\\u001b]0;pwned\\u0007/" in out


def test_the_text_finding_keeps_its_lines():
    """A line feed a log wrote cannot start a line of its own that looks like ours."""
    report = hostile_report()
    finding = report.findings[0].model_copy(deep=True)
    finding.principal.sessions = ["bob\nFix (grant): attach AdministratorAccess"]
    text = finding_text(finding)
    assert "\nFix (grant): attach AdministratorAccess" not in text
    assert "Sessions: bob\\u000aFix (grant): attach AdministratorAccess" in text


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "csv_details"])
def test_every_rendering_a_person_reads_is_safe(fmt):
    text = render(hostile_report(), fmt)
    assert unsafe_in(text) == []
    assert "\\u202e" in text  # what was there is still visible


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "csv_details", "text"])
def test_invisible_characters_in_a_name_are_shown_in_every_rendering(fmt):
    """A name that reads "Deploy" but is not (U+200B inside), and a hidden message in tag characters."""
    from tests import factories as f

    hidden = "".join(chr(0xE0000 + ord(c)) for c in "grant admin")
    record = f.record(identity=f.assumed_role("Dep\u200bloy\u2060", f"ci\ufeff{hidden}"), error_message="Access Denied")
    report = Report.model_validate(report_of([record], EVERYTHING))
    text = finding_text(report.findings[0]) if fmt == "text" else render(report, fmt)
    assert unsafe_in(text) == []
    if fmt == "csv_details":  # names no principal (report.csv does, by finding_id): the session is there
        assert "ci\\ufeff" in text
    else:
        assert "Dep\\u200bloy" in text


def test_markdown_on_standard_output_is_safe(capsys):
    assert cli.main(["report", "--source", str(HOSTILE_FILE), "--service", "all", "--format", "md"]) == 0
    captured = capsys.readouterr()
    assert unsafe_in(captured.out) == [] and unsafe_in(captured.err) == []
    assert "```sh" in captured.out and "\\u001b" in captured.out


def test_the_json_report_stays_exact():
    report = json.loads(render(hostile_report(), "json"))
    [record] = hostile_records()
    session = record["userIdentity"]["arn"].rsplit("/", 1)[-1]
    assert session == "s\x07\x00\x9b31m\u061c\u2066\u200fbob"
    assert report["findings"][0]["principal"]["sessions"] == [session]
    assert record["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] in report["findings"][0]["principal"]["arn"]


def test_the_email_is_safe_in_subject_text_and_html():
    report = hostile_report()
    link = Link("https://s3.console.aws.amazon.com/s3/object/b?region=us-east-1&prefix=r", None, "opens it")
    rendered = {fmt: render(report, fmt) for fmt in ("json", "md", "html", "csv")}
    for max_bytes in (10_000_000, 20_000, 3_000):  # full, linked, summary
        built = email.build_email(
            report, rendered, sender="a@example.com", recipients=("b@example.com",), link=link, max_bytes=max_bytes
        )
        message = message_from_bytes(built.raw, policy=policy.default)
        assert unsafe_in(str(message["Subject"])) == []
        for part in ("plain", "html"):
            assert unsafe_in(message.get_body(preferencelist=(part,)).get_content()) == [], (max_bytes, part)


def test_the_sns_notices_are_safe():
    report = hostile_report()
    text = sns.text_message(report, None)
    assert unsafe_in(text) == [] and "Deploy\\u001b[2J\\u001b[H\\u202eexe.nur" in text
    chat = sns.chatbot_message(report, None)
    assert unsafe_in(chat) == [] and unsafe_in(json.dumps(json.loads(chat), ensure_ascii=False)) == []


# --- warnings on standard error --------------------------------------------------------------------------------


def test_a_warning_about_a_hostile_s3_key_is_one_safe_line():
    key = "s3://trail/AWSLogs/111122223333/x\x1b[2J\u202e.json.gz"
    statuses = [
        SourceStatus(
            name="s3://trail/AWSLogs/", status="partial", records_read=0, error=None, problems=[f"{key}: not gzip\nok"]
        ),
        SourceStatus(name=key, status="failed", records_read=0, error="AccessDenied on \x9b\u2066", problems=[]),
    ]
    warnings = source_warnings(statuses)
    assert [unsafe_in(w) for w in warnings] == [[], []]
    assert all("\n" not in w for w in warnings)
    assert warnings[0] == "s3://trail/AWSLogs/111122223333/x\\u001b[2J\\u202e.json.gz: not gzip\\u000aok"


def test_a_warning_about_a_hostile_file_name_is_safe(tmp_path, capsys):
    shutil.copy(HOSTILE_FILE, tmp_path / "good.json")
    (tmp_path / "trail\x1b[2J\x07\u202e.json").write_text("{not json")
    assert cli.main(["report", "--source", str(tmp_path), "--service", "all", "--format", "json"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and unsafe_in(err) == []
    assert "trail\\u001b[2J\\u0007\\u202e.json" in err


# --- owned by the command line and the alert path: the changes are proposed, these tests wait for them ----------


class RecordingSns:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **request: Any) -> dict[str, str]:
        self.published.append(request)
        return {"MessageId": f"m-{len(self.published)}"}


def test_the_denial_alert_on_sns_is_safe_and_still_the_same_json():
    sns_client = RecordingSns()
    [record] = hostile_records()
    settings = load_settings({}, alert_topic_arn="arn:aws:sns:us-east-1:111122223333:alerts", service="all")
    alert_on_event(record, settings, sns_client)
    [request] = sns_client.published
    assert unsafe_in(request["Subject"]) == []
    session = record["userIdentity"]["arn"].rsplit("/", 1)[-1]
    # MessageStructure json: each protocol's message is a string in one JSON object; machines get the document
    assert request["MessageStructure"] == "json"
    structure = json.loads(request["Message"])
    assert json.loads(structure["sqs"])["finding"]["principal"]["sessions"] == [session]
    assert unsafe_in(request["Message"]) == []
    assert all(unsafe_in(text) == [] for text in structure.values())  # the text body for email too


def test_an_error_naming_a_hostile_file_is_one_safe_line(tmp_path, capsys):
    path = tmp_path / "x\x1b[2J\u202e.json"
    path.write_text("[]")
    assert cli.main(["explain", str(path)]) == 2
    err = capsys.readouterr().err
    assert unsafe_in(err) == [] and "x\\u001b[2J\\u202e.json" in err and err.count("\n") == 1
