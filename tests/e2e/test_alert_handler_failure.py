"""The alert function when SNS refuses an alert: the invocation fails (so Lambda retries it), its metrics still go
out (PublishProblems, which an alarm watches), and the retry publishes the alert exactly once. The same when the
alert state's DynamoDB fails (StateErrors). Lambda's retry comes a minute or more after the failure: the tests age
the pending claim by 61 s (its lease is 45 s) rather than wait.

The real handler (functions/denial_alert/app.py) imported afresh against moto, as scripts/replay_alerts.py does."""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from replay_alerts import TABLE, LambdaContext, Stack, environment, handler_environment  # noqa: E402

from tests import factories as f  # noqa: E402

pytestmark = pytest.mark.e2e


def _load_app() -> Any:
    path = ROOT / "functions" / "denial_alert" / "app.py"
    spec = importlib.util.spec_from_file_location("failing_denial_alert_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _metrics(printed: str) -> dict[str, int]:
    """The values of Powertools' EMF lines (one JSON object per flush) printed on standard output."""
    values: dict[str, int] = {}
    for line in printed.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                name = metric["Name"]
                value = document[name]
                values[name] = values.get(name, 0) + int(sum(value) if isinstance(value, list) else value)
    return values


def _a_minute_passes(stack: Stack) -> None:
    """Every pending claim of the state table made 61 s older (``pending_at``, the wall clock of the claim)."""
    for item in stack.dynamodb.scan(TableName=TABLE)["Items"]:
        if "pending_at" in item:
            older = str(int(item["pending_at"]["N"]) - 61)
            stack.dynamodb.update_item(
                TableName=TABLE,
                Key={"id": item["id"]},
                UpdateExpression="SET pending_at = :older",
                ExpressionAttributeValues={":older": {"N": older}},
            )


@contextlib.contextmanager
def _deployed() -> Iterator[tuple[Stack, Any]]:
    """The stack in moto and the handler imported afresh in it, with metrics printed (EMF) for ``_metrics``."""
    variables = {
        **handler_environment("", organization=False),
        "POWERTOOLS_METRICS_DISABLED": "false",
        "POWERTOOLS_METRICS_NAMESPACE": "AppRunnerAccessAuditor",
    }
    with environment(variables), mock_aws():
        stack = Stack()
        with environment({"ALERT_TOPIC_ARN": stack.topic}):
            yield stack, _load_app()


def test_a_refused_publish_fails_the_invocation_with_its_metrics_and_the_retry_alerts_once():
    event = f.eventbridge_envelope(f.record("UpdateService", event_time="2026-11-28T09:00:00Z"))
    with _deployed() as (stack, app):
        refusals = []

        def refuse_once(**_: Any) -> None:
            if not refusals:
                refusals.append(1)
                error = {"Error": {"Code": "KMSDisabled", "Message": "the topic's key is off"}}
                raise ClientError(error, "Publish")

        inspect.unwrap(app.handler).__globals__["SNS"].meta.events.register("before-call.sns.Publish", refuse_once)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), pytest.raises(app.AlertsNotPublished):
            app.handler(event, LambdaContext())
        assert stack.received() == []
        failed = _metrics(printed.getvalue())
        assert failed["PublishProblems"] == 1 and failed.get("Alerts", 0) == 0

        _a_minute_passes(stack)
        with contextlib.redirect_stdout(io.StringIO()):
            summary = app.handler(event, LambdaContext())  # Lambda's retry: the same event again
        [(alert, _)] = stack.received()
        assert [rule["name"] for rule in alert["rules"]] == ["first_seen", "sensitive_action"]
        assert summary["alerts"] == 1
        with contextlib.redirect_stdout(io.StringIO()):
            again = app.handler(event, LambdaContext())  # a third delivery: published already, nothing sent
        assert stack.received() == [] and again["alerts"] == 0


def test_a_failing_state_table_fails_the_invocation_with_its_metrics_and_the_retry_alerts_once():
    """The principal's claim (3a, the fourth UpdateItem: 1, 2, 3b, 3a) throttled past botocore's retries after the
    key's claim: the invocation fails with StateErrors 1 and MalformedRecords 0 (before: a malformed record, the
    invocation succeeded, the alert was lost), nothing published; Lambda's retry publishes the pending alert once."""
    event = f.eventbridge_envelope(f.record("UpdateService", event_time="2026-11-28T09:00:00Z"))
    with _deployed() as (stack, app):
        calls = []

        def throttle_the_principal_claim(**_: Any) -> None:
            calls.append(1)
            if len(calls) == 4:
                error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}}
                raise ClientError(error, "UpdateItem")

        dynamodb = inspect.unwrap(app.handler).__globals__["DYNAMODB"]
        dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", throttle_the_principal_claim)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), pytest.raises(app.AlertStateFailed):
            app.handler(event, LambdaContext())
        failed = _metrics(printed.getvalue())
        assert failed["StateErrors"] == 1 and failed.get("MalformedRecords", 0) == 0
        assert failed.get("Alerts", 0) == 0 and stack.received() == []

        _a_minute_passes(stack)
        with contextlib.redirect_stdout(io.StringIO()):
            summary = app.handler(event, LambdaContext())  # Lambda's retry
        [(alert, _)] = stack.received()
        assert [rule["name"] for rule in alert["rules"]] == ["first_seen", "sensitive_action"]
        assert (summary["alerts"], summary["republished"]) == (1, 1)
        with contextlib.redirect_stdout(io.StringIO()):
            again = app.handler(event, LambdaContext())
        assert stack.received() == [] and again["alerts"] == 0
