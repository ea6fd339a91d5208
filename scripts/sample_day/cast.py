"""The people who work through the day and also appear in denial scenarios."""

from __future__ import annotations

from .actors import iam_user, role_session, sso_session
from .plan import Later
from .world import CI, CLI_MAC, CLI_OLD, CONSOLE, PROD, SSO_DEVELOPER_ROLE, STAGING

ALICE = iam_user(PROD, "dev-alice", "198.51.100.77", CLI_MAC)  # a developer in prod, on the CLI
JANE = Later(
    lambda day: sso_session(STAGING, SSO_DEVELOPER_ROLE, "jane.doe@example.com", day.at(9, 3), "203.0.113.24", CONSOLE)
)
DATA_SCIENTIST = Later(
    lambda day: role_session(STAGING, "DataScience", "priya.shah", day.at(10, 20), "203.0.113.51", CLI_MAC)
)
SVC_LEGACY = iam_user(CI, "svc-legacy", "198.51.100.23", CLI_OLD, tls_version="TLSv1.2")  # the nightly backup
