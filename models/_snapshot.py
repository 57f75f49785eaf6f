"""The market data one optimization needs, as one frozen, validated object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ._errors import DataError, nonfinite_cells

#: Columns every ``MarketSnapshot.assets`` table carries.
REQUIRED_ASSET_COLUMNS = ("sector", "market_cap", "price", "adv")

#: Tolerance on "weights sum to one".
WEIGHT_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class MarketSnapshot:
    """Everything known about the universe on one as-of date.

    All tables are indexed by ``asset_id`` in the same (sorted) order.

    Parameters
    ----------
    dataset : str
        Human-readable name of the data source, e.g. ``"synthetic-sp500 v1 (seed 7)"``;
        copied into every output so synthetic data is never mistaken for real data.
    as_of : pd.Timestamp
        Date of the snapshot (the last date of ``returns``).
    assets : pd.DataFrame
        One row per asset. Required columns: ``sector`` (GICS sector name), ``market_cap``
        (USD), ``price`` (USD per share), ``adv`` (average daily volume, shares). Other
        columns (identifiers such as ``ticker``, raw fundamentals) are kept as given.
    benchmark_weights : pd.Series
        Benchmark weights, fractions of NAV, summing to 1.
    holdings : pd.Series
        Current portfolio weights, fractions of NAV, summing to 1 (turnover is measured
        against these).
    characteristics : pd.DataFrame
        Standardized characteristics in σ units (benchmark exposure 0, unit cross-sectional
        std), e.g. ``value`` and ``quality``. Factor-tilt constraints read these columns.
    returns : pd.DataFrame
        Daily simple total returns (fractions), dates × asset_id, no missing values: the
        missing returns of short-history names are proxies (see ``short_history``).
    groups : Mapping[str, tuple[str, ...]]
        Named asset groups, e.g. ``{"MAG7": ("A001", ...)}``.
    short_history : tuple of str, default ()
        Asset ids (sorted) with fewer real returns in the risk window than the window has
        dates (they listed inside it); their missing returns in ``returns`` are the
        equal-weighted mean return that day of the fully observed names of their sector
        (else of all fully observed names). Rules: ``trimtab.models._ragged``.
    history_days : pd.Series, optional
        Number of real (not proxied) daily returns of each asset in the risk window, by
        asset_id; None when every name is fully observed (nothing was proxied).
    """

    dataset: str
    as_of: pd.Timestamp
    assets: pd.DataFrame
    benchmark_weights: pd.Series
    holdings: pd.Series
    characteristics: pd.DataFrame
    returns: pd.DataFrame
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    short_history: tuple[str, ...] = ()
    history_days: pd.Series | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", MappingProxyType({k: tuple(v) for k, v in self.groups.items()}))
        object.__setattr__(self, "short_history", tuple(sorted(str(a) for a in self.short_history)))
        ids = self.assets.index
        if ids.has_duplicates:
            dup = ids[ids.duplicated()].unique().tolist()[:10]
            raise DataError(f"{self.dataset}: duplicate asset_id in the universe: {dup}")
        if not ids.is_monotonic_increasing:
            raise DataError(f"{self.dataset}: assets must be sorted by asset_id")
        missing = [c for c in REQUIRED_ASSET_COLUMNS if c not in self.assets.columns]
        if missing:
            raise DataError(f"{self.dataset}: universe lacks required column(s) {missing}")
        for name, obj in (
            ("benchmark_weights", self.benchmark_weights),
            ("holdings", self.holdings),
            ("characteristics", self.characteristics),
        ):
            if not obj.index.equals(ids):
                raise DataError(f"{self.dataset}: {name} is not indexed by the universe's asset_ids")
        if not self.returns.columns.equals(ids):
            raise DataError(f"{self.dataset}: returns columns are not the universe's asset_ids")
        _check_weights(self.dataset, "benchmark_weights", self.benchmark_weights)
        _check_weights(self.dataset, "holdings", self.holdings)
        _check_finite(self.dataset, self.returns)
        for group, members in self.groups.items():
            unknown = sorted(set(members) - set(ids.tolist()))
            if unknown:
                raise DataError(f"{self.dataset}: group {group!r} has assets not in the universe: {unknown[:10]}")
        unknown = sorted(set(self.short_history) - set(ids.tolist()))
        if unknown:
            raise DataError(f"{self.dataset}: short_history names assets not in the universe: {unknown[:10]}")
        if self.history_days is not None and not self.history_days.index.equals(ids):
            raise DataError(f"{self.dataset}: history_days is not indexed by the universe's asset_ids")

    @property
    def asset_ids(self) -> pd.Index:
        """Asset identifiers, sorted."""
        return self.assets.index

    @property
    def n_assets(self) -> int:
        """Number of assets in the universe."""
        return len(self.assets)

    @property
    def sectors(self) -> pd.Series:
        """Sector name of each asset."""
        return self.assets["sector"]

    @property
    def market_caps(self) -> pd.Series:
        """Market capitalization of each asset, USD.

        Raises
        ------
        DataError
            If the universe gave no ``market_cap`` (a universe with ``benchmark_weight``
            only): naming the column and what needs it.
        """
        caps = self.assets["market_cap"]
        missing = caps.index[caps.isna().to_numpy()]
        if len(missing):
            raise DataError(missing_caps_message(self.dataset, missing))
        return caps


def missing_caps_message(dataset: str, missing: pd.Index) -> str:
    """Why market caps are needed and which column to add, for a universe without ``market_cap``."""
    shown = ", ".join(str(a) for a in missing[:5]) + (", ..." if len(missing) > 5 else "")
    return (
        f"{dataset}: market caps are needed but the universe has no 'market_cap' column (no cap for {shown}): "
        "add a 'market_cap' column (USD) "
        "to the universe file; caps are used by group_weight top_n_by_cap/min_market_cap, the fundamental risk "
        "model (its size style and √cap regression weights) and a cap-weighted benchmark; a universe with "
        "benchmark_weight only works with the other rules and with the sample, ledoit_wolf, oas, ewma, pca or "
        "vendor risk models"
    )


def _check_weights(dataset: str, name: str, weights: pd.Series) -> None:
    values = weights.to_numpy(dtype=float)
    bad = weights.index[~np.isfinite(values)]
    if len(bad):
        raise DataError(f"{dataset}: {name} is missing or not finite for {bad.tolist()[:10]}")
    total = float(values.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise DataError(f"{dataset}: {name} sum to {total:.8f}, expected 1 (fractions of NAV)")


def _check_finite(dataset: str, returns: pd.DataFrame) -> None:
    count, examples = nonfinite_cells(
        returns.to_numpy(dtype=float),
        lambda r, c: f"{returns.columns[c]} on {pd.Timestamp(returns.index[r]).date()}",
        limit=5,
    )
    if count:
        raise DataError(
            f"{dataset}: returns have {count} missing or non-finite value(s), e.g. "
            + ", ".join(examples)
            + "; fill or drop them before optimizing"
        )
