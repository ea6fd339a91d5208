"""Alert suppressions (issue 9), pure: analysis.alerting.suppressions parses a JSON document and matches findings.

Expected values are written by hand from the module's documented format and from AWS's own rules: IAM actions are
case-insensitive and ARNs case-sensitive (IAM User Guide, "IAM JSON policy elements: Action" and "IAM identifiers"),
an assumed-role session's ARN is arn:aws:sts::ACCOUNT:assumed-role/ROLE-NAME/SESSION without the role's path, and
role names are unique within an account (IAM identifiers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.alerting.suppressions import (
    MAX_DAYS,
    Suppression,
    Suppressions,
    parse_suppressions,
    protected,
    wildcard_match,
)
from analysis.contract import BUILDING, Finding
from analysis.event_finding import event_finding
from analysis.model import Options
from tests import factories as f

pytestmark = pytest.mark.unit

DATA = Path(__file__).parents[1] / "data" / "suppressions"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SCANNER = "arn:aws:iam::111122223333:role/security/Scanner"


def finding(event_name: str = "DescribeService", identity: dict | None = None, recipient: str = f.ACCOUNT) -> Finding:
    record = f.record(event_name, identity=identity, recipient=recipient)
    return Finding.model_validate(event_finding(record, Options()), context=BUILDING)


def scanner(session: str = "jane", *, path: str = "/security/") -> dict:
    return f.assumed_role("Scanner", session, path=path)


def without_issuer(identity: dict) -> dict:
    """The same session as a log that did not say which role issued it (no sessionContext.sessionIssuer)."""
    return {key: value for key, value in identity.items() if key != "sessionContext"}


def one(entry: dict, now: datetime = NOW) -> Suppressions:
    entry = {"reason": "a test", "expires": "2026-12-31", **entry}
    parsed = parse_suppressions(_json({"suppressions": [entry]}), "test.json", now)
    assert parsed.problems == (), parsed.problems
    assert len(parsed.items) == 1
    return parsed


def _json(value: object) -> str:
    import json

    return json.dumps(value)


def matches(entry: dict, denied: Finding, at: datetime = NOW) -> bool:
    return one(entry).matching(denied, at) is not None


def fields_match(entry: dict, denied: Finding) -> bool:
    """Whether every field the entry names matches (Suppression.matches), whatever protects the denial."""
    return one(entry).items[0].matches(denied)


ALICE = "arn:aws:iam::111122223333:user/dev-alice"


# --- the example document (also the README's) ----------------------------------------------------------------------


def test_the_example_document_reads_whole():
    parsed = parse_suppressions((DATA / "example.json").read_text(), "example.json", NOW)
    assert parsed.problems == ()
    assert [item.principal for item in parsed.items] == [
        (SCANNER,),
        (),
        ("arn:aws:sts::111122223333:assumed-role/Deploy/ci-*",),
    ]
    assert parsed.items[0].action == ("apprunner:Describe*", "apprunner:List*")
    assert parsed.items[1].owner_account == ("444455556666",)
    # a date is through the end of that day (UTC): the next midnight; a time with Z is that time
    assert [item.expires for item in parsed.items] == [
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2026, 12, 15, 18, tzinfo=UTC),
        datetime(2026, 12, 11, tzinfo=UTC),
    ]
    assert parsed.items[0].reason == "quarterly pen test, ticket SEC-42"
    assert parsed.items[0].name == "suppressions[0] in example.json"


def test_the_example_document_suppresses_what_it_says_and_nothing_else():
    parsed = parse_suppressions((DATA / "example.json").read_text(), "example.json", NOW)
    assert parsed.matching(finding("DescribeService", scanner()), NOW) is parsed.items[0]
    assert parsed.matching(finding("ListServices", scanner()), NOW) is parsed.items[0]
    assert parsed.matching(finding("UpdateService", scanner()), NOW) is None  # a Write: not in the entry
    assert parsed.matching(finding("DescribeService"), NOW) is None  # dev-alice: not the scanner
    # what the sandbox account 444455556666's own principals are refused there
    sandbox = f.iam_user("dev-carol", account=f.OTHER_ACCOUNT)
    assert parsed.matching(finding("ResumeService", sandbox, recipient=f.OTHER_ACCOUNT), NOW) is parsed.items[1]
    # but not its root user, nor a caller from another account (README: what no wildcard silences)
    assert parsed.matching(finding("DeleteService", f.root(f.OTHER_ACCOUNT), recipient=f.OTHER_ACCOUNT), NOW) is None
    assert parsed.matching(finding("DeleteService", recipient=f.OTHER_ACCOUNT), NOW) is None  # dev-alice of 1111…
    ci = f.assumed_role("Deploy", "ci-4711")
    assert parsed.matching(finding("ListServices", ci), NOW) is parsed.items[2]
    assert parsed.matching(finding("ListServices", f.assumed_role("Deploy", "jane")), NOW) is None
    assert parsed.matching(finding("DescribeService", ci), NOW) is None  # the action too must match (AND)


# --- matching --------------------------------------------------------------------------------------------------------


def test_every_field_named_must_match():
    entry = {"principal": "arn:aws:iam::111122223333:user/dev-alice", "action": "apprunner:DescribeService"}
    assert matches(entry, finding("DescribeService"))
    assert not matches(entry, finding("UpdateService"))
    assert not matches(entry, finding("DescribeService", f.iam_user("dev-bob")))
    both = {"account": "111122223333", "owner_account": "444455556666"}
    assert not fields_match(both, finding())  # caller and owner 111122223333: the owner does not match
    assert fields_match(both, finding(recipient=f.OTHER_ACCOUNT))
    # a cross-account denial: the fields match, but only an entry naming the principal literally suppresses it
    assert not matches(both, finding(recipient=f.OTHER_ACCOUNT))
    assert matches({**both, "principal": ALICE}, finding(recipient=f.OTHER_ACCOUNT))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("apprunner:Describe*", True),
        ("apprunner:DescribeService*", True),  # * matches nothing too
        ("apprunner:DescribeServic?", True),
        ("apprunner:DescribeService?", False),  # ? is exactly one character
        ("apprunner:Describe", False),  # the whole action must match
        ("apprunner:*Service", True),
        ("apprunner:List*", False),
        ("APPRUNNER:describeservice", True),  # IAM actions are case-insensitive
        ("iam:Pass*", False),
    ],
)
def test_action_wildcards_and_case(pattern, expected):
    assert matches({"action": pattern}, finding("DescribeService")) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("arn:aws:iam::111122223333:user/dev-alice", True),
        ("arn:aws:iam::111122223333:user/dev-*", True),
        ("arn:aws:iam::111122223333:user/dev-alic?", True),
        ("arn:aws:iam::*:user/dev-alice", True),
        ("arn:aws:iam::111122223333:user/Dev-Alice", False),  # ARNs are case-sensitive
        ("arn:aws:iam::111122223333:user/dev", False),
        ("arn:aws:iam::444455556666:user/dev-alice", False),
    ],
)
def test_principal_wildcards_and_case(pattern, expected):
    assert matches({"principal": pattern}, finding()) is expected


def test_a_role_arn_matches_its_sessions():
    for session in ("jane", "ci-1", "botocore-session-1732784400"):
        assert matches({"principal": SCANNER}, finding(identity=scanner(session)))
    assert matches({"principal": "arn:aws:iam::111122223333:role/security/*"}, finding(identity=scanner()))
    assert not matches({"principal": "arn:aws:iam::111122223333:role/other/*"}, finding(identity=scanner()))
    assert not matches({"principal": "arn:aws:iam::444455556666:role/security/Scanner"}, finding(identity=scanner()))
    assert not matches({"principal": "arn:aws:iam::111122223333:role/security/Scan"}, finding(identity=scanner()))
    # written whole, the path does not decide: one role of that name in the account (the path written may be stale)
    assert matches({"principal": "arn:aws:iam::111122223333:role/Scanner"}, finding(identity=scanner()))
    assert matches({"principal": "arn:aws:iam::111122223333:role/other/Scanner"}, finding(identity=scanner()))
    assert not matches({"principal": "arn:aws-cn:iam::111122223333:role/security/Scanner"}, finding(identity=scanner()))


def test_a_role_arn_written_whole_matches_a_session_whose_role_path_the_log_did_not_say():
    pathless = finding(identity=without_issuer(scanner()))
    assert pathless.principal.arn == "arn:aws:iam::111122223333:role/Scanner"  # what the session ARN gives
    assert matches({"principal": SCANNER}, pathless)  # same account, same name: the same role
    # with a wildcard the path decides, and it is unknown: no match (the alert goes out)
    assert not matches({"principal": "arn:aws:iam::111122223333:role/security/*"}, pathless)
    assert not matches({"principal": "arn:aws:iam::111122223333:role/security/Scan*"}, pathless)
    assert not matches({"principal": "arn:aws:iam::444455556666:role/security/Scanner"}, pathless)
    assert not matches({"principal": "arn:aws:iam::111122223333:role/security/Deploy"}, pathless)


def test_a_session_arn_matches_that_session_only():
    entry = {"principal": "arn:aws:sts::111122223333:assumed-role/Scanner/jane"}
    assert matches(entry, finding(identity=scanner("jane")))
    assert matches(entry, finding(identity=without_issuer(scanner("jane"))))
    assert not matches(entry, finding(identity=scanner("joe")))
    # the session ARN has no path: assumed-role/security/Scanner/jane is no session ARN AWS writes
    assert not matches(
        {"principal": "arn:aws:sts::111122223333:assumed-role/security/Scanner/jane"}, finding(identity=scanner("jane"))
    )


def test_a_federated_user_is_matched_by_its_issuer_or_its_session():
    denied = finding(identity=f.federated_user("bob"))
    assert matches({"principal": "arn:aws:iam::111122223333:user/bob"}, denied)
    assert matches({"principal": "arn:aws:sts::111122223333:federated-user/bob"}, denied)
    assert not matches({"principal": "arn:aws:sts::111122223333:federated-user/eve"}, denied)


def test_a_principal_without_an_arn_is_matched_by_its_key():
    denied = finding(identity=f.aws_service("apprunner.amazonaws.com"))
    assert denied.principal.arn is None
    assert matches({"principal": "service:apprunner.amazonaws.com"}, denied)
    # its account is unknown: an account pattern, even *, never matches it
    assert not fields_match({"account": "*", "action": "apprunner:DescribeService"}, denied)
    assert matches({"account": "*", "action": "apprunner:DescribeService"}, finding())
    # and a caller of unknown account is protected: a wildcard key does not suppress it, the literal key does
    assert fields_match({"principal": "service:apprunner.*"}, denied)
    assert not matches({"principal": "service:apprunner.*"}, denied)


def test_account_is_the_callers_and_owner_account_the_resources():
    partner = finding(identity=f.aws_account(f.OTHER_ACCOUNT))  # 444455556666 calls into 111122223333
    assert fields_match({"account": f.OTHER_ACCOUNT}, partner)
    assert not fields_match({"owner_account": f.OTHER_ACCOUNT}, partner)
    assert fields_match({"owner_account": f.ACCOUNT}, partner)
    assert fields_match({"account": "4444555566??"}, partner)
    assert fields_match({"account": ["999999999999", f.OTHER_ACCOUNT]}, partner)  # a list: any of them
    # a caller from another account: no account entry suppresses it (only one naming its principal literally)
    assert not matches({"account": f.OTHER_ACCOUNT}, partner)


def test_a_finding_of_several_actions_is_matched_only_when_each_is():
    denied = finding("DescribeService")
    other = denied.actions[0].model_copy(update={"action": "apprunner:DeleteService"})
    both = denied.model_copy(update={"actions": [denied.actions[0], other]})
    assert matches({"action": "apprunner:*Service"}, both)
    assert not matches({"action": "apprunner:Describe*"}, both)


# --- expiry ----------------------------------------------------------------------------------------------------------


def test_a_suppression_applies_strictly_before_its_expiry_and_is_expired_from_it_on():
    parsed = one({"principal": "arn:aws:iam::111122223333:user/dev-alice", "expires": "2026-12-31"})
    expires = datetime(2027, 1, 1, tzinfo=UTC)  # through 2026-12-31: it ends at the next midnight, UTC
    denied = finding()
    assert parsed.matching(denied, expires - timedelta(microseconds=1)) is parsed.items[0]
    assert parsed.expired(expires - timedelta(microseconds=1)) == []
    assert parsed.matching(denied, expires) is None
    assert parsed.expired(expires) == [parsed.items[0]]
    assert parsed.matching(denied, expires + timedelta(days=400)) is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-12-31", datetime(2027, 1, 1, tzinfo=UTC)),  # a day: through its end
        ("2024-02-28", datetime(2024, 2, 29, tzinfo=UTC)),  # 2024 was a leap year
        ("2026-12-31T00:00:00Z", datetime(2026, 12, 31, tzinfo=UTC)),  # a time: that time
        ("2026-12-15T18:00:00Z", datetime(2026, 12, 15, 18, tzinfo=UTC)),
        ("2026-12-15T20:00:00+02:00", datetime(2026, 12, 15, 18, tzinfo=UTC)),  # converted to UTC
        ("2026-12-15T18:00:00", datetime(2026, 12, 15, 18, tzinfo=UTC)),  # no offset: UTC
        ("2026-12-15T18:30", datetime(2026, 12, 15, 18, 30, tzinfo=UTC)),
    ],
)
def test_expiry_forms(written, expected):
    [item] = one({"action": "apprunner:ListServices", "expires": written}).items
    assert item.expires == expected


def test_an_expired_suppression_gives_way_to_a_later_one():
    text = _json(
        {
            "suppressions": [
                {"action": "apprunner:DescribeService", "reason": "old", "expires": "2026-11-01"},
                {"action": "apprunner:Describe*", "reason": "new", "expires": "2026-12-31"},
            ]
        }
    )
    parsed = parse_suppressions(text, "s3://b/k", NOW)
    assert parsed.problems == ()  # an expired entry is no problem of the document: expired() names it
    assert parsed.matching(finding(), NOW) is parsed.items[1]
    assert [item.reason for item in parsed.expired(NOW)] == ["old"]


def test_an_expiry_more_than_a_year_ahead_is_refused():
    last = NOW + timedelta(days=MAX_DAYS)
    ok = {"suppressions": [{"action": "apprunner:ListServices", "reason": "r", "expires": last.isoformat()}]}
    assert parse_suppressions(_json(ok), "x", NOW).problems == ()
    later = {"suppressions": [{"action": "apprunner:ListServices", "reason": "r", "expires": "9999-12-31"}]}
    parsed = parse_suppressions(_json(later), "x", NOW)
    assert parsed.items == ()
    [problem] = parsed.problems
    assert problem.startswith("suppressions[0] in x: refused: expires 9999-12-31, more than 366 days ahead")


# --- what cannot be read ---------------------------------------------------------------------------------------------


def test_entries_that_cannot_be_read_are_named_by_index_and_the_others_apply():
    parsed = parse_suppressions((DATA / "broken_entries.json").read_text(), "broken.json", NOW)
    assert [item.principal for item in parsed.items] == [("arn:aws:iam::111122223333:user/dev-alice",)]
    assert parsed.matching(finding(), NOW) is parsed.items[0]  # alice's still applies
    assert parsed.matching(finding(identity=f.iam_user("dev-bob")), NOW) is None  # the typo suppresses nothing
    assert [problem.split(": refused: ")[0] for problem in parsed.problems] == [
        f"suppressions[{i}] in broken.json" for i in (1, 2, 3, 4, 5)
    ]
    why = [problem.split(": refused: ")[1] for problem in parsed.problems]
    assert why[0].startswith("unknown field principle")
    assert why[1].startswith("no expiry") and "never expires" in why[1]
    assert why[2] == "every field it names matches anything of its kind: it would suppress every alert"
    assert why[3] == "not an object but str"
    assert why[4].startswith("account '1111-2222-3333' is not an AWS account ID")


EVERYTHING = "every field it names matches anything of its kind"


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"reason": "r", "expires": "2026-12-31"}, "names none of principal, action, account, owner_account"),
        ({"action": "apprunner:X", "expires": "2026-12-31"}, "no reason"),
        ({"action": "apprunner:X", "reason": "  ", "expires": "2026-12-31"}, "no reason"),
        ({"action": "apprunner:X", "reason": "r", "expires": None}, "no expiry"),
        ({"action": "apprunner:X", "reason": "r", "expires": 20261231}, "expires is not a date"),
        ({"action": "apprunner:X", "reason": "r", "expires": "next tuesday"}, "expires 'next tuesday' is not a date"),
        ({"action": "DescribeService", "reason": "r", "expires": "2026-12-31"}, "action 'DescribeService' is not"),
        ({"action": [], "reason": "r", "expires": "2026-12-31"}, "action is not a string or a non-empty list"),
        ({"action": ["*", 3], "reason": "r", "expires": "2026-12-31"}, "action is not a string or a non-empty list"),
        ({"principal": "", "reason": "r", "expires": "2026-12-31"}, "principal '' is empty"),
        ({"principal": " arn:x ", "reason": "r", "expires": "2026-12-31"}, "principal ' arn:x ' is empty, padded"),
        ({"principal": "*", "action": "*", "reason": "r", "expires": "2026-12-31"}, EVERYTHING),
        ({"account": "*", "reason": "r", "expires": "2026-12-31"}, EVERYTHING),
        ({"owner_account": "arn:aws:iam::1:root", "reason": "r", "expires": "2026-12-31"}, "owner_account 'arn"),
    ],
)
def test_an_entry_is_refused_with_why(entry, why):
    parsed = parse_suppressions(_json({"suppressions": [entry]}), "s.json", NOW)
    assert parsed.items == ()
    [problem] = parsed.problems
    assert problem.startswith(f"suppressions[0] in s.json: refused: {why}"), problem


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "not JSON"),
        ("suppressions:\n  - principal: x", "not JSON"),  # YAML is not JSON
        ('{"suppressions": [}', "not JSON"),
        ("[]", "not a suppression document"),
        ('{"suppressions": {"principal": "x"}}', "not a suppression document"),
        ('{"supressions": []}', "not a suppression document"),
        ("null", "not a suppression document"),
        ('{"suppressions": [{"action": "apprunner:X", "action": "*"}]}', "not JSON (the field action is given twice"),
    ],
)
def test_a_document_that_cannot_be_read_gives_no_suppressions_and_one_problem(text, words):
    parsed = parse_suppressions(text, "ssm:/alerts/suppressions", NOW)
    assert parsed.items == ()
    [problem] = parsed.problems
    assert problem.startswith(f"ssm:/alerts/suppressions: {words}"), problem
    assert problem.endswith("no suppression applies")
    assert parsed.matching(finding(), NOW) is None and parsed.expired(NOW) == []


def test_an_empty_list_is_no_problem_and_an_unknown_top_level_field_is_named():
    assert parse_suppressions('{"suppressions": []}', "x", NOW) == Suppressions((), (), "x")
    parsed = parse_suppressions(
        '{"version": 2, "suppressions": [{"action": "apprunner:X", "reason": "r", "expires": "2026-12-31"}]}', "x", NOW
    )
    assert len(parsed.items) == 1
    assert parsed.problems == ("x: unknown top-level field version (ignored)",)


# --- what people read ------------------------------------------------------------------------------------------------


def test_str_names_it_what_it_ignores_its_reason_and_expiry():
    [item] = one({"principal": SCANNER, "action": ["apprunner:Describe*", "apprunner:List*"]}).items
    assert str(item) == (
        "suppression suppressions[0] in test.json (principal arn:aws:iam::111122223333:role/security/Scanner, "
        "action apprunner:Describe* | apprunner:List*): a test; expires 2027-01-01T00:00:00Z (through 2026-12-31)"
    )


def test_hostile_strings_are_shown_escaped_and_secrets_masked():
    reason = "pen test \x1b]0;owned\x07 key AKIAIOSFODNN7EXAMPLE\nsecond line \u202eevil"
    principal = "arn:aws:iam::111122223333:user/\u202eecila-ved"
    parsed = parse_suppressions(
        _json({"suppressions": [{"principal": principal, "reason": reason, "expires": "2026-12-31"}]}),
        "file\x1b[2J.json",
        NOW,
    )
    [item] = parsed.items
    shown = str(item)
    assert "\n" not in shown and "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\u001b]0;owned\\u0007" in shown
    assert "AKIAIOSFODNN7EXAMPLE" not in shown and "AKIA************" in shown
    assert "user/\\u202eecila-ved" in shown
    assert "file\\u001b[2J.json" in shown
    assert item.reason == reason.strip()  # kept as written; only the description is made safe


def test_a_control_character_in_a_pattern_is_refused_and_the_problem_is_safe():
    parsed = parse_suppressions(
        _json({"suppressions": [{"principal": "arn:x\x1b[31m", "reason": "r", "expires": "2026-12-31"}]}), "x", NOW
    )
    [problem] = parsed.problems
    assert "\x1b" not in problem and "\\u001b[31m" in problem


def test_a_long_reason_is_cut_in_the_description_only():
    [item] = one({"action": "apprunner:ListServices", "reason": "x" * 900}).items
    assert len(item.reason) == 900
    assert "x" * 199 + "…;" in str(item) and "x" * 200 not in str(item)
    refused = parse_suppressions(
        _json({"suppressions": [{"action": "apprunner:X", "reason": "x" * 1001, "expires": "2026-12-31"}]}), "x", NOW
    )
    assert refused.problems == ("suppressions[0] in x: refused: the reason is longer than 1000 characters",)


def test_suppression_is_a_frozen_value():
    a = one({"action": "apprunner:ListServices"}).items[0]
    b = one({"action": "apprunner:ListServices"}).items[0]
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.reason = "other"  # type: ignore[misc]
    assert isinstance(a, Suppression)


# --- the wildcards against a matcher written from their definition ---------------------------------------------------


def _glob(pattern: str, text: str) -> bool:
    """``*`` any characters (none included), ``?`` exactly one, anything else itself: by recursion, no regex."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return any(_glob(pattern[1:], text[i:]) for i in range(len(text) + 1))
    if not text:
        return False
    return (pattern[0] == "?" or pattern[0] == text[0]) and _glob(pattern[1:], text[1:])


