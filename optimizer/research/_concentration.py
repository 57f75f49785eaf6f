"""Concentration of a portfolio or an index: the figures the mega-cap analysis uses.

Pure functions on weights (``pd.Series`` by asset_id, fractions of NAV) and daily simple
returns (``pd.DataFrame``, dates × asset_id, fractions). Every measure is taken on the
weights normalized to sum to 1, so a portfolio holding cash is measured on what it invests.

Drift: a buy-and-hold portfolio's weights move with prices. From weights ``w`` at one date,
the weights at date ``t`` are ``w ∘ G_t / Σ(w ∘ G_t)`` with ``G_t`` each name's cumulative
growth ``Π(1 + r)`` up to ``t``; from weights at the *end* of a window the same formula runs
backward (``w_t ∝ w_end ∘ G_t / G_end``). Both assume no trading and no index changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np
import pandas as pd

from trimtab.models import DataError

#: Weights this far below zero are round-off; anything more negative is an error.
NEGATIVE_ROUNDOFF = 1e-12

#: A portfolio return over the window smaller than this in magnitude (fraction) is treated
#: as zero: shares of a zero total are undefined and reported as NaN.
ZERO_RETURN = 1e-6

WeightsAt = Literal["start", "end"]


# -- validation -------------------------------------------------------------------------
def normalized(weights: pd.Series, *, name: str = "weights") -> pd.Series:
    """Weights scaled to sum to 1 (fractions of the invested total).

    Raises
    ------
    DataError
        Empty, non-finite, negative (beyond round-off) or all-zero weights, naming the asset.
    """
    values = pd.Series(weights, dtype=float)
    if values.empty:
        raise DataError(f"{name}: no weights")
    bad = values.index[~np.isfinite(values.to_numpy())]
    if len(bad):
        raise DataError(f"{name}: non-finite weight for {list(bad[:10])}")
    negative = values.index[values.to_numpy() < -NEGATIVE_ROUNDOFF]
    if len(negative):
        raise DataError(f"{name}: negative weight for {list(negative[:10])} (concentration needs long-only weights)")
    values = values.clip(lower=0.0)
    total = float(values.sum())
    if total <= 0:
        raise DataError(f"{name}: weights sum to zero")
    return values / total


def _aligned_returns(weights: pd.Series, returns: pd.DataFrame, window: int | None) -> pd.DataFrame:
    """The last ``window`` rows of ``returns`` for the weights' assets, checked finite."""
    missing = weights.index.difference(returns.columns)
    if len(missing):
        raise DataError(f"returns lack asset(s) {list(missing[:10])}")
    if window is not None:
        if window < 1 or window > len(returns):
            raise DataError(f"window of {window} days, but the returns cover {len(returns)} days")
        returns = returns.iloc[-window:]
    block = returns[weights.index].astype(float)
    if not np.all(np.isfinite(block.to_numpy())):
        raise DataError("returns contain missing or non-finite values for the portfolio's assets")
    return block


def _members(weights: pd.Series, members: Iterable[str], group: str) -> pd.Index:
    index = pd.Index(list(members))
    unknown = index.difference(weights.index)
    if len(unknown):
        raise DataError(f"group {group!r}: asset(s) {list(unknown[:10])} are not in the weights")
    return index


# -- weights ----------------------------------------------------------------------------
def top_n_weight(weights: pd.Series, n: int = 10) -> float:
    """Share of the total weight in the ``n`` largest positions (fraction, 0–1)."""
    return float(normalized(weights).nlargest(n).sum())


def hhi(weights: pd.Series) -> float:
    """Herfindahl-Hirschman index ``Σ w²`` of the weights normalized to sum 1 (1/n … 1)."""
    w = normalized(weights).to_numpy()
    return float(w @ w)


def effective_n(weights: pd.Series) -> float:
    """Effective number of stocks ``1 / HHI``: n for equal weights, 1 for a single name."""
    return 1.0 / hhi(weights)


def sector_weights(weights: pd.Series, sectors: pd.Series) -> pd.Series:
    """Weight of each sector (normalized weights summed by sector, fractions)."""
    missing = weights.index.difference(sectors.index)
    if len(missing):
        raise DataError(f"no sector for asset(s) {list(missing[:10])}")
    return normalized(weights).groupby(sectors.reindex(weights.index)).sum()


def sector_hhi(weights: pd.Series, sectors: pd.Series) -> float:
    """HHI of the sector weights, ``Σ_s W_s²`` (1/#sectors … 1)."""
    s = sector_weights(weights, sectors).to_numpy()
    return float(s @ s)


def group_weight(weights: pd.Series, members: Iterable[str], *, group: str = "group") -> float:
    """Share of the total weight held in ``members`` (fraction)."""
    w = normalized(weights)
    return float(w[_members(w, members, group)].sum())


