"""AWS clients with one retry policy (botocore's adaptive mode), and the checks made before any call.

Botocore retries throttling, 5xx answers and dropped connections with exponential backoff and
jitter, and in adaptive mode also slows a client's own sending rate after a throttle and wins it
back as calls succeed. Every client the auditor makes comes from :func:`client`, so no module
writes its own retry loop. The one retry botocore cannot make: keys that DynamoDB's BatchGetItem
returns as ``UnprocessedKeys`` (the call itself succeeded), which ``ledger_stores`` reads again after
doubling pauses, as the DynamoDB API reference asks.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
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


# --- before any call: the regions AWS has, and whether credentials and a region are configured ----------

NO_CREDENTIALS = "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
NO_REGION = "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, or AWS_PROFILE"
_REGION_CODE = re.compile(r"^[a-z]{2,}(-[a-z]+)+-\d+$")  # not the partitions' '*-global' pseudo-regions


class SetupError(Exception):
    """AWS cannot be called as configured; the message says what to set."""


@cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's own endpoint and partition data (no call to AWS)."""
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import create_loader

    loader = create_loader()
    regions: set[str] = set()
    for data in ("endpoints", "partitions"):
        try:
            partitions = loader.load_data(data)["partitions"]
        except (DataNotFoundError, KeyError):  # 'partitions' is newer than some botocore releases
            continue
        regions.update(region for partition in partitions for region in partition.get("regions", {}))
    return frozenset(region for region in regions if _REGION_CODE.match(region))


def region_problem(region: str) -> str | None:
    """None for a region AWS has; else one sentence saying so, with the nearest region botocore knows."""
    regions = known_regions()
    if region in regions:
        return None
    near = difflib.get_close_matches(region, sorted(regions), n=5, cutoff=0.75)
    if near:  # difflib finds the candidates; fewest edits (a swap of two letters is one) picks among them
        nearest = min(
            near, key=lambda known: (_edits(region, known), -difflib.SequenceMatcher(None, region, known).ratio())
        )
        return f"{region} is not an AWS region (did you mean {nearest}?)"
    import botocore

    return f"{region} is not an AWS region botocore {botocore.__version__} knows (upgrade boto3 if it is new)"


def _edits(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours that make ``a`` into ``b`` (optimal string
    alignment distance): 'us-esat-1' is one swap from 'us-east-1', two edits from 'us-west-1'."""
    rows = [list(range(len(b) + 1))]
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            row.append(min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (x != y)))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def check_setup(*, region: bool, session: Any = None) -> None:
    """SetupError, in one line saying what to set, when no credentials are found (the default chain:
    variables, profile, container or instance role) or, if ``region`` is needed, no default region is set."""
    from botocore.exceptions import BotoCoreError
    from botocore.session import Session

    botocore_session = session._session if session is not None else Session()  # a boto3 session wraps one
    try:
        missing = [] if botocore_session.get_credentials() is not None else [NO_CREDENTIALS]
        if region and not botocore_session.get_config_variable("region"):
            missing.append(NO_REGION)
    except BotoCoreError as error:  # an AWS_PROFILE no config file names, a broken credential_process
        raise SetupError(str(error)) from error
    if len(missing) == 2:
        raise SetupError(
            "no AWS credentials and no AWS region: set AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "and AWS_REGION"
        )
    if missing:
        raise SetupError(missing[0])
