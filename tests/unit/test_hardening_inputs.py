"""Issue 15, bad records: the cost of one record is bounded, and what cannot be read is counted and named.

The message parser's work grows linearly with the message and stops at a documented cap; the timeline's
buckets are bounded whatever dates the records carry; records whose time cannot be read in a bounded
window are counted as malformed, not dropped in silence.
"""

from __future__ import annotations

import time

import pytest

from analysis import messages
from analysis.messages import parse_message
from tests import factories as f

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
