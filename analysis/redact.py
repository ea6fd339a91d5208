"""Keeping secrets and identities out of reports.

``mask_secrets`` runs on every report: access key IDs never reach one. ``redact_report`` is
``--redact``: account IDs, ARNs' resource parts, session names and IP addresses replaced by
consistent pseudonyms, so a report can be shared outside the team and still be read.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

_ACCESS_KEY = re.compile(r"\b(AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{12,}\b")
_ARN = re.compile(
    r"\barn:(?P<partition>aws[a-z-]*):(?P<service>[^:\s]*):(?P<region>[^:\s]*):"
    r"(?P<account>[^:\s]*):(?P<resource>[^\s\"',]+)"
)
_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f:])")


def mask_secrets(text: str) -> str:
    return _ACCESS_KEY.sub(lambda m: m.group(1) + "************", text)


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """The same structure with every string (keys included) passed through ``change``."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {map_strings(k, change): map_strings(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, change) for v in value]
    return value


class _Pseudonyms:
    def __init__(self) -> None:
        self.accounts: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.ips: dict[str, str] = {}
        self.sessions: dict[str, str] = {}

    def account(self, account: str) -> str:
        return self.accounts.setdefault(account, f"{len(self.accounts) + 1:012d}")

    def name(self, name: str) -> str:
        return self.names.setdefault(name, f"name-{len(self.names) + 1}")

    def ip(self, ip: str) -> str:
        return self.ips.setdefault(ip, f"ip-{len(self.ips) + 1}")

    def session(self, session: str) -> str:
        return self.sessions.setdefault(session, f"session-{len(self.sessions) + 1}")


def redact_report(report: dict[str, Any]) -> dict[str, Any]:
    names = _Pseudonyms()
    redacted = copy.deepcopy(report)
    for finding in redacted.get("findings", []):
        principal = finding.get("principal") or {}
        principal["sessions"] = [names.session(s) for s in principal.get("sessions", [])]
    sessions = {original: alias for original, alias in names.sessions.items() if len(original) >= 3}

    def change(text: str) -> str:
        text = _ARN.sub(lambda m: _redact_arn(m, names), text)
        text = _ACCOUNT.sub(lambda m: names.account(m.group(0)), text)
        text = _IPV4.sub(lambda m: names.ip(m.group(0)), text)
        text = _IPV6.sub(lambda m: names.ip(m.group(0)), text)
        for original, alias in sessions.items():
            text = text.replace(original, alias)
        return text

    redacted = map_strings(redacted, change)
    redacted["redacted"] = True
    return redacted


def _redact_arn(match: re.Match[str], names: _Pseudonyms) -> str:
    account = match.group("account")
    resource = match.group("resource")
    kind, separator, rest = _split_resource(resource)
    masked_rest = "/".join("*" if part == "*" else names.name(part) for part in rest.split("/")) if rest else ""
    masked_account = names.account(account) if account.isdigit() else account
    return (
        f"arn:{match.group('partition')}:{match.group('service')}:{match.group('region')}:"
        f"{masked_account}:{kind}{separator}{masked_rest}"
    )


def _split_resource(resource: str) -> tuple[str, str, str]:
    for separator in ("/", ":"):
        if separator in resource:
            kind, rest = resource.split(separator, 1)
            return kind, separator, rest
    if resource in ("root", "*"):
        return resource, "", ""
    return "", "", resource
