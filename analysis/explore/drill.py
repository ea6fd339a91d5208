"""One principal, to drill into: who it is, its denials one by one, and its remedy's documents, proof and files.

A finding is found by a piece of its name (:func:`find_principal`), or picked as the busiest (:func:`pick`, so that
a notebook needs no name that only one day has); everything else takes the finding (and, for its events, the
:class:`~analysis.explore.day.Exploration` whose frame holds them).
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.contract import FINDING_ID_PATTERN, Finding, Report
from analysis.explore.day import GRANT_KINDS, SEVERITY_ORDER, Exploration, finding_labels, principal_label

if TYPE_CHECKING:
    from analysis.proof import Proof

EVENT_COLUMNS = ["time", "action", "region", "source_ip", "user_agent", "session", "reason", "event_id"]
STORED_EVENT_COLUMNS = ["action", "event_id", "first_seen", "last_seen", "denials"]
CLOSE_LABELS = 5  # how many near names a failed search suggests
CLOSE_ENOUGH = 0.5  # difflib's ratio from which a name is suggested
_FINDING_ID = re.compile(FINDING_ID_PATTERN)


# --- finding one ----------------------------------------------------------------------------------


def pick(report: Report, text: str | None = None, *, grants: bool = False) -> Finding | None:
    """The finding to drill into: :func:`find_principal`'s for ``text`` (which raises as it does), else the
    busiest one (most denials; ties: the more severe, then by label), or with ``grants`` the busiest whose remedy
    grants access (``grant``, ``cross_account_role``, ``permission_set``) with a policy document to prove and
    export. None when the report has no such finding (``text`` given, ``grants`` is not used)."""
    if text is not None:
        return find_principal(report, text)
    labelled = zip(finding_labels(report), report.findings, strict=True)
    candidates = [(label, f) for label, f in labelled if not grants or _grants_access(f)]
    if not candidates:
        return None
    return min(candidates, key=lambda pair: (-pair[1].denials, SEVERITY_ORDER.index(pair[1].severity), pair[0]))[1]


def _grants_access(finding: Finding) -> bool:
    remedy = finding.remedy
    return remedy is not None and remedy.kind in GRANT_KINDS and remedy.policy is not None


def find_principal(report: Report, text: str) -> Finding:
    """The finding whose principal's ARN, key or label (:func:`~analysis.explore.day.principal_label`), or whose
    id, contains ``text`` (ignoring case).

    None: KeyError listing the closest labels. Several: ValueError listing them, unless one of them matches
    ``text`` exactly (its ARN, key, label or id), which is then the one.
    """
    needle = text.strip().lower()
    labelled = list(zip(finding_labels(report), report.findings, strict=True))
    matches = [(label, f) for label, f in labelled if any(needle in name.lower() for name in _names(label, f))]
    if len(matches) == 1:
        return matches[0][1]
    exact = [(label, f) for label, f in matches if needle in (name.lower() for name in _names(label, f))]
    if len(exact) == 1:
        return exact[0][1]
    if matches:
        listed = "; ".join(label for label, _ in matches)
        raise ValueError(f"{len(matches)} principals match {text!r}: {listed} (give more of the name)")
    close = _closest([label for label, _ in labelled], needle)
    raise KeyError(f"no principal matches {text!r}; close: {'; '.join(close) or '(the report has no findings)'}")


def _closest(labels: list[str], needle: str) -> list[str]:
    """The labels whose name (``dev-alice`` of ``user/dev-alice @111122223333``) or whole text is most like
    ``needle``; the first labels (the busiest) when none is much like it."""

    def likeness(label: str) -> float:
        name = label.split(" ", 1)[0].rsplit("/", 1)[-1].lower()
        return max(difflib.SequenceMatcher(None, needle, text).ratio() for text in (name, label.lower()))

    scored = sorted(((likeness(label), label) for label in labels), key=lambda pair: -pair[0])
    close = [label for score, label in scored if score >= CLOSE_ENOUGH][:CLOSE_LABELS]
    return close or labels[:CLOSE_LABELS]


def _names(label: str, finding: Finding) -> list[str]:
    principal = finding.principal
    return [name for name in (label, principal.arn, principal.key, finding.id) if name]


# --- what it is and what it did -------------------------------------------------------------------


def principal_profile(finding: Finding) -> pd.DataFrame:
    """What the finding's principal is and how it was seen, one row per field (columns ``field``, ``value``):
    type, ARN, account, owning account, sessions, regions, user agents, source IPs (lists, as the report holds
    them), first and last denial, denials, actions, severity, confidence and remedy kind."""
    principal = finding.principal
    fields: list[tuple[str, Any]] = [
        ("type", principal.type),
        ("arn", principal.arn),
        ("key", principal.key),
        ("account", principal.account_id),
        ("target account", finding.target_account_id),
        ("cross account", finding.cross_account),
        ("permission set", principal.permission_set),
        ("sessions", list(principal.sessions)),
        ("regions", list(finding.regions)),
        ("user agents", list(finding.user_agents)),
        ("source IPs", list(finding.source_ips)),
        ("first seen", finding.first_seen),
        ("last seen", finding.last_seen),
        ("denials", finding.denials),
        ("actions", len(finding.actions)),
        ("severity", finding.severity),
        ("confidence", finding.confidence),
        ("remedy", finding.remedy.kind if finding.remedy else None),
        ("finding id", finding.id),
    ]
    return pd.DataFrame(fields, columns=["field", "value"])


def principal_events(exploration: Exploration, finding: Finding) -> pd.DataFrame:
    """The finding's denials, one row per denial, earliest first (ties by event ID): ``time`` (UTC), ``action``,
    ``region``, ``source_ip``, ``user_agent``, ``session``, ``reason``, ``event_id``; the rows of the run's frame
    with the finding's principal and owning account.

    A stored report keeps no rows, only up to 20 event IDs per action (``DeniedAction.event_ids``): then one row
    per action and event ID, with the action's ``first_seen``, ``last_seen`` and ``denials``; an action whose
    records carried no event ID has one row with ``event_id`` None, so every action is there.
    """
    if exploration.frame is None:
        return _stored_events(finding)
    frame = exploration.frame
    key = finding.principal.key or finding.principal.arn
    target = finding.target_account_id or "unknown"  # the frame's name for an owning account the log did not say
    rows = frame.loc[(frame["principal_key"] == key) & (frame["target_account_id"] == target)]
    events = rows.rename(columns={"event_time": "time"})[EVENT_COLUMNS]
    return events.sort_values(["time", "event_id"], kind="stable").reset_index(drop=True)


def _stored_events(finding: Finding) -> pd.DataFrame:
    rows = [
        {
            "action": denied.action,
            "event_id": event_id,
            "first_seen": denied.first_seen,
            "last_seen": denied.last_seen,
            "denials": denied.count,
        }
        for denied in finding.actions
        for event_id in _event_ids_or_none(denied.event_ids)
    ]
    events = pd.DataFrame(rows, columns=STORED_EVENT_COLUMNS, dtype=object)  # object: a missing event ID is None
    events["denials"] = events["denials"].astype("int64")
    return events


def _event_ids_or_none(event_ids: list[str]) -> list[str | None]:
    """The action's event IDs, or one None so that an action without any still has its row."""
    return [*event_ids] if event_ids else [None]


