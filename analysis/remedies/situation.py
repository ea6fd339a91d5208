"""What every part of a remedy reads: the finding, its denial rows, the options, and the texts (data)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from analysis.identifiers import partition_for_region

if TYPE_CHECKING:
    from analysis.model import Options

_ACTION_AND_EVENT = itemgetter("action", "event_source", "event_name")


@cache
def texts() -> dict[str, Any]:
    """analysis/data/remedy_texts.json: wording, related permissions, resource-policy types, doc links."""
    loaded: dict[str, Any] = json.loads(resources.files("analysis.data").joinpath("remedy_texts.json").read_text())
    return loaded


@dataclass
class Situation:
    finding: dict[str, Any]
    rows: list[dict[str, Any]]  # the finding's denial rows (analysis.denials.denial_row)
    options: Options
    reconnaissance: bool
    refused: frozenset[str] = field(init=False)  # the finding's refused actions
    _events: set[tuple[Any, Any, Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.refused = frozenset(action["action"] for action in self.finding["actions"])
        # One pass in C: every action's notes ask which events it was refused in, and a storm's finding has many rows.
        self._events = set(map(_ACTION_AND_EVENT, self.rows))

    @property
    def principal(self) -> dict[str, Any]:
        principal: dict[str, Any] = self.finding["principal"]
        return principal

    @property
    def partition(self) -> str:
        regions = self.finding.get("regions") or []
        return partition_for_region(regions[0] if regions else None)

    @property
    def who(self) -> str:
        return self.principal.get("arn") or self.principal.get("key") or "the principal"

    @property
    def caller_untrusted(self) -> bool:
        """The caller's account is neither trusted nor in the organization (docs/CONTRACT.md, rule 4)."""
        account = self.principal.get("account_id")
        return account not in self.options.trusted_accounts and account not in self.options.organization_accounts

    def rows_of(self, action: str) -> list[dict[str, Any]]:
        return [row for row in self.rows if row.get("action") == action]

    def events_of(self, action: str) -> set[tuple[Any, Any]]:
        """The (event source, event name) of each event the action was refused in."""
        return {(source, name) for refused, source, name in self._events if refused == action}


def present(value: Any) -> bool:
    """Not None, not NaN (pandas' missing value), not empty."""
    return value is not None and value == value and value != ""


def name_of(arn: str | None) -> str | None:
    """The last part of an IAM ARN: a user's or role's name."""
    return arn.rsplit("/", 1)[-1] if arn and "/" in arn else None
