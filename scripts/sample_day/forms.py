"""How a denial is worded, and the reason the auditor must read from that wording.

Each form writes an ``errorMessage`` (``None``: the record has none) and describes itself for SAMPLE_DAY.md.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Protocol

from .messages import denied, explicit, no_allow

ENCODED_ALPHABET = string.ascii_letters + string.digits + "-_"


class Draws(Protocol):
    def token(self, length: int, alphabet: str = ...) -> str: ...


class Form(Protocol):
    @property
    def reason(self) -> str: ...

    def text(self, arn: str, action: str, resource: str | None, draws: Draws) -> str | None: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class NoAllow:
    """``… because no <policy> allows the <action> action``."""

    policy: str
    reason: str

    def text(self, arn: str, action: str, resource: str | None, draws: Draws) -> str | None:
        return denied(arn, action, resource, no_allow(self.policy, action))

    def describe(self) -> str:
        return f"`because no {self.policy} allows`"


@dataclass(frozen=True)
class ExplicitDeny:
    """``… with an explicit deny in a <policy>[: <its ARN>]``."""

    policy: str
    reason: str
    arn: str | None = None

    def text(self, arn: str, action: str, resource: str | None, draws: Draws) -> str | None:
        return denied(arn, action, resource, explicit(self.policy, self.arn))

    def describe(self) -> str:
        if self.arn is None:
            return f"`{explicit(self.policy)}`"
        if len(self.arn) > 100:
            return f"`{explicit(self.policy)}: …` (a policy ARN of {len(self.arn)} characters)"
        return f"`{explicit(self.policy, self.arn)}`"


@dataclass(frozen=True)
class NoReason:
    """The old short form: ``User: … is not authorized to perform: …`` and no reason clause."""

    reason: str = "unknown"

    def text(self, arn: str, action: str, resource: str | None, draws: Draws) -> str | None:
        return denied(arn, action, resource)

    def describe(self) -> str:
        return "old short form, no reason clause"


@dataclass(frozen=True)
class Fixed:
    """A message that names nothing, such as ``Access Denied``."""

    wording: str
    reason: str = "unknown"

    def text(self, arn: str, action: str, resource: str | None, draws: Draws) -> str | None:
        return self.wording

    def describe(self) -> str:
        return f"`{self.wording}` only"


@dataclass(frozen=True)
class NoMessage:
    """An ``errorCode`` without any ``errorMessage``."""

    reason: str = "unknown"

    def text(self, arn: str, action: str, resource: str | None, draws: Draws) -> str | None:
        return None

    def describe(self) -> str:
        return "no `errorMessage`"


@dataclass(frozen=True)
class SpecifiedResource:
    """``… is not authorized to perform: <action> on the specified resource``."""

    reason: str = "unknown"

    def text(self, arn: str, action: str, resource: str | None, draws: Draws) -> str | None:
        return f"User: {arn} is not authorized to perform: {action} on the specified resource"

    def describe(self) -> str:
        return "`on the specified resource`"


@dataclass(frozen=True)
class Truncated:
    """Another form's message cut at CloudTrail's 1,024 characters, ending in ``...``."""

    inner: NoAllow | ExplicitDeny

    @property
    def reason(self) -> str:
        return self.inner.reason

    def text(self, arn: str, action: str, resource: str | None, draws: Draws) -> str | None:
        full = self.inner.text(arn, action, resource, draws) or ""
        if len(full) <= 1024:
            raise ValueError(f"a message of {len(full)} characters is not cut")
        return full[:1021] + "..."

    def describe(self) -> str:
        return f"{self.inner.describe()}, **cut at 1,024 characters, ending in `...`**"


@dataclass(frozen=True)
class Encoded:
    """EC2's ``You are not authorized to perform this operation.`` with an encoded authorization message."""

    inner: NoAllow | None = None
    reason: str = "unknown"

    def text(self, arn: str, action: str, resource: str | None, draws: Draws) -> str | None:
        said = f"{self.inner.text(arn, action, resource, draws)}. " if self.inner else ""
        encoded = draws.token(412, ENCODED_ALPHABET)
        return (
            f"You are not authorized to perform this operation. {said}Encoded authorization failure message: {encoded}"
        )

    def describe(self) -> str:
        return "an encoded authorization failure message"
