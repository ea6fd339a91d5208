"""The notebooks' figures draw what their table says: each bar, cell and dot checked on the drawn Axes."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")  # the tests draw off screen; the notebooks choose no backend

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.patches import Rectangle

from analysis.explore import figures

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _hours(first: str, counts: list[int]) -> pd.Series:
    starts = pd.date_range(first, periods=len(counts), freq="1h", tz="UTC")
    return pd.Series(counts, index=starts, name="hour")


def test_each_bar_is_labelled_by_its_own_hour():
    # the old notebook's series began at 01:00 and its 23:00 bar was labelled "02"
    counts = [2, 20, 0, 5] + [0] * 19  # 01:00 .. 23:00, 23 buckets
    counts[-1] = 1
    ax = figures.denials_over_time(_hours("2026-11-28T01:00:00Z", counts))
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == counts
    labels = zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
    ticks = {int(position): label.get_text() for position, label in labels}
    # 23 buckets, at most 12 labels: every second bar, each labelled by the hour it starts
    assert ticks == {i: f"{(1 + i) % 24:02d}:00" for i in range(0, 23, 2)}
    assert ax.patches[0].get_x() == 0 and ax.patches[22].get_x() == 22  # bar i starts at tick i


def test_days_are_labelled_by_date():
    series = pd.Series([3, 4], index=pd.to_datetime(["2026-11-27", "2026-11-28"], utc=True), name="day")
    ax = figures.denials_over_time(series)
    assert [label.get_text() for label in ax.get_xticklabels()] == ["Fri 27 Nov", "Sat 28 Nov"]
    assert ax.get_xlabel() == "day starting (UTC)"


def test_heatmap_writes_each_non_empty_count_in_its_cell():
    matrix = pd.DataFrame(
        [[8, 0, 4], [0, 1, 0]], index=["user/dev-alice", "role/$HOME$"], columns=["a:One", "a:Two", "a:Three"]
    )
    ax = figures.heatmap(matrix, title="t")
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(0, 0): "8", (0, 2): "4", (1, 1): "1"}  # zeros stay blank
    assert [t.get_text() for t in ax.get_yticklabels()] == ["user/dev-alice", r"role/\$HOME\$"]
    ax.figure.canvas.draw()  # a '$' from a log is drawn literally, not parsed as mathtext


def test_heatmap_columns_of_days_are_dates():
    days = pd.to_datetime(["2026-11-22", "2026-11-23"])
    ax = figures.heatmap(pd.DataFrame([[1, 2]], index=["p"], columns=days))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Sun 22 Nov", "Mon 23 Nov"]


def test_ranked_puts_the_largest_on_top():
    ax = figures.ranked(pd.Series([19, 12, 8], index=["svc-legacy", "dev-alice", "Developer_Access"]))
    bars = sorted(ax.patches, key=lambda bar: bar.get_y())
    assert [bar.get_width() for bar in bars] == [8, 12, 19]  # bottom to top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Developer_Access", "dev-alice", "svc-legacy"]


def test_stacked_bars_sum_to_each_rows_total():
    table = pd.DataFrame({"grant": [29, 26], "investigate": [0, 19]}, index=["Sun", "Sat"])
    ax = figures.stacked(table)
    tops = {}
    for bar in ax.patches:
        key = round(bar.get_x() + bar.get_width() / 2)
        tops[key] = max(tops.get(key, 0), bar.get_y() + bar.get_height())
    assert tops == {0: 29, 1: 45}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["grant", "investigate"]


def test_events_are_dots_with_the_first_refused_action_on_top():
    events = pd.DataFrame(
        {
            "time": pd.to_datetime(["2026-11-28T02:14:07Z", "2026-11-28T02:14:31Z", "2026-11-28T02:14:18Z"]),
            "action": ["apprunner:ListServices", "apprunner:ListConnections", "apprunner:ListServices"],
        }
    )
    ax = figures.events_timeline(events)
    dots = next(c for c in ax.collections if isinstance(c, PathCollection))
    assert len(dots.get_offsets()) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["apprunner:ListServices", "apprunner:ListConnections"]
    bottom, top = ax.get_ylim()
    assert top < bottom  # row 0 (the first refused) is drawn at the top


def test_a_stored_reports_events_are_spans_from_first_to_last_denial():
    events = pd.DataFrame(
        {
            "action": ["apprunner:DescribeService", "apprunner:DescribeService", "iam:PassRole"],
            "event_id": ["e1", "e2", None],
            "first_seen": ["2026-11-28T09:00:00Z", "2026-11-28T09:00:00Z", "2026-11-28T08:00:00Z"],
            "last_seen": ["2026-11-28T11:00:00Z", "2026-11-28T11:00:00Z", "2026-11-28T08:30:00Z"],
            "denials": [4, 4, 1],
        }
    )
    ax = figures.events_timeline(events)
    spans = next(c for c in ax.collections if isinstance(c, LineCollection))
    assert len(spans.get_segments()) == 2  # one span per action, not per event ID
    assert [t.get_text() for t in ax.get_yticklabels()] == ["iam:PassRole", "apprunner:DescribeService"]


HOSTILE = r"user/x$\frac{a}{$y<b>"  # an IAM name may hold '$' and '\': mathtext would fail to parse it


@pytest.mark.parametrize(
    "draw",
    [
        lambda title: figures.denials_over_time(_hours("2026-11-28T00:00:00Z", [1]), title=title),
        lambda title: figures.heatmap(pd.DataFrame([[1]], index=[title], columns=[title]), title=title),
        lambda title: figures.ranked(pd.Series([1], index=[title]), title=title),
        lambda title: figures.stacked(pd.DataFrame({title: [1]}, index=[title]), title=title),
        lambda title: figures.events_timeline(
            pd.DataFrame({"time": pd.to_datetime(["2026-11-28T02:14:07Z"]), "action": [title]}), title=title
        ),
    ],
    ids=["over time", "heatmap", "ranked", "stacked", "events"],
)
def test_log_text_in_titles_and_labels_is_drawn_literally(draw):
    ax = draw(f"Denials of {HOSTILE}")
    ax.figure.canvas.draw()  # raised ValueError (ParseSyntaxException) before titles were made plain
    assert ax.get_title() == r"Denials of user/x\$\frac{a}{\$y<b>"


@pytest.mark.parametrize(
    ("draw", "words"),
    [
        (lambda: figures.denials_over_time(pd.Series([], dtype="int64", name="hour")), "no denials in the window"),
        (lambda: figures.heatmap(pd.DataFrame()), "no denials"),
        (lambda: figures.ranked(pd.Series([], dtype="int64")), "nothing to rank"),
        (lambda: figures.stacked(pd.DataFrame(index=pd.to_datetime(["2026-11-22"]))), "no denials"),
        (lambda: figures.events_timeline(pd.DataFrame({"time": [], "action": []})), "no denials"),
    ],
    ids=["over time", "heatmap", "ranked", "stacked", "events"],
)
def test_an_empty_table_draws_a_figure_that_says_so_without_a_warning(draw, words):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = draw()
        ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.texts] == [words]


def test_the_tallest_stack_is_drawn_whole():
    # a zero-height segment on top of the tallest bar used to pin the top of the axes at that bar
    ax = figures.stacked(pd.DataFrame({"investigate": [19, 0], "grant": [0, 7], "none": [0, 0]}, index=["a", "b"]))
    assert ax.get_ylim()[1] > 19


def test_a_day_without_a_report_is_hatched_not_blank():
    days = pd.to_datetime(["2026-11-22", "2026-11-23", "2026-11-24"])
    matrix = pd.DataFrame([[2, float("nan"), 0]], index=["user/dev-alice"], columns=days)
    ax = figures.heatmap(matrix)
    [hatched] = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert hatched.get_xy() == (0.5, -0.5)  # the 23rd's cell; the 24th (0 denials, reported) stays blank
    assert [t.get_text() for t in ax.texts] == ["2"]


def test_a_day_without_a_report_is_marked_in_the_stacked_bars():
    days = pd.to_datetime(["2026-11-22", "2026-11-23"])
    ax = figures.stacked(pd.DataFrame({"grant": [29, float("nan")], "investigate": [0, float("nan")]}, index=days))
    assert [(t.get_text(), t.get_position()[0]) for t in ax.texts] == [("no report", 1)]
    assert [bar.get_height() for bar in ax.patches] == [29, 0, 0, 0]
