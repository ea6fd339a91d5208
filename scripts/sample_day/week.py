"""A week of the sample organization: 2026-11-22 .. 2026-11-28, the last day being exactly the bundled day.

Each day has the background traffic of the bundled day (drawn with the day's own seed: ``YYYYMMDD`` of its date,
which for 2026-11-28 is the bundled ``SEED``) and the denial scenarios ``SCHEDULE`` lists for it. The schedule is
data, so ``scripts/SAMPLE_WEEK.md`` prints it and tests derive their expectations from that table:

- every day: dev-alice (1), the CI role's PassRole (2), the Identity Center permission set (3), App Runner's own
  automatic deployment (9), the nightly report through the VPC endpoint (7c) and the legacy Jenkins role (11b);
- fixed mid-week: the QA automation role (w1, days 1-4: its grant was applied) and dev-dan (w2, days 1-3);
- new late in the week: the SCP region lock (6, from day 4), the auditor from outside the organization
  (4b, from day 5), root in staging and the reconnaissance by svc-legacy's stolen key (8 and 10, day 7 only);
- the rest come and go.

Day 7 plays every scenario of ``scenarios.SCENARIOS`` in order and nothing else, so its trail files are the
bundled sample's, byte for byte. The two week-only scenarios (w1, w2) are defined here, never on day 7.

``build_sample_week(out)`` also analyses each day as the daily job would; it imports ``analysis`` only then, so
the generator itself stays free of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .actors import iam_user, role_session
from .cli import build, check_scenarios, write_day
from .document import scenario_row, table
from .engine import Day
from .plan import Expect, Later, Scenario, Timeline
from .scenarios import DESCRIBE_STAGE, IDENTITY, SCENARIOS, on
from .trail import Totals
from .world import BOTO, CLI_MAC, DAY, ORG_ID, PROD, STAGING, service_arn

if TYPE_CHECKING:
    from analysis.ledger import Ledger

FIRST = date(2026, 11, 22)
DAYS = 7
DATES = tuple(FIRST + timedelta(days=n) for n in range(DAYS))  # day 1 .. day 7
WEEK_DOC = Path(__file__).resolve().parent.parent / "SAMPLE_WEEK.md"
START_WEB = on("StartDeployment", service_arn("web"))

W1 = Scenario(
    key="w1",
    title="QA automation role without App Runner read access (granted after day 4)",
    principal="AssumedRole, session `qa-nightly`, with boto3 from the build network",
    detail="on `web-staging`, 03:01–03:02",
    conclusion="both read actions on `web-staging`; applied on day 5, so the denials stop",
    expect=Expect("grant", f"arn:aws:iam::{STAGING}:role/QAAutomation", STAGING),
    steps=(
        Timeline(
            actor=Later(
                lambda day: role_session(STAGING, "QAAutomation", "qa-nightly", day.at(3, 0), "10.40.7.12", BOTO)
            ),
            form=IDENTITY,
            calls=(
                ((3, 1, 10), DESCRIBE_STAGE),
                ((3, 1, 42), on("ListOperations", service_arn("web-staging"))),
                ((3, 2, 5), DESCRIBE_STAGE),
            ),
        ),
    ),
)

W2 = Scenario(
    key="w2",
    title="a developer trying to deploy web by hand (stops after day 3)",
    principal="IAMUser, on the CLI",
    detail="on `web`, 14:05–14:06",
    conclusion="deployments go through CI; the developer stopped trying after day 3",
    expect=Expect("grant", f"arn:aws:iam::{PROD}:user/dev-dan", PROD),
    steps=(
        Timeline(
            actor=iam_user(PROD, "dev-dan", "198.51.100.45", CLI_MAC),
            form=IDENTITY,
            calls=(((14, 5, 12), START_WEB), ((14, 6, 40), START_WEB)),
        ),
    ),
)

WEEK_ONLY = (W1, W2)
EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)

# scenario key -> the days (1 = 2026-11-22 .. 7 = 2026-11-28) it is played on
SCHEDULE: dict[str, tuple[int, ...]] = {
    "1": EVERY_DAY,
    "2": EVERY_DAY,
    "3": EVERY_DAY,
    "4a": (2, 4, 6, 7),
    "4b": (5, 6, 7),
    "5": (3, 7),
    "6": (4, 5, 6, 7),
    "7a": (1, 4, 7),
    "7b": (2, 5, 7),
    "7c": EVERY_DAY,
    "8": (7,),
    "9": EVERY_DAY,
    "10": (7,),
    "11a": (1, 2, 3, 7),
    "11b": EVERY_DAY,
    "11c": (5, 7),
    "11d": (6, 7),
    "11e": (3, 7),
    "11f": (1, 4, 7),
    "11g": (2, 6, 7),
    "w1": (1, 2, 3, 4),
    "w2": (1, 2, 3),
}
STORY = {  # why a scenario is on its days, for SAMPLE_WEEK.md
    "1": "fails every day",
    "2": "fails every day",
    "3": "fails every day",
    "4a": "intermittent",
    "4b": "new on day 5",
    "5": "intermittent",
    "6": "new on day 4",
    "7a": "intermittent",
    "7b": "intermittent",
    "7c": "fails every night",
    "8": "new on day 7",
    "9": "fails every day",
    "10": "new on day 7",
    "11a": "intermittent",
    "11b": "fails every day",
    "11c": "intermittent",
    "11d": "intermittent",
    "11e": "intermittent",
    "11f": "intermittent",
    "11g": "intermittent",
    "w1": "fixed after day 4",
    "w2": "stops after day 3",
}


@dataclass(frozen=True)
class WeekDay:
    """One day of the week: its number (1-7), date, seed and scenarios, in play order."""

    number: int
    date: date
    seed: int
    scenarios: tuple[Scenario, ...]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date, datetime.min.time(), tzinfo=UTC)


def seed_of(day: date) -> int:
    """The day's seed: its date as ``YYYYMMDD`` (the bundled day's is ``world.SEED``)."""
    return int(day.strftime("%Y%m%d"))


def week_days(schedule: dict[str, tuple[int, ...]] = SCHEDULE) -> list[WeekDay]:
    """The seven days, each with its scheduled scenarios: the bundled ones in their order, then the week's own."""
    every = (*SCENARIOS, *WEEK_ONLY)
    return [
        WeekDay(number, when, seed_of(when), tuple(s for s in every if number in schedule[s.key]))
        for number, when in enumerate(DATES, start=1)
    ]


