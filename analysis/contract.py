"""The report contract (CONTRACT.md, schema version 1) as pydantic models.

The JSON Schema in ``analysis/schema/report-v1.schema.json`` is generated from these models
(``python -m analysis.contract > analysis/schema/report-v1.schema.json``); a test keeps the two equal.
A leaf module: it imports nothing of the project, so every layer can read reports through it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.config import JsonDict
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

SCHEMA_VERSION = "1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://github.com/apprunner-access-auditor/schema/report-v1.schema.json"

Time = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")]
Account = Annotated[str, Field(pattern=r"^\d{12}$")]
Count = Annotated[int, Field(ge=0)]
Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
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


BUILDING = {"building": True}  # the validation context of reports this code builds


class Contract(BaseModel):
    """Every section. A report this code builds (validated with ``context=BUILDING``) may hold no field the
    models do not name: a typo is a bug. A report read back (a file, S3, a later version) keeps the fields
    it adds, as CONTRACT.md allows, and the published schema says so (see ``OpenSchema``)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _only_named_fields_when_building(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and info.context and info.context.get("building"):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(f"not a field of {cls.__name__}: {', '.join(unknown)}")
        return data


class Policy(Contract):
    """One IAM policy document: ``Version`` and ``Statement``; never ``NotAction`` or ``NotResource``."""

    Version: Literal["2012-10-17"]
    Statement: list[dict[str, Any]] = Field(
        min_length=1,
        json_schema_extra={
            "items": {
                "type": "object",
                "required": ["Effect"],
                "properties": {"Effect": {"enum": ["Allow", "Deny"]}},
                "not": {"anyOf": [{"required": ["NotAction"]}, {"required": ["NotResource"]}]},
            }
        },
    )

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
    title: str
    url: str


_NULL: JsonDict = {"type": "null"}
_CROSS_ACCOUNT_ONLY: JsonDict = {"properties": {"trust_policy": _NULL, "caller_policy": _NULL}}
_NO_POLICY: JsonDict = {"properties": {"policy": _NULL, "trust_policy": _NULL, "caller_policy": _NULL}}


class Remedy(Contract):
    """What to do about a finding (CONTRACT.md's remedy rules, in order)."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {"if": {"properties": {"kind": {"const": "investigate"}}}, "then": _NO_POLICY},
                {"if": {"properties": {"kind": {"not": {"const": "cross_account_role"}}}}, "then": _CROSS_ACCOUNT_ONLY},
            ]
        }
    )

    kind: RemedyKind
    policy: Policy | None
    trust_policy: Policy | None
    caller_policy: Policy | None
    notes: list[str]
    more_policies: list[Policy] = []
    permission_set: str | None = None
    role_name: str | None = None
    commands: list[str] = []
    docs: list[Doc] = []

    @model_validator(mode="after")
    def _policies_fit_the_kind(self) -> Remedy:
        if self.kind == "investigate" and (self.policy or self.more_policies):
            raise ValueError("reconnaissance is never answered with a policy")
        if self.kind != "cross_account_role" and (self.trust_policy or self.caller_policy):
            raise ValueError("only a cross-account role has a trust policy and a caller policy")
        return self


class Principal(Contract):
    arn: Annotated[str, Field(pattern=r"^arn:")] | None
    type: PrincipalType
    account_id: Account | None
    sessions: list[str]
    key: str | None = None  # the grouping key: the canonical ARN, or what the log says instead
    permission_set: str | None = None  # the Identity Center permission set of an AWSReservedSSO_ role


class DeniedAction(Contract):
    action: Annotated[str, Field(pattern=ACTION_PATTERN)]
    count: Annotated[int, Field(ge=1)]
    resources: list[str]
    reasons: Annotated[list[Reason], Field(min_length=1)]
    first_seen: Time | None
    last_seen: Time | None
    policy_arns: list[str] = []
    event_names: list[str] = []
    resource_origin: list[str] = []
    action_from_message: bool = True
    action_in_catalog: bool = True
    encoded_messages: Count = 0
    truncated_messages: Count = 0
    non_iam_failures: list[str] = []
    # True when every refusal of the action was an explicit Deny (of whichever policy type the reason names)
    denied_explicitly: bool = False
    # The request context the records imply, by condition key (iam:PassedToService: the services the
    # role was passed to): what a proof of the remedy's policy evaluates the refused request with
    context: dict[str, list[str]] = {}
    # The CloudTrail eventIDs behind the action, earliest first, de-duplicated, at most EVENT_IDS_PER_ACTION
    event_ids: Annotated[list[str], Field(max_length=EVENT_IDS_PER_ACTION)] = []


class Hazard(Contract):
    """A refused action that is dangerous to grant (``analysis/data/hazardous_actions.json``): why, and who says so."""

    action: Annotated[str, Field(pattern=ACTION_PATTERN)]
    category: str  # privilege_escalation, defence_evasion, credential_access, …
    why: str
    source: Annotated[str, Field(pattern=r"^https://")]


class Finding(Contract):
    """One principal and owning account."""

    id: Annotated[str, Field(pattern=FINDING_ID_PATTERN)]  # the same principal and owning account: the same id
    principal: Principal
    target_account_id: str | None
    cross_account: bool
    denials: Annotated[int, Field(ge=1)]
    first_seen: Time | None = None
    last_seen: Time | None = None
    regions: list[str] = []
    user_agents: list[str] = []
    source_ips: list[str] = []
    confidence: Literal["normal", "low"] = "normal"
    actions: Annotated[list[DeniedAction], Field(min_length=1)]
    severity: Severity  # CONTRACT.md's rule, in analysis.severity
    hazards: list[Hazard] = []  # refused actions dangerous to grant, each with why and its source
    remedy: Remedy | None


class SourceStatus(Contract):
    name: str
    status: SourceState
    records_read: Count
    malformed_records: Count = 0
    error: str | None
    problems: list[str] = []


class Totals(Contract):
    records_read: Count
    denials: Count
    principals: Count
    malformed_records: Count
    findings: Count = 0
    late_denials: Count | None = None


class ReportWindow(Contract):
    start: Time | None
    end: Time | None


class TimelineBucket(Contract):
    start: Time
    denials: Count


class Timeline(Contract):
    unit: Literal["hour", "day", "week"]
    buckets: list[TimelineBucket]


class DayWindow(Contract):
    """A local calendar day: its key (``YYYY-MM-DD``), time zone and UTC bounds."""

    key: Day
    time_zone: str
    start: Time
    end: Time


class Daily(DayWindow):
    lookback_hours: Annotated[float, Field(ge=0)]
    read_window: ReportWindow


class LateArrivals(Contract):
    """Denials of an earlier day that CloudTrail delivered after that day's report."""

    window: DayWindow
    denials: Annotated[int, Field(ge=1)]
    principals: Count
    findings: list[Finding]


class LedgerCounts(Contract):
    """How the day's denials were counted against the ledger."""

    window: Day
    counted: Count
    untracked_without_event_id: Count
    late_arrivals: Count
    already_reported: Count


class DeliveryLink(Contract):
    url: str
    expires_in_seconds: int | None
    words: str


class ChannelOutcome(Contract):
    channel: str
    status: Literal["sent", "already_sent", "in_progress", "skipped", "failed"]
    message_id: str | None = None
    detail: str | None = None
    at: str | None = None
    forced: bool = False
    guarded: bool = True


class Delivery(Contract):
    objects: dict[str, str]
    link: DeliveryLink | None
    channels: list[ChannelOutcome]


class Report(Contract):
    """The report: what was read, what was refused to whom, and what to do about it."""

    model_config = ConfigDict(
        title="App Runner access report, schema version 1",
        json_schema_extra={
            "description": "The public report contract (CONTRACT.md). Fields may be added; none renamed or "
            "removed without a new schema_version."
        },
    )

    schema_version: Literal["1"]
    generated_at: Time
    window: ReportWindow
    service: str | None = None
    sources: list[SourceStatus]
    totals: Totals
    findings: list[Finding]
    timeline: Timeline | None = None
    daily: Daily | None = None
    late_arrivals: list[LateArrivals] | None = None
    ledger: LedgerCounts | None = None
    delivery: Delivery | None = None
    redacted: bool | None = None  # True when account IDs, names and addresses were replaced by pseudonyms

    def document(self) -> dict[str, Any]:
        """The report as JSON data: sections a run did not produce (daily, delivery …) are left out."""
        data = self.model_dump(mode="json")
        for name in _OPTIONAL_SECTIONS:
            if data.get(name) is None:
                data.pop(name, None)
        if data["totals"].get("late_denials") is None:
            data["totals"].pop("late_denials", None)
        return data

    def dumps(self) -> str:
        return json.dumps(self.document(), indent=2, ensure_ascii=False) + "\n"


_OPTIONAL_SECTIONS = ("service", "timeline", "daily", "late_arrivals", "ledger", "delivery", "redacted")


class OpenSchema(GenerateJsonSchema):
    """The published schema: additions stay valid (no ``additionalProperties``), titles dropped."""

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


def _open(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("additionalProperties", None) if isinstance(node.get("additionalProperties"), bool) else None
        node.pop("title", None) if isinstance(node.get("title"), str) else None
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
