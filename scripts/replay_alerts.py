"""Replay a day of CloudTrail through the real alert handler, in time order, and write what it alerted for.

Issue 9's closing test: "Replaying the sample day through the alert handler in time order raises a small,
explainable set of alerts ... and none twice; the closing note gives the count of alerts against the count of
denials." Each record of the audited service (denial or not: a success or a throttling error routed by mistake is
ignored and counted) is wrapped as EventBridge delivers it and handed to ``functions/denial_alert/app.py``'s
``handler`` with its deployed settings (STATE_TABLE, ALERT_TOPIC_ARN, ...) against AWS emulated by moto in this
process: the state table as template.yaml declares it, the alert topic with an SQS queue subscribed (raw delivery),
from which each alert is read back after the event that raised it.

    python scripts/replay_alerts.py                          # the bundled sample day -> docs/alerts-replay.md
    python scripts/replay_alerts.py --redeliver              # and a second pass, each event delivered twice
    python scripts/replay_alerts.py --source DIR --out -     # another trail folder, Markdown on standard output

The organization's settings are the sample day's (scripts/SAMPLE_DAY.md): ORG_ID o-a1b2c3d4e5, its four accounts,
123456789012 trusted; ``--no-org`` leaves them out. Deterministic: the same input gives the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "analysis" / "data" / "sample"
OUT = ROOT / "docs" / "alerts-replay.md"
REGION = "us-east-1"
TABLE = "apprunner-audit-state"
FUNCTION = "apprunner-audit-DenialAlertFunction"
# The sample day's organization (scripts/SAMPLE_DAY.md, "Accounts"): what the deployed stack would be told.
ORGANIZATION = {
    "ORG_ID": "o-a1b2c3d4e5",
    "ORG_ACCOUNTS": "111122223333,444455556666,777788889999,210987654321",
    "TRUSTED_ACCOUNTS": "123456789012",
}


@dataclass
class LambdaContext:
    """What the handler's Powertools decorators read of Lambda's context object."""

    function_name: str = FUNCTION
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:111122223333:function:{FUNCTION}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Alert:
    """One message read back from the topic's SQS subscription, with the event that raised it."""

    number: int
    event_time: str
    event_id: str
    body: dict[str, Any]
    attributes: dict[str, str]


@dataclass
class Replay:
    records: int = 0  # records of the audited service sent (each delivery counted)
    deliveries: int = 1
    unique_denials: int = 0  # denials by (eventID, recipientAccountId), as the report counts them
    denials: int = 0  # denials handed to the handler (a redelivery counted again)
    deduplicated: int = 0
    folded: int | None = None  # of the counted, folded into a principal's alert (when the summary says)
    redelivered: int = 0
    suppressed: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


# --- the input ---------------------------------------------------------------------------------------------------


def trail_records(source: Path) -> Iterator[dict[str, Any]]:
    """Every record of a trail folder (``*.json.gz``, ``*.json``: ``{"Records": [...]}``) or file, files in name
    order. Read here, not through ``analysis.sources``, whose fast path skips what cannot be a denial: the replay
    sends the successes and other errors too, as a mis-routed event would arrive."""
    paths = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    for path in paths:
        if path.name.endswith(".json.gz"):
            document = json.loads(gzip.decompress(path.read_bytes()))
        elif path.suffix == ".json":
            document = json.loads(path.read_bytes())
        else:
            continue
        records = document.get("Records", []) if isinstance(document, dict) else document
        yield from (record for record in records if isinstance(record, dict))


def in_time_order(records: Sequence[dict[str, Any]], service: str) -> list[dict[str, Any]]:
    """The audited service's records by eventTime (ties: eventID, then the order read): the order EventBridge
    would have delivered them in, give or take its seconds."""
    from analysis.denials import audits_service

    ours = [record for record in records if audits_service(record, service)]
    return sorted(ours, key=lambda record: (_moment(record), str(record.get("eventID", ""))))


def _moment(record: dict[str, Any]) -> datetime:
    value = str(record.get("eventTime", ""))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def unique_denials(records: Sequence[dict[str, Any]]) -> int:
    from analysis.denials import is_denial

    return len({(r.get("eventID"), r.get("recipientAccountId")) for r in records if is_denial(r)})