# --- its remedy -----------------------------------------------------------------------------------


def remedy_documents(finding: Finding) -> dict[str, dict[str, Any]]:
    """The remedy's policy documents by the file name its commands read them from: ``policy.json`` (then
    ``policy-2.json``, ``policy-3.json`` … where IAM's size limits split it), ``trust-policy.json`` and
    ``caller-policy.json`` for a cross-account role. Each is the JSON data IAM accepts (``Version`` and
    ``Statement``), exactly as the reports show it. Empty for reconnaissance (``investigate``) and for no remedy."""
    from analysis.render.common import policy_blocks

    return {block["file"]: block["document"] for block in policy_blocks(finding.remedy)}


def prove_remedy(finding: Finding, *, timeout_ms: int | None = None) -> Proof | None:
    """The proof of the remedy's policies (``analysis.proof``: they allow exactly the refused requests), or None
    when the evaluator (the ``verify`` extra: iamprover, z3-solver) is not installed."""
    try:
        from analysis.proof import TIMEOUT_MS, prove_finding
    except ImportError:
        return None
    return prove_finding(finding, timeout_ms=timeout_ms or TIMEOUT_MS)


def proof_text(proof: Proof | None) -> str:
    """The proof in one line, as ``apprunner-audit verify`` prints it; what to install when there is none."""
    if proof is None:
        return "not proven here: the IAM evaluator is not installed (install the verify extra)"
    from analysis.proof import proof_line

    return proof_line(proof)


