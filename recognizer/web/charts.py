"""The dashboard's charts: rows in, PNG bytes out.

Pure functions, no request and no database: the views read the rows through
selectors and pass them in. Drawn with matplotlib's object API on the Agg
canvas (no pyplot state), so concurrent requests never share a figure.
"""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BLUE = "#3b6fd4"
ORANGE = "#e07b39"
RED = "#c0392b"
# The first import of matplotlib must happen once: two request threads importing it at the same moment can
# see a half-initialised module ("module 'matplotlib' has no attribute 'get_data_path'", a 500).
_IMPORT_LOCK = threading.RLock()


def _figure(width: float, height: float) -> Figure:
    # Imported here: matplotlib costs a second to import, and only chart requests need it.
    with _IMPORT_LOCK:
        from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def daily_chart(rows: list[dict], *, days: int) -> bytes:
    """Draw submissions and corrections per day; `rows` holds `day`, `total` and `corrected`, oldest first."""
    from matplotlib.ticker import MaxNLocator

    figure = _figure(6, 3)
    axes = figure.add_subplot()
    positions = range(len(rows))
    axes.bar(positions, [row["total"] for row in rows], color=BLUE, label="submissions")
    axes.bar(positions, [row["corrected"] for row in rows], color=ORANGE, label="corrected")
    step = max(1, len(rows) // 8)
    axes.set_xticks(positions[::step], [row["day"].strftime("%b %d") for row in rows][::step], fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"submissions per day, last {days} days (UTC)")
    axes.legend(loc="upper left", fontsize=8)
    return _png(figure)


def accuracy_chart(rows: list[dict]) -> bytes:
    """Draw live accuracy per model version; `rows` as `model_version_live_accuracy` returns them."""
    figure = _figure(6, 3)
    axes = figure.add_subplot()
    labels = [f"v{row['number']}" for row in rows]
    axes.bar(labels, [row["accuracy"] or 0 for row in rows], color=BLUE, label="all predictions")
    axes.plot(labels, [row["feedback_accuracy"] for row in rows], "o", color=ORANGE, label="with feedback only")
    axes.set_ylim(0, 1)
    axes.set_title("live accuracy per model version, from people's corrections")
    axes.legend(loc="lower left", fontsize=8)
    if not rows:
        axes.text(0.5, 0.5, "no predictions yet", ha="center", va="center", transform=axes.transAxes)
    return _png(figure)


def confused_chart(rows: list[dict]) -> bytes:
    """Draw the most confused digit pairs; `rows` holds `true`, `predicted` and `count`, most frequent first."""
    from matplotlib.ticker import MaxNLocator

    figure = _figure(6, 3)
    axes = figure.add_subplot()
    labels = [f"{row['true']} read as {row['predicted']}" for row in rows][::-1]
    axes.barh(labels, [row["count"] for row in rows][::-1], color=RED)
    axes.set_title("most confused digit pairs (true read as predicted)")
    axes.set_xlabel("corrections")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not rows:
        axes.text(0.5, 0.5, "no corrections yet", ha="center", va="center", transform=axes.transAxes)
    return _png(figure)


def reliability_chart(bins: list[dict], *, title: str) -> bytes:
    """Draw a reliability diagram: per confidence bin, how often the answers were right, against the diagonal."""
    figure = _figure(4.5, 4.2)
    axes = figure.add_subplot()
    filled = [row for row in bins if row["count"]]
    axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfectly calibrated")
    axes.bar(
        [(row["low"] + row["high"]) / 2 for row in filled],
        [row["accuracy"] for row in filled],
        width=[row["high"] - row["low"] for row in filled],
        color=BLUE,
        edgecolor="white",
        label="accuracy",
    )
    axes.plot([row["confidence"] for row in filled], [row["accuracy"] for row in filled], "o", color=ORANGE, ms=4)
    for row in filled:
        axes.annotate(f"{row['count']:,}", ((row["low"] + row["high"]) / 2, 0.02), ha="center", fontsize=6, rotation=90)
    axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence", ylabel="accuracy", title=title)
    axes.legend(loc="upper left", fontsize=8)
    return _png(figure)


def metrics_chart(metrics: dict, *, title: str) -> bytes:
    """Draw one evaluation's per-class accuracy and confusion matrix, as training's reports do."""
    from training.evaluate import plot_metrics

    buffer = io.BytesIO()
    # plot_metrics draws with pyplot, whose state is global: one chart at a time.
    with _IMPORT_LOCK:
        plot_metrics(metrics, buffer, title=title)
    return buffer.getvalue()
