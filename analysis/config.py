"""Settings, validated once: from the command line, or from environment variables for the handlers."""

from __future__ import annotations

import argparse
import re

_ACCOUNT = re.compile(r"^\d{12}$")


def parse_accounts(value: str) -> frozenset[str]:
    """'111122223333, 444455556666' -> frozenset; anything that is not a 12-digit account is refused."""
    accounts = frozenset(part.strip() for part in value.split(",") if part.strip())
    bad = sorted(a for a in accounts if not _ACCOUNT.match(a))
    if bad:
        raise argparse.ArgumentTypeError(f"not a 12-digit AWS account ID: {', '.join(bad)}")
    return accounts