def build_day(week_day: WeekDay) -> Day:
    """The day in memory (``cli.build`` with the day's date, seed and scenarios)."""
    return build(week_day.start, week_day.seed, week_day.scenarios)


def write_trail(out: Path, week_day: WeekDay) -> Totals:
    """Write the day's trail files under ``out/trail/YYYY-MM-DD/AWSLogs/`` and check every scenario is in them."""
    day = build_day(week_day)
    totals = write_day(trail_folder(out, week_day.date), day)
    check_scenarios(day, totals, week_day.scenarios)
    return totals


def trail_folder(out: Path, day: date) -> Path:
    return out / "trail" / day.isoformat()


def days_text(days: Sequence[int]) -> str:
    """``1–7``, ``1–4``, ``2, 4, 6, 7``: runs of three or more consecutive days as a range."""
    parts: list[str] = []
    run: list[int] = []
    for number in [*days, 0]:
        if run and number == run[-1] + 1:
            run.append(number)
            continue
        if run:
            parts.append(f"{run[0]}–{run[-1]}" if len(run) >= 3 else ", ".join(map(str, run)))
        run = [number]
    return ", ".join(parts)


def render_week(schedule: dict[str, tuple[int, ...]] = SCHEDULE) -> str:
    """SAMPLE_WEEK.md: the days, the schedule table, and the week-only scenarios as SAMPLE_DAY.md lists its own."""
    days = table(
        ("day", "date", "seed", "scenarios"),
        ((str(d.number), d.date.isoformat(), str(d.seed), str(len(d.scenarios))) for d in week_days(schedule)),
    )
    every = (*SCENARIOS, *WEEK_ONLY)
    grid = table(
        ("scenario", "title", "principal", "days present", *(str(n) for n in range(1, DAYS + 1)), "story"),
        (
            (
                s.key,
                s.title,
                f"`{s.expect.principal}`" if s.expect.principal else "AWSService `apprunner.amazonaws.com`",
                days_text(schedule[s.key]),
                *("x" if n in schedule[s.key] else "" for n in range(1, DAYS + 1)),
                STORY[s.key],
            )
            for s in every
        ),
    )
    own = table(
        ("#", "principal (canonical), as the log shows it", "refused calls", "message → reason", "remedy"),
        (scenario_row(s) for s in WEEK_ONLY),
    )
    return WEEK_TEMPLATE.format(days=days, grid=grid, own=own, bundled=DAY.date().isoformat())