@given(
    st.text(alphabet="ab*?.+[]()\\^$|/:", max_size=8),
    st.text(alphabet="ab*?.+[]()\\^$|/:", max_size=8),
)
@settings(max_examples=1000, deadline=None)
def test_wildcards_mean_what_the_documentation_says(pattern, text):
    assert wildcard_match(pattern, text) is _glob(pattern, text)


def test_characters_special_to_regular_expressions_are_literal():
    assert not matches({"principal": "arn:aws:iam::111122223333:user/dev.alice"}, finding())
    assert not matches({"principal": "arn:aws:iam::111122223333:user/dev-alice|.*"}, finding())
    assert matches({"principal": "arn:aws:iam::111122223333:user/dev+x"}, finding(identity=f.iam_user("dev+x")))


def test_a_pattern_of_many_stars_is_matched_quickly_and_an_overlong_one_refused():
    import time

    started = time.perf_counter()
    assert not matches({"principal": "arn:" + "*a" * 40 + "*b"}, finding(identity=f.iam_user("a" * 60)))
    assert not wildcard_match("*a" * 1000 + "*b", "a" * 2000)  # a regex of 1,000 .* would backtrack for ages
    assert time.perf_counter() - started < 2.0
    long = parse_suppressions(
        _json({"suppressions": [{"principal": "a" * 2049, "reason": "r", "expires": "2026-12-31"}]}), "x", NOW
    )
    assert long.problems == ("suppressions[0] in x: refused: principal is longer than 2048 characters",)


