"""The commands that attach a grant to an IAM user or role without replacing what is there.

Each finding's policies are named by its id and day, so the next day's fix is added beside the last instead
of overwriting it. IAM counts a user's inline policies together against 2,048 characters and a role's against
10,240 (whitespace not counted); a grant larger than that, or split in several documents, becomes managed
policies (6,144 characters each), every one of them created and attached.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

from __future__ import annotations

import shlex
from typing import Any

from analysis import policies
from analysis.remedies.situation import name_of

USER_INLINE_LIMIT = 2048
ROLE_INLINE_LIMIT = 10240


def shell_word(value: object) -> str:
    """A value from a log as one word of a command a person pastes: quoted unless it is plainly safe, so that a
    principal named ``Deploy$(touch x)`` stays a name and never runs."""
    return shlex.quote(str(value))


def policy_name(finding: dict[str, Any]) -> str:
    """``AppRunnerAudit-<finding id>-<YYYYMMDD>`` of the finding's last denial."""
    day = (finding.get("last_seen") or "")[:10].replace("-", "") or "undated"
    return f"AppRunnerAudit-{finding['id']}-{day}"


def document_file(index: int) -> str:
    """policy.json, then policy-2.json, policy-3.json… for ``more_policies``."""
    return "policy.json" if index == 1 else f"policy-{index}.json"


def attach_commands(
    principal_arn: str | None,
    documents: list[dict[str, Any]],
    name: str,
    partition: str,
    first_file: str = "policy.json",
) -> tuple[list[str], list[str]]:
    """(commands, notes) attaching every document to the IAM user or role ``principal_arn``."""
    arn = principal_arn or ""
    entity = shell_word(name_of(arn) or "")
    if ":role/" in arn:
        kind, limit = "role", ROLE_INLINE_LIMIT
    elif ":user/" in arn:
        kind, limit = "user", USER_INLINE_LIMIT
    else:
        return [], []
    if len(documents) == 1 and policies.policy_size(documents[0]) <= limit:
        command = f"aws iam put-{kind}-policy --{kind}-name {entity} --policy-name {name} --policy-document file://{first_file}"
        return [command], []
    account = arn.split(":")[4]  # twelve digits: principals.py admits no other ARN
    commands = []
    for index, _document in enumerate(documents, start=1):
        managed = name if len(documents) == 1 else f"{name}-{index}"
        commands += [
            f"aws iam create-policy --policy-name {managed} --policy-document "
            f"file://{first_file if index == 1 else document_file(index)}",
            f"aws iam attach-{kind}-policy --{kind}-name {entity} --policy-arn "
            f"arn:{partition}:iam::{account}:policy/{managed}",
        ]
    note = (
        f"The grant is too large for a {kind}'s inline policies ({limit:,} characters in all), so it is "
        f"{len(documents)} managed polic{'y' if len(documents) == 1 else 'ies'}; a {kind} takes 10 managed "
        "policies by default (20 on request)."
    )
    return commands, [note]
