"""SAMPLE_DAY.md: the template's prose, the scenario table from the scenarios, the figures from the files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from string import Template
from typing import Any

from .plan import Scenario
from .records import APPRUNNER
from .trail import DENIAL_CODES, Totals
from .world import ORG_ID

TEMPLATE = Path(__file__).with_name("SAMPLE_DAY.template.md")


def render(scenarios: Sequence[Scenario], totals: Totals) -> str:
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        org_id=ORG_ID,
        totals=totals_table(totals),
        scenarios=scenario_table(scenarios),
        after_scenarios=after_scenarios(scenarios, totals),
    )


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def thousands(counts: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{key} {value:,}" for key, value in counts)


def totals_table(totals: Totals) -> str:
    written, unique = len(totals.records), len(totals.unique)
    folders = ", ".join(f"{count} in `{folder}`" for folder, count in totals.by_folder.items())
    earliest = min(r["eventTime"] for r in totals.unique)
    denials, apprunner = len(totals.denials), len(totals.apprunner_denials)
    others = [r for r in totals.errors if r["errorCode"] not in DENIAL_CODES]
    rows = [
        ("files", f"{totals.files} ({totals.size / 2**20:.1f} MiB gzip): {folders}"),
        (
            "records",
            f"{written:,} written; {unique:,} unique by (`eventID`, `recipientAccountId`); "
            f"{written - unique} duplicate deliveries",
        ),
        (
            "outside the day",
            f"{totals.before_day} records from {earliest[:10]} {earliest[11:16]} and later sit in the first "
            f"`{min(totals.by_folder)}` files (T0000Z), as real trails do",
        ),
        ("late records", "about 2% of records are in the file for the slot after their own"),
        (
            "errors",
            f"{len(totals.errors)} records with `errorCode`: {denials} denials ({apprunner} App Runner, "
            f"{denials - apprunner} other services), plus {len(others)} other errors: {error_sources(others)}",
        ),
        ("regions", thousands(totals.count("awsRegion").most_common())),
        ("event sources", event_sources(totals)),
        ("userIdentity types", thousands(totals.identity_types().most_common())),
    ]
    return table(("", ""), rows)


def error_sources(records: list[dict[str, Any]]) -> str:
    """Each error code with the services that returned it."""
    by_code: dict[str, set[str]] = {}
    for rec in records:
        by_code.setdefault(rec["errorCode"], set()).add(rec["eventSource"].split(".")[0])
    return ", ".join(f"`{code}` ({', '.join(sorted(sources))})" for code, sources in sorted(by_code.items()))


def event_sources(totals: Totals) -> str:
    counts = Counter(r["eventSource"].split(".")[0] for r in totals.unique)
    successes = sum(1 for r in totals.unique if r["eventSource"].startswith("apprunner.") and "errorCode" not in r)
    top = [name for name, _ in counts.most_common(11)]
    apprunner = f"apprunner ({counts['apprunner']:,}, of which {successes:,} successes)"
    return f"{len(counts)}. Top: {', '.join(apprunner if name == 'apprunner' else name for name in top)}"


def scenario_table(scenarios: Sequence[Scenario]) -> str:
    header = ("#", "principal (canonical), as the log shows it", "refused calls", "message → reason", "remedy")
    return table(header, (scenario_row(s) for s in scenarios))


def scenario_row(scenario: Scenario) -> tuple[str, str, str, str, str]:
    expect = scenario.expect
    principal = f"`{expect.principal}`: {scenario.principal}" if expect.principal else scenario.principal
    calls = ", ".join(
        f"`{event}` ×{count}" if action == f"apprunner:{event}" else f"`{event}` refused for `{action}` ×{count}"
        for (event, action), count in scenario.calls().items()
    )
    calls = f"{calls}; {scenario.detail}" if scenario.detail else calls
    forms = dict.fromkeys(series.form.describe() for series in scenario.series())
    reasons = dict.fromkeys(reason for _, found in scenario.expected_actions().values() for reason in found)
    message = f"{'; '.join(forms)} → {', '.join(f'`{r}`' for r in reasons)}"
    conclusion = f"**{expect.remedy}**: {scenario.conclusion}"
    return scenario.key, principal, calls, message, conclusion


def after_scenarios(scenarios: Sequence[Scenario], totals: Totals) -> str:
    """The totals under the table, the denials in other services, and the duplicate deliveries."""
    principals = len({(s.expect.principal, s.expect.account) for s in scenarios})
    others = [r for r in totals.denials if r["eventSource"] != APPRUNNER]
    elsewhere = ", ".join(f"{caller(r)}'s {r['eventSource'].split('.')[0]} `{r['eventName']}`" for r in others)
    seen: Counter[tuple[str, str]] = Counter((r["eventID"], r["recipientAccountId"]) for r in totals.records)
    twice = sorted(
        (r for r in totals.unique if seen[(r["eventID"], r["recipientAccountId"])] > 1), key=lambda r: r["eventTime"]
    )
    duplicates = "\n".join(
        f"- {caller(r)} `{r['eventName']}` at {r['eventTime'][11:19]}{'' if 'errorCode' in r else ' (a success)'}"
        for r in twice
    )
    return (
        f"{sum(s.count for s in scenarios)} App Runner denials in total, from {principals} principals. "
        f"{len(others)} more denials are in other services: {elsewhere}. They show up with `--service all`.\n\n"
        f"**Duplicate deliveries.** {len(twice)} records are written into two files each, with the same "
        f"`eventID`:\n\n{duplicates}\n\n"
        f"After de-duplication the counts above are unchanged (`totals.records_read` is {len(totals.records):,}; "
        f"denials are {len(totals.apprunner_denials)})."
    )


def caller(record: dict[str, Any]) -> str:
    """A short name for who made the call: the user, or the role of the session."""
    identity = record["userIdentity"]
    issuer = identity.get("sessionContext", {}).get("sessionIssuer", {})
    return str(identity.get("userName") or issuer.get("userName") or identity.get("type"))
