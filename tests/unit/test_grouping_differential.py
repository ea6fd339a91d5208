"""Differential test: the report's grouping of plain rows (``analysis.grouping``) against the pandas reading
(``analysis.findings``) of the same denial rows.

Both readings start from ``analysis.denials.denial_row`` dicts. The plain one goes as ``pipeline.collect`` goes
(de-duplicate, read each eventTime with ``grouping.event_times`` into ``time``, keep the window); the pandas one
as ``Analysis.frame`` and the notebooks do (``denial_frame``, ``deduplicate``, ``in_window``). The rows each keeps,
each row's time and the findings (order, every value, every value's type) must be the same. Inputs: the real
corpus, the edge records, the sample day, and rows made by Hypothesis where groups collide, eventIDs repeat,
optional fields are missing and eventTimes come in every form.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import findings as pandas_reading
from analysis import grouping
from analysis.denials import audits_service, denial_row, is_denial
from analysis.pipeline import analyse
from analysis.sources.base import RecordsSource, Source
from analysis.sources.files import FileSource, sample_source
from tests import factories as f

DATA = Path(__file__).parent.parent / "data"
REAL = DATA / "real"
EDGE = DATA / "edge"
Window = tuple[datetime | None, datetime | None]
NO_WINDOW: Window = (None, None)


# --------------------------------------------------------------------------- the two readings


def denial_rows(source: Source, service: str) -> list[grouping.Row]:
    """The denial rows of the audited service in a source, as the pipeline makes them (before de-duplication)."""
    return [
        denial_row(item)
        for item in source.read()
        if isinstance(item, dict) and is_denial(item) and audits_service(item, service)
    ]


def plain_reading(rows: Sequence[grouping.Row], window: Window) -> tuple[list[int], list[int], dict, list[dict]]:
    """As ``pipeline.collect`` then ``build_report``: the positions kept by de-duplication and by the window, each
    kept row's time by position, and the findings."""
    indexed = [(position, dict(row)) for position, row in enumerate(rows)]
    kept = grouping.deduplicate(indexed, key=lambda pair: pair[1])
    times = grouping.event_times([row["event_time"] for _, row in kept])
    for (_, row), moment in zip(kept, times, strict=True):
        row["time"] = moment
    position_of = {id(row): position for position, row in kept}
    windowed = grouping.in_window((row for _, row in kept), *window)
    return (
        [position for position, _ in kept],
        [position_of[id(row)] for row in windowed],
        {position: row["time"] for position, row in kept},
        grouping.findings(windowed),
    )


def pandas_reading_of(rows: Sequence[grouping.Row], window: Window) -> tuple[list[int], list[int], dict, list[dict]]:
    """The same through the frame: ``denial_frame``'s index is the rows' positions."""
    frame = pandas_reading.deduplicate(pandas_reading.denial_frame(rows))
    windowed = pandas_reading.in_window(frame, *window)
    times = {int(position): None if pd.isna(moment) else moment for position, moment in frame["event_time"].items()}
    return (
        [int(position) for position in frame.index],
        [int(position) for position in windowed.index],
        times,
        pandas_reading.findings(windowed),
    )


def assert_same_readings(rows: Sequence[grouping.Row], window: Window = NO_WINDOW) -> list[dict[str, Any]]:
    deduplicated, windowed, times, found = plain_reading(rows, window)
    expected_deduplicated, expected_windowed, expected_times, expected = pandas_reading_of(rows, window)
    assert deduplicated == expected_deduplicated
    assert times == expected_times
    assert windowed == expected_windowed
    assert typed(found) == typed(expected)
    return found


def typed(value: Any) -> Any:
    """The value with each leaf's type beside it: ``1 == np.int64(1) == True`` must not hide a difference."""
    if isinstance(value, dict):
        return [(key, typed(item)) for key, item in value.items()]  # key order counts too
    if isinstance(value, list):
        return [typed(item) for item in value]
    return type(value).__name__, value


