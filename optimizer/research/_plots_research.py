"""Figures of research results: TE frontiers, backtest growth and active return, concentration over time.

Each function draws on the given axes (or a new figure) and returns the matplotlib Figure;
none calls ``plt.show``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from ._backtest_stats import cumulative_growth
from ._plots import INFEASIBLE_COLOR, axes_grid_or_new, axes_or_new, percent_axis

#: Label of the markers that flag infeasible frontier points.
INFEASIBLE_LABEL = "infeasible"

_FRONTIER_COLUMNS = ("bound", "tracking_error", "feasible")


def plot_frontier(
    points: pd.DataFrame | Mapping[str, pd.DataFrame],
    ax: Axes | None = None,
    *,
    xlabel: str = "bound",
    title: str = "Tracking error frontier",
    x_percent: bool = False,
) -> Figure:
    """Tracking error against a constraint's bound; infeasible bounds marked, not dropped.

    Parameters
    ----------
    points : DataFrame or mapping of name to DataFrame
        Columns ``bound``, ``tracking_error`` (annualized fraction; NaN when infeasible) and
        ``feasible`` (bool). Several frontiers as ``{name: points}`` share the axes.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    xlabel, title : str
        Axis label for the swept bound and the figure title.
    x_percent : bool
        Show the bounds (fractions) as percents, e.g. a gain budget in % of NAV.

    Returns
    -------
    matplotlib.figure.Figure
        Per frontier, one line through its feasible points (labelled with its name) and, when
        some bound is infeasible, red × markers at those bounds on the bottom edge of the axes
        (labelled ``infeasible``).

    Raises
    ------
    ValueError
        A frame lacks one of the columns.
    """
    frontiers = {"": points} if isinstance(points, pd.DataFrame) else dict(points)
    figure, ax = axes_or_new(ax, (8.0, 5.0))
    bottom_edge = blended_transform_factory(ax.transData, ax.transAxes)
    for name, frame in frontiers.items():
        missing = [c for c in _FRONTIER_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"frontier {name or 'points'}: missing column(s) {missing}")
        frame = frame.sort_values("bound", kind="stable")
        feasible = frame["feasible"].astype(bool) & np.isfinite(frame["tracking_error"].astype(float))
        solved = frame.loc[feasible]
        ax.plot(solved["bound"], solved["tracking_error"], marker="o", label=name or "tracking error")
        failed = frame.loc[~feasible, "bound"].to_numpy(float)
        if len(failed):
            label = INFEASIBLE_LABEL if not name else f"{name}: {INFEASIBLE_LABEL}"
            ax.plot(
                failed, np.zeros_like(failed), linestyle="none", marker="x", markersize=9, markeredgewidth=2,
                color=INFEASIBLE_COLOR, transform=bottom_edge, clip_on=False, label=label,
            )
    percent_axis(ax.yaxis)
    if x_percent:
        percent_axis(ax.xaxis)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("tracking error (annualized)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return figure


def cumulative_active_return(returns: pd.DataFrame, benchmark: str = "cap_weighted") -> pd.DataFrame:
    """Geometric cumulative active return of every other column vs ``benchmark``.

    ``G_p / G_b − 1`` with ``G`` the growth of 1: the relative wealth against the benchmark
    (fraction; 0.05 = 5 % ahead).
    """
    if benchmark not in returns.columns:
        raise ValueError(f"returns have no {benchmark!r} column (columns: {list(returns.columns)})")
    growth = cumulative_growth(returns)
    others = [c for c in growth.columns if c != benchmark]
    return growth[others].div(growth[benchmark], axis=0) - 1.0


def plot_backtest(
    returns: pd.DataFrame, axes: Sequence[Axes] | None = None, *, benchmark: str = "cap_weighted"
) -> Figure:
    """Cumulative growth of 1 for each policy and, below, cumulative active return vs the benchmark.

    Parameters
    ----------
    returns : DataFrame
        Daily simple returns (fractions) on a DatetimeIndex, one column per policy, e.g.
        ``optimized``, ``cap_weighted``, ``equal_weighted``.
    axes : two matplotlib Axes, optional
        Growth panel and active-return panel; a new figure when omitted.
    benchmark : str
        Column the active return is measured against.

    Returns
    -------
    matplotlib.figure.Figure
        Top: one line per column, ``cumprod(1 + r)``. Bottom: one line per other column,
        ``growth / growth[benchmark] − 1``, and a dashed zero line.
    """
    active = cumulative_active_return(returns, benchmark)
    figure, (top, bottom) = axes_grid_or_new(axes, 2, (10.0, 7.0), sharex=True)
    colors = {}
    for column, values in cumulative_growth(returns).items():
        (line,) = top.plot(values.index, values.to_numpy(), label=str(column))
        colors[column] = line.get_color()
    top.set_ylabel("growth of 1")
    top.set_title("Cumulative return")
    top.legend()
    top.grid(alpha=0.3)
    for column, values in active.items():
        bottom.plot(values.index, values.to_numpy(), label=str(column), color=colors[column])
    bottom.axhline(0.0, color="black", linewidth=0.8, linestyle="--")
    percent_axis(bottom.yaxis)
    bottom.set_ylabel(f"active return vs {benchmark}")
    bottom.set_title(f"Cumulative active return vs {benchmark}")
    bottom.legend()
    bottom.grid(alpha=0.3)
    return figure


def plot_concentration(frame: pd.DataFrame, axes: Sequence[Axes] | None = None) -> Figure:
    """Concentration measures over time, one panel per measure (their scales differ).

    Parameters
    ----------
    frame : DataFrame
        Dates × measures, e.g. ``top_10_weight``, ``hhi`` (fractions), ``effective_n``
        (names) and a group weight such as ``MAG7`` (fraction).
    axes : sequence of matplotlib Axes, optional
        One per column; a new figure with shared dates when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One line per column, in its own panel titled with the column name.
    """
    if frame.shape[1] == 0:
        raise ValueError("no concentration measures to plot")
    figure, grid = axes_grid_or_new(axes, frame.shape[1], (10.0, 2.2 * frame.shape[1] + 1.0), sharex=True)
    for ax, (column, values) in zip(grid, frame.items()):
        ax.plot(values.index, values.to_numpy(float), label=str(column))
        ax.set_title(str(column))
        ax.grid(alpha=0.3)
    figure.suptitle("Concentration over time")
    return figure