# --- what no wildcard silences (review finding 2) ---------------------------------------------------------------------


def _sample_day_record(event_id: str) -> dict:
    """One record of the bundled sample day (scripts/SAMPLE_DAY.md), by its eventID."""
    import gzip
    import json

    from analysis.sources.files import bundled_sample_path

    for path in sorted(bundled_sample_path().rglob("*.json.gz")):
        for record in json.loads(gzip.decompress(path.read_bytes()))["Records"]:
            if record.get("eventID") == event_id:
                return record
    raise AssertionError(f"no record {event_id} in the sample day")


SANDBOX = "444455556666"  # the example document's owner_account entry
ROOT_DELETE = "30b29914-641a-451d-a2ea-bf0728f05d1c"  # 16:05:20 root of 444455556666 DeleteService
SCP_CREATE = "b5df4894-8c82-497b-8979-ff36831decfd"  # 10:44:12 role/DataScience CreateService, refused by an SCP


def _sample_finding(event_id: str) -> Finding:
    return Finding.model_validate(event_finding(_sample_day_record(event_id), Options()), context=BUILDING)


def test_the_sample_days_root_and_scp_denials_are_not_hidden_by_the_example_owner_account_entry():
    parsed = parse_suppressions((DATA / "example.json").read_text(), "example.json", NOW)
    root, scp = _sample_finding(ROOT_DELETE), _sample_finding(SCP_CREATE)
    # what the findings say, read by hand from the sample day's records
    assert (root.principal.type, root.principal.arn, root.target_account_id) == (
        "Root",
        f"arn:aws:iam::{SANDBOX}:root",
        SANDBOX,
    )
    assert scp.principal.arn == f"arn:aws:iam::{SANDBOX}:role/DataScience" and scp.target_account_id == SANDBOX
    assert "scp" in scp.actions[0].reasons and scp.principal.account_id == SANDBOX  # not cross-account: the SCP
    assert protected(root) == ("root",) and protected(scp) == ("org_policy",)
    # the sandbox entry's fields match both, and still neither is suppressed
    assert parsed.items[1].matches(root) and parsed.items[1].matches(scp)
    assert parsed.matching(root, NOW) is None and parsed.matching(scp, NOW) is None
    # an entry naming the principal literally does suppress them
    for denied in (root, scp):
        literal = one({"principal": denied.principal.arn, "owner_account": SANDBOX})
        assert literal.matching(denied, NOW) is literal.items[0]
        wildcard = one({"principal": denied.principal.arn[:-3] + "*", "owner_account": SANDBOX})
        assert wildcard.matching(denied, NOW) is None


