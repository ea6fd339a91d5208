"""Every userIdentity type is canonicalised as docs/CONTRACT.md says."""

import json

import pytest

from analysis.principals import identity_center_permission_set, principal_from_identity
from tests import factories as f
from tests.analysed import findings_of


@pytest.mark.parametrize(
    ("identity", "arn", "kind", "account", "session"),
    [
        (f.iam_user(), "arn:aws:iam::111122223333:user/dev-alice", "IAMUser", "111122223333", None),
        (
            f.assumed_role("Deploy", "ci-42", path="/ci/"),
            "arn:aws:iam::111122223333:role/ci/Deploy",
            "AssumedRole",
            "111122223333",
            "ci-42",
        ),
        (f.root(), "arn:aws:iam::111122223333:root", "Root", "111122223333", None),
        (f.federated_user("bob"), "arn:aws:iam::111122223333:user/bob", "FederatedUser", "111122223333", "bob"),
        (f.aws_account(), None, "AWSAccount", "444455556666", "partner-session"),
        (f.aws_service(), None, "AWSService", None, None),
        (f.identity_center_user(), None, "IdentityCenterUser", "111122223333", None),
        (f.saml_user(), None, "SAMLUser", None, None),
        (f.web_identity_user(), None, "WebIdentityUser", None, None),
        ({}, None, "Unknown", None, None),
        (None, None, "Unknown", None, None),
    ],
)
def test_canonical_principal(identity, arn, kind, account, session):
    principal = principal_from_identity(identity)
    assert (principal.arn, principal.type, principal.account_id, principal.session) == (arn, kind, account, session)
    if arn:
        assert principal.key == arn, "a principal with a canonical ARN is grouped by it"


# Principals without an ARN: the value of userIdentity that tells one of them from another of the same type.
DISTINGUISHED_BY = [
    (f.aws_account, "AROAEXAMPLEPARTNER12", lambda: f.aws_account() | {"principalId": "AROAOTHERPARTNER9999:s"}),
    (f.aws_service, "apprunner.amazonaws.com", lambda: f.aws_service("ecs.amazonaws.com")),
    (
        f.identity_center_user,
        "94482488-3041-7026-18f3-be45837cd0e4",
        lambda: f.identity_center_user("c4e8a4d8-1061-70a2-3b55-fe1a2b3c4d5e"),
    ),
    (f.saml_user, "SamlExample", lambda: f.saml_user("OtherSamlUser")),
    (f.web_identity_user, "amzn1.account.AF6RHO7KZU5XRVQJGXK6HEXAMPLE", lambda: f.web_identity_user("amzn1.x.OTHER")),
]


@pytest.mark.parametrize(("make", "identifier", "make_other"), DISTINGUISHED_BY)
def test_principals_without_an_arn_are_keyed_by_who_they_are(make, identifier, make_other):
    one, again, other = (principal_from_identity(identity) for identity in (make(), make(), make_other()))
    assert identifier in one.key
    assert one.key == again.key, "the same principal twice is one principal"
    assert one.key != other.key, "two principals of the same type are not merged"


def test_each_identity_center_user_is_a_finding_of_its_own():
    """Identity Center users (``onBehalfOf.userId``) are people: two are never one principal."""
    users = ["94482488-3041-7026-18f3-be45837cd0e4", "c4e8a4d8-1061-70a2-3b55-fe1a2b3c4d5e"]
    records = [
        f.record(identity=f.identity_center_user(user), error_message="Access Denied")
        for user in users
        for _ in range(2)
    ]
    findings = findings_of(records)
    assert sorted(finding["denials"] for finding in findings) == [2, 2]
    assert len({finding["principal"]["key"] for finding in findings}) == 2
    assert all(finding["principal"]["type"] == "IdentityCenterUser" for finding in findings)


def test_users_of_one_permission_set_are_its_role_with_every_session_kept():
    """docs/DESIGN.md: a session is grouped under its role, keeping the session names; the fix is the permission set."""
    records = [
        f.record(identity=f.identity_center_role("Developer_Access", user))
        for user in ("jane@example.com", "joe@example.com")
    ]
    [finding] = findings_of(records)
    role = (
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789"
    )
    assert finding["principal"]["arn"] == role
    assert finding["principal"]["sessions"] == ["jane@example.com", "joe@example.com"]
    assert finding["principal"]["permission_set"] == "Developer_Access"
    assert finding["denials"] == 2


