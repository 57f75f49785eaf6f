"""Figures of one target portfolio: sector weights and largest active weights.

The risk decomposition draws itself (:func:`plot_risk_decomposition`, beside its data).

Each function draws on the given axes (or a new figure) and returns the matplotlib Figure;
none calls ``plt.show``. Weights and contributions are plotted as fractions and labelled as
percents.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._plots import (
    BENCHMARK_COLOR,
    OVERWEIGHT_COLOR,
    TARGET_COLOR,
    UNDERWEIGHT_COLOR,
    axes_or_new,
    percent_axis,
)


def sector_weights_frame(target) -> pd.DataFrame:
    """Per sector ``target``, ``benchmark`` and ``active`` weights (fractions of NAV).

    ``target`` is a DataFrame with those columns, a ``TargetPortfolio`` (its
    ``diagnostics.sectors``) or any object with ``weights``, ``benchmark`` and ``sectors`` Series.
    """
    if isinstance(target, pd.DataFrame):
        frame = target
    elif hasattr(target, "diagnostics"):
        frame = target.diagnostics.sectors
    else:
        sectors = target.sectors.reindex(target.weights.index)
        frame = pd.DataFrame(
            {
                "target": target.weights.groupby(sectors).sum(),
                "benchmark": target.benchmark.reindex(target.weights.index, fill_value=0.0).groupby(sectors).sum(),
            }
        )
    frame = frame.loc[:, ["target", "benchmark"]].astype(float)
    frame["active"] = frame["target"] - frame["benchmark"]
    return frame


def active_weights_series(target) -> pd.Series:
    """Active weights ``w − w_b`` by asset_id from a Series (returned as is) or a portfolio."""
    if isinstance(target, pd.Series):
        return target.astype(float)
    weights = target.weights
    return (weights - target.benchmark.reindex(weights.index, fill_value=0.0)).rename("active_weight")


def plot_sector_weights(target, ax: Axes | None = None) -> Figure:
    """Target vs benchmark weight of every sector, as paired horizontal bars.

    Parameters
    ----------
    target : TargetPortfolio, DataFrame or portfolio-like
        See :func:`sector_weights_frame`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        Two bar containers, ``benchmark`` then ``target``, one bar per sector (largest benchmark
        sector on top); bar widths are the weights (fractions of NAV).
    """
    frame = sector_weights_frame(target).sort_values("benchmark", ascending=False, kind="stable")
    figure, ax = axes_or_new(ax, (8.0, 0.45 * len(frame) + 1.5))
    y = np.arange(len(frame), dtype=float)
    height = 0.4
    ax.barh(y - height / 2, frame["benchmark"], height, label="benchmark", color=BENCHMARK_COLOR)
    ax.barh(y + height / 2, frame["target"], height, label="target", color=TARGET_COLOR)
    ax.set_yticks(y, frame.index.astype(str))
    ax.invert_yaxis()
    percent_axis(ax.xaxis)
    ax.set_xlabel("weight (% of NAV)")
    ax.set_title("Sector weights: target vs benchmark")
    ax.legend(loc="lower right")
    return figure


def plot_active_weights(target, n: int = 15, ax: Axes | None = None) -> Figure:
    """The ``n`` largest active weights by absolute size, overweights and underweights.

    Parameters
    ----------
    target : TargetPortfolio, Series of active weights or portfolio-like
        See :func:`active_weights_series`.
    n : int
        How many names to show (those with the largest ``|w − w_b|``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        One horizontal bar per name, largest overweight on top, width = active weight
        (fraction of NAV); overweights green, underweights red.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    active = active_weights_series(target)
    largest = active.abs().sort_values(ascending=False, kind="stable").index[:n]
    shown = active.loc[largest].sort_values(ascending=False, kind="stable")
    figure, ax = axes_or_new(ax, (8.0, 0.32 * len(shown) + 1.5))
    y = np.arange(len(shown), dtype=float)
    colors = [OVERWEIGHT_COLOR if value >= 0 else UNDERWEIGHT_COLOR for value in shown]
    ax.barh(y, shown.to_numpy(), 0.7, color=colors, label="active weight")
    ax.set_yticks(y, shown.index.astype(str))
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.8)
    percent_axis(ax.xaxis)
    ax.set_xlabel("active weight, target − benchmark (% of NAV)")
    ax.set_title(f"Largest {len(shown)} active weights")
    return figure