def equal_weights(asset_ids: Iterable[str]) -> pd.Series:
    """The equal-weighted portfolio ``1/n`` on ``asset_ids``."""
    index = pd.Index(list(asset_ids), name="asset_id")
    if index.empty:
        raise DataError("equal weights of an empty universe")
    return pd.Series(1.0 / len(index), index=index, name="equal_weight")


# -- drift and return contribution ------------------------------------------------------
def drifted_weights(
    weights: pd.Series, returns: pd.DataFrame, *, weights_at: WeightsAt = "end", window: int | None = None
) -> pd.DataFrame:
    """Buy-and-hold weights at the close of each day of the window (dates × asset_id).

    Parameters
    ----------
    weights : pd.Series
        Weights by asset_id (normalized here).
    returns : pd.DataFrame
        Daily simple returns, dates × asset_id.
    weights_at : {"end", "start"}
        ``"end"``: ``weights`` are held at the close of the window's last day and drift
        backward (the last row equals them). ``"start"``: they are held just before the
        window's first day (the first row is them after one day of returns).
    window : int, optional
        Use the last ``window`` days of ``returns``; all of them when omitted.
    """
    w = normalized(weights)
    growth = (1.0 + _aligned_returns(w, returns, window)).cumprod()
    if weights_at == "end":
        growth = growth / growth.iloc[-1]
    elif weights_at != "start":
        raise ValueError(f"weights_at must be 'start' or 'end', not {weights_at!r}")
    held = growth * w.to_numpy()
    return held.div(held.sum(axis=1), axis=0)


def start_weights(weights: pd.Series, returns: pd.DataFrame, *, weights_at: WeightsAt, window: int | None) -> pd.Series:
    """Weights held just before the window's first day (normalized)."""
    w = normalized(weights)
    if weights_at == "start":
        return w
    if weights_at != "end":
        raise ValueError(f"weights_at must be 'start' or 'end', not {weights_at!r}")
    growth = (1.0 + _aligned_returns(w, returns, window)).prod()
    return normalized(w / growth)


def return_contributions(
    weights: pd.Series, returns: pd.DataFrame, *, weights_at: WeightsAt = "end", window: int | None = None
) -> pd.Series:
    """Each name's buy-and-hold contribution to the portfolio's return over the window.

    ``c_i = w_start,i × (Π(1 + r_i) − 1)``; ``Σ c_i`` is the portfolio's cumulative return
    over the window (fraction). ``w_start`` are the weights at the window's start:
    ``weights`` themselves (``weights_at="start"``) or drifted back from the end
    (``"end"``, the default: "the portfolio that holds these weights today").
    """
    w0 = start_weights(weights, returns, weights_at=weights_at, window=window)
    cumulative = (1.0 + _aligned_returns(w0, returns, window)).prod() - 1.0
    return (w0 * cumulative).rename("contribution")


def top_n_return_share(
    weights: pd.Series, returns: pd.DataFrame, n: int = 10, *, weights_at: WeightsAt = "end", window: int | None = None
) -> float:
    """Share of the portfolio's window return contributed by its ``n`` largest positions.

    The ``n`` names are the largest by ``weights`` (the same names as :func:`top_n_weight`).
    The share is ``Σ_top c_i / Σ_all c_i`` with ``c`` from :func:`return_contributions`.
    When the portfolio lost money the ratio keeps its sign convention — the fraction of the
    *loss* the top names account for (a negative share: they gained while the rest lost more).
    When the total is within ±:data:`ZERO_RETURN` the share is undefined: NaN.
    """
    contributions = return_contributions(weights, returns, weights_at=weights_at, window=window)
    total = float(contributions.sum())
    if abs(total) < ZERO_RETURN:
        return float("nan")
    top = normalized(weights).nlargest(n).index
    return float(contributions[top].sum() / total)


def group_weight_over_time(
    weights: pd.Series,
    returns: pd.DataFrame,
    members: Iterable[str],
    *,
    weights_at: WeightsAt = "end",
    window: int | None = None,
) -> pd.Series:
    """The group's share of the drifting portfolio at each day's close (fraction)."""
    drifted = drifted_weights(weights, returns, weights_at=weights_at, window=window)
    return drifted[_members(drifted.iloc[-1], members, "group")].sum(axis=1).rename("group_weight")