def test_the_same_permission_set_in_two_accounts_is_two_roles():
    """Identity Center provisions one role per account: its users in different accounts are not one principal."""
    there = f.identity_center_role("Developer_Access", "joe@example.com")
    there = json.loads(json.dumps(there).replace(f.ACCOUNT, f.OTHER_ACCOUNT))
    records = [
        f.record(identity=f.identity_center_role("Developer_Access", "jane@example.com")),
        f.record(identity=there, recipient=f.OTHER_ACCOUNT),
    ]
    findings = findings_of(records)
    assert sorted(finding["principal"]["account_id"] for finding in findings) == [f.ACCOUNT, f.OTHER_ACCOUNT]
    assert [
        finding["principal"]["sessions"] for finding in sorted(findings, key=lambda x: x["principal"]["account_id"])
    ] == [
        ["jane@example.com"],
        ["joe@example.com"],
    ]


def test_assumed_role_without_issuer_falls_back_to_the_role_in_the_session_arn():
    identity = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::111122223333:assumed-role/Ops/kim",
        "accountId": "111122223333",
    }
    principal = principal_from_identity(identity)
    assert principal.arn == "arn:aws:iam::111122223333:role/Ops"
    assert principal.session == "kim"


def test_sessions_of_one_role_share_its_key():
    one = principal_from_identity(f.assumed_role("Deploy", "a"))
    two = principal_from_identity(f.assumed_role("Deploy", "b"))
    assert one.key == two.key and one.session != two.session


@pytest.mark.parametrize(
    ("role_arn", "permission_set"),
    [
        (
            "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789",
            "Developer_Access",
        ),
        (
            "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/us-east-2/AWSReservedSSO_ReadOnlyAccess_ff7f8c5c5851db50",
            "ReadOnlyAccess",
        ),
        ("arn:aws:iam::1:role/AWSReservedSSO_NoHash", None),
        ("arn:aws:iam::1:role/Deploy", None),
        ("arn:aws:iam::1:user/AWSReservedSSO_X_0a1b2c3d4e5f6789", None),
    ],
)
def test_identity_center_roles_name_their_permission_set(role_arn, permission_set):
    assert identity_center_permission_set(role_arn) == permission_set


def test_identity_center_principal_keeps_user_session_and_permission_set():
    principal = principal_from_identity(f.identity_center_role("Developer_Access", "jane@example.com"))
    assert principal.permission_set == "Developer_Access"
    assert principal.session == "jane@example.com"


# --- each rule of the canonical ARN on its own (docs/CONTRACT.md, FINDING) ----------------------------------------


def test_a_federated_user_without_its_issuer_has_no_canonical_arn_but_keeps_its_name():
    identity = {k: v for k, v in f.federated_user("bob").items() if k != "sessionContext"}
    principal = principal_from_identity(identity)
    assert (principal.arn, principal.session) == (None, "bob")


def test_a_federated_user_without_its_own_arn_is_the_iam_user_that_issued_the_session():
    # docs/CONTRACT.md: "for a federated user the IAM user that issued the session" (its sessionIssuer).
    identity = {k: v for k, v in f.federated_user("bob").items() if k != "arn"}
    principal = principal_from_identity(identity)
    assert principal.arn == f"arn:aws:iam::{f.ACCOUNT}:user/bob"


@pytest.mark.parametrize(
    ("identity", "partition", "arn"),
    [
        (
            {"type": "Root", "principalId": "111122223333", "accountId": "111122223333"},
            "aws",
            "arn:aws:iam::111122223333:root",
        ),
        ({"type": "Root", "accountId": "111122223333"}, "aws-cn", "arn:aws-cn:iam::111122223333:root"),
        (
            {"type": "Root", "arn": "arn:aws-us-gov:iam::111122223333:root"},
            "aws-us-gov",
            "arn:aws-us-gov:iam::111122223333:root",
        ),
        (
            {"type": "Root", "arn": "arn:aws-cn:iam::111122223333:root", "accountId": "111122223333"},
            "aws",
            "arn:aws-cn:iam::111122223333:root",
        ),
        ({"type": "Root", "principalId": "111122223333"}, "aws", None),
    ],
)
def test_the_root_user_is_its_accounts_root_arn(identity, partition, arn):
    """The log's own root ARN wins; else the account's root in the record's partition; without an account, none."""
    assert principal_from_identity(identity, partition).arn == arn