def export_remedy(finding: Finding, folder: Path | str) -> list[Path]:
    """Write the remedy into ``folder/<finding id>/``: its policy documents (:func:`remedy_documents`),
    ``commands.sh`` (the remedy's commands, when it has any) and ``README.md`` (who, why, the notes, the AWS
    documentation). Returns the paths written, in that order. Files of an earlier export with these names are
    replaced. Every file name comes from this code (the id is checked), none from the log."""
    if not _FINDING_ID.fullmatch(finding.id):
        raise ValueError(f"not a finding id: {finding.id!r}")
    target = Path(folder) / finding.id
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in remedy_documents(finding).items():
        written.append(_write(target / name, json.dumps(document, indent=2, ensure_ascii=False) + "\n"))
    commands = _commands(finding)
    if commands:
        written.append(_write(target / "commands.sh", commands))
    written.append(_write(target / "README.md", _readme(finding)))
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _commands(finding: Finding) -> str | None:
    from analysis.render.common import remedy_commands

    lines = remedy_commands(finding.remedy)
    if not lines:
        return None
    header = [
        "#!/bin/sh",
        f"# The remedy of finding {finding.id}: read README.md and review every command before running it.",
        "# Run from this folder: the commands read the policy files next to this one.",
        "set -e",
        "",
    ]
    return "\n".join([*header, *lines]) + "\n"


def _readme(finding: Finding) -> str:
    """Who, what was refused, why and what to check, and the AWS documentation: every log-derived string escaped
    as the Markdown report escapes it (secrets masked, no markup, links only to checked https:// addresses)."""
    from analysis.render.common import remedy_docs
    from analysis.render.markdown import escape_markdown, inline_code, link, long_text

    remedy, principal = finding.remedy, finding.principal
    lines = [
        f"# Finding {finding.id}: {escape_markdown(principal_label(finding))}",
        "",
        f"- principal: {inline_code(principal.arn or principal.key or 'unknown')} ({principal.type})",
        f"- owning account: {escape_markdown(finding.target_account_id or 'unknown')}",
        f"- denials: {finding.denials}, from {finding.first_seen or '?'} to {finding.last_seen or '?'}",
        f"- severity: {finding.severity}; remedy: {remedy.kind if remedy else 'none'}",
        "",
        "## Refused",
        "",
        *(f"- {inline_code(denied.action)} ×{denied.count}: {', '.join(denied.reasons)}" for denied in finding.actions),
    ]
    if remedy is not None and remedy.notes:
        lines += ["", "## Why, and what to check before acting", "", *(f"- {long_text(n)}" for n in remedy.notes)]
    docs = remedy_docs(remedy)
    if docs:
        lines += ["", "## AWS documentation", "", *(f"- {link(doc)}" for doc in docs)]
    return "\n".join(lines) + "\n"