def window_around(rows: Iterable[grouping.Row]) -> Window:
    """A bounded window cutting through the rows' CloudTrail times: from the median to an hour after the latest."""
    moments = sorted(m for m in grouping.event_times([row["event_time"] for row in rows]) if m is not None)
    if not moments:
        return datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC)
    return moments[len(moments) // 2], moments[-1] + timedelta(hours=1)


# --------------------------------------------------------------------------- files


@pytest.fixture(scope="module")
def real_rows() -> dict[str, list[grouping.Row]]:
    return {service: denial_rows(FileSource(REAL), service) for service in ("all", "apprunner")}


@pytest.fixture(scope="module")
def sample_rows() -> list[grouping.Row]:
    return denial_rows(sample_source(), "apprunner")


@pytest.mark.parametrize("service", ["all", "apprunner"])
def test_the_real_corpus_reads_the_same(real_rows: dict[str, list[grouping.Row]], service: str) -> None:
    rows = real_rows[service]
    assert len(rows) == {"all": 320, "apprunner": 0}[service]  # its one App Runner record is no denial
    found = assert_same_readings(rows)
    assert sum(finding["denials"] for finding in found) <= len(rows)
    assert_same_readings(rows, window_around(rows))


def test_the_sample_day_reads_the_same(sample_rows: list[grouping.Row]) -> None:
    assert len(sample_rows) > 50
    assert_same_readings(sample_rows)
    assert_same_readings(sample_rows, window_around(sample_rows))


def test_the_sample_day_with_every_record_delivered_twice_reads_the_same(sample_rows: list[grouping.Row]) -> None:
    found = assert_same_readings(sample_rows + sample_rows)
    assert sum(finding["denials"] for finding in found) <= len(sample_rows)


def test_the_edge_records_read_the_same_file_by_file_and_together() -> None:
    paths = sorted(EDGE.glob("*.json"))
    assert len(paths) > 30
    together: list[grouping.Row] = []
    for path in paths:
        rows = denial_rows(FileSource(path), "all")
        assert rows, path.name
        assert_same_readings(rows)
        together.extend(rows)
    assert_same_readings(together)
    assert_same_readings(together, window_around(together))


# --------------------------------------------------------------------------- discrepancies found (fixed in 231598a)


@pytest.mark.parametrize("text", ["٢٠٢٦-11-28T09:15:02Z", "１９９９-01-01T00:00:00Z"])
def test_an_event_time_in_non_ascii_digits_is_unreadable_in_both_readings(text: str) -> None:
    """Arabic-Indic and full-width digits: a ``\\d`` pattern took them, pandas and ``fromisoformat`` do not."""
    rows = [denial_row(f.record(event_time=text))]
    assert grouping.event_times([text]) == [None]
    assert_same_readings(rows)


@pytest.mark.parametrize(
    "text", ["0000-01-01T00:00:00Z", "0000-01-01", "0001-01-01T00:00:00+02:00", "9999-12-31T23:00:00-02:00"]
)
def test_an_event_time_in_year_zero_is_unreadable_and_the_report_is_made(text: str) -> None:
    """pandas reads years 0 and 10000 (once in UTC), which no datetime holds: they crashed ``event_times`` (the
    run) and the frame's findings."""
    rows = [denial_row(f.record(event_time=text))]
    assert grouping.event_times([text]) == [None]  # as analysis.times.moment: no datetime holds it
    assert_same_readings(rows)
    assert analyse([RecordsSource([f.record(event_time=text)])]).report.findings


# --------------------------------------------------------------------------- Hypothesis rows

ACCOUNTS = (f.ACCOUNT, f.OTHER_ACCOUNT)
PRINCIPALS = (
    "arn:aws:iam::111122223333:role/Deploy",
    "arn:aws:iam::444455556666:user/dev-bob",
    "AIDAEXAMPLEUSERID1234",
    "",
)
ACTIONS = ("apprunner:DescribeService", "apprunner:ListServices", "iam:PassRole")
EVENT_IDS = tuple(f"00000000-0000-0000-0000-{n:012d}" for n in range(40))  # more than an action's 20 shown
AGENTS = tuple(f"agent-{n}" for n in range(13))  # more than the 10 shown, so the cut meets ties
BASE = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
UNREADABLE_TIMES = (
    "",
    "yesterday",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+02:00",
    "9999-12-31T23:00:00-02:00",
    "2026-11-28T25:00:00Z",
    "2026-11-28T09:15:02ZZ",
    "٢٠٢٦-11-28T09:15:02Z",
)
EXTREME_TIMES = ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1677-09-21T00:12:43Z", "2262-04-11T23:47:17Z")


def written(moment: datetime, form: str) -> str:
    """A moment as an eventTime: CloudTrail's form, or another form pandas reads."""
    ahead, behind = (
        moment + timedelta(hours=2),
        moment - timedelta(hours=1, minutes=30),
    )  # the wall clocks at +02:00, -01:30
    forms = {
        "cloudtrail": f"{moment:%Y-%m-%dT%H:%M:%S}Z",
        "milliseconds": f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z",
        "nanoseconds": f"{moment:%Y-%m-%dT%H:%M:%S.%f}789Z",
        "offset": f"{ahead:%Y-%m-%dT%H:%M:%S}+02:00",
        "half_hour_offset": f"{behind:%Y-%m-%dT%H:%M:%S.%f}-01:30",
        "space": f"{moment:%Y-%m-%d %H:%M:%S}Z",
        "naive": f"{moment:%Y-%m-%dT%H:%M:%S}",
        "date": f"{moment:%Y-%m-%d}",
    }
    return forms[form]


# A few moments, so times tie across rows and forms; fractions so the ties are not only at whole seconds.
moments = st.builds(
    lambda minutes, microseconds: BASE + timedelta(minutes=minutes, microseconds=microseconds),
    st.sampled_from((0, 0, 1, 7, 60, 24 * 60)),
    st.sampled_from((0, 0, 250_000, 999_999)),
)
event_times = st.one_of(
    st.builds(written, moments, st.just("cloudtrail")),
    st.builds(
        written,
        moments,
        st.sampled_from(("milliseconds", "nanoseconds", "offset", "half_hour_offset", "space", "naive", "date")),
    ),
    st.sampled_from(UNREADABLE_TIMES + EXTREME_TIMES),
    st.none(),
)


def optional(*values: str) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.just(""), st.sampled_from(values))