@pytest.mark.parametrize(
    ("identity", "recipient", "why"),
    [
        (f.iam_user(), f.ACCOUNT, ()),  # dev-alice in her own account: any matching entry
        (f.root(), f.ACCOUNT, ("root",)),
        (f.iam_user(), f.OTHER_ACCOUNT, ("cross_account",)),  # an organization or trusted account too: no settings
        (f.aws_account(f.OTHER_ACCOUNT), f.ACCOUNT, ("cross_account",)),
        (f.root(f.OTHER_ACCOUNT), f.ACCOUNT, ("root", "cross_account")),
        (f.aws_service(), f.ACCOUNT, ("cross_account",)),  # the caller's account unknown: errs toward alerting
    ],
)
def test_protected_says_why_a_denial_needs_a_literal_principal(identity, recipient, why):
    assert protected(finding(identity=identity, recipient=recipient)) == why


def test_an_scp_or_rcp_refusal_needs_a_literal_principal():
    for tail, reason in (
        ("with an explicit deny in a service control policy", "scp"),
        ("with an explicit deny in a resource control policy", "rcp"),
    ):
        record = f.record(
            "CreateService",
            error_message=f.message(ALICE, "apprunner:CreateService", f.service_arn(), tail=tail),
        )
        denied = Finding.model_validate(event_finding(record, Options()), context=BUILDING)
        assert reason in denied.actions[0].reasons
        assert not matches({"action": "apprunner:CreateService"}, denied)
        assert not matches({"principal": "arn:aws:iam::111122223333:user/dev-*"}, denied)
        assert matches({"principal": ALICE, "action": "apprunner:Create*"}, denied)


