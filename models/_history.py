"""A market through time: the daily returns, benchmark and characteristics a backtest walks.

A :class:`MarketHistory` holds a static asset table (sectors, identifiers, raw
fundamentals, market caps and prices **on the last date**) and the full daily returns.
Everything dated is derived from those, so the pieces cannot disagree:

* market cap and price drift with returns: ``cap(t) = cap(T) / Π_{s in (t, T]} (1 + r_s)``;
* the benchmark is a buy-and-hold of its last-date holdings (by default the market caps,
  i.e. a cap-weighted index), so its weights at ``t`` are those holdings drifted back;
* characteristics are the raw fundamentals, held fixed, re-standardized against the
  benchmark weights of the date (``size`` is the log market cap of the date).

:meth:`MarketHistory.snapshot` cuts a :class:`MarketSnapshot` as of any date: the trailing
window of returns ending that day and the benchmark, caps and characteristics of that day.

Limitations of :func:`load_synthetic_history` (stated in its docstring): a fixed 500-name
universe (no index additions or deletions: survivorship), fixed fundamentals and a fixed
MAG7 membership.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd

from ._characteristics import build_characteristics, standardize, winsorize
from ._errors import DataError, nonfinite_cells
from ._risk_model import TRADING_DAYS_PER_YEAR
from ._snapshot import REQUIRED_ASSET_COLUMNS, MarketSnapshot
from ._synthetic import (
    SYNTHETIC_AS_OF,
    SYNTHETIC_DATASET_NAME,
    SYNTHETIC_HISTORY_DAYS,
    check_seed,
    load_synthetic_sp500,
    synthetic_factor_process,
)
from ._synthetic_returns import (
    MARKET_DRIFT,
    FactorProcess,
    MARKET_VOL,
    RETURN_FLOOR,
    STYLE_FACTORS,
    _unit_t,
    trading_days,
)
from ._synthetic_universe import SECTOR_PROFILES

__all__ = ["MAX_SYNTHETIC_HISTORY_YEARS", "SYNTHETIC_HISTORY_NAME", "MarketHistory", "load_synthetic_history"]

#: Name pattern of the synthetic history: ``SYNTHETIC_HISTORY_NAME.format(seed=7, years=15)``.
SYNTHETIC_HISTORY_NAME = SYNTHETIC_DATASET_NAME + ", {years}-year history"

#: Longest synthetic history, in years of 252 trading days (about 100 MB of returns).
MAX_SYNTHETIC_HISTORY_YEARS = 100

#: Entropy tag of the random stream of the extension (kept apart from the snapshot's streams).
_EXTENSION_STREAM = 0x4849_5354


@dataclass(frozen=True)
class MarketHistory:
    """Daily market data over many years, from which a snapshot can be cut on any date.

    Parameters
    ----------
    dataset : str
        Human-readable name of the data, copied into every snapshot.
    assets : pd.DataFrame
        One row per asset, indexed by ``asset_id`` (sorted). Required columns: ``sector``,
        ``market_cap`` (USD, on the last date), ``price`` (USD per share, on the last date),
        ``adv`` (shares per day, held fixed). Other columns (identifiers, raw fundamentals)
        are kept as given.
    returns : pd.DataFrame
        Daily simple total returns (fractions), a sorted DatetimeIndex × asset_id, no
        missing values, all above -1.
    groups : Mapping[str, tuple[str, ...]]
        Named asset groups, fixed through time (e.g. ``{"MAG7": (...)}``).
    benchmark_values : pd.Series, optional
        What the benchmark holds of each asset on the last date (any positive unit, ≥ 0,
        not all 0). Default: the market caps (a cap-weighted index). A single real index
        added as an asset is ``1`` on that asset and ``0`` elsewhere.
    characteristics : bool, default True
        Derive characteristics at each date: the composites and descriptors
        :func:`build_characteristics` finds among the asset columns (raw fundamentals held
        fixed) and ``size`` (log market cap), standardized against that date's benchmark
        weights (σ units). False: snapshots carry no characteristics.
    """

    dataset: str
    assets: pd.DataFrame
    returns: pd.DataFrame
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    benchmark_values: pd.Series | None = None
    characteristics: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", MappingProxyType({k: tuple(v) for k, v in self.groups.items()}))
        ids = self.assets.index
        if ids.has_duplicates or not ids.is_monotonic_increasing:
            raise DataError(f"{self.dataset}: assets must be indexed by unique asset_ids, sorted")
        missing = [c for c in REQUIRED_ASSET_COLUMNS if c not in self.assets.columns]
        if missing:
            raise DataError(f"{self.dataset}: asset table lacks required column(s) {missing}")
        dates = self.returns.index
        if not isinstance(dates, pd.DatetimeIndex) or dates.has_duplicates or not dates.is_monotonic_increasing:
            raise DataError(f"{self.dataset}: returns must have a sorted DatetimeIndex of unique dates")
        if not self.returns.columns.equals(ids):
            raise DataError(f"{self.dataset}: returns columns are not the asset table's asset_ids")
        values = self.returns.to_numpy(dtype=float)
        count, examples = nonfinite_cells(
            values, lambda r, c: f"{self.returns.columns[c]} on {dates[r].date()}", limit=5
        )
        if count:
            raise DataError(f"{self.dataset}: returns have {count} missing or non-finite value(s), e.g. {', '.join(examples)}")
        if np.any(values <= -1.0):
            row, col = np.argwhere(values <= -1.0)[0]
            raise DataError(f"{self.dataset}: return of {ids[col]} on {dates[row].date()} is -100 % or worse")
        for column in ("market_cap", "price"):
            v = self.assets[column].to_numpy(dtype=float)
            bad = ids[~(np.isfinite(v) & (v > 0))]
            if len(bad):
                raise DataError(f"{self.dataset}: {column} must be finite and positive; bad for {bad.tolist()[:10]}")
        if self.benchmark_values is not None:
            b = self.benchmark_values
            if not b.index.equals(ids):
                raise DataError(f"{self.dataset}: benchmark_values is not indexed by the asset_ids")
            v = b.to_numpy(dtype=float)
            if not np.all(np.isfinite(v)) or np.any(v < 0) or v.sum() <= 0:
                raise DataError(f"{self.dataset}: benchmark_values must be finite, ≥ 0 and not all 0")
        for group, members in self.groups.items():
            unknown = sorted(set(members) - set(ids))
            if unknown:
                raise DataError(f"{self.dataset}: group {group!r} has assets not in the universe: {unknown[:10]}")

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
    def _growth_to_last(self) -> np.ndarray:
        """``g[t] = Π_{s ≤ t}(1 + r_s) / Π_{s ≤ T}(1 + r_s)``: value at t of 1 held at T (dates × assets)."""
        growth = np.cumprod(1.0 + self.returns.to_numpy(dtype=float), axis=0)
        relative = growth / growth[-1]
        relative.setflags(write=False)
        return relative

    def market_caps_at(self, date: str | pd.Timestamp) -> pd.Series:
        """Market cap of each asset at the close of ``date`` (USD), drifted back from the last date."""
        row = self._growth_to_last[self.position(date)]
        return pd.Series(self.assets["market_cap"].to_numpy(dtype=float) * row, index=self.asset_ids, name="market_cap")

    def benchmark_weights_at(self, date: str | pd.Timestamp) -> pd.Series:
        """Benchmark weights at the close of ``date`` (fractions of NAV, sum 1)."""
        final = self.assets["market_cap"] if self.benchmark_values is None else self.benchmark_values
        value = final.to_numpy(dtype=float) * self._growth_to_last[self.position(date)]
        return pd.Series(value / value.sum(), index=self.asset_ids, name="benchmark_weight")

    def characteristics_at(self, date: str | pd.Timestamp) -> pd.DataFrame:
        """Characteristics at ``date`` (σ units, benchmark exposure 0, unit cross-sectional std).

        The raw fundamentals are the asset table's (fixed through time); they are
        re-standardized against the benchmark weights of ``date``, and ``size`` is the
        winsorized log market cap of ``date``. Empty (no columns) when the history was
        built with ``characteristics=False``.
        """
        if not self.characteristics:
            return pd.DataFrame(index=self.asset_ids)
        weights = self.benchmark_weights_at(date)
        table = build_characteristics(self.assets, weights)
        table["size"] = standardize(winsorize(np.log(self.market_caps_at(date)).rename("size")), weights)
        table.index.name = "asset_id"
        return table

    def assets_at(self, date: str | pd.Timestamp) -> pd.DataFrame:
        """The asset table with ``market_cap`` and ``price`` of ``date`` (USD; ``adv`` unchanged)."""
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
            all the history up to ``as_of`` when None.
        holdings : pd.Series, optional
            Current weights by asset_id (fractions of NAV, sum 1); default: the benchmark.

        Returns
        -------
        MarketSnapshot
            Dated ``as_of``, with that day's benchmark weights, caps, prices and
            characteristics and the trailing returns window.

        Raises
        ------
        DataError
            If ``as_of`` is outside the history or the window starts before its first date
            (the message names both dates), or ``holdings`` are not valid weights.
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
        return MarketSnapshot(
            dataset=self.dataset,
            as_of=when,
            assets=self.assets_at(when),
            benchmark_weights=benchmark,
            holdings=holdings,
            characteristics=self.characteristics_at(when),
            returns=self.returns.iloc[start : end + 1],
            groups=dict(self.groups),
        )


def load_synthetic_history(seed: int = 7, years: int = 15) -> MarketHistory:
    """The embedded synthetic market, extended backward in time to ``years`` years of days.

    The last 1512 trading days are exactly ``load_synthetic_sp500(seed).returns`` and the
    last date's benchmark weights are the snapshot's. Earlier days are drawn from the same
    factor process (same exposures, specific volatilities, factor volatilities and drifts)
    with fresh shocks, one block of 252 days per extra year, each block from its own seeded
    stream: a longer history extends a shorter one (same seed) without changing it.

    Limitations (synthetic data): the universe is the same 500 names at every date (no
    additions or deletions, so survivorship is built in), the raw fundamentals and the
    MAG7 membership are fixed, and share counts do not change (caps move with returns only).

    Parameters
    ----------
    seed : int, default 7
        Seed of the embedded dataset (see :func:`load_synthetic_sp500`).
    years : int, default 15
        Length of the history in years of 252 trading days; at least 6 (the snapshot's),
        at most :data:`MAX_SYNTHETIC_HISTORY_YEARS` (100).

    Returns
    -------
    MarketHistory
        ``dataset = "synthetic-sp500 v1 (seed <seed>), <years>-year history"``, ending
        2026-10-30, with characteristics re-standardized at each date and the MAG7 group.

    Raises
    ------
    DataError
        If ``seed`` is negative or ``years`` is outside ``[6, MAX_SYNTHETIC_HISTORY_YEARS]``.
    """
    seed = check_seed(seed)
    years = operator.index(years)
    base_years = SYNTHETIC_HISTORY_DAYS // TRADING_DAYS_PER_YEAR
    if years < base_years:
        raise DataError(f"years must be at least {base_years} (the embedded snapshot's window), got {years}")
    if years > MAX_SYNTHETIC_HISTORY_YEARS:
        first = SYNTHETIC_AS_OF.year - MAX_SYNTHETIC_HISTORY_YEARS
        raise DataError(
            f"years must be at most {MAX_SYNTHETIC_HISTORY_YEARS} (the synthetic history starts no earlier "
            f"than {first}), got {years}; start later"
        )
    snapshot = load_synthetic_sp500(seed)
    process = synthetic_factor_process(seed)
    blocks = [_extension_block(process, seed, k) for k in range(years - base_years, 0, -1)]
    dates = trading_days(SYNTHETIC_AS_OF, years * TRADING_DAYS_PER_YEAR)
    values = np.vstack([*blocks, snapshot.returns.to_numpy()])
    returns = pd.DataFrame(values, index=dates, columns=snapshot.returns.columns)
    return MarketHistory(
        dataset=SYNTHETIC_HISTORY_NAME.format(seed=seed, years=years),
        assets=snapshot.assets,
        returns=returns,
        groups=dict(snapshot.groups),
    )


def _extension_block(process: FactorProcess, seed: int, years_back: int) -> np.ndarray:
    """252 days of returns (days × assets) from the snapshot's factor process, ``years_back`` years before it."""
    names = list(process.exposures.columns)
    vols = {"market": MARKET_VOL, **{s: p.factor_vol for s, p in SECTOR_PROFILES.items()}}
    vols.update({k: v for k, (v, _) in STYLE_FACTORS.items()})
    drifts = {"market": MARKET_DRIFT, **{k: d for k, (_, d) in STYLE_FACTORS.items()}}
    factor_vol = np.array([vols[f] for f in names])
    factor_drift = np.array([drifts.get(f, 0.0) for f in names])
    days = TRADING_DAYS_PER_YEAR
    rng = np.random.default_rng([seed, _EXTENSION_STREAM, years_back])
    shocks = rng.standard_normal((days, len(names)))
    shocks[:, names.index("market")] = _unit_t(rng, days)  # heavy-tailed market, as in the snapshot
    factor_returns = shocks * (factor_vol / np.sqrt(days)) + factor_drift / days
    specific_vol = process.specific_vol.to_numpy()
    specific = _unit_t(rng, (days, len(specific_vol))) * (specific_vol / np.sqrt(days))
    return np.maximum(factor_returns @ process.exposures.to_numpy().T + specific, RETURN_FLOOR)
