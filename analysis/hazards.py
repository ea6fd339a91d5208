"""Refused actions that are dangerous to grant (privilege escalation, defence evasion, credential access).

The table is data, with a source per action: ``analysis/data/hazardous_actions.json``. An action counts
according to its scope: ``any`` always; ``self`` only when a refused resource is the principal's own identity
(its canonical ARN: an IAM user writing policies on itself); ``many`` only when more than one resource, or a
wildcard, was refused (``ec2:GetPasswordData`` on every instance).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel

from analysis.contract import Hazard

Scope = Literal["any", "self", "many"]
# arn:PARTITION:iam::ACCOUNT:user/PATH/NAME -> the identity (partition, account, type, name): IAM names are
# unique within an account whatever their path, and compared without case (IAM refuses 'Alice' beside 'alice').
_IAM_IDENTITY = re.compile(r"^arn:([^:]+):iam::(\d{12}):(user|role)/(?:.*/)?([^/]+)$")


@dataclass(frozen=True)
class HazardousAction:
    """One entry of the table."""

    action: str
    category: str
    scope: Scope
    why: str
    source: str

    def hazard(self) -> Hazard:
        return Hazard(action=self.action, category=self.category, why=self.why, source=self.source)


@cache
def hazardous_actions() -> dict[str, HazardousAction]:
    """The table, by lower-case action (IAM action names are case-insensitive). Loaded once."""
    text = resources.files("analysis.data").joinpath("hazardous_actions.json").read_text()
    entries = [HazardousAction(**entry) for entry in json.loads(text)["hazards"]]
    return {entry.action.lower(): entry for entry in entries}


def hazards_of(finding: BaseModel | Mapping[str, Any]) -> list[Hazard]:
    """The hazards among a finding's refused actions (the model or its data), in the order of its actions."""
    data = finding.model_dump() if isinstance(finding, BaseModel) else finding
    principal_arn = (data.get("principal") or {}).get("arn")
    found: dict[str, Hazard] = {}
    for action in data.get("actions") or []:
        entry = hazardous_actions().get(str(action.get("action", "")).lower())
        if entry and entry.action not in found and _in_scope(entry.scope, action.get("resources") or [], principal_arn):
            found[entry.action] = entry.hazard()
    return list(found.values())


def _in_scope(scope: Scope, refused: list[str], principal_arn: str | None) -> bool:
    if scope == "self":
        return bool(principal_arn) and any(is_own_identity(resource, principal_arn or "") for resource in refused)
    if scope == "many":
        return len(set(refused)) > 1 or any(_is_pattern(resource) for resource in refused)
    return True


def is_own_identity(resource: str, principal_arn: str) -> bool:
    """True when the refused resource is the principal itself: the same IAM user or role (whatever the path
    either ARN writes), or a wildcard pattern that covers the principal's ARN."""
    if _is_pattern(resource):
        return _pattern(resource).fullmatch(principal_arn) is not None
    own = _identity(principal_arn)
    return own is not None and own == _identity(resource)


def _identity(arn: str) -> tuple[str, ...] | None:
    match = _IAM_IDENTITY.match(arn)
    return (match[1], match[2], match[3], match[4].lower()) if match else None


def _is_pattern(resource: str) -> bool:
    return "*" in resource or "?" in resource


def _pattern(resource: str) -> re.Pattern[str]:
    """An IAM resource pattern as a regex: '*' any run of characters, '?' any one (IAM's only wildcards)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource))