def test_a_literal_role_or_session_names_the_principal_and_a_session_wildcard_does_not():
    denied = finding("DescribeService", scanner("jane"), recipient=f.OTHER_ACCOUNT)  # Scanner of 1111… into 4444…
    assert matches({"principal": SCANNER}, denied)
    assert matches({"principal": "arn:aws:iam::111122223333:role/Scanner"}, denied)  # by account and name
    assert matches({"principal": "arn:aws:sts::111122223333:assumed-role/Scanner/jane"}, denied)
    assert not matches({"principal": "arn:aws:sts::111122223333:assumed-role/Scanner/*"}, denied)
    assert not matches({"principal": "arn:aws:iam::111122223333:role/security/*"}, denied)


# --- the suppression of everything, and malformed principals and accounts (review findings 3 and 14) -----------------


@pytest.mark.parametrize(
    "entry",
    [
        {"action": "*:*"},
        {"principal": "arn:*"},
        {"action": "apprunner:*"},
        {"action": "iam:*"},
        {"action": ["apprunner:DescribeService", "apprunner:**"]},  # a list is any of them: one universal is enough
        {"principal": "arn:aws:iam::*"},
        {"principal": "arn:aws:iam::*:user/*"},
        {"principal": "arn:aws-cn:iam::*:role/*"},
        {"principal": "arn:aws:iam::*:root"},
        {"principal": "arn:aws:sts::*:assumed-role/*"},
        {"principal": "service:*"},
        {"principal": "AWSAccount:*"},
        {"principal": "*"},
        {"account": "*"},
        {"account": "????????????*"},
        {"owner_account": "*"},
        {"principal": "arn:*", "action": "*", "account": "*", "owner_account": "*"},
    ],
)
def test_an_entry_that_matches_anything_of_each_kind_it_names_is_refused(entry):
    parsed = parse_suppressions(_json({"suppressions": [{**entry, "reason": "r", "expires": "2026-12-31"}]}), "x", NOW)
    assert parsed.items == ()
    assert parsed.problems == (f"suppressions[0] in x: refused: {EVERYTHING}: it would suppress every alert",)