def test_an_assumed_role_without_an_arn_is_its_issuing_role():
    identity = {k: v for k, v in f.assumed_role("Deploy", "ci", path="/ci/").items() if k != "arn"}
    principal = principal_from_identity(identity)
    assert principal.arn == "arn:aws:iam::111122223333:role/ci/Deploy"
    assert principal.session == "ci", "the session is still read from principalId (ROLEID:SESSION)"


@pytest.mark.parametrize("kind", ["AWSService", "AWSAccount"])
def test_a_service_or_another_account_never_takes_a_canonical_arn_from_the_identity(kind):
    """The owner's log names another account's caller only through the message (denials.py), never as its own."""
    identity = {"type": kind, "arn": "arn:aws:iam::444455556666:user/partner", "accountId": "444455556666"}
    assert principal_from_identity(identity).arn is None


@pytest.mark.parametrize(
    ("identity", "arn"),
    [
        (
            {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/dev", "accountId": "111122223333"},
            "arn:aws:iam::111122223333:user/dev",
        ),
        ({"type": "IAMUser", "arn": "dev-alice", "accountId": "111122223333"}, None),
        (
            {"type": "Unknown", "arn": "arn:aws:iam::111122223333:role/Ops", "accountId": "111122223333"},
            "arn:aws:iam::111122223333:role/Ops",
        ),
    ],
)
def test_an_identity_arn_is_kept_only_when_it_is_one(identity, arn):
    assert principal_from_identity(identity).arn == arn


def test_an_account_written_as_a_number_is_read_from_the_arn_instead():
    identity = {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/dev", "accountId": 111122223333}
    assert principal_from_identity(identity).account_id == "111122223333"


def test_sessions_of_another_accounts_role_share_the_roles_key():
    """An AWSAccount caller is known by principalId ROLEID:SESSION: its sessions are one principal."""
    one = principal_from_identity(f.aws_account(session="first"))
    two = principal_from_identity(f.aws_account(session="second"))
    assert (one.session, two.session) == ("first", "second")
    assert one.key == two.key
    assert "partner" not in one.key and "first" not in one.key


def test_the_same_user_id_in_two_accounts_is_two_principals():
    """A principal without an ARN is known within its account (the key holds it), as an ARN would hold it."""
    here = principal_from_identity(f.identity_center_user("u-1"))
    there = principal_from_identity(f.identity_center_user("u-1") | {"accountId": f.OTHER_ACCOUNT})
    assert here.key != there.key
    assert f.ACCOUNT in here.key and f.OTHER_ACCOUNT in there.key


def test_without_a_partition_the_root_user_is_named_in_aws():
    assert (
        principal_from_identity({"type": "Root", "accountId": "111122223333"}).arn == "arn:aws:iam::111122223333:root"
    )


@pytest.mark.parametrize(
    "identity",
    [
        {"type": "IAMUser", "arn": 5, "accountId": "111122223333", "principalId": 12345, "userName": 7},
        {"type": "AssumedRole", "accountId": "111122223333", "sessionContext": {"sessionIssuer": "Deploy"}},
        {"type": "AssumedRole", "accountId": "111122223333", "sessionContext": "Deploy"},
    ],
    ids=["numbers", "issuer-not-an-object", "context-not-an-object"],
)
def test_fields_of_the_wrong_type_are_not_stated(identity):
    """Logs are data: an odd field is read as absent, never raises."""
    principal = principal_from_identity(identity)
    assert (principal.arn, principal.account_id, principal.session) == (None, "111122223333", None)
    assert principal.key == f"{identity['type']}:111122223333"


def test_principals_known_by_nothing_but_their_account_are_told_apart_by_it():
    here = principal_from_identity({"type": "Unknown", "accountId": f.ACCOUNT})
    there = principal_from_identity({"type": "Unknown", "accountId": f.OTHER_ACCOUNT})
    assert here.key != there.key
