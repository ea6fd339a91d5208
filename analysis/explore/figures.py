"""The notebooks' figures: each function draws one question's answer on a matplotlib ``Axes`` and returns it.

Each takes the table a helper of :mod:`analysis.explore` made (nothing is computed here but layout), draws on
``ax`` when given (a grid of figures) or on a new figure sized to its data, and never chooses a backend: in a
notebook the figure shows inline, in a script it goes wherever ``matplotlib`` is set to send it.
Text from the logs (principal names, actions) is drawn as plain text, never as mathtext.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from analysis.contract import Severity

DENIED = "#b22222"
MISSING = "#888888"  # what has no data: a day without a report, an empty figure's words
SEVERITY_COLOURS: dict[Severity, str] = {
    "critical": "#7f0000",
    "high": "#d7301f",
    "medium": "#fc8d59",
    "low": "#fdcc8a",
}
REMEDY_COLOURS = {
    "grant": "#1b9e77",
    "cross_account_role": "#7570b3",
    "permission_set": "#66a61e",
    "review_deny": "#d95f02",
    "org_policy": "#e7298a",
    "investigate": "#444444",
    "none": "#bbbbbb",
}
TIME_LABELS = {"minute": "%H:%M", "hour": "%H:%M", "day": "%a %d %b", "week": "%d %b", "month": "%b %Y"}
MAX_TICKS = 12  # labelled buckets along a time axis; the others keep their bar, unlabelled


def plain(text: object) -> str:
    """``text`` as matplotlib draws it literally: a ``$`` in a name would otherwise start mathtext."""
    return str(text).replace("$", r"\$")


def denials_over_time(series: pd.Series, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Bars of denials per bucket (``analysis.explore.day.denials_over_time``); each bar is labelled by its own
    bucket's start, in UTC."""
    ax = ax or _axes(10, 3)
    unit = str(series.name or "hour")
    _title(ax, title or f"Denials per {unit}")
    if series.empty:
        return _nothing(ax, "no denials in the window")
    positions = range(len(series))
    ax.bar(positions, series.to_numpy(), width=0.85, color=DENIED, align="edge")
    step = max(1, -(-len(series) // MAX_TICKS))
    ticks = list(positions)[::step]
    labels = [pd.Timestamp(series.index[i]).strftime(TIME_LABELS.get(unit, "%Y-%m-%d %H:%M")) for i in ticks]
    ax.set_xticks(ticks, labels, rotation=0 if unit in ("hour", "minute") else 30, ha="left")
    ax.set_xlim(0, len(series))
    ax.set_ylabel("denials")
    ax.set_xlabel(f"{unit} starting (UTC)")
    _whole_numbers(ax, "y")
    return ax


def heatmap(matrix: pd.DataFrame, *, ax: Axes | None = None, title: str = "", cmap: str = "Reds") -> Axes:
    """A count per cell (``principal_action_matrix`` and the like): darker is more, zero cells are blank, each
    non-zero cell shows its number. A missing cell (NaN: a day without a stored report) is hatched grey, so a
    day nobody reported does not look like a day without denials."""
    rows, columns = matrix.shape
    label_inches = 0.07 * max((len(str(r)) for r in matrix.index), default=0)  # 8-point labels
    ax = ax or _axes(max(6.0, 0.55 * columns + label_inches + 1.0), max(2.5, 0.38 * rows + 1.5))
    _title(ax, title)
    if matrix.empty:
        return _nothing(ax, "no denials")
    values = matrix.astype(float).reset_index(drop=True).T.reset_index(drop=True).T  # positions, not labels
    ax.imshow(values.where(values > 0).to_numpy(), cmap=cmap, aspect="auto", vmin=0)
    top = float(values.max().max())
    for (row, column), value in values.stack(future_stack=True).items():  # type: ignore[misc]
        if pd.isna(value):
            ax.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, hatch="///", edgecolor=MISSING))
        elif value > 0:
            colour = "white" if value > top * 0.6 else "black"
            ax.text(float(column), float(row), f"{value:.0f}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(columns), [_tick(c) for c in matrix.columns], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(rows), [plain(r) for r in matrix.index], fontsize=8)
    return ax


def ranked(values: pd.Series, *, ax: Axes | None = None, title: str = "", xlabel: str = "denials") -> Axes:
    """Horizontal bars, the largest on top (a top-N table's count column indexed by name)."""
    ax = ax or _axes(8, max(2.0, 0.35 * len(values) + 1.0))
    _title(ax, title)
    if values.empty:
        return _nothing(ax, "nothing to rank")
    ordered = values.iloc[::-1]
    ax.barh(range(len(ordered)), ordered.to_numpy(), color=DENIED)
    ax.set_yticks(range(len(ordered)), [plain(i) for i in ordered.index], fontsize=8)
    for position, value in enumerate(ordered.to_numpy()):
        ax.text(float(value), position, f" {value:g}", va="center", fontsize=8)
    ax.set_xlabel(xlabel)
    _whole_numbers(ax, "x")
    return ax


def stacked(table: pd.DataFrame, *, ax: Axes | None = None, title: str = "", colours: Sequence[str] = ()) -> Axes:
    """Stacked bars, one per row of ``table`` (a day, a severity), one colour per column (a remedy kind). A row
    that is all missing (NaN: a day without a stored report) is marked "no report" instead of a bar."""
    ax = ax or _axes(9, 3.5)
    _title(ax, title)
    if table.empty or table.columns.empty:
        return _nothing(ax, "no denials")
    counts = table.astype(float)
    missing = counts.isna().all(axis=1).to_numpy()
    bottom = pd.Series(0.0, index=table.index)
    palette = list(colours) or [REMEDY_COLOURS.get(str(c), "#999999") for c in table.columns]
    for column, colour in zip(table.columns, palette, strict=False):
        heights = counts[column].fillna(0.0)
        ax.bar(range(len(table)), heights.to_numpy(), bottom=bottom.to_numpy(), color=colour, label=plain(column))
        bottom += heights
    for position in [i for i, gap in enumerate(missing) if gap]:
        ax.text(position, 0, "no report", rotation=90, ha="center", va="bottom", fontsize=8, color=MISSING)
    ax.set_xticks(range(len(table)), [_tick(i) for i in table.index], rotation=0, fontsize=8)
    ax.set_ylim(0, max(float(bottom.max()), 1.0) * 1.05)  # the tallest bar whole, whatever sits on it at zero
    ax.set_ylabel("denials")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _whole_numbers(ax, "y")
    return ax


def events_timeline(events: pd.DataFrame, *, ax: Axes | None = None, title: str = "") -> Axes:
    """One dot per denial of a principal (``drill.principal_events``: ``time`` and ``action``), an action per row,
    in the order they were first refused: a sweep shows as a diagonal, a retry loop as a line of dots. A stored
    report keeps no per-denial times (``first_seen`` and ``last_seen`` per action instead): each action is then a
    bar from its first denial to its last."""
    if events.empty:
        ax = ax or _axes(10, 2)
        _title(ax, title)
        return _nothing(ax, "no denials")
    start = "time" if "time" in events else "first_seen"
    actions = list(events.sort_values(start, kind="stable")["action"].drop_duplicates())  # first refused on top
    ax = ax or _axes(10, max(2.0, 0.3 * len(actions) + 1.2))
    rows = {action: position for position, action in enumerate(actions)}
    if "time" in events:
        times = _naive_utc(events["time"])
        ax.scatter(times, events["action"].map(rows), color=DENIED, s=18, zorder=3)
    else:
        spans = events.drop_duplicates("action")
        first, last = _naive_utc(spans["first_seen"]), _naive_utc(spans["last_seen"])
        ax.hlines(spans["action"].map(rows), first, last, color=DENIED, linewidth=6)
        ax.scatter(first, spans["action"].map(rows), color=DENIED, s=18, zorder=3)
    ax.set_yticks(range(len(actions)), [plain(a) for a in actions], fontsize=8)
    ax.set_ylim(len(actions) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("time (UTC)")
    _title(ax, title)
    ax.figure.autofmt_xdate()
    return ax


def _naive_utc(values: pd.Series) -> pd.Series:
    """Times as UTC without a zone (matplotlib's dates)."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None)


def _title(ax: Axes, title: str) -> None:
    ax.set_title(plain(title))


def _nothing(ax: Axes, words: str) -> Axes:
    """An empty figure that says why it is empty (rather than an empty frame of axes, or a warning)."""
    ax.text(0.5, 0.5, words, ha="center", va="center", transform=ax.transAxes, color=MISSING)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _axes(width: float, height: float) -> Axes:
    _figure, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return ax


def _tick(label: object) -> str:
    if isinstance(label, pd.Timestamp):
        return label.strftime("%a %d %b")
    return plain(label)


def _whole_numbers(ax: Axes, axis: str) -> None:
    from matplotlib.ticker import MaxNLocator

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_locator(MaxNLocator(integer=True))
