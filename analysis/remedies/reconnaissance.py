"""Rule 1: a principal refused many distinct actions in a short time is probing, not missing a permission (the
test itself: ``analysis.grouping.reconnaissance_principals``)."""

from __future__ import annotations

from analysis.remedies.commands import shell_word
from analysis.remedies.situation import Situation, name_of


def investigate_notes(situation: Situation) -> list[str]:
    finding = situation.finding
    options = situation.options
    actions = len(finding["actions"])
    threshold, minutes = options.recon_distinct_actions, options.recon_window_minutes
    if actions >= threshold:
        seen = f"{actions} distinct actions were denied to this principal, at least {threshold} of them"
    else:  # the others are another account's finding, or (one event's alert) counted by the alert state
        seen = f"At least {threshold} distinct actions were denied to this principal"
    notes = [
        f"{seen} within {minutes} minutes: this looks like reconnaissance, not a missing permission. Do not grant.",
        "Check who holds these credentials: source IPs "
        + (", ".join(finding.get("source_ips", [])[:5]) or "unknown")
        + "; user agents "
        + ("; ".join(finding.get("user_agents", [])[:3]) or "unknown")
        + ".",
    ]
    principal = situation.principal
    name = name_of(principal.get("arn")) if principal["type"] == "IAMUser" else None
    user = shell_word(name) if name else None
    if user:
        notes.append(
            f"If the activity is not expected, deactivate the user's access keys (aws iam list-access-keys "
            f"--user-name {user}; aws iam update-access-key --user-name {user} --access-key-id KEY "
            "--status Inactive) and review CloudTrail for what succeeded."
        )
    elif principal["type"] == "AssumedRole":
        notes.append(
            "If the activity is not expected, revoke the role's active sessions (IAM console: Revoke active "
            "sessions, which attaches an AWSRevokeOlderSessions deny) and review what succeeded."
        )
    return notes
