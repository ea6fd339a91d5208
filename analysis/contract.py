"""The report contract (docs/CONTRACT.md, schema version 1) as pydantic models.

The JSON Schema in ``analysis/schema/report-v1.schema.json`` is generated from these models
(``python -m analysis.contract > analysis/schema/report-v1.schema.json``); a test keeps the two equal.
A leaf module: it imports nothing of the project, so every layer can read reports through it.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import textwrap
from collections.abc import Mapping
from functools import cache
from itertools import pairwise
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.config import JsonDict
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from analysis.cycle_collector import no_cycle_collection

SCHEMA_VERSION = "1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://github.com/apprunner-access-auditor/schema/report-v1.schema.json"

Time = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$", json_schema_extra={"format": "date-time"})
]
Account = Annotated[str, Field(pattern=r"^\d{12}$")]
Count = Annotated[int, Field(ge=0)]
Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})]
FINDING_ID_PATTERN = r"^f-[0-9a-f]{16}$"
ACTION_PATTERN = r"^[A-Za-z0-9-]+:[A-Za-z0-9*_-]+$"  # prefix:Name, as IAM spells actions
EVENT_IDS_PER_ACTION = 20  # enough to open a few events in CloudTrail; the report stays small on a busy day

Reason = Literal[
    "no_identity_allow",
    "explicit_identity_deny",
    "scp",
    "rcp",
    "permissions_boundary",
    "session_policy",
    "resource_policy",
    "vpc_endpoint_policy",
    "explicit_deny",
    "unknown",
]
PrincipalType = Literal[
    "IAMUser",
    "AssumedRole",
    "Root",
    "FederatedUser",
    "AWSAccount",
    "AWSService",
    "IdentityCenterUser",
    "SAMLUser",
    "WebIdentityUser",
    "Unknown",
]
RemedyKind = Literal["grant", "cross_account_role", "permission_set", "review_deny", "org_policy", "investigate"]
SourceState = Literal["ok", "partial", "failed"]
Severity = Literal["critical", "high", "medium", "low"]
Confidence = Literal["normal", "low"]
TimelineUnit = Literal["hour", "day", "week"]
ChannelStatus = Literal["sent", "already_sent", "in_progress", "skipped", "failed"]

# What each value of the vocabularies means: the schema gives every value its description (``oneOf``), so a reader of
# a report needs no other document. A test keeps each table equal to its vocabulary.
REASON_MEANINGS: dict[str, str] = {
    "no_identity_allow": "No identity-based policy of the principal allows the action (an implicit deny): a grant "
    "fixes it.",
    "explicit_identity_deny": "An identity-based policy of the principal explicitly denies the action.",
    "scp": "A service control policy of AWS Organizations refuses the action (explicitly or by not allowing it).",
    "rcp": "A resource control policy of AWS Organizations refuses the action (explicitly or by not allowing it).",
    "permissions_boundary": "The principal's permissions boundary refuses the action (explicitly or by not allowing "
    "it).",
    "session_policy": "The session policy passed when the role was assumed refuses the action (explicitly or by not "
    "allowing it).",
    "resource_policy": "A resource-based policy (of the resource refused) refuses the action.",
    "vpc_endpoint_policy": "The policy of the VPC endpoint the call went through refuses the action.",
    "explicit_deny": "An explicit deny whose message names no policy type.",
    "unknown": "AWS did not say why: the message names no policy type and no explicit deny (the older form, 'on the "
    "specified resource', 'Access Denied', or no message).",
}
REMEDY_KIND_MEANINGS: dict[str, str] = {
    "grant": "Attach the proposed policy to the principal: nothing else refused the actions.",
    "cross_account_role": "The caller's account does not own the resources: create a role in the owning account "
    "(policy: its permissions, trust_policy: who may assume it) and let the caller assume it (caller_policy).",
    "permission_set": "The principal is an IAM Identity Center role (AWSReservedSSO_…): change its permission set, "
    "not the role.",
    "review_deny": "A deny or guardrail refused it (an explicit deny, a permissions boundary, a session, VPC endpoint "
    "or resource-based policy, a service or service-linked role, a federation's trust policy, a cross-account "
    "iam:PassRole): a grant alone would not help; review what refused it.",
    "org_policy": "A service or resource control policy of AWS Organizations refused it, or the principal is the "
    "root user: an account-level grant cannot fix it.",
    "investigate": "The denials look like reconnaissance (by default 10 or more distinct actions refused within 10 "
    "minutes): no policy is proposed; investigate the principal.",
}
SEVERITY_MEANINGS: dict[str, str] = {
    "critical": "The root user, reconnaissance (investigate), or a caller from an account that is neither the owner, "
    "trusted, nor in the organization.",
    "high": "An explicit deny or organization policy refused a Write or Permissions-management action, or "
    "iam:PassRole was refused.",
    "medium": "Other Write or Tagging refusals, and cross-account callers that are trusted or in the organization.",
    "low": "Everything else (Read and List actions).",
}
PRINCIPAL_TYPE_MEANINGS: dict[str, str] = {
    "IAMUser": "An IAM user (userIdentity.type IAMUser).",
    "AssumedRole": "A role session: temporary credentials from sts:AssumeRole (also IAM Identity Center and "
    "service roles).",
    "Root": "The account's root user.",
    "FederatedUser": "A session from sts:GetFederationToken, issued by an IAM user.",
    "AWSAccount": "Another AWS account, named by its ID only (the log does not say which principal in it).",
    "AWSService": "An AWS service acting on its own behalf.",
    "IdentityCenterUser": "A user of IAM Identity Center, signed in to its portal or its APIs.",
    "SAMLUser": "A user federated through SAML (sts:AssumeRoleWithSAML).",
    "WebIdentityUser": "A user federated through a web identity provider (sts:AssumeRoleWithWebIdentity).",
    "Unknown": "The record's userIdentity does not say (absent, or a type this version does not know).",
}
SOURCE_STATE_MEANINGS: dict[str, str] = {
    "ok": "Read in full.",
    "partial": "Read, but part of it could not be (a file, a page, a region): see error and problems.",
    "failed": "Nothing could be read from it: see error.",
}
CONFIDENCE_MEANINGS: dict[str, str] = {
    "normal": "Three denials or more.",
    "low": "One or two denials: the finding may be a one-off (a typo, an experiment).",
}
TIMELINE_UNIT_MEANINGS: dict[str, str] = {
    "hour": "Buckets of one hour (a window of up to a few days).",
    "day": "Buckets of one day (a longer window).",
    "week": "Buckets of one week (a window of months).",
}
CHANNEL_STATUS_MEANINGS: dict[str, str] = {
    "sent": "Sent by this run.",
    "already_sent": "Sent by an earlier run for the same day: not sent again.",
    "in_progress": "Another run is sending it right now: not sent by this one.",
    "skipped": "Not sent, on purpose (e.g. no denials, and sending empty reports is off).",
    "failed": "Could not be sent: see detail.",
}
VOCABULARIES: dict[frozenset[str], dict[str, str]] = {
    frozenset(meanings): meanings
    for meanings in (
        REASON_MEANINGS,
        REMEDY_KIND_MEANINGS,
        SEVERITY_MEANINGS,
        PRINCIPAL_TYPE_MEANINGS,
        SOURCE_STATE_MEANINGS,
        CONFIDENCE_MEANINGS,
        TIMELINE_UNIT_MEANINGS,
        CHANNEL_STATUS_MEANINGS,
    )
}


BUILDING = {"building": True}  # the validation context of reports this code builds


class Contract(BaseModel):
    """Every section. A report this code builds (validated with ``context=BUILDING``) may hold no field the
    models do not name: a typo is a bug. A report read back (a file, S3, a later version) keeps the fields
    it adds, as docs/CONTRACT.md allows, and the published schema says so (see ``OpenSchema``).

    The docstring under each field is its description in the published schema (read from the source when the
    schema is generated, not at import: pydantic's ``use_attribute_docstrings`` would cost every run ~17 ms)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _only_named_fields_when_building(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and info.context and info.context.get("building"):
            names = _field_names(cls)
            if not names.issuperset(data):
                unknown = sorted(set(data) - names)
                raise ValueError(f"not a field of {cls.__name__}: {', '.join(unknown)}")
        return data


@cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    """A model's field names, read once: ``model_fields`` is rebuilt at each read (a report checks ~80,000 dicts)."""
    return frozenset(model.model_fields)


class Policy(Contract):
    """One IAM policy document: ``Version`` and ``Statement``; never ``NotAction`` or ``NotResource``."""

    Version: Literal["2012-10-17"]
    """The IAM policy language version: always 2012-10-17."""
    Statement: list[dict[str, Any]] = Field(
        min_length=1,
        json_schema_extra={
            "items": {
                "type": "object",
                "description": "One statement: Sid, Effect, Action, Resource (or Principal in a trust policy) and, "
                "where needed, Condition.",
                "required": ["Effect"],
                "properties": {
                    "Effect": {"enum": ["Allow", "Deny"], "description": "Allow (a proposed grant) or Deny."}
                },
                "not": {"anyOf": [{"required": ["NotAction"]}, {"required": ["NotResource"]}]},
            }
        },
    )
    """The statements, at least one: each allows exactly the refused actions it fixes, on the narrowest resources
    the log supports; never NotAction or NotResource."""

    @field_validator("Statement")
    @classmethod
    def _least_privilege_shape(cls, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for statement in statements:
            if statement.get("Effect") not in ("Allow", "Deny"):
                raise ValueError(f"a statement's Effect must be Allow or Deny: {statement.get('Effect')!r}")
            if "NotAction" in statement or "NotResource" in statement:
                raise ValueError("a proposed statement never uses NotAction or NotResource")
        return statements


class Doc(Contract):
    """A page of AWS's documentation about the refusal or its remedy."""

    title: str
    """The page's title."""
    url: str
    """The page's address."""


_NULL: JsonDict = {"type": "null"}
_CROSS_ACCOUNT_ONLY: JsonDict = {"properties": {"trust_policy": _NULL, "caller_policy": _NULL}}
_NO_POLICY: JsonDict = {"properties": {"policy": _NULL, "trust_policy": _NULL, "caller_policy": _NULL}}


class Remedy(Contract):
    """What to do about a finding: the first of the contract's remedy rules (docs/CONTRACT.md) that applies to any
    of its actions."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {"if": {"properties": {"kind": {"const": "investigate"}}}, "then": _NO_POLICY},
                {"if": {"properties": {"kind": {"not": {"const": "cross_account_role"}}}}, "then": _CROSS_ACCOUNT_ONLY},
            ]
        }
    )

    kind: RemedyKind
    """What to do, as one of the remedy kinds (each value's description says what it means)."""
    policy: Policy | None
    """The IAM policy to attach: to the principal (grant), to the permission set (permission_set), or the new
    role's permissions (cross_account_role); for review_deny and org_policy, a policy for those of the actions a
    grant would fix. Null when nothing is to be granted, and always for investigate."""
    trust_policy: Policy | None
    """cross_account_role only: the new role's trust policy, naming the caller (requiring sts:ExternalId when the
    caller's account is neither trusted nor in the organization). Null otherwise."""
    caller_policy: Policy | None
    """cross_account_role only: the caller's side, sts:AssumeRole on the new role. Null otherwise."""
    notes: list[str]
    """Sentences for people: what refused the actions (naming the policy where the message does), what must
    change, and what to check before acting."""
    more_policies: list[Policy] = []
    """Further policy documents, where IAM's size limits force the policy to be split; empty otherwise."""
    permission_set: str | None = None
    """permission_set only: the IAM Identity Center permission set to change (from the AWSReservedSSO_ role's
    name). Null otherwise."""
    role_name: str | None = None
    """cross_account_role only: the name proposed for the new role in the owning account. Null otherwise."""
    commands: list[str] = []
    """AWS CLI commands that apply the remedy, in order (lines starting with # say in which account to run the
    next ones); the files they name are the policies above (policy.json, trust-policy.json, caller-policy.json)."""
    docs: list[Doc] = []
    """AWS documentation pages about this refusal and its remedy."""

    @model_validator(mode="after")
    def _policies_fit_the_kind(self) -> Remedy:
        if self.kind == "investigate" and (self.policy or self.more_policies):
            raise ValueError("reconnaissance is never answered with a policy")
        if self.kind != "cross_account_role" and (self.trust_policy or self.caller_policy):
            raise ValueError("only a cross-account role has a trust policy and a caller policy")
        return self


class Principal(Contract):
    """Who was refused."""

    arn: Annotated[str, Field(pattern=r"^arn:")] | None
    """The canonical ARN: an IAM user's ARN; for an assumed role the role's ARN (arn:aws:iam::ACCOUNT:role/PATH/NAME);
    for a federated user the IAM user that issued the session; arn:aws:iam::ACCOUNT:root for the root user; null
    where the log does not say."""
    type: PrincipalType
    """The record's userIdentity.type as written (Unknown when absent), even where the canonical ARN is another
    principal's."""
    account_id: Account | None
    """The principal's own AWS account ID (12 digits); null where the log does not say."""
    sessions: list[str]
    """The role session names (or federated users' names) the principal acted under, sorted; empty for principals
    without sessions."""
    key: str | None = None
    """The finding's grouping key: the canonical ARN, or what the log says instead (such as account:ACCOUNT)."""
    permission_set: str | None = None
    """The IAM Identity Center permission set of an AWSReservedSSO_ role; null otherwise."""


class DeniedAction(Contract):
    """One IAM action refused to the principal, in the owning account."""

    action: Annotated[str, Field(pattern=ACTION_PATTERN)]
    """The IAM action refused, as prefix:Name (iam:PassRole when a call that passes a role was refused for it)."""
    count: Annotated[int, Field(ge=1)]
    """How many times it was refused (after removing repeats of the same eventID and recipient account)."""
    resources: list[str]
    """The resources refused, sorted: from the error message when it names an ARN, else from the request (for a
    Create call the name-scoped pattern, since AWS assigns the ID), else from the record's resources; ["*"] for an
    action that takes no resource; empty when nothing says."""
    reasons: Annotated[list[Reason], Field(min_length=1)]
    """Why AWS refused it, each reason once, sorted (each value's description says what it means)."""
    first_seen: Time | None
    """The eventTime of its first denial (UTC); null when no record had a readable time."""
    last_seen: Time | None
    """The eventTime of its last denial (UTC); null when no record had a readable time."""
    policy_arns: list[str] = []
    """The ARNs of the policies that refused it, where the error messages name them."""
    event_names: list[str] = []
    """The API calls (eventName) that were refused for it."""
    resource_origin: list[str] = []
    """Where the resources were taken from: message (an ARN in the error message), message_name or
    message_iam_name (a name in the message), request, record, star (the action takes no resource), none."""
    action_from_message: bool = True
    """True when every error message named the action; false when it was inferred from the event's source and
    name."""
    action_in_catalog: bool = True
    """True when the action is in the catalog of IAM actions (AWS's Service Authorization Reference); false for one
    the catalog does not know (newer than the catalog, or misspelt by the log)."""
    encoded_messages: Count = 0
    """How many of its error messages carried an encoded authorization failure message (decode it with aws sts
    decode-authorization-message)."""
    truncated_messages: Count = 0
    """How many of its error messages were cut (by AWS, at about 1,024 characters), so a reason may be missing."""
    non_iam_failures: list[str] = []
    """Refusals that are no IAM policy decision though reported as access denied (such as 'Cross-account pass role
    is not allowed'), each with what it means."""
    denied_explicitly: bool = False
    """True when every refusal of the action was an explicit Deny (of whichever policy type the reason names)."""
    context: dict[str, list[str]] = {}
    """The request context the records imply, by IAM condition key (iam:PassedToService: the services the role was
    passed to): what a proof of the remedy's policy evaluates the refused request with."""
    event_ids: Annotated[list[str], Field(max_length=EVENT_IDS_PER_ACTION)] = []
    """The CloudTrail eventIDs of its denials, earliest first, each once, at most 20: look them up in CloudTrail's
    event history (or by eventID in the trail's files) to see the full records. Empty when the records carry
    none, and in reports made before this field existed."""


class Hazard(Contract):
    """A refused action that is dangerous to grant (``analysis/data/hazardous_actions.json``): why, and who says so."""

    action: Annotated[str, Field(pattern=ACTION_PATTERN)]
    """The refused action that is dangerous to grant."""
    category: str
    """The kind of danger: privilege_escalation, defence_evasion, credential_access, …"""
    why: str
    """Why granting it is dangerous, in a sentence."""
    source: Annotated[str, Field(pattern=r"^https://")]
    """The public page that documents the danger."""


class Finding(Contract):
    """One principal and owning account: what was refused, how urgent it is, and what to do."""

    id: Annotated[str, Field(pattern=FINDING_ID_PATTERN)]
    """Stable: the same principal and owning account give the same id on every run."""
    principal: Principal
    """Who was refused."""
    target_account_id: str | None
    """The AWS account that owns the resources refused; null where the log does not say."""
    cross_account: bool
    """True when the principal's account is not the owning account."""
    denials: Annotated[int, Field(ge=1)]
    """How many denials the finding holds (the sum of its actions' counts)."""
    first_seen: Time | None = None
    """The eventTime of its first denial (UTC)."""
    last_seen: Time | None = None
    """The eventTime of its last denial (UTC)."""
    regions: list[str] = []
    """The AWS Regions the refused calls were made in, sorted."""
    user_agents: list[str] = []
    """The user agents of the refused calls, most frequent first (at most 10)."""
    source_ips: list[str] = []
    """The source IP addresses of the refused calls (or an AWS service's name, for calls a service made), sorted."""
    confidence: Confidence = "normal"
    """How much the finding rests on (each value's description says what it means)."""
    actions: Annotated[list[DeniedAction], Field(min_length=1)]
    """The actions refused, most denials first."""
    severity: Severity
    """How urgent it is, by the contract's rule (each value's description says what it means)."""
    hazards: list[Hazard] = []
    """Refused actions that are dangerous to grant, each with why and its source; empty when none."""
    remedy: Remedy | None
    """What to do; null only where remedies were not worked out."""


class SourceStatus(Contract):
    """One source read, and how the reading went."""

    name: str
    """The source as given: a path, lookup:REGION[,REGION…], s3://BUCKET/PREFIX, athena:DATABASE.TABLE,
    lake:EVENT_DATA_STORE or sample."""
    status: SourceState
    """How the reading went (each value's description says what it means)."""
    records_read: Count
    """Records read from it, before de-duplication."""
    malformed_records: Count = 0
    """Items of it that could not be read as a record (not valid JSON, not an object)."""
    error: str | None
    """Why it failed or was read only in part, in a line; null when it was read in full."""
    problems: list[str] = []
    """The first malformed items, named (file and position), the others counted only; and why the source held
    nothing to report, when it did not (no trail file, no CloudTrail record, no record in the window)."""


class Totals(Contract):
    """The run's counts."""

    records_read: Count
    """Every record read from every source, before any de-duplication."""
    denials: Count
    """The denials that became findings, after removing repeats of the same (eventID, recipientAccountId);
    records without an eventID are never merged."""
    principals: Count
    """The distinct principals among the findings."""
    malformed_records: Count
    """What could not be read as a record at all (a file or line that is not valid JSON, an element that is not an
    object), over every source."""
    findings: Count = 0
    """How many findings the report holds."""
    late_denials: Count | None = None
    """Daily reports only: denials of earlier days delivered late (see late_arrivals), not counted in denials."""


class ReportWindow(Contract):
    """A time window: denials with an eventTime from start (included) to end (excluded)."""

    start: Time | None
    """Its start (UTC), included; null when open (every record of a file is reported)."""
    end: Time | None
    """Its end (UTC), excluded; null when open."""


class TimelineBucket(Contract):
    """One bucket of the timeline."""

    start: Time
    """The bucket's start (UTC)."""
    denials: Count
    """The denials with an eventTime in the bucket."""


class Timeline(Contract):
    """Denials over time, for a chart."""

    unit: TimelineUnit
    """The buckets' length, chosen from the window's (each value's description says what it means)."""
    buckets: list[TimelineBucket]
    """The buckets, consecutive and earliest first, covering the window."""


class DayWindow(Contract):
    """A local calendar day: its key (``YYYY-MM-DD``), time zone and UTC bounds."""

    key: Day
    """The day, YYYY-MM-DD, in its time zone."""
    time_zone: str
    """The IANA time zone of the day (such as Europe/Paris)."""
    start: Time
    """The day's first instant (UTC), included."""
    end: Time
    """The next day's first instant (UTC), excluded."""


class Daily(DayWindow):
    """The local calendar day a daily report is about, and what was read for it."""

    lookback_hours: Annotated[float, Field(ge=0)]
    """How many hours before the day were read too, for records CloudTrail delivered late."""
    read_window: ReportWindow
    """The window read from the sources: the day, and the lookback before it."""


class LateArrivals(Contract):
    """Denials of an earlier day that CloudTrail delivered after that day's report."""

    window: DayWindow
    """The earlier day they belong to."""
    denials: Annotated[int, Field(ge=1)]
    """How many."""
    principals: Count
    """The distinct principals among them."""
    findings: list[Finding]
    """Their findings, as the report's own."""


class LedgerCounts(Contract):
    """How the day's denials were counted against the ledger (the state table), so that none is reported twice."""

    window: Day
    """The day counted, YYYY-MM-DD."""
    counted: Count
    """The day's denials recorded in the ledger by this run."""
    untracked_without_event_id: Count
    """The day's denials without an eventID: reported, but not recorded (a re-run may report them again)."""
    late_arrivals: Count
    """Denials of earlier days seen for the first time (reported in late_arrivals)."""
    already_reported: Count
    """Denials an earlier run already reported: not reported again."""


class DeliveryLink(Contract):
    """The link to the stored report that the messages carry."""

    url: str
    """The link for people: the S3 console page of the stored report (never a presigned URL)."""
    expires_in_seconds: int | None
    """How long the link works; null: as long as the object exists."""
    words: str
    """How a reader should understand the link (such as: needs read access to the bucket)."""


class ChannelOutcome(Contract):
    """What happened on one channel."""

    channel: str
    """The channel: s3, email (SES), sns or events (EventBridge)."""
    status: ChannelStatus
    """What happened (each value's description says what it means)."""
    message_id: str | None = None
    """The message's ID given by the channel (SES, SNS, EventBridge), when sent."""
    detail: str | None = None
    """What was done, or why not, in a line."""
    at: str | None = None
    """When (UTC, ISO 8601)."""
    forced: bool = False
    """True when the run was told to send again what had already been sent."""
    guarded: bool = True
    """True when the send was recorded in the state table, so that a retried run does not send it twice."""


class Delivery(Contract):
    """Where the report was stored and what was sent (reports delivered with --deliver or by the daily function)."""

    objects: dict[str, str]
    """The stored files by format (json, html, md, csv): their s3:// URIs."""
    link: DeliveryLink | None
    """The link the messages carry; null when none."""
    channels: list[ChannelOutcome]
    """What happened on each channel."""


class Report(Contract):
    """The report: what was read, what was refused to whom, and what to do about it."""

    model_config = ConfigDict(
        title="App Runner access report, schema version 1",
        json_schema_extra={
            "description": "The public report contract (docs/CONTRACT.md). Fields may be added; none renamed or "
            "removed without a new schema_version."
        },
    )

    schema_version: Literal["1"]
    """The contract's version. Fields may be added within it; none renamed or removed."""
    generated_at: Time
    """When the report was made (UTC)."""
    window: ReportWindow
    """The time window reported."""
    service: str | None = None
    """The service audited: apprunner (the default), another IAM service prefix, or all."""
    sources: list[SourceStatus]
    """Each source read, and how the reading went."""
    totals: Totals
    """The run's counts."""
    findings: list[Finding]
    """One per principal and owning account, most denials first."""
    timeline: Timeline | None = None
    """Denials over the window, by hour, day or week."""
    daily: Daily | None = None
    """Daily reports only: the local calendar day reported."""
    late_arrivals: list[LateArrivals] | None = None
    """Daily reports only: denials of earlier days that CloudTrail delivered late, by day."""
    ledger: LedgerCounts | None = None
    """Daily reports only: how the day's denials were counted, so that none is reported twice."""
    delivery: Delivery | None = None
    """Delivered reports only: where the report was stored and what was sent."""
    redacted: bool | None = None
    """True when account IDs, names and addresses were replaced by pseudonyms (--redact); absent otherwise."""

    @no_cycle_collection()
    def document(self) -> dict[str, Any]:
        """The report as JSON data: sections a run did not produce (daily, delivery …) are left out."""
        data = _json_data(self)
        for name in _OPTIONAL_SECTIONS:
            if data.get(name) is None:
                data.pop(name, None)
        if data["totals"].get("late_denials") is None:
            data["totals"].pop("late_denials", None)
        return data

    @no_cycle_collection()
    def dumps(self) -> str:
        return pretty_json(self.document())


def _json_data(model: BaseModel) -> dict[str, Any]:
    """``model.model_dump(mode="json")``, by way of the JSON text (a third of the time). orjson reads an integer of
    more than 64 bits as a float, and pydantic refuses a lone surrogate (a report read back with Python's json):
    those take the slow way."""
    try:
        text = model.model_dump_json().encode()
    except ValueError:
        return model.model_dump(mode="json")
    if _holds_long_digit_runs(text):
        return model.model_dump(mode="json")
    data: dict[str, Any] = orjson.loads(text)
    return data


_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19  # 2**63 has 19 digits: a run this long may be such an integer


def _holds_long_digit_runs(text: bytes) -> bool:
    """Whether ``text`` holds 19 ASCII digits in a row: every digit read as ``0``, a byte search finds the run
    (0.14 s on a 43 MB report, where the regex ``\\d{19}`` took 1 s)."""
    return _LONG_DIGIT_RUN in text.translate(_DIGITS_AS_ZEROS)


def pretty_json(document: Any) -> str:
    """``json.dumps(document, indent=2, ensure_ascii=False)`` and a line feed, written by orjson at a twentieth of
    the time (the standard library's indented writer is pure Python). The text is the same (a test compares them)
    but for floats, which the two write differently below 1e-4 and from 1e16 (``0.00001`` against ``1e-05``): a
    float written otherwise than Python's ``repr``, or a value orjson refuses (an integer beyond 64 bits), and the
    standard library writes the document. (NaN and infinities: a report's document holds ``null`` already.)"""
    try:
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:
        text = None
    if text is None or _a_float_written_otherwise(text):
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return text.decode() + "\n"


# A number in a value's place of orjson's indented text (after a key, or alone on an array's line) with a fraction
# or an exponent; the same bytes inside a string only cost a check.
_FLOAT_VALUES = re.compile(rb'(?:": |^ *)(-?\d+(?:\.\d+)?[eE][-+]?\d+|-?\d+\.\d+)(?=,?$)', re.MULTILINE)


# What a float orjson writes otherwise than repr holds: repr writes an exponent below 1e-4 and from 1e16, where
# orjson writes 0.0000… (down to 1e-7) or an exponent with its sign (1e-7, 1e+16). Each pattern starts with a
# literal, which re finds fast: 0.1 s on a 59 MB report, where _FLOAT_VALUES over all of it took 2 s.
_MARKS_OF_A_DIFFERENT_FLOAT = (re.compile(rb"e[-+]\d"), re.compile(rb"E[-+]\d"), re.compile(rb"0\.0000"))


def _a_float_written_otherwise(text: bytes) -> bool:
    """Whether a float value in orjson's indented ``text`` is written otherwise than Python's ``repr``: each line
    holding one of the marks such a float holds is read with :data:`_FLOAT_VALUES` (a value is on one line)."""
    for mark in _MARKS_OF_A_DIFFERENT_FLOAT:
        found = mark.search(text)
        while found is not None:
            line_start = text.rfind(b"\n", 0, found.start()) + 1
            line_end = text.find(b"\n", found.end())
            line_end = len(text) if line_end < 0 else line_end
            if any(_written_otherwise(token) for token in _FLOAT_VALUES.findall(text, line_start, line_end)):
                return True
            found = mark.search(text, line_end)  # each line read once per mark, however many marks it holds
    return False


def _written_otherwise(token: bytes) -> bool:
    return repr(float(token)).encode() != token


_OPTIONAL_SECTIONS = ("service", "timeline", "daily", "late_arrivals", "ledger", "delivery", "redacted")


class OpenSchema(GenerateJsonSchema):
    """The published schema: additions stay valid (no ``additionalProperties``), titles dropped, and each value of
    a vocabulary (reasons, remedy kinds, severities …) described."""

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        generated = super().literal_schema(schema)
        values = generated.get("enum", [])
        meanings = VOCABULARIES.get(frozenset(values)) if all(isinstance(v, str) for v in values) else None
        if meanings:
            generated["oneOf"] = [{"const": value, "description": meanings[value]} for value in values]
        return generated

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        generated = super().model_schema(schema)
        properties = generated.get("properties", {})
        for name, text in _field_docstrings(schema["cls"]).items():
            if name in properties:
                properties[name].setdefault("description", text)
        return generated

    def generate(self, schema: Any, mode: Any = "validation") -> JsonSchemaValue:
        generated = super().generate(schema, mode=mode)
        title = generated.get("title")
        _open(generated)
        return {
            "$schema": DRAFT,
            "$id": SCHEMA_ID,
            "title": title,
            **generated,
        }


def _field_docstrings(model: type) -> dict[str, str]:
    """The docstring under each field of ``model`` and of the models it extends (the nearest class wins)."""
    found: dict[str, str] = {}
    for klass in reversed([k for k in model.__mro__ if issubclass(k, Contract) and k is not Contract]):
        found.update(_docstrings_in(klass))
    return found


def _docstrings_in(klass: type) -> dict[str, str]:
    [definition] = ast.parse(textwrap.dedent(inspect.getsource(klass))).body
    assert isinstance(definition, ast.ClassDef)
    body = definition.body
    return {
        field.target.id: inspect.cleandoc(doc.value.value)
        for field, doc in pairwise(body)
        if isinstance(field, ast.AnnAssign)
        and isinstance(field.target, ast.Name)
        and isinstance(doc, ast.Expr)
        and isinstance(doc.value, ast.Constant)
        and isinstance(doc.value.value, str)
    }


def _open(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("additionalProperties", None) if isinstance(node.get("additionalProperties"), bool) else None
        node.pop("title", None) if isinstance(node.get("title"), str) else None
        if isinstance(node.get("description"), str):  # a docstring's line breaks are not the text's
            node["description"] = " ".join(node["description"].split())
        for value in node.values():
            _open(value)
    elif isinstance(node, list):
        for value in node:
            _open(value)


def as_report(report: Report | Mapping[str, Any]) -> Report:
    """A report given as the model or as its JSON data (read from a file, S3, a test), checked once."""
    return report if isinstance(report, Report) else Report.model_validate(report)


def as_finding(finding: Finding | Mapping[str, Any]) -> Finding:
    return finding if isinstance(finding, Finding) else Finding.model_validate(finding)


def json_schema() -> dict[str, Any]:
    """The report's JSON Schema, generated from the models."""
    return Report.model_json_schema(schema_generator=OpenSchema)


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
