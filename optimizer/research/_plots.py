"""What every research figure shares: new figures without pyplot, percent axes, deterministic PNG bytes.

Figures are built on :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so building
one opens no window, needs no interactive backend and never calls ``plt.show``; a figure
returned as the last expression of a Jupyter cell is displayed once. PNG rendering uses Agg.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

#: Dots per inch of report PNGs.
PNG_DPI = 100

#: Colors used across figures (matplotlib's default cycle, named for what they show).
BENCHMARK_COLOR, TARGET_COLOR = "#7f7f7f", "#1f77b4"
OVERWEIGHT_COLOR, UNDERWEIGHT_COLOR = "#2ca02c", "#d62728"
INFEASIBLE_COLOR = "red"


class ResearchFigure(Figure):
    """A matplotlib Figure that draws itself as a PNG in Jupyter (built without pyplot, it has no backend to)."""

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def axes_or_new(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure with one axes of ``figsize`` inches."""
    if ax is not None:
        return ax.get_figure(root=True), ax
    figure = ResearchFigure(figsize=figsize, layout="constrained")
    return figure, figure.add_subplot()


def axes_grid_or_new(
    axes: Sequence[Axes] | None, count: int, figsize: tuple[float, float], *, ncols: int = 1, sharex: bool = False
) -> tuple[Figure, list[Axes]]:
    """``axes`` (at least ``count`` of them) and their figure, or a new figure with ``count`` axes."""
    if axes is not None:
        axes = list(axes)
        if len(axes) < count:
            raise ValueError(f"need {count} axes, got {len(axes)}")
        return axes[0].get_figure(root=True), axes[:count]
    figure = ResearchFigure(figsize=figsize, layout="constrained")
    nrows = -(-count // ncols)
    grid = figure.subplots(nrows, ncols, sharex=sharex, squeeze=False).ravel().tolist()
    for extra in grid[count:]:
        extra.remove()
    return figure, grid[:count]


def percent_axis(axis) -> None:
    """Show fractions (0.01) as percents (1 %) on ``axis`` (``ax.xaxis`` or ``ax.yaxis``)."""
    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))


def figure_png(figure: Figure, dpi: int = PNG_DPI) -> bytes:
    """PNG bytes of ``figure``, identical for identical figures (no date or version metadata)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
