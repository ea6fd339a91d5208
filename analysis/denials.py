"""One record at a time: is it a denial, and of what, by whom, on what, and why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from analysis import catalog
from analysis.contract import ACTION_PATTERN
from analysis.identifiers import partition_for_region
from analysis.messages import ParsedMessage, parse_message
from analysis.principals import Principal, account_of_arn, principal_from_identity

DENIAL_ERROR_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"}
)
_MAX_ARN_SEARCH_DEPTH = 4

_ACTION = re.compile(ACTION_PATTERN)
_NOT_IN_PREFIX = re.compile(r"[^A-Za-z0-9-]")
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9*_-]")


def is_denial(record: dict[str, Any]) -> bool:
    code = record.get("errorCode")
    if not isinstance(code, str):
        return False
    # The CIS filter: errorCode "*UnauthorizedOperation" or "AccessDenied*".
    return code in DENIAL_ERROR_CODES or code.endswith("UnauthorizedOperation") or code.startswith("AccessDenied")


def audits_service(record: dict[str, Any], service: str) -> bool:
    """Whether a record belongs to the audited service ('apprunner', an IAM prefix, or 'all')."""
    if service == "all":
        return True
    source = record.get("eventSource")
    if not isinstance(source, str):
        return False
    return source.split(".", 1)[0] == service or catalog.iam_prefix_for_event_source(source) == service


def spelled_as_action(action: str) -> str:
    """``prefix:Name`` as IAM spells actions, whatever the log held: a missing part reads ``unknown`` or
    ``Unknown``, other characters ``-`` in the prefix and ``_`` in the name. Such an action is not in the
    catalog, so it is never granted."""
    if _ACTION.match(action):
        return action
    prefix, _, name = action.partition(":")
    prefix = _NOT_IN_PREFIX.sub("-", prefix) or "unknown"
    name = _NOT_IN_NAME.sub("_", name) or "Unknown"
    return f"{prefix}:{name}"


def denial_row(record: dict[str, Any]) -> dict[str, Any]:
    """The facts of one denial, flat, for one row of the findings frame."""
    parsed = parse_message(_text(record.get("errorMessage")))
    principal = _principal(record, parsed)
    event_action = catalog.action_for_event(
        _text(record.get("eventSource")) or "", _text(record.get("eventName")) or ""
    )
    action = spelled_as_action(_message_action(parsed) or event_action)
    resources, resource_origin = _resources(record, action, parsed)
    target = _target_account(record, resources)
    return {
        "event_id": _text(record.get("eventID")),
        "recipient_account_id": _text(record.get("recipientAccountId")),
        "event_time": _text(record.get("eventTime")),
        "event_source": _text(record.get("eventSource")),
        "event_name": _text(record.get("eventName")),
        "region": _text(record.get("awsRegion")),
        "source_ip": _text(record.get("sourceIPAddress")),
        "user_agent": _text(record.get("userAgent")),
        "error_code": _text(record.get("errorCode")),
        "error_message": _text(record.get("errorMessage")),
        "principal_key": principal.key,
        "principal_arn": principal.arn,
        "principal_type": principal.type,
        "principal_account_id": principal.account_id,
        "session": principal.session,
        "permission_set": principal.permission_set,
        "action": action,
        "action_from_message": parsed.action is not None,
        "action_known": catalog.action_exists(action),
        "resources": resources,
        "resource_origin": resource_origin,
        "reason": parsed.reason,
        "policy_arn": parsed.policy_arn,
        "encoded_message": parsed.encoded_message,
        "truncated": parsed.truncated,
        "non_iam_failure": parsed.non_iam_failure,
        "target_account_id": target,
        "cross_account": bool(principal.account_id and target and principal.account_id != target),
    }


def _principal(record: dict[str, Any], parsed: ParsedMessage) -> Principal:
    principal = principal_from_identity(
        record.get("userIdentity"), partition_for_region(_text(record.get("awsRegion")))
    )
    if principal.arn or not parsed.principal_arn or principal.type == "AWSService":
        return principal
    # The owner's log of a cross-account call often has only the caller's account; the message
    # still names the caller.
    from_message = principal_from_identity({"type": "AssumedRole", "arn": parsed.principal_arn})
    if not from_message.arn or (principal.account_id and from_message.account_id != principal.account_id):
        return principal
    return Principal(
        arn=from_message.arn,
        type=principal.type,
        account_id=principal.account_id or from_message.account_id,
        session=principal.session or from_message.session,
        permission_set=from_message.permission_set,
        key=from_message.arn,
    )


def _message_action(parsed: ParsedMessage) -> str | None:
    if not parsed.action:
        return None
    return catalog.canonical_action(parsed.action) or parsed.action


def _resources(record: dict[str, Any], action: str, parsed: ParsedMessage) -> tuple[list[str], str]:
    """The resources refused, and where they came from: message, request, record, none or star."""
    if parsed.resource:
        return [parsed.resource], "message"
    if catalog.takes_only_star(action):
        return ["*"], "star"
    from_request = _resources_from_request(record, action)
    if from_request:
        return from_request, "request"
    from_record = _resources_from_record(record, action)
    if from_record:
        return from_record, "record"
    return [], "none"


def _resources_from_request(record: dict[str, Any], action: str) -> list[str]:
    request = record.get("requestParameters")
    if not isinstance(request, dict):
        return []
    arns = sorted(set(_arns_in(request)))
    for resource_type in catalog.resource_types(action):
        matching = [arn for arn in arns if resource_type.arn_pattern.fullmatch(arn)]
        if matching:
            return matching
    # Build the ARN from names and ids in the request. AWS assigns the id of a new resource, so a
    # Create* grant is scoped by name (service/NAME/*); other actions need every part of the ARN.
    region = _text(record.get("awsRegion")) or "*"
    account = _text(record.get("recipientAccountId")) or "*"
    values = {k: v for k, v in request.items() if isinstance(v, str)}
    for resource_type in catalog.resource_types(action):
        if not resource_type.required:
            continue
        arn = catalog.build_arn(
            resource_type.arn_template,
            partition=partition_for_region(region),
            region=region,
            account=account,
            values=values,
            allow_trailing_wildcard=_is_create(action),
        )
        if arn:
            return [arn]
    return []


def _is_create(action: str) -> bool:
    return action.split(":", 1)[-1].startswith("Create")


def _arns_in(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > _MAX_ARN_SEARCH_DEPTH:
        return
    if isinstance(value, str):
        if value.startswith("arn:"):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arns_in(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _arns_in(item, depth + 1)


def _resources_from_record(record: dict[str, Any], action: str) -> list[str]:
    listed = record.get("resources")
    if not isinstance(listed, list):
        return []
    arns = [arn for r in listed if isinstance(r, dict) and isinstance(arn := r.get("ARN"), str)]
    matching = [arn for arn in arns if catalog.matching_resource_type(action, arn)]
    return sorted(set(matching))


def _target_account(record: dict[str, Any], resources: list[str]) -> str | None:
    for resource in resources:
        account = account_of_arn(resource)
        if account:
            return account
    return _text(record.get("recipientAccountId")) or None  # an empty account is not stated


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
