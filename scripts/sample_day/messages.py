"""The AccessDenied message wording AWS writes (docs/messages.md); shared with ``tests/factories.py``."""

from __future__ import annotations


def denied(arn: str, action: str, resource: str | None = None, clause: str = "") -> str:
    """``User: <arn> is not authorized to perform: <action>[ on resource: <resource>][ <clause>]``."""
    text = f"User: {arn} is not authorized to perform: {action}"
    if resource is not None:
        text += f" on resource: {resource}"
    return f"{text} {clause}" if clause else text


def no_allow(policy: str, action: str) -> str:
    """The implicit-deny clause: ``because no <policy> allows the <action> action``."""
    return f"because no {policy} allows the {action} action"


def explicit(policy: str, arn: str | None = None) -> str:
    """The explicit-deny clause, naming the refusing policy's ARN when AWS gives it."""
    article = "an" if policy[0] in "aeiou" else "a"
    text = f"with an explicit deny in {article} {policy}"
    return f"{text}: {arn}" if arn else text