def eventbridge_envelope(record: dict[str, Any]) -> dict[str, Any]:
    """The record as EventBridge delivers it (detail-type "AWS API Call via CloudTrail", ``detail`` the record;
    its ``id`` is EventBridge's own, one per delivery, so it is derived from the record and not reused)."""
    prefix = str(record.get("eventSource", "")).split(".", 1)[0]
    return {
        "version": "0",
        "id": f"replay-{record.get('eventID', '')}",
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{prefix}",
        "account": record.get("recipientAccountId", ""),
        "time": record.get("eventTime"),
        "region": record.get("awsRegion"),
        "resources": [],
        "detail": record,
    }


# --- the emulated stack -----------------------------------------------------------------------------------------


def handler_environment(topic_arn: str, *, organization: bool, service: str = "apprunner") -> dict[str, str]:
    """The alert function's environment as template.yaml sets it (the state table, the topic), without X-Ray,
    metrics output or INFO logs (they would print to standard output)."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        "STATE_TABLE": TABLE,
        "ALERT_TOPIC_ARN": topic_arn,
        "AUDITED_SERVICE": service,
        "POWERTOOLS_SERVICE_NAME": "apprunner-access-auditor",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        **(ORGANIZATION if organization else {}),
    }


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def state_table_properties() -> dict[str, Any]:
    """template.yaml's StateTable properties (short-form intrinsics read as SAM reads them)."""
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    properties: dict[str, Any] = template["Resources"]["StateTable"]["Properties"]
    return properties