WEEK_TEMPLATE = """# The sample week

Generated by `python scripts/generate_sample_week.py` (from `scripts/sample_day/week.py`; do not edit by hand).

Seven days of the sample organization of [SAMPLE_DAY.md](SAMPLE_DAY.md), 2026-11-22 to {bundled}: each day has the
bundled day's background traffic, drawn with its own seed, and the App Runner denial scenarios the table below
lists for it. Day 7 is the bundled day itself (every scenario, the same seed): its trail files are
`analysis/data/sample`'s, byte for byte. Each scenario writes on every day the same refused calls SAMPLE_DAY.md
counts for it (the week-only scenarios: the table at the end), at the same times of day; nothing else in the
background traffic is an App Runner denial, so a day's App Runner denials are the sum over its scenarios.

`generate_sample_week.py --out OUT` writes each day's trail under `OUT/trail/YYYY-MM-DD/AWSLogs/` and each day's
stored report as the daily job stores it, `OUT/reports/YYYY/MM/DD/report.json`.

## Days

{days}

## Schedule

Days are numbered 1 (2026-11-22) to 7 ({bundled}); an `x` marks a day the scenario is played on.

{grid}

## Scenarios of the week only

They are never played on day 7, which stays the bundled day.

{own}
"""


# --- the daily job's stored reports (imports analysis) ------------------------------------------


@dataclass(frozen=True)
class StoredDay:
    """What the week's daily job wrote for one day."""

    week_day: WeekDay
    report: Path
    denials: int
    findings: int


def build_sample_week(out: Path) -> Path:
    """Write the week under ``out`` (trail files and stored daily reports) and return ``out``."""
    write_week(out)
    return out


def write_week(out: Path) -> list[StoredDay]:
    """Each day's trail files, then its report as the daily job stores it; one ledger for the whole week."""
    import tempfile

    from analysis.ledger_stores import FileLedger

    with tempfile.TemporaryDirectory(prefix="sample-week-ledger-") as ledger_folder:
        ledger = FileLedger(Path(ledger_folder))
        stored = []
        for week_day in week_days():
            write_trail(out, week_day)
            stored.append(store_day(out, week_day, ledger))
        return stored


def store_day(out: Path, week_day: WeekDay, ledger: Ledger) -> StoredDay:
    """The day's daily report (``analysis.service.run_daily`` over the day's trail folder, with the options the
    sample day is reported with), stored at ``out/reports/YYYY/MM/DD/report.json`` as the daily function stores
    it in the reports bucket. Its ``generated_at`` is fixed (the next day, 01:00Z), so every build into the same
    ``out`` is the same bytes (the report names its source by the trail folder's path, which contains ``out``).
    """
    from analysis.delivery.s3 import FILE_NAMES, report_prefix
    from analysis.demo import DEMO_ORGANIZATION, DEMO_TRUSTED_ACCOUNTS
    from analysis.report import dumps
    from analysis.service import DailyRequest, run_daily
    from analysis.settings import load_settings

    settings = load_settings(
        env={},
        trail_source=str(trail_folder(out, week_day.date)),
        trusted_accounts=DEMO_TRUSTED_ACCOUNTS,
        organization_accounts=DEMO_ORGANIZATION,
        organization_id=ORG_ID,
    )
    now = week_day.start + timedelta(days=1, hours=1)
    report = run_daily(DailyRequest(day=week_day.date), settings, ledger, now=now).report
    path = out / report_prefix(report) / FILE_NAMES["json"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(report), encoding="utf-8")
    return StoredDay(week_day, path, report.totals.denials, len(report.findings))
