"""A market through time: the daily returns, benchmark and characteristics a backtest walks.

A :class:`MarketHistory` holds a static asset table (sectors, identifiers, raw
fundamentals, and — where known — market caps and prices **on the last date**) and the full
daily returns, which may be ragged (names listing and delisting; rules: :mod:`._ragged`).
Everything dated is derived from those, so the pieces cannot disagree:

* market cap and price drift with returns: ``cap(t) = cap(T) / Π_{s in (t, T]} (1 + r_s)``
  (a missing return counts as 0, so a name that stopped trading keeps its last cap);
* the benchmark is either point-in-time constituents (:mod:`._benchmark_weights`: the file's
  last date on or before ``t``, drifted to ``t``) or a buy-and-hold of its last-date
  holdings (by default the market caps, i.e. a cap-weighted index) drifted back to ``t``,
  over the names that trade on ``t``;
* characteristics are the raw fundamentals, held fixed, re-standardized against the
  benchmark weights of the date over the names that trade that day (``size`` is the log
  market cap of the date, when caps are given).

:meth:`MarketHistory.snapshot` cuts a :class:`MarketSnapshot` as of any date: the names
that trade that day, the trailing window of returns ending that day (short histories
proxied) and the benchmark, caps and characteristics of that day.
:meth:`MarketHistory.characteristics_on` scores the characteristics of many dates in one
vectorized pass (a backtest's rebalances) and keeps them for those dates' snapshots.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd

from ._benchmark_weights import PointInTimeWeights
from ._characteristics import characteristics_over, standardize_array, winsorize_array
from ._errors import DataError
from ._ragged import check_ragged, cut_as_of
from ._snapshot import MarketSnapshot, missing_caps_message

__all__ = ["MarketHistory"]

#: Asset-table columns a history may leave out (added as missing, NaN): caps, prices, ADV.
OPTIONAL_ASSET_COLUMNS = ("market_cap", "price", "adv")

#: Dates × assets scored together by :meth:`MarketHistory.characteristics_on` (the rest in
#: further passes): 400 dates of 500 names, 20 of 10,000 — tens of MB of temporaries.
CHARACTERISTICS_BATCH_CELLS = 200_000


@dataclass(frozen=True)
class MarketHistory:
    """Daily market data over many years, from which a snapshot can be cut on any date.

    Parameters
    ----------
    dataset : str
        Human-readable name of the data, copied into every snapshot.
    assets : pd.DataFrame
        One row per asset, indexed by ``asset_id`` (sorted). Required column: ``sector``.
        Optional (NaN or absent when unknown, positive and finite where given):
        ``market_cap`` (USD, on the last date — or on a name's last trading day if it
        stopped trading), ``price`` (USD per share, same date), ``adv`` (shares per day,
        held fixed). Caps are needed only by what uses them (a cap-weighted benchmark, the
        size characteristic, the fundamental model, cap-based group rules), which then
        says so naming ``market_cap``. Other columns (identifiers, raw fundamentals) are
        kept as given.
    returns : pd.DataFrame
        Daily simple total returns (fractions), a sorted DatetimeIndex × asset_id, above
        −1; missing (NaN) only before a name's first return and after its last.
    groups : Mapping[str, tuple[str, ...]]
        Named asset groups, fixed through time (e.g. ``{"MAG7": (...)}``); a snapshot
        keeps the members that trade on its date.
    benchmark_values : pd.Series, optional
        What the benchmark holds of each asset on the last date (any positive unit, ≥ 0,
        not all 0). Default: the market caps (a cap-weighted index). A single real index
        added as an asset is ``1`` on that asset and ``0`` elsewhere.
    characteristics : bool, default True
        Derive characteristics at each date: the composites and descriptors
        :func:`build_characteristics` finds among the asset columns (raw fundamentals held
        fixed) and ``size`` (log market cap, when caps are given), standardized against that
        date's benchmark weights (σ units). False: snapshots carry no characteristics.
    point_in_time_benchmark : PointInTimeWeights, optional
        Benchmark constituents over dates (:func:`load_benchmark_weights`); when given it
        is the benchmark and ``benchmark_values`` must be None.
    characteristic_columns : tuple of str, default ()
        Further numeric asset columns standardized at each date as characteristics (as
        :func:`load_snapshot` does with every numeric universe column).
    """

    dataset: str
    assets: pd.DataFrame
    returns: pd.DataFrame
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    benchmark_values: pd.Series | None = None
    characteristics: bool = True
    point_in_time_benchmark: PointInTimeWeights | None = None
    characteristic_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", MappingProxyType({k: tuple(v) for k, v in self.groups.items()}))
        ids = self.assets.index
        if ids.has_duplicates or not ids.is_monotonic_increasing:
            raise DataError(f"{self.dataset}: assets must be indexed by unique asset_ids, sorted")
        if "sector" not in self.assets.columns:
            raise DataError(f"{self.dataset}: asset table lacks required column(s) ['sector']")
        absent = [c for c in OPTIONAL_ASSET_COLUMNS if c not in self.assets.columns]
        if absent:
            object.__setattr__(self, "assets", self.assets.assign(**{c: np.nan for c in absent}))
        dates = self.returns.index
        if not isinstance(dates, pd.DatetimeIndex) or dates.has_duplicates or not dates.is_monotonic_increasing:
            raise DataError(f"{self.dataset}: returns must have a sorted DatetimeIndex of unique dates")
        if not self.returns.columns.equals(ids):
            raise DataError(f"{self.dataset}: returns columns are not the asset table's asset_ids")
        values = self.returns.to_numpy(dtype=float)
        check_ragged(values, dates, ids, self.dataset)
        if np.any(values <= -1.0):
            row, col = np.argwhere(values <= -1.0)[0]
            raise DataError(f"{self.dataset}: return of {ids[col]} on {dates[row].date()} is -100 % or worse")
        for column in OPTIONAL_ASSET_COLUMNS[:2]:
            v = self.assets[column].to_numpy(dtype=float)
            bad = ids[~np.isnan(v) & ~(np.isfinite(v) & (v > 0))]
            if len(bad):
                raise DataError(f"{self.dataset}: {column} must be finite and positive; bad for {bad.tolist()[:10]}")
        self._check_benchmark_source(ids)
        for group, members in self.groups.items():
            unknown = sorted(set(members) - set(ids.tolist()))
            if unknown:
                raise DataError(f"{self.dataset}: group {group!r} has assets not in the universe: {unknown[:10]}")

    def _check_benchmark_source(self, ids: pd.Index) -> None:
        pit = self.point_in_time_benchmark
        if pit is not None:
            if self.benchmark_values is not None:
                raise DataError(f"{self.dataset}: give benchmark_values or point_in_time_benchmark, not both")
            if not pit.asset_ids.equals(ids):
                raise DataError(f"{self.dataset}: point_in_time_benchmark is not over the asset table's asset_ids")
            pit.check_overlap(self.dates, self.dataset)
        elif self.benchmark_values is not None:
            b = self.benchmark_values
            if not b.index.equals(ids):
                raise DataError(f"{self.dataset}: benchmark_values is not indexed by the asset_ids")
            v = b.to_numpy(dtype=float)
            if not np.all(np.isfinite(v)) or np.any(v < 0) or v.sum() <= 0:
                raise DataError(f"{self.dataset}: benchmark_values must be finite, ≥ 0 and not all 0")
        else:
            self._final_caps()  # a cap-weighted benchmark needs every cap

    # -- dates --------------------------------------------------------------------------
    @property
    def dates(self) -> pd.DatetimeIndex:
        """Trading days of the history."""
        return self.returns.index  # type: ignore[return-value]

    @property
    def asset_ids(self) -> pd.Index:
        """Asset identifiers, sorted."""
        return self.assets.index

    def position(self, date: str | pd.Timestamp) -> int:
        """Row of the last trading day on or before ``date``.

        Raises
        ------
        DataError
            If ``date`` is before the first date or after the last date of the history.
        """
        when = pd.Timestamp(date)
        first, last = self.dates[0], self.dates[-1]
        if when < first or when.normalize() > last:
            raise DataError(
                f"{self.dataset}: date {when.date()} is outside the history ({first.date()} to {last.date()})"
            )
        return int(self.dates.searchsorted(when, side="right")) - 1

    # -- dated quantities ---------------------------------------------------------------
    @cached_property
    def _values(self) -> np.ndarray:
        """The returns as a read-only float array (dates × assets), NaN where missing."""
        values = self.returns.to_numpy(dtype=float)
        values.setflags(write=False)
        return values

    @cached_property
    def _ragged(self) -> bool:
        """True if some return is missing (names list or delist inside the history)."""
        return bool(np.isnan(self._values).any())

    @cached_property
    def _growth(self) -> np.ndarray:
        """``G[t] = Π_{s ≤ t}(1 + r_s)`` (dates × assets), a missing return counting as 0."""
        values = np.nan_to_num(self._values, nan=0.0) if self._ragged else self._values
        growth = np.cumprod(1.0 + values, axis=0)
        growth.setflags(write=False)
        return growth

    @cached_property
    def _growth_to_last(self) -> np.ndarray:
        """``g[t] = G[t] / G[T]``: value at t of 1 held at T (dates × assets)."""
        relative = self._growth / self._growth[-1]
        relative.setflags(write=False)
        return relative

    def trading_at(self, date: str | pd.Timestamp) -> pd.Series:
        """Whether each asset has a return on ``date`` (the names that trade that day)."""
        return pd.Series(~np.isnan(self._values[self.position(date)]), index=self.asset_ids, name="trading")

    def _final_caps(self) -> np.ndarray:
        caps = self.assets["market_cap"].to_numpy(dtype=float)
        missing = np.isnan(caps)
        if missing.any():
            raise DataError(missing_caps_message(self.dataset, self.asset_ids[missing]))
        return caps

    def market_caps_at(self, date: str | pd.Timestamp) -> pd.Series:
        """Market cap of each asset at the close of ``date`` (USD), drifted back from the last date.

        Raises
        ------
        DataError
            Without caps in the asset table (naming the ``market_cap`` column).
        """
        row = self._growth_to_last[self.position(date)]
        return pd.Series(self._final_caps() * row, index=self.asset_ids, name="market_cap")

    def benchmark_weights_at(self, date: str | pd.Timestamp) -> pd.Series:
        """Benchmark weights at the close of ``date`` (fractions of NAV, sum 1; 0 where not held).

        Point-in-time constituents: the file's last date on or before ``date``, drifted to
        ``date``. Otherwise the last-date holdings (caps or ``benchmark_values``) drifted back
        to ``date``, over the names that trade that day.
        """
        end = self.position(date)
        pit = self.point_in_time_benchmark
        if pit is not None:
            row = pit.row_for(self.dates[end])
            start = int(self.dates.searchsorted(pit.dates[row], side="right")) - 1
            if start < 0:
                raise DataError(
                    f"{pit.source}: the benchmark weights of {pit.dates[row].date()} (the last date on or before "
                    f"{self.dates[end].date()}) are before the history's first date {self.dates[0].date()}, so they "
                    "cannot be drifted; the file's dates must overlap the returns"
                )
            weights = pit.weights_on(row)
            held = np.flatnonzero(weights)
            value = weights[held] * (self._growth[end, held] / self._growth[start, held])
            weights[held] = value / value.sum()
            return pd.Series(weights, index=self.asset_ids, name="benchmark_weight")
        final = self._final_caps() if self.benchmark_values is None else self.benchmark_values.to_numpy(dtype=float)
        value = final * self._growth_to_last[end]
        if self._ragged:
            value = np.where(np.isnan(self._values[end]), 0.0, value)
        return pd.Series(value / value.sum(), index=self.asset_ids, name="benchmark_weight")

    def characteristics_at(self, date: str | pd.Timestamp) -> pd.DataFrame:
        """Characteristics at ``date`` of the names that trade that day (σ units, benchmark exposure 0).

        The raw fundamentals are the asset table's (fixed through time); they are
        re-standardized against the benchmark weights of ``date``, and ``size`` is the
        winsorized log market cap of ``date`` (left out when the asset table has no caps).
        Empty (no columns) when the history was built with ``characteristics=False``.
        Dates scored ahead by :meth:`characteristics_on` are not computed again.
        """
        end = self.position(date)
        kept = self._characteristics_memo.get(end)
        if kept is not None:
            return kept.copy()
        return self._characteristic_tables(np.array([end]))[0]

    def characteristics_on(self, dates: Sequence[str | pd.Timestamp]) -> dict[pd.Timestamp, pd.DataFrame]:
        """:meth:`characteristics_at` of many dates, computed together and kept for later snapshots.

        One vectorized pass over the dates (no per-date pandas work; the winsorized
        fundamentals are shared by the dates that trade the same names), e.g. every
        rebalance of a backtest before it starts. :meth:`snapshot` and
        :meth:`characteristics_at` then reuse these tables.

        Returns
        -------
        dict
            Trading day (the last on or before each date) → its characteristics table.
        """
        ends = np.unique([self.position(d) for d in dates]).astype(np.intp)
        todo = np.array([e for e in ends if e not in self._characteristics_memo], dtype=np.intp)
        step = max(1, CHARACTERISTICS_BATCH_CELLS // len(self.asset_ids))  # bounded memory for wide universes
        for start in range(0, len(todo), step):
            batch = todo[start : start + step]
            self._characteristics_memo.update(zip(batch.tolist(), self._characteristic_tables(batch)))
        return {self.dates[e]: self._characteristics_memo[e].copy() for e in ends.tolist()}

    @cached_property
    def _characteristics_memo(self) -> dict[int, pd.DataFrame]:
        """Date row → characteristics table, filled by :meth:`characteristics_on`."""
        return {}

    def _characteristic_tables(self, ends: np.ndarray) -> list[pd.DataFrame]:
        """Characteristics tables of the date rows ``ends``, all dates scored at once."""
        members = ~np.isnan(self._values[ends])
        if not self.characteristics:
            return [pd.DataFrame(index=self.asset_ids[m]) for m in members]
        weights = np.stack([self.benchmark_weights_at(self.dates[e]).to_numpy() for e in ends])
        names, scores = characteristics_over(
            self.assets, weights, members, extra_columns=tuple(self.characteristic_columns)
        )
        if not self.assets["market_cap"].isna().any():
            log_caps = np.log(self._final_caps() * self._growth_to_last[ends])
            size = standardize_array(winsorize_array(log_caps, members=members), weights, members, names="size")
            if "size" in names:
                scores[:, names.index("size")] = size
            else:
                names, scores = [*names, "size"], np.concatenate([scores, size[:, None, :]], axis=1)
        tables = []
        for member, score in zip(members, scores):
            index = self.asset_ids[member]
            table = pd.DataFrame(score[:, member].T, index=index, columns=names)
            table.index.name = "asset_id"
            tables.append(table)
        return tables

    def assets_at(self, date: str | pd.Timestamp) -> pd.DataFrame:
        """The asset table with ``market_cap`` and ``price`` of ``date`` (USD; ``adv`` unchanged; NaN stays NaN)."""
        row = self._growth_to_last[self.position(date)]
        table = self.assets.copy()
        table["market_cap"] = self.assets["market_cap"].to_numpy(dtype=float) * row
        table["price"] = self.assets["price"].to_numpy(dtype=float) * row
        return table

    def snapshot(
        self, as_of: str | pd.Timestamp, window: int | None = None, holdings: pd.Series | None = None
    ) -> MarketSnapshot:
        """The market as known at the close of ``as_of``.

        Parameters
        ----------
        as_of : date
            The snapshot's date; a non-trading day means the last trading day before it.
        window : int, optional
            Number of trailing trading days of returns, ending on ``as_of`` (inclusive);
            all the history up to ``as_of`` when None. It is the risk window of the
            short-history rule (:mod:`._ragged`).
        holdings : pd.Series, optional
            Current weights by asset_id (fractions of NAV, sum 1) of every name that trades
            on ``as_of`` (others may be left out); default: the benchmark.

        Returns
        -------
        MarketSnapshot
            Dated ``as_of``, over the names that trade that day, with that day's benchmark
            weights, caps, prices and characteristics, the trailing returns window (short
            histories proxied) and ``short_history``.

        Raises
        ------
        DataError
            If ``as_of`` is outside the history or the window starts before its first date
            (the message names both dates), ``holdings`` are not valid weights, or the
            benchmark or the holdings hold a name that does not trade on ``as_of``.
        """
        end = self.position(as_of)
        when = self.dates[end]
        if window is not None:
            if isinstance(window, bool) or operator.index(window) <= 0:
                raise DataError(f"window must be a positive number of trading days, got {window!r}")
            if window > end + 1:
                raise DataError(
                    f"{self.dataset}: a {window}-day returns window ending {when.date()} would start "
                    f"{window - end - 1} trading days before the history's first date {self.dates[0].date()}; "
                    "start later, shorten the window or use a longer history"
                )
        start = 0 if window is None else end + 1 - int(window)
        benchmark = self.benchmark_weights_at(when)
        if holdings is None:
            holdings = benchmark.rename("holdings")
        else:
            holdings = holdings.reindex(self.asset_ids).rename("holdings")
        returns = self.returns.iloc[start : end + 1]
        if not self._ragged:
            keep, window_returns, short, days = None, returns, (), None
        else:
            cut = cut_as_of(
                self._values[start : end + 1], self.asset_ids, self.assets["sector"].to_numpy(), when,
                [(benchmark, "the benchmark"), (holdings, "the holdings")], self.dataset,
            )
            keep, short, days = cut.keep, cut.short_history, cut.history_days
            window_returns = pd.DataFrame(cut.returns, index=returns.index, columns=self.asset_ids[keep])
        assets = self.assets_at(when)
        if keep is not None:
            assets, benchmark, holdings = assets[keep], benchmark[keep], holdings[keep]
        members = set(assets.index.tolist())
        return MarketSnapshot(
            dataset=self.dataset,
            as_of=when,
            assets=assets,
            benchmark_weights=benchmark,
            holdings=holdings,
            characteristics=self.characteristics_at(when),
            returns=window_returns,
            groups={g: tuple(a for a in m if a in members) for g, m in self.groups.items()},
            short_history=short,
            history_days=days,
        )