def relative_performance(
    weights: pd.Series,
    returns: pd.DataFrame,
    members: Iterable[str],
    *,
    weights_at: WeightsAt = "end",
    window: int | None = None,
) -> pd.DataFrame:
    """Cumulative return of the group's weighted sub-portfolio against the rest's.

    Both sub-portfolios start from ``weights`` (cap weights for the benchmark) at the
    window's start, normalized within each side, and are held without trading.

    Returns
    -------
    pd.DataFrame
        Dates × ``group``, ``rest`` (cumulative returns, fractions) and ``relative``
        ``(1 + group) / (1 + rest) − 1``.
    """
    w0 = start_weights(weights, returns, weights_at=weights_at, window=window)
    inside = _members(w0, members, "group")
    outside = w0.index.difference(inside)
    if inside.empty or outside.empty:
        raise DataError("relative performance needs names both inside and outside the group")
    growth = (1.0 + _aligned_returns(w0, returns, window)).cumprod()

    def cumulative(names: pd.Index) -> pd.Series:
        part = normalized(w0[names], name="group weights")
        return growth[names] @ part - 1.0

    group, rest = cumulative(inside), cumulative(outside)
    return pd.DataFrame({"group": group, "rest": rest, "relative": (1.0 + group) / (1.0 + rest) - 1.0})


# -- tables -----------------------------------------------------------------------------
def concentration_table(
    portfolios: Mapping[str, pd.Series],
    returns: pd.DataFrame,
    sectors: pd.Series,
    groups: Mapping[str, Iterable[str]],
    top_n: int = 10,
    *,
    window: int | None = 252,
    weights_at: WeightsAt = "end",
) -> pd.DataFrame:
    """Concentration measures of several portfolios side by side.

    Parameters
    ----------
    portfolios : mapping of str to pd.Series
        Weights by asset_id, e.g. ``{"benchmark": w_b, "target": w, "equal_weight": 1/n}``.
    returns : pd.DataFrame
        Daily simple returns, dates × asset_id.
    sectors : pd.Series
        Sector of each asset_id.
    groups : mapping of str to asset ids
        Named groups (``{"MAG7": (...)}``); one weight column each.
    top_n : int
        How many of the largest positions count as the top.
    window : int, optional
        Trading days of returns for the return share (the last ones); all when None.
    weights_at : {"end", "start"}
        Whether the weights are held at the window's end (default) or start.

    Returns
    -------
    pd.DataFrame
        One row per portfolio; columns ``top_n_weight``, ``top_n_return_share``,
        ``window_return`` (the portfolio's buy-and-hold return over the window), ``hhi``,
        ``effective_n``, ``sector_hhi`` and one column per group (its weight share).
    """
    if top_n < 1:
        raise DataError(f"top_n must be at least 1, got {top_n}")
    rows = {}
    for name, weights in portfolios.items():
        w = normalized(weights, name=name)
        contributions = return_contributions(w, returns, weights_at=weights_at, window=window)
        rows[name] = {
            "top_n_weight": top_n_weight(w, top_n),
            "top_n_return_share": top_n_return_share(w, returns, top_n, weights_at=weights_at, window=window),
            "window_return": float(contributions.sum()),
            "hhi": hhi(w),
            "effective_n": effective_n(w),
            "sector_hhi": sector_hhi(w, sectors),
            **{group: group_weight(w, members, group=group) for group, members in groups.items()},
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "portfolio"
    table.attrs.update(top_n=top_n, window=window)
    return table


def concentration_over_time(
    weights_end: pd.Series,
    returns: pd.DataFrame,
    sectors: pd.Series,
    groups: Mapping[str, Iterable[str]],
    freq: str | None = "ME",
    *,
    top_n: int = 10,
) -> pd.DataFrame:
    """How concentrated the buy-and-hold portfolio ending at ``weights_end`` was, over time.

    The weights drift backward from ``weights_end`` over every day of ``returns`` and are
    measured on the last trading day of each ``freq`` period (pandas offset alias, ``"ME"``
    month end, ``"QE"``, ``"YE"``; ``None`` for every day).

    Returns
    -------
    pd.DataFrame
        Dates × ``top_{n}_weight``, ``hhi``, ``effective_n``, ``sector_hhi`` and one column
        per group (its weight share), fractions.
    """
    drifted = drifted_weights(weights_end, returns, weights_at="end")
    if freq is not None:
        last_days = drifted.index.to_series().resample(freq).last().dropna()
        drifted = drifted.loc[pd.DatetimeIndex(last_days.to_numpy())]
    values = drifted.to_numpy()
    top = -np.sort(-values, axis=1)[:, :top_n].sum(axis=1)
    herfindahl = (values**2).sum(axis=1)
    missing = drifted.columns.difference(sectors.index)
    if len(missing):
        raise DataError(f"no sector for asset(s) {list(missing[:10])}")
    by_sector = drifted.T.groupby(sectors.reindex(drifted.columns)).sum().T
    frame = pd.DataFrame(
        {
            f"top_{top_n}_weight": top,
            "hhi": herfindahl,
            "effective_n": 1.0 / herfindahl,
            "sector_hhi": (by_sector**2).sum(axis=1).to_numpy(),
        },
        index=drifted.index,
    )
    for group, members in groups.items():
        frame[group] = drifted[_members(drifted.iloc[-1], members, group)].sum(axis=1)
    frame.index.name = "date"
    return frame
