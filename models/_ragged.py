"""Ragged return histories: names that list and delist inside the data, and short histories.

Real index histories are ragged: a name has no return before it lists and none after it
delists. The rules, applied by :func:`~trimtab.models.load_snapshot`,
:func:`~trimtab.models.load_history` and :meth:`~trimtab.models.MarketHistory.snapshot`:

* **Life.** A name's life runs from its first to its last present return. A missing
  return before the first (not yet listed) or after the last (delisted) is allowed; one
  *inside* the life is a gap and a :class:`DataError` naming the file, the asset and the
  date. Infinite values, text, returns below −1 or (in files) above +10 stay errors.
* **Trading on the as-of date.** A name trades on a date if it has a return that day. At
  each as-of, names that do not trade (delisted, or not yet listed) are dropped from the
  universe — unless the benchmark or the holdings contain them, which is an error naming
  the name and the date.
* **Short history.** The risk window is the trailing ``window`` dates ending on the as-of
  (the whole returns table when no window is given). A trading name is *short-history*
  when it has fewer real returns in the window than the window has dates — i.e. it listed
  after the window's first date (gaps are errors, so its missing days are its first ones).
* **Proxy.** Each missing return of a short-history name in the window is replaced by the
  equal-weighted mean return that day of the *fully observed* names (a real return on every
  date of the window) of its sector; if its sector has none, of all fully observed names.
  Every risk model then covers it; :attr:`MarketSnapshot.short_history` lists such names
  and :attr:`MarketSnapshot.history_days` counts each name's real returns in the window.
  Dates of the returns table *before* the window (when a snapshot keeps a longer table) are
  filled the same way from the fully observed names that have a return that day (else all
  names that do); they do not enter a risk model fitted on the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._errors import DataError
from ._validation import MAX_LISTED, listing


def life_bounds(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each column's first and last present (non-NaN) value.

    Parameters
    ----------
    values : np.ndarray, shape (T, n)
        Returns, NaN where missing.

    Returns
    -------
    first, last : np.ndarray of int, shape (n,)
        ``first = T`` and ``last = −1`` for a column without any value.
    """
    present = ~np.isnan(values)
    t = values.shape[0]
    seen = present.any(axis=0)
    first = np.where(seen, present.argmax(axis=0), t)
    last = np.where(seen, t - 1 - present[::-1].argmax(axis=0), -1)
    return first, last


def check_ragged(values: np.ndarray, dates: pd.DatetimeIndex, assets: pd.Index, where: str) -> None:
    """Refuse infinite returns, gaps inside a name's life and dates on which nothing trades.

    Missing values (NaN) before a name's first return or after its last are allowed.

    Parameters
    ----------
    values : np.ndarray, shape (T, n)
        Daily simple returns (fractions), NaN where missing.
    dates : pd.DatetimeIndex
        The rows' dates (sorted).
    assets : pd.Index
        The columns' asset_ids.
    where : str
        The file or dataset, for the message.

    Raises
    ------
    DataError
        Naming the asset and the date of each offending cell (at most ``MAX_LISTED``).
    """

    def cells(rows: np.ndarray, cols: np.ndarray) -> list[str]:
        return [f"{assets[c]} on {dates[r].date()}" for r, c in zip(rows[:MAX_LISTED], cols[:MAX_LISTED])]

    rows, cols = np.nonzero(np.isinf(values))
    if len(rows):
        shown = [f"{c}: {values[r, k]:g}" for c, r, k in zip(cells(rows, cols), rows, cols)]
        raise DataError(f"{where}: {len(rows)} missing or non-finite return(s), e.g. {listing(shown, len(rows))}")
    missing = np.isnan(values)
    if not missing.any():
        return
    first, last = life_bounds(values)
    position = np.arange(values.shape[0])[:, None]
    rows, cols = np.nonzero(missing & (position > first) & (position < last))
    if len(rows):
        raise DataError(
            f"{where}: {len(rows)} missing or non-finite return(s) inside a name's trading life (after its first "
            f"return and before its last), e.g. {listing(cells(rows, cols), len(rows))}; only returns before a "
            "name's first one (not yet listed) or after its last one (delisted) may be missing"
        )
    empty = np.flatnonzero(missing.all(axis=1))
    if len(empty):
        raise DataError(
            f"{where}: no asset has a return on {len(empty)} date(s) {listing(dates[empty].date, len(empty))}; "
            "remove these rows"
        )


def trading_on(values: np.ndarray, row: int) -> np.ndarray:
    """Boolean mask of the columns with a return in ``row`` (the names that trade that day)."""
    return ~np.isnan(values[row])


