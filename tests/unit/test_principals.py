"""Every userIdentity type is canonicalised as CONTRACT.md says."""

import pytest

from analysis.principals import identity_center_permission_set, principal_from_identity
from tests import factories as f


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
    assert principal.key, "every principal has a grouping key, even without an ARN"


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