rows_strategy = st.fixed_dictionaries(
    {
        "event_id": st.one_of(st.none(), st.just(""), st.sampled_from(EVENT_IDS)),
        "recipient_account_id": st.one_of(st.none(), st.sampled_from(ACCOUNTS)),
        "event_time": event_times,
        "event_source": optional("apprunner.amazonaws.com", "iam.amazonaws.com"),
        "event_name": optional("DescribeService", "ListServices", "CreateService"),
        "region": optional("us-east-1", "eu-west-1"),
        "source_ip": optional("198.51.100.7", "203.0.113.9"),
        "user_agent": st.one_of(st.none(), st.just(""), st.sampled_from(AGENTS)),
        "error_code": st.just("AccessDeniedException"),
        "error_message": optional("User: x is not authorized", "Access Denied"),
        "principal_key": st.sampled_from(PRINCIPALS),
        "principal_arn": optional(*PRINCIPALS[:2]),
        "principal_type": st.sampled_from(("AssumedRole", "IAMUser", "Root", "Unknown")),
        "principal_account_id": st.one_of(st.none(), st.sampled_from(ACCOUNTS)),
        "session": optional("jane", "ci", "run-1"),
        "permission_set": optional("Developer_Access", "ReadOnly"),
        "action": st.sampled_from(ACTIONS),
        "action_from_message": st.booleans(),
        "action_known": st.booleans(),
        "resources": st.lists(
            st.sampled_from(("*", "", f.service_arn(), "arn:aws:iam::111122223333:role/R")), max_size=3
        ),
        "resource_origin": st.sampled_from(("message", "request", "record", "none", "star")),
        "reason": st.sampled_from(("unknown", "no identity-based policy allows", "explicit deny in an SCP")),
        "denied_explicitly": st.booleans(),
        "policy_arn": optional("arn:aws:organizations::111122223333:policy/o-1/service_control_policy/p-1"),
        "encoded_message": optional("EncodedMessageExample"),
        "truncated": st.booleans(),
        "non_iam_failure": optional("throttled"),
        "target_account_id": st.one_of(st.none(), st.sampled_from((*ACCOUNTS, "unknown"))),
        "cross_account": st.booleans(),
        "passed_to_service": optional("apprunner.amazonaws.com", "ecs-tasks.amazonaws.com"),
        "vpc_endpoint_id": optional("vpce-1"),
        "vpc_endpoint_account_id": st.one_of(st.none(), st.sampled_from(ACCOUNTS)),
    }
)
# Bounds at whole minutes the rows' times fall on (CloudTrail's form has no fraction): the half-open edges are met.
bounds = st.sampled_from((None, *(BASE + timedelta(minutes=minutes) for minutes in (0, 1, 7, 60))))
windows = st.tuples(bounds, bounds)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(rows=st.lists(rows_strategy, max_size=60), window=windows)
def test_generated_rows_read_the_same(rows: list[grouping.Row], window: Window) -> None:
    assert_same_readings(rows, window)


