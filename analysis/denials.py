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
_MAX_MEND_DEPTH = 16  # far below Python's recursion limit, far above what a denial's row reads

_ACTION = re.compile(ACTION_PATTERN)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
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
    event_source = _text(record.get("eventSource"))
    return {
        "event_id": _text(record.get("eventID")),
        "recipient_account_id": _text(record.get("recipientAccountId")),
        "event_time": _text(record.get("eventTime")),
        "event_source": event_source,
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
        "denied_explicitly": parsed.denied_explicitly,
        "policy_arn": parsed.policy_arn,
        "encoded_message": parsed.encoded_message,
        "truncated": parsed.truncated,
        "non_iam_failure": parsed.non_iam_failure,
        "target_account_id": target,
        "cross_account": bool(principal.account_id and target and principal.account_id != target),
        "passed_to_service": _passed_to_service(action, event_source),
        "vpc_endpoint_id": _text(record.get("vpcEndpointId")),
        "vpc_endpoint_account_id": _text(record.get("vpcEndpointAccountId")),
    }


def request_context(passed_to_services: list[str]) -> dict[str, list[str]]:
    """The condition keys the records imply for the refused request (docs/CONTRACT.md: DeniedAction.context)."""
    return {"iam:PassedToService": passed_to_services} if passed_to_services else {}


def _passed_to_service(action: str, event_source: str | None) -> str | None:
    """The iam:PassedToService of a refused iam:PassRole: the service principal that was to assume the role."""
    if action != "iam:PassRole" or not event_source or event_source == "iam.amazonaws.com":
        return None
    return catalog.passed_to_service(event_source) or event_source


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
    if catalog.takes_only_star(action):  # IAM authorises it against "*", whatever the message names
        return ["*"], "star"
    if parsed.resource:
        iam_arn = _iam_named_arn(record, action, parsed.resource)
        if iam_arn:
            return [iam_arn], "message_iam_name"
        if _is_bare_name(parsed.resource, action):
            named = _resources_named(record, action, parsed.resource)
            if named:
                return named, "message_name"
        return [parsed.resource], "message"
    from_request = _resources_from_request(record, action)
    if from_request:
        return from_request, "request"
    from_record = _resources_from_record(record, action)
    if from_record:
        return from_record, "record"
    return [], "none"


_IAM_NAMED = re.compile(r"^(?P<kind>user|role|group|policy|instance profile)\s+(?P<name>[\w+=,.@-]+)$")


def _iam_named_arn(record: dict[str, Any], action: str, resource: str) -> str | None:
    """IAM's ``on resource: role Deploy`` as the role's ARN in the owning account (default path /)."""
    match = _IAM_NAMED.match(resource.strip())
    account = _text(record.get("recipientAccountId"))
    if not match or not action.startswith("iam:") or not account:
        return None
    kind = match.group("kind").replace("instance profile", "instance-profile")
    return catalog.named_resource_arn(
        "iam",
        kind,
        match.group("name"),
        account=account,
        partition=partition_for_region(_text(record.get("awsRegion"))),
    )


def _is_bare_name(resource: str, action: str) -> bool:
    """A resource the message names by its name alone (``on resource: my-example-service``, as in App Runner's
    troubleshooting page), not an ARN, not '*', and not IAM's ``role NAME`` form."""
    return (
        not resource.startswith("arn:")
        and resource != "*"
        and " " not in resource
        and bool(catalog.resource_types(action))
    )


def _resources_named(record: dict[str, Any], action: str, name: str) -> list[str]:
    """The request's ARN of a resource named ``name``, else its name-scoped ARN in the record's region and
    owning account (``…:service/NAME/*``)."""
    request = record.get("requestParameters")
    arns = sorted(set(_arns_in(request))) if isinstance(request, dict) else []
    for resource_type in catalog.resource_types(action):
        variables = [v for v in catalog.arn_template_variables(resource_type.arn_template) if v not in _PLACES]
        if not _scoped_by_one_name(resource_type.arn_template, variables):
            continue
        for arn in arns:
            if resource_type.arn_pattern.fullmatch(arn) and _first_name_in(arn, resource_type.arn_template) == name:
                return [arn]
        region = _text(record.get("awsRegion"))
        account = _text(record.get("recipientAccountId"))
        if region and account:
            scoped = catalog.build_arn(
                resource_type.arn_template,
                region=region,
                account=account,
                values={variables[0]: name},
                allow_trailing_wildcard=True,
            )
            if scoped:
                return [scoped]
    return []


_PLACES = frozenset({"Partition", "Region", "Account"})


def _scoped_by_one_name(template: str, variables: list[str]) -> bool:
    """Whether a bare name can stand for resources of this type: a regional ARN of the account whose first part is
    the one name in it (``service/${ServiceName}/${ServiceId}``), not an id or a generated suffix
    (``secret:${SecretId}``) nor one of two names (an S3 object's bucket or key)."""
    names = [v for v in variables if v.endswith("Name")]
    return ":${Region}:${Account}:" in template and names == variables[:1]


def _first_name_in(arn: str, template: str) -> str | None:
    """The value of the template's first resource variable in ``arn`` (the service name of a service ARN)."""
    resource_part = arn.split(":", 5)[-1] if arn.count(":") >= 5 else ""
    literal = template.split(":", 5)[-1].split("${", 1)[0]
    if not resource_part.startswith(literal):
        return None
    return resource_part[len(literal) :].split("/", 1)[0] or None


def _queue_arn(url: str) -> str | None:
    """An SQS queue URL (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``) as the queue's ARN."""
    match = _QUEUE_URL.match(url)
    if not match:
        return None
    region = match.group("region") or match.group("legacy")
    return f"arn:{partition_for_region(region)}:sqs:{region}:{match.group('account')}:{match.group('name')}"


_QUEUE_URL = re.compile(
    r"^https://(?:sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|(?P<legacy>[a-z0-9-]+)\.queue\.amazonaws\.com)"
    r"/(?P<account>\d{12})/(?P<name>[A-Za-z0-9_-]{1,80}(?:\.fifo)?)$"
)


def _resources_from_request(record: dict[str, Any], action: str) -> list[str]:
    request = record.get("requestParameters")
    if not isinstance(request, dict):
        return []
    arns = sorted(set(_arns_in(request)))
    queue_url = request.get("queueUrl") or request.get("QueueUrl")
    if isinstance(queue_url, str):
        queue = _queue_arn(queue_url)
        arns += [queue] if queue else []
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


def mended(value: Any, depth: int = 0) -> Any:
    """A record (or any JSON value) whose strings hold no lone surrogate: each becomes U+FFFD, as the file readers
    make it. Python's json (Lambda's event, botocore's answers) takes a ``\\ud800`` escape; UTF-8 and the
    report's writer refuse the string it gives. Values nested deeper than anything here reads are left as they are."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if depth > _MAX_MEND_DEPTH:
        return value
    if isinstance(value, dict):
        return {mended(key): mended(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [mended(item, depth + 1) for item in value]
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
