"""DynamoDB's BatchGetItem may return keys unprocessed; the ledger retries them with backoff, then gives up loudly.

The documented contract (DynamoDB API Reference, BatchGetItem): "If DynamoDB returns any unprocessed items,
you should retry the batch operation on those items ... we strongly recommend that you use an exponential
backoff algorithm."
"""

from __future__ import annotations

from itertools import pairwise

import boto3
import pytest
from botocore.stub import ANY, Stubber

from analysis.ledger_stores import UNPROCESSED_DELAYS, DynamoDBLedger, LedgerUnavailable
from tests import factories as f

pytestmark = pytest.mark.integration

TABLE = "state"
FIRST, SECOND = ("e-1", f.ACCOUNT), ("e-2", f.ACCOUNT)


def _key(event: tuple[str, str]) -> dict:
    return {"id": {"S": f"event#{event[0]}#{event[1]}"}}


def _item(event: tuple[str, str], run: str) -> dict:
    return {**_key(event), "reported_in": {"S": run}}


def _answer(found: list[dict], unprocessed: list[tuple[str, str]]) -> dict:
    answer: dict = {"Responses": {TABLE: found}}
    if unprocessed:
        answer["UnprocessedKeys"] = {TABLE: {"Keys": [_key(e) for e in unprocessed]}}
    return answer


@pytest.fixture
def stubbed():
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE)
    slept: list[float] = []
    ledger = DynamoDBLedger(table, key="id", sleep=slept.append)
    with Stubber(table.meta.client) as stubber:
        yield ledger, stubber, slept


def test_unprocessed_keys_are_read_again_after_a_growing_pause(stubbed):
    ledger, stubber, slept = stubbed
    stubber.add_response("batch_get_item", _answer([_item(FIRST, "2026-11-27")], [SECOND]), {"RequestItems": ANY})
    stubber.add_response("batch_get_item", _answer([], [SECOND]), {"RequestItems": ANY})
    stubber.add_response("batch_get_item", _answer([_item(SECOND, "2026-11-28")], []), {"RequestItems": ANY})
    assert ledger.reported([FIRST, SECOND]) == {FIRST: "2026-11-27", SECOND: "2026-11-28"}
    assert slept == [0.05, 0.1]  # two rounds left keys unprocessed; each pause doubles
    stubber.assert_no_pending_responses()


def test_keys_still_unprocessed_after_every_retry_fail_the_read_instead_of_reading_as_new(stubbed):
    ledger, stubber, slept = stubbed
    for _ in range(len(UNPROCESSED_DELAYS) + 1):
        stubber.add_response("batch_get_item", _answer([], [SECOND]), {"RequestItems": ANY})
    with pytest.raises(LedgerUnavailable, match="1 key"):
        ledger.reported([SECOND])
    assert slept == list(UNPROCESSED_DELAYS)
    assert all(later == 2 * earlier for earlier, later in pairwise(slept))