def busy(rows: list[grouping.Row], choices: list[tuple[str, str]]) -> list[grouping.Row]:
    """Rows of one finding with eventIDs and user agents mostly their own (a row's position picks them), so an
    action holds more than 20 eventIDs and the finding more than 10 agents, some repeated, some missing."""
    made = []
    for position, (row, (id_choice, agent_choice)) in enumerate(zip(rows, choices, strict=False)):
        event_id = {"own": EVENT_IDS[position % len(EVENT_IDS)], "earlier": EVENT_IDS[position // 3], "none": None}
        agent = {"own": AGENTS[position % len(AGENTS)], "drawn": row["user_agent"]}
        made.append(
            {
                **row,
                "principal_key": PRINCIPALS[0],
                "target_account_id": f.ACCOUNT,
                "action": ACTIONS[position % 3 // 2],  # two in three rows one action, the rest another
                "event_id": event_id[id_choice],
                "user_agent": agent[agent_choice],
            }
        )
    return made


busy_rows = st.builds(
    busy,
    st.lists(rows_strategy, min_size=45, max_size=80),
    st.lists(
        st.tuples(st.sampled_from(("own", "own", "own", "earlier", "none")), st.sampled_from(("own", "own", "drawn"))),
        min_size=80,
        max_size=80,
    ),
)


@settings(FAST, max_examples=20, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(rows=busy_rows)
def test_one_busy_finding_reads_the_same(rows: list[grouping.Row]) -> None:
    """Every row in one finding: actions past 20 eventIDs, more than 10 user agents, ties in counts and times."""
    assert_same_readings(rows)


def sooner(moment: datetime | None, other: datetime | None) -> bool:
    return moment is not None and (other is None or moment < other)


@FAST
@given(rows=st.lists(rows_strategy, min_size=1, max_size=40), limit=st.integers(1, 4))
def test_the_first_event_ids_are_the_same_at_any_limit(rows: list[grouping.Row], limit: int) -> None:
    """The cut after ``limit`` eventIDs (ties at the cut by ID, no time last), which 20 rarely reaches."""
    frame = pandas_reading.denial_frame(rows)
    expected = pandas_reading.first_event_ids(frame, limit)
    earliest: dict[tuple[str, str, str], dict[str, datetime | None]] = {}  # each ID's earliest time, None latest
    for row, moment in zip(rows, grouping.event_times([row["event_time"] for row in rows]), strict=True):
        by_id = earliest.setdefault((*grouping.finding_key(row), row["action"]), {})
        event_id = row["event_id"]
        if event_id and (event_id not in by_id or sooner(moment, by_id[event_id])):
            by_id[event_id] = moment
    found = {key: grouping.first_event_ids(by_id, limit) for key, by_id in earliest.items()}
    assert {key: ids for key, ids in found.items() if ids} == {key: list(ids) for key, ids in expected.items()}
