"""The least-privilege grant of the actions a grant fixes: each on the resources the log names, no wider."""

from __future__ import annotations

from typing import Any

from analysis import policies
from analysis.policies import Grant
from analysis.remedies.situation import Situation


def grants(situation: Situation, actions: list[dict[str, Any]], notes: list[str]) -> list[Grant]:
    """One grant per action that can be scoped; ``notes`` gains why any resource or action was left out."""
    finding = situation.finding
    found = []
    for action in actions:
        scoped = policies.scope_resources(
            action["action"], action["resources"], principal_arn=finding["principal"]["arn"]
        )
        notes.extend(scoped.notes)
        if not scoped.resources:
            notes.append(
                f"{action['action']} is not in the policy: the log does not name a resource it could be "
                "scoped to. Grant it on the specific resource the principal needs."
            )
            continue
        services = tuple((action.get("context") or {}).get("iam:PassedToService", []))
        found.append(Grant(action["action"], tuple(scoped.resources), services))
    return found


def grant_documents(situation: Situation, actions: list[dict[str, Any]], notes: list[str]) -> list[dict[str, Any]]:
    """The policy documents granting ``actions``, split where IAM's managed-policy size requires."""
    documents = policies.split_policy(policies.grant_policy(grants(situation, actions, notes)))
    if len(documents) > 1:
        notes.append(
            f"The grant exceeds IAM's {policies.MANAGED_POLICY_LIMIT}-character policy size: it is split into "
            f"{len(documents)} documents (policy and more_policies); attach all of them."
        )
    return documents
