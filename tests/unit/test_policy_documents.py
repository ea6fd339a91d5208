"""Policy documents as IAM reads them: statement ids and key order, splitting at the size quota (characters of
the JSON without whitespace, IAM User Guide "IAM and AWS STS quotas"), trust and caller policies, the catalog
check, and which refused resources a grant may name. Expected documents are written out by hand."""

from __future__ import annotations

import json
from typing import Any

from analysis.policies import (
    Grant,
    assume_role_policy,
    catalog_problems,
    grant_policy,
    scope_resources,
    split_policy,
    trust_policy,
)
from tests import factories as f

SERVICE = f.service_arn("web")
OTHER = f.service_arn("api")
ROLE = "arn:aws:iam::111122223333:role/AppRunnerInstanceRole"


def size(document: dict[str, Any]) -> int:
    """IAM's count: the characters of the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


# --- grants -----------------------------------------------------------------------------------------------


def test_statements_are_named_after_their_first_action_and_keep_iams_key_order():
    policy = grant_policy(
        [
            Grant("apprunner:UpdateService", (SERVICE,)),
            Grant("apprunner:DescribeService", (SERVICE,)),
            Grant("apprunner:PauseService", (SERVICE,)),
            Grant("apprunner:DescribeService", (OTHER,)),
            Grant("apprunner:ListServices", ("*",)),
            Grant("iam:PassRole", (ROLE,), ("apprunner.amazonaws.com",)),
            Grant("iam:PassRole", (ROLE,), ("ecs-tasks.amazonaws.com", "apprunner.amazonaws.com")),
        ]
    )
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowApprunnerDescribeServiceAnd2More",
                "Effect": "Allow",
                "Action": ["apprunner:DescribeService", "apprunner:PauseService", "apprunner:UpdateService"],
                "Resource": SERVICE,
            },
            {
                "Sid": "AllowApprunnerDescribeService",
                "Effect": "Allow",
                "Action": "apprunner:DescribeService",
                "Resource": OTHER,
            },
            {
                "Sid": "AllowApprunnerListServices",
                "Effect": "Allow",
                "Action": "apprunner:ListServices",
                "Resource": "*",
            },
            {
                "Sid": "AllowIamPassRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": ROLE,
                "Condition": {"StringEquals": {"iam:PassedToService": "apprunner.amazonaws.com"}},
            },
            {
                "Sid": "AllowIamPassRole2",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": ROLE,
                "Condition": {
                    "StringEquals": {"iam:PassedToService": ["apprunner.amazonaws.com", "ecs-tasks.amazonaws.com"]}
                },
            },
        ],
    }
    assert [list(statement) for statement in policy["Statement"]][-1] == [
        "Sid",
        "Effect",
        "Action",
        "Resource",
        "Condition",
    ]
    assert {tuple(statement) for statement in policy["Statement"][:3]} == {("Sid", "Effect", "Action", "Resource")}


def test_two_actions_are_one_and_one_more():
    policy = grant_policy([Grant("apprunner:PauseService", (SERVICE,)), Grant("apprunner:ResumeService", (SERVICE,))])
    assert [s["Sid"] for s in policy["Statement"]] == ["AllowApprunnerPauseServiceAnd1More"]


def test_statement_ids_keep_only_letters_and_digits_and_stay_unique():
    policy = grant_policy(
        [
            Grant("execute-api:Invoke", ("arn:aws:execute-api:us-east-1:111122223333:a1/prod/GET/a",)),
            Grant("execute-api:Invoke", ("arn:aws:execute-api:us-east-1:111122223333:a1/prod/GET/b",)),
            Grant("execute-api:Invoke", ("arn:aws:execute-api:us-east-1:111122223333:a1/prod/GET/c",)),
        ]
    )
    assert [s["Sid"] for s in policy["Statement"]] == [
        "AllowExecuteApiInvoke",
        "AllowExecuteApiInvoke2",
        "AllowExecuteApiInvoke3",
    ]


def test_a_long_statement_id_is_cut_to_100_characters_and_a_repeat_to_96_and_its_number():
    action = "apprunner:" + "A" * 120
    policy = grant_policy([Grant(action, (SERVICE,)), Grant(action, (OTHER,))])
    first, second = (s["Sid"] for s in policy["Statement"])
    assert first == ("AllowApprunner" + "A" * 120)[:100]
    assert second == ("AllowApprunner" + "A" * 120)[:96] + "2"


def test_a_grant_without_resources_is_left_out_and_the_others_kept():
    policy = grant_policy([Grant("apprunner:DescribeService", ()), Grant("apprunner:PauseService", (SERVICE,))])
    assert [s["Action"] for s in policy["Statement"]] == ["apprunner:PauseService"]
    assert grant_policy([Grant("apprunner:DescribeService", ())]) is None


# --- splitting at the size quota -----------------------------------------------------------------------------


def _statement(sid: str | None, resources: list[str]) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "apprunner:DescribeService", "Resource": resources}
    return statement if sid is None else {"Sid": sid, **statement}


def test_documents_that_fit_exactly_are_not_split():
    policy = {"Version": "2012-10-17", "Statement": [_statement("A", [SERVICE]), _statement("B", [OTHER])]}
    assert split_policy(policy, limit=size(policy)) == [policy]
    assert len(split_policy(policy, limit=size(policy) - 1)) == 2


def test_statements_go_to_the_next_document_when_the_current_one_is_full():
    statements = [_statement(sid, [f.service_arn(sid.lower())]) for sid in "ABC"]
    one = size({"Version": "2012-10-17", "Statement": statements[:1]})
    two = size({"Version": "2012-10-17", "Statement": statements[:2]})
    assert one < two < 2 * one
    documents = split_policy({"Version": "2012-10-17", "Statement": statements}, limit=two)
    assert documents == [
        {"Version": "2012-10-17", "Statement": statements[:2]},
        {"Version": "2012-10-17", "Statement": statements[2:]},
    ]


def test_a_statement_too_large_for_one_document_is_halved_by_its_resources():
    resources = [f.service_arn(f"svc-{i}") for i in range(4)]
    whole = {"Version": "2012-10-17", "Statement": [_statement("Read", resources)]}
    half = {"Version": "2012-10-17", "Statement": [_statement("Read1", resources[:2])]}
    documents = split_policy(whole, limit=size(half))
    assert [d["Statement"] for d in documents] == [
        [_statement("Read1", resources[:2])],
        [_statement("Read2", resources[2:])],
    ]


def test_an_odd_count_is_halved_rounding_down_and_a_statement_without_id_becomes_parts():
    resources = [f.service_arn(f"svc-{i}") for i in range(3)]
    whole = {"Version": "2012-10-17", "Statement": [_statement(None, resources)]}
    documents = split_policy(whole, limit=size(whole) - 1)
    assert [(s["Sid"], s["Resource"]) for d in documents for s in d["Statement"]] == [
        ("Part1", resources[0]),
        ("Part2", resources[1:]),
    ]


def test_halving_goes_on_until_each_piece_fits():
    resources = [f.service_arn(f"svc-{i}") for i in range(4)]
    quarter = {"Version": "2012-10-17", "Statement": [_statement("Read11", resources[:1])]}
    documents = split_policy({"Version": "2012-10-17", "Statement": [_statement("Read", resources)]}, size(quarter))
    assert [(s["Sid"], s["Resource"]) for d in documents for s in d["Statement"]] == [
        ("Read11", resources[0]),
        ("Read12", resources[1]),
        ("Read21", resources[2]),
        ("Read22", resources[3]),
    ]


def test_one_resource_too_long_for_any_document_is_kept_whole_and_the_rest_still_split():
    huge = _statement("Huge", [f.service_arn("x" * 300)])
    after = _statement("After", [SERVICE])
    documents = split_policy({"Version": "2012-10-17", "Statement": [huge, after]}, limit=200)
    assert documents == [
        {"Version": "2012-10-17", "Statement": [huge]},
        {"Version": "2012-10-17", "Statement": [after]},
    ]


# --- trust and caller policies -----------------------------------------------------------------------------


def test_the_trust_policy_names_the_caller_and_its_conditions():
    caller = "arn:aws:iam::999988887777:role/Auditor"
    assert trust_policy(caller, external_id="ext-1", organization_id="o-a1b2c3d4e5") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowCallerToAssume",
                "Effect": "Allow",
                "Principal": {"AWS": caller},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "ext-1", "aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
            }
        ],
    }
    assert "Condition" not in trust_policy(caller)["Statement"][0]


def test_the_caller_policy_allows_assuming_the_new_role_only():
    role = "arn:aws:iam::111122223333:role/AppRunnerAccessFrom999988887777"
    assert assume_role_policy(role) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AllowAssumeTargetRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}
        ],
    }


# --- the catalog check -------------------------------------------------------------------------------------


def test_the_catalog_check_names_what_is_not_least_privilege():
    policy = {
        "Statement": [
            {"Sid": "A", "Effect": "Allow", "NotResource": SERVICE, "Action": "apprunner:DescribeService"},
            {"Sid": "B", "Effect": "Allow", "Action": "apprunner:Describe?ervice", "Resource": SERVICE},
        ]
    }
    assert catalog_problems(policy) == ["A: uses NotResource", "apprunner:Describe?ervice: wildcard action"]
    assert catalog_problems({}) == []


# --- which refused resources a grant may name ------------------------------------------------------------------


def _scoped(action: str, *stated: str, principal_arn: str | None = None) -> tuple[list[str], list[str]]:
    scoped = scope_resources(action, stated, principal_arn=principal_arn)
    return scoped.resources, scoped.notes


def test_a_wildcard_resource_covers_the_ones_it_matches():
    assert _scoped(
        "apprunner:CreateService", f.service_arn("web"), "arn:aws:apprunner:us-east-1:111122223333:service/web/*"
    ) == (
        ["arn:aws:apprunner:us-east-1:111122223333:service/web/*"],
        [],
    )


def test_star_for_an_action_that_takes_a_resource_is_named_not_granted():
    assert _scoped("apprunner:DescribeService", "*") == (
        [],
        ["apprunner:DescribeService: refused on '*' although it takes a resource: name the resource to grant."],
    )


def test_an_iam_name_is_read_only_for_iam_actions():
    assert _scoped("apprunner:DescribeService", "role Deploy") == (
        [],
        ["apprunner:DescribeService: 'role Deploy' is not a resource this action takes; left out."],
    )


def test_the_callers_own_session_is_no_resource_and_does_not_stop_the_others():
    session = "arn:aws:sts::111122223333:assumed-role/Deploy/ci"
    assert _scoped("apprunner:DescribeService", session, SERVICE, principal_arn=session) == ([SERVICE], [])


def test_another_session_or_a_name_is_left_out_with_a_note():
    session = "arn:aws:sts::111122223333:assumed-role/Other/x"
    resources, notes = _scoped("apprunner:DescribeService", session, "anonymous", principal_arn="anonymous")
    assert resources == []
    assert notes == [
        f"apprunner:DescribeService: '{session}' is not a resource this action takes; left out.",
        "apprunner:DescribeService: 'anonymous' is not a resource this action takes; left out.",
    ]


def test_a_policy_without_statements_is_no_document():
    assert split_policy({"Version": "2012-10-17", "Statement": []}) == []
