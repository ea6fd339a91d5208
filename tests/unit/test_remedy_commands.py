"""Attaching a grant: inline up to IAM's limits, managed beyond, every document attached, named by finding and day.
Limits from IAM and AWS STS quotas: a user's inline policies total 2,048 characters, a role's 10,240, a managed
policy 6,144; whitespace is not counted."""

from __future__ import annotations

import pytest

from analysis.policies import POLICY_VERSION, policy_size
from analysis.remedies.commands import attach_commands, document_file, policy_name
from analysis.remedies.situation import name_of, present

USER = "arn:aws:iam::111122223333:user/team/dev"
ROLE = "arn:aws:iam::111122223333:role/ci/Deploy"


def document_of_size(size: int) -> dict:
    """A one-statement policy exactly ``size`` characters long as IAM counts them."""
    base = {"Version": POLICY_VERSION, "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ""}]}
    padding = size - policy_size(base)
    base["Statement"][0]["Resource"] = "arn:aws:s3:::b/" + "k" * (padding - len("arn:aws:s3:::b/"))
    assert policy_size(base) == size
    return base


@pytest.mark.parametrize(("arn", "kind", "limit"), [(USER, "user", 2048), (ROLE, "role", 10240)])
def test_a_grant_at_the_inline_limit_is_inline_and_one_character_more_is_managed(arn, kind, limit):
    name = name_of(arn)
    assert attach_commands(arn, [document_of_size(limit)], "P", "aws") == (
        [f"aws iam put-{kind}-policy --{kind}-name {name} --policy-name P --policy-document file://policy.json"],
        [],
    )
    commands, notes = attach_commands(arn, [document_of_size(limit + 1)], "P", "aws")
    assert commands == [
        "aws iam create-policy --policy-name P --policy-document file://policy.json",
        f"aws iam attach-{kind}-policy --{kind}-name {name} --policy-arn arn:aws:iam::111122223333:policy/P",
    ]
    assert notes == [
        f"The grant is too large for a {kind}'s inline policies ({limit:,} characters in all), so it is 1 managed "
        f"policy; a {kind} takes 10 managed policies by default (20 on request)."
    ]


def test_several_documents_are_each_created_and_attached_in_the_partition():
    small = document_of_size(300)
    commands, notes = attach_commands(ROLE, [small, small, small], "P", "aws-cn", "caller-policy.json")
    assert commands == [
        "aws iam create-policy --policy-name P-1 --policy-document file://caller-policy.json",
        "aws iam attach-role-policy --role-name Deploy --policy-arn arn:aws-cn:iam::111122223333:policy/P-1",
        "aws iam create-policy --policy-name P-2 --policy-document file://policy-2.json",
        "aws iam attach-role-policy --role-name Deploy --policy-arn arn:aws-cn:iam::111122223333:policy/P-2",
        "aws iam create-policy --policy-name P-3 --policy-document file://policy-3.json",
        "aws iam attach-role-policy --role-name Deploy --policy-arn arn:aws-cn:iam::111122223333:policy/P-3",
    ]
    assert notes == [
        "The grant is too large for a role's inline policies (10,240 characters in all), so it is 3 managed "
        "policies; a role takes 10 managed policies by default (20 on request)."
    ]


@pytest.mark.parametrize(
    "arn", [None, "", "arn:aws:iam::111122223333:root", "arn:aws:sts::111122223333:federated-user/b"]
)
def test_nothing_is_attached_to_what_is_neither_a_user_nor_a_role(arn):
    assert attach_commands(arn, [document_of_size(200)], "P", "aws") == ([], [])


def test_files_and_names():
    assert [document_file(n) for n in (1, 2, 3)] == ["policy.json", "policy-2.json", "policy-3.json"]
    assert policy_name({"id": "f-0123456789abcdef", "last_seen": "2026-11-28T09:15:00Z"}) == (
        "AppRunnerAudit-f-0123456789abcdef-20261128"
    )
    assert policy_name({"id": "f-0123456789abcdef", "last_seen": None}) == "AppRunnerAudit-f-0123456789abcdef-undated"


def test_name_of_and_present():
    assert name_of("arn:aws:iam::111122223333:role/a/b/Deploy") == "Deploy"
    assert [name_of(v) for v in (None, "", "arn:aws:iam::111122223333:root")] == [None, None, None]
    assert [present(v) for v in ("x", 0, False)] == [True, True, True]
    assert [present(v) for v in (None, "", float("nan"))] == [False, False, False]
