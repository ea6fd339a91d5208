"""AWS clients with one retry policy: botocore's adaptive mode.

Botocore retries throttling, 5xx answers and dropped connections with exponential backoff and
jitter, and in adaptive mode also slows a client's own sending rate after a throttle and wins it
back as calls succeed. Every client the auditor makes comes from :func:`client`, so no module
writes its own retry loop. The one retry botocore cannot make: keys that DynamoDB's BatchGetItem
returns as ``UnprocessedKeys`` (the call itself succeeded), which ``ledger_stores`` reads again after
doubling pauses, as the DynamoDB API reference asks.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

MAX_ATTEMPTS = 8  # per request, the first one included
RETRIES = Config(retries={"mode": "adaptive", "total_max_attempts": MAX_ATTEMPTS})


def client(session: Any, name: str, region: str | None = None, config: Config | None = None) -> Any:
    """A boto3 client of ``session`` (None: a new default session) with the shared retry policy.

    ``region`` overrides the session's region; ``config`` adds settings (a signature version, a pool size).
    """
    if session is None:
        import boto3

        session = boto3.Session()
    merged = RETRIES.merge(config) if config is not None else RETRIES
    if region:
        return session.client(name, region_name=region, config=merged)
    return session.client(name, config=merged)