@pytest.mark.parametrize(
    "entry",
    [
        {"action": "apprunner:Describe*", "account": "111122223333"},
        {"action": "apprunner:Describe*"},  # one kind of action, anyone's (of the same account; not root, not SCP)
        {"action": "*:Describe*"},
        {"principal": "arn:aws:sts::111122223333:assumed-role/Deploy/ci-*"},  # a role, any session
        {"principal": "arn:aws:iam::111122223333:*"},  # one account's principals
        {"principal": "arn:aws:iam::*:role/Scanner"},  # one role name, any account
        {"principal": "arn:aws:iam::*:role/security/*"},  # one path
        {"principal": "arn:*", "action": "apprunner:ListServices"},  # anyone, one action
        {"account": "1111222233*"},
        {"owner_account": "444455556666"},
        {"principal": "service:apprunner.amazonaws.com"},
        {"principal": "AWSAccount:444455556666:*"},
    ],
)
def test_narrow_entries_are_accepted(entry):
    one(entry)


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"account": "12345"}, "account '12345' is not an AWS account ID"),
        ({"account": "1111222233334"}, "account '1111222233334' is not an AWS account ID"),
        ({"owner_account": "12345678901"}, "owner_account '12345678901' is not an AWS account ID"),
        ({"owner_account": "12345678901??"}, "owner_account '12345678901??' is not an AWS account ID"),
        ({"principal": "Scanner"}, "principal 'Scanner' is neither an ARN"),
        ({"principal": "role/Scanner"}, "principal 'role/Scanner' is neither an ARN"),
        ({"principal": "Arn:aws:iam::111122223333:user/x"}, "principal 'Arn:aws:iam::111122223333:user/x' is neither"),
    ],
)
def test_a_malformed_account_or_principal_is_refused(entry, why):
    parsed = parse_suppressions(_json({"suppressions": [{**entry, "reason": "r", "expires": "2026-12-31"}]}), "x", NOW)
    assert parsed.items == ()
    [problem] = parsed.problems
    assert problem.startswith(f"suppressions[0] in x: refused: {why}"), problem


@pytest.mark.parametrize("account", ["111122223333", "1111222233??", "1111*", "*3333", "????????????"])
def test_accounts_of_twelve_characters_or_with_a_star_are_accepted(account):
    one({"account": account, "action": "apprunner:ListServices"})


def test_a_bare_date_applies_through_that_day_exactly():
    parsed = one({"principal": ALICE, "expires": "2026-12-10"})
    end = datetime(2026, 12, 11, tzinfo=UTC)
    assert parsed.matching(finding(), datetime(2026, 12, 10, 23, 59, 59, 999999, tzinfo=UTC)) is parsed.items[0]
    assert parsed.matching(finding(), end) is None and parsed.expired(end) == [parsed.items[0]]
    assert str(parsed.items[0]).endswith("expires 2026-12-11T00:00:00Z (through 2026-12-10)")
    timed = one({"principal": ALICE, "expires": "2026-12-10T18:00:00Z"})
    assert str(timed.items[0]).endswith("expires 2026-12-10T18:00:00Z")