def refuse_not_trading(
    held: pd.Series, trading: np.ndarray, day: pd.Timestamp, what: str, where: str
) -> None:
    """DataError if ``held`` (weights by asset, all asset_ids) is positive on a name not trading on ``day``.

    Parameters
    ----------
    held : pd.Series
        Weights (fractions) over every asset_id, in the order of ``trading``.
    trading : np.ndarray of bool
        Whether each name has a return on ``day``.
    day : pd.Timestamp
        The as-of date.
    what : str
        Who holds the names ("the benchmark (universe market_cap)", "holdings file x.csv"), for the message.
    where : str
        The returns file or dataset.
    """
    values = held.to_numpy(dtype=float)
    bad = ~trading & (np.nan_to_num(values, nan=0.0) > 0)
    if bad.any():
        names = held.index[bad].tolist()
        raise DataError(
            f"{where}: {listing(names)} {'has' if len(names) == 1 else 'have'} no return on the as-of date "
            f"{day.date()} (delisted, or not yet listed) but {what} still hold(s) "
            f"{'it' if len(names) == 1 else 'them'}; give the benchmark and the holdings only names that trade "
            "on the as-of date (or a return for that date)"
        )


def fill_short_history(
    values: np.ndarray, sectors: np.ndarray, window: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fill the missing returns of short-history names with their sector's proxy (module docstring).

    Parameters
    ----------
    values : np.ndarray, shape (T, n)
        Daily simple returns of the names that trade on the last row (the as-of), NaN
        before a name's first return.
    sectors : np.ndarray, shape (n,)
        Sector of each column.
    window : int, optional
        The risk window: the last ``window`` rows (all rows when None or longer).

    Returns
    -------
    filled : np.ndarray, shape (T, n)
        ``values`` with every NaN replaced by its proxy (a copy; ``values`` itself when
        nothing is missing).
    real_days : np.ndarray of int, shape (n,)
        Number of real (not proxied) returns of each name in the window.

    Raises
    ------
    DataError
        If some name needs a proxy but no name is fully observed over the window.
    """
    t, n = values.shape
    start = 0 if window is None or window >= t else t - int(window)
    present = ~np.isnan(values)
    real_days = present[start:].sum(axis=0)
    if present.all():
        return values, real_days
    full = real_days == t - start
    if not full.any():
        raise DataError(
            f"no name has a return on every one of the {t - start} dates of the risk window, so short-history "
            "names cannot be proxied; use a shorter window"
        )
    codes, _ = pd.factorize(pd.Series(sectors, dtype=object).fillna(""), sort=True)
    k = int(codes.max()) + 1
    members = np.zeros((n, k))
    members[np.flatnonzero(full), codes[full]] = 1.0  # fully observed names only
    observed = present.astype(float)
    sums = np.where(present, values, 0.0) @ members  # (T, k): sum over the sector's fully observed names
    counts = observed @ members
    market_sum, market_count = sums.sum(axis=1), counts.sum(axis=1)
    anyone = np.nansum(values, axis=1) / np.maximum(present.sum(axis=1), 1)  # before the window only
    with np.errstate(invalid="ignore", divide="ignore"):
        market = np.where(market_count > 0, market_sum / market_count, anyone)
        sector_mean = np.where(counts > 0, sums / counts, market[:, None])
    filled = values.copy()
    gappy = np.flatnonzero(~present.all(axis=0))
    filled[:, gappy] = np.where(present[:, gappy], values[:, gappy], sector_mean[:, codes[gappy]])
    return filled, real_days


@dataclass(frozen=True)
class AsOfCut:
    """The universe of one as-of date cut from a ragged returns table.

    Attributes
    ----------
    keep : np.ndarray of bool, shape (n,)
        The names that trade on the as-of date (the snapshot's universe).
    returns : np.ndarray, shape (T, kept)
        Their returns, short-history gaps filled with proxies.
    short_history : tuple of str
        Short-history names, sorted.
    history_days : pd.Series or None
        Real returns in the window per kept name; None when nothing was proxied.
    """

    keep: np.ndarray
    returns: np.ndarray
    short_history: tuple[str, ...]
    history_days: pd.Series | None


def cut_as_of(
    values: np.ndarray,
    asset_ids: pd.Index,
    sectors: np.ndarray,
    as_of: pd.Timestamp,
    held: Sequence[tuple[pd.Series, str]],
    where: str,
    window: int | None = None,
) -> AsOfCut:
    """Drop the names that do not trade on the last row and proxy the short histories (module docstring).

    Parameters
    ----------
    values : np.ndarray, shape (T, n)
        Daily simple returns ending on the as-of date (last row), NaN where missing.
    asset_ids : pd.Index
        The columns' asset_ids.
    sectors : np.ndarray, shape (n,)
        Sector of each column.
    as_of : pd.Timestamp
        The date of the last row.
    held : sequence of (pd.Series, str)
        Weights over ``asset_ids`` that must not hold a name that does not trade (the
        benchmark, the holdings), each with a description for the message.
    where : str
        The returns file or dataset, for messages.
    window : int, optional
        The risk window (trailing rows); all rows when None.
    """
    trading = trading_on(values, values.shape[0] - 1)
    for weights, what in held:
        refuse_not_trading(weights, trading, as_of, what, where)
    kept = values if trading.all() else values[:, trading]
    filled, real_days = fill_short_history(kept, np.asarray(sectors)[trading], window)
    ids = asset_ids[trading]
    length = kept.shape[0] if window is None else min(int(window), kept.shape[0])
    short = real_days < length
    days = pd.Series(real_days, index=ids, name="history_days") if short.any() else None
    return AsOfCut(trading, filled, tuple(sorted(ids[short])), days)