class Stack:
    """The parts of the deployed stack the alert function touches, in moto: the state table, the alert topic and
    an SQS queue subscribed to it (raw delivery: the message body as published)."""

    def __init__(self) -> None:
        import boto3

        properties = state_table_properties()
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.dynamodb.create_table(
            TableName=TABLE,
            BillingMode=properties["BillingMode"],
            AttributeDefinitions=properties["AttributeDefinitions"],
            KeySchema=properties["KeySchema"],
        )
        self.sns = boto3.client("sns", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.topic = self.sns.create_topic(Name="apprunner-audit-alerts")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]
        self.sns.subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=queue_arn["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )

    def received(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        messages = []
        while batch := self.sqs.receive_message(
            QueueUrl=self.queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in batch:
                attributes = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
                messages.append((json.loads(message["Body"]), attributes))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return messages


def load_handler() -> Any:
    """functions/denial_alert/app.py imported afresh (its clients and settings are made at import, from the
    environment), as Lambda's cold start does."""
    path = ROOT / "functions" / "denial_alert" / "app.py"
    spec = importlib.util.spec_from_file_location("replayed_denial_alert_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def replay(
    records: Sequence[dict[str, Any]], *, deliveries: int = 1, organization: bool = True, service: str = "apprunner"
) -> Replay:
    """Each record ``deliveries`` times in a row (2: every event redelivered at once) through a fresh stack."""
    import warnings

    from moto import mock_aws

    # metrics are off (they would print): Powertools says so on each invocation
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    outcome = Replay(deliveries=deliveries, unique_denials=unique_denials(records))
    with environment(handler_environment("", organization=organization, service=service)), mock_aws():
        stack = Stack()
        with environment({"ALERT_TOPIC_ARN": stack.topic}):
            handler = load_handler()
            context = LambdaContext()
            for record in records:
                for _ in range(deliveries):
                    with contextlib.redirect_stdout(io.StringIO()):  # whatever Powertools would still print
                        summary = handler(eventbridge_envelope(record), context)
                    _tally(outcome, summary)
                    if summary.get("alerts"):
                        for body, attributes in stack.received():
                            outcome.alerts.append(
                                Alert(
                                    len(outcome.alerts) + 1,
                                    str(record.get("eventTime", "")),
                                    str(record.get("eventID", "")),
                                    body,
                                    attributes,
                                )
                            )
    return outcome


def _tally(outcome: Replay, summary: dict[str, Any]) -> None:
    outcome.records += summary.get("records", 0)
    outcome.denials += summary.get("denials", 0)
    outcome.deduplicated += summary.get("deduplicated", 0)
    if "folded" in summary:
        outcome.folded = (outcome.folded or 0) + summary["folded"]
    outcome.redelivered += summary.get("redelivered", 0)
    outcome.suppressed += summary.get("suppressed", 0)
    outcome.ignored.update(summary.get("ignored", {}))
    outcome.problems += summary.get("problems", [])


# --- what the alerts say ----------------------------------------------------------------------------------------


def alert_fields(alert: Alert) -> dict[str, Any]:
    """The row of one alert, read from the message as a subscriber reads it."""
    from analysis.principals import short_name

    body = alert.body
    finding = body.get("finding", {})
    principal = finding.get("principal", {})
    actions = finding.get("actions") or [{}]
    remedy = finding.get("remedy") or {}
    return {
        "number": alert.number,
        "time": alert.event_time,
        "principal": short_name(principal["arn"])
        if principal.get("arn")
        else principal.get("key") or principal.get("type"),
        "account": finding.get("target_account_id") or alert.attributes.get("account", ""),
        "caller_account": principal.get("account_id") or "",
        "action": actions[0].get("action", ""),
        "rules": [(rule.get("name", ""), rule.get("reason", "")) for rule in body.get("rules", [])],
        "severity": finding.get("severity", ""),
        "fix": remedy.get("kind", ""),
        "carried": body.get("events_since_last_alert", ""),
        "key": _key(finding),
    }


def _key(finding: dict[str, Any]) -> str:
    from analysis.alerting.dedup import alert_key

    try:
        return alert_key(finding)
    except Exception as error:  # a finding the key cannot be made of is shown, not hidden
        return f"(no key: {type(error).__name__})"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def alerts_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| # | time (UTC) | principal | account | action | rules that fired (reason) | severity | fix kind | "
        "events carried |",
        "| ---: | --- | --- | --- | --- | --- | --- | --- | ---: |",
    ]
    for row in rows:
        rules = "; ".join(f"**{name}**: {reason}" for name, reason in row["rules"])
        account = row["account"]
        if row["caller_account"] and row["caller_account"] != account:
            account = f"{account} (caller {row['caller_account']})"
        lines.append(
            "| "
            + " | ".join(
                _cell(value)
                for value in (
                    row["number"],
                    row["time"].replace("T", " ").removesuffix("Z"),
                    f"`{row['principal']}`",
                    account,
                    f"`{row['action']}`",
                    rules,
                    row["severity"],
                    row["fix"],
                    row["carried"],
                )
            )
            + " |"
        )
    return lines


def totals(outcome: Replay, rows: list[dict[str, Any]]) -> list[str]:
    keys = Counter(row["key"] for row in rows)
    twice = sorted(key for key, count in keys.items() if count > 1)
    rules = Counter(name for row in rows for name, _ in row["rules"])
    ignored = ", ".join(f"{reason} {count}" for reason, count in sorted(outcome.ignored.items())) or "none"
    lines = [
        "| | |",
        "| --- | --- |",
        f"| records sent | {outcome.records} (each delivered {'once' if outcome.deliveries == 1 else 'twice'}) |",
        f"| denials | {outcome.unique_denials} (by eventID; {outcome.denials} handed to the handler) |",
        f"| alerts | {len(rows)} |",
        f"| counted (de-duplicated: the key alerted within the period, or folded) | {outcome.deduplicated}"
        + (f" (folded into an alert of their principal: {outcome.folded})" if outcome.folded is not None else "")
        + " |",
        f"| redelivered (an eventID seen before, counted once) | {outcome.redelivered} |",
        f"| suppressed | {outcome.suppressed} |",
        f"| ignored, by reason | {ignored} |",
        f"| problems | {len(outcome.problems)} |",
        f"| rules in the alerts | {', '.join(f'{name} {count}' for name, count in sorted(rules.items()))} |",
        f"| keys (principal x owning account x action) alerted | {len(keys)}; "
        + ("**none twice**" if not twice else f"**twice: {', '.join(twice)}**")
        + " |",
    ]
    return lines


def by_principal(rows: list[dict[str, Any]]) -> list[str]:
    """The alerts of each principal, most first (ties by name), with their times and rules."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["principal"], []).append(row)
    lines = ["| principal | alerts | times (UTC) and rules |", "| --- | ---: | --- |"]
    for principal, alerts in sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0])):
        times = "; ".join(f"{row['time'][11:19]} {', '.join(name for name, _ in row['rules'])}" for row in alerts)
        lines.append(f"| `{_cell(principal)}` | {len(alerts)} | {_cell(times)} |")
    return lines


def document(source: str, first: Replay, again: Replay | None, *, organization: bool = True) -> str:
    rows = [alert_fields(alert) for alert in first.alerts]
    no_rule = first.ignored.get("no_rule", 0)
    lines = [
        "<!-- Written by scripts/replay_alerts.py (`make alerts-replay`); edit the script, not this file. -->",
        "# Replaying the sample day through the alert handler",
        "",
        f"Source: `{source}`. Every record of the audited service, denial or not, in `eventTime` order, each "
        "wrapped as EventBridge delivers it and handed to `functions/denial_alert/app.py`'s `handler` with an empty "
        "state table (template.yaml's `StateTable`, in moto), the alert topic read back through an SQS "
        "subscription, and "
        + (
            "the sample day's organization (`ORG_ID` o-a1b2c3d4e5, its four accounts, 123456789012 trusted)."
            if organization
            else "no organization settings."
        )
        + ' Rules and thresholds are the defaults (README, "Alerts").',
        "",
        "## The alerts",
        "",
        *alerts_table(rows),
        "",
        "## Totals",
        "",
        *totals(first, rows),
        "",
        "## By principal",
        "",
        *by_principal(rows),
        "",
        f"**{len(rows)} alerts for {first.unique_denials} denials**: {first.deduplicated} denials were only "
        "counted (their key had alerted within the period, or an alert of their principal covered them: its "
        "burst or reconnaissance alert within the period, or its newest alert within the reconnaissance window "
        f"listing every rule they fired), {no_rule} fired no rule, {first.suppressed} were "
        f"suppressed; {first.redelivered} deliveries repeated an eventID already counted (the trail delivered those "
        "records twice).",
    ]
    if first.problems:
        lines += ["", "Problems:", "", *(f"- {_cell(problem)}" for problem in first.problems)]
    if again is not None:
        same = [alert_fields(a) | {"number": 0} for a in again.alerts] == [row | {"number": 0} for row in rows]
        lines += [
            "",
            "## Each event delivered twice",
            "",
            f"The same records, each handed to the handler twice in a row (same `eventID`), on a fresh table: "
            f"{len(again.alerts)} alerts, "
            + ("**the same alerts** (same events, keys, rules, counts)" if same else "**not the same alerts**")
            + f"; {again.redelivered} deliveries of a denial's eventID already seen, each counted once; "
            f"{again.deduplicated} counted.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=SAMPLE, help="a trail folder or file (default: the sample day)")
    parser.add_argument("--out", default=str(OUT), help="the Markdown (default docs/alerts-replay.md; -: stdout)")
    parser.add_argument("--redeliver", action="store_true", help="a second pass with each event delivered twice")
    parser.add_argument("--no-org", action="store_true", help="without the sample day's organization settings")
    parser.add_argument("--service", default="apprunner", help="the audited service (default apprunner)")
    args = parser.parse_args(argv)
    if not args.source.exists():
        parser.error(f"{args.source}: no such file or folder")
    records = in_time_order(list(trail_records(args.source)), args.service)
    settings = {"organization": not args.no_org, "service": args.service}
    first = replay(records, **settings)
    again = replay(records, deliveries=2, **settings) if args.redeliver else None
    source = str(args.source.resolve().relative_to(ROOT)) if args.source.resolve().is_relative_to(ROOT) else "…"
    text = document(source, first, again, organization=not args.no_org)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{args.out}: {len(first.alerts)} alerts for {first.unique_denials} denials", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
