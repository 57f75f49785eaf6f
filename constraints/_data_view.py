"""The data a problem is solved on: the names its shape depends on, and the numbers its parameters read.

:class:`UniverseInfo` holds names only (assets, sectors, factors, characteristics, groups): a
problem is compiled once per universe. :class:`DataView` holds the numbers of one date (snapshot,
risk model, index benchmark, tax lots) and the figures derived from them, read by the parameters
of :class:`~._context.BuildContext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from trimtab.models import BenchmarkRisk, DataError, LotBook, MarketSnapshot, RiskModel, benchmark_risk_from_weights

from ._errors import SpecError


@dataclass(frozen=True)
class UniverseInfo:
    """What the shape of a problem depends on: names, not numbers.

    Parameters
    ----------
    asset_ids : tuple of str
        Assets, in the order of the weight vector.
    sectors : tuple of str
        Sector names present, sorted.
    factor_names : tuple of str
        Risk-model factors, in the order of the exposure columns.
    characteristics : tuple of str
        Characteristic columns available to factor-tilt constraints (σ units).
    groups : tuple of str
        Named groups available to group constraints.
    asset_columns : tuple of str
        Columns of the universe table (for groups defined by a column's value).
    """

    asset_ids: tuple[str, ...]
    sectors: tuple[str, ...]
    factor_names: tuple[str, ...]
    characteristics: tuple[str, ...]
    groups: tuple[str, ...]
    asset_columns: tuple[str, ...] = ()

    @classmethod
    def from_data(
        cls, snapshot: MarketSnapshot, risk_model: RiskModel | None = None, *, extra_groups: tuple[str, ...] = ()
    ) -> UniverseInfo:
        """Describe a snapshot's universe and its risk model's factors (none before estimation)."""
        return cls(
            asset_ids=tuple(snapshot.asset_ids.tolist()),  # tolist: not one Arrow scalar at a time
            sectors=tuple(sorted(snapshot.sectors.unique())),
            factor_names=tuple(risk_model.factor_names) if risk_model is not None else (),
            characteristics=tuple(snapshot.characteristics.columns),
            groups=tuple(sorted({*snapshot.groups, *extra_groups})),
            asset_columns=tuple(str(c) for c in snapshot.assets.columns),
        )

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return len(self.asset_ids)

    def positions(self, asset_ids: tuple[str, ...], *, field_path: str) -> np.ndarray:
        """Positions of ``asset_ids`` in the weight vector; unknown ids → :class:`SpecError`."""
        index = {a: i for i, a in enumerate(self.asset_ids)}
        unknown = [a for a in asset_ids if a not in index]
        if unknown:
            raise SpecError(f"unknown asset(s) {unknown[:10]} (not in the universe)", path=field_path)
        return np.array([index[a] for a in asset_ids], dtype=int)

    def require(self, name: str, available: tuple[str, ...], *, what: str, field_path: str) -> None:
        """Raise :class:`SpecError` listing the valid choices when ``name`` is unknown."""
        if name not in available:
            raise SpecError(f"unknown {what} {name!r}", path=field_path, choices=available)


@dataclass(frozen=True)
class DataView:
    """The numbers parameters are computed from: one snapshot and its risk model.

    Parameters
    ----------
    snapshot : MarketSnapshot
        Market data; its asset order is the weight vector's order.
    risk_model : RiskModel
        Annualized risk model, rows in the snapshot's asset order.
    index_risk : BenchmarkRisk, optional
        The benchmark in the risk model's terms when it is an index return series (rows in
        the snapshot's order); by default the snapshot's constituent weights.
    lots : LotBook, optional
        The account's tax lots on the snapshot's date, for a job with a ``taxes`` section.
    """

    snapshot: MarketSnapshot
    risk_model: RiskModel
    index_risk: BenchmarkRisk | None = None
    lots: LotBook | None = None

    @property
    def risk_anchor(self) -> np.ndarray:
        """``a`` (n,) with ``TE² = (w − a)ᵀ Σ (w − a) + κ`` for a full covariance: the benchmark's
        weights, or an index's implied weights (its regression on the assets)."""
        if self.index_risk is not None:
            if self.index_risk.implied_weights is None:
                raise DataError("the index benchmark has no implied weights: it was estimated for a factor model")
            return self.index_risk.implied_weights
        return self.benchmark

    def tracking_variance(self, weights: np.ndarray) -> tuple[float, float]:
        """Annualized (factor, specific) tracking variance of ``weights`` (n,) against the benchmark.

        For an index return series the specific part includes the benchmark's untrackable
        residual ``κ``.
        """
        w = np.asarray(weights, dtype=float)
        if self.index_risk is None:
            return self.risk_model.variance_split(w - self.benchmark)
        return self.index_risk.tracking_variance(self.risk_model, w)

    @property
    def benchmark_factor_risk(self) -> np.ndarray:
        """``Lᵀ x`` (k,): the benchmark's factor risk coordinates (``Gᵀ w_b`` for constituent weights)."""
        if self.index_risk is None:
            return self.risk_model.loadings.T @ self.benchmark
        return self.risk_model.factor_cov_sqrt.T @ self.index_risk.factor_exposure

    #: The cached figures that depend on the market alone (snapshot, risk model, index), not on holdings or lots.
    MARKET_CACHES = ("benchmark_risk", "universe", "sector_index", "_masks")

    def share_market_caches(self, other: DataView) -> None:
        """Take ``other``'s market figures (:data:`MARKET_CACHES`, computed there if need be) instead of recomputing them.

        For views of one market with different holdings (a batch's accounts: ~1.3 ms each at 500
        names). Raises ValueError when ``other`` is not a view of the same snapshot, risk model and index.
        """
        mine, theirs = (self.snapshot, self.risk_model, self.index_risk), (other.snapshot, other.risk_model, other.index_risk)
        if any(a is not b for a, b in zip(mine, theirs)):  # the same objects (== would compare the frames)
            raise ValueError("share_market_caches: the views are of different markets")
        for name in self.MARKET_CACHES:
            self.__dict__[name] = getattr(other, name)

    @cached_property
    def benchmark_risk(self) -> BenchmarkRisk:
        """``(x, y, κ)`` of the benchmark: ``TE² = ‖Lᵀ(Bᵀw − x)‖² + ‖s∘w − y‖² + κ``."""
        if self.index_risk is not None:
            return self.index_risk
        return benchmark_risk_from_weights(self.risk_model, self.benchmark)

    @cached_property
    def universe(self) -> UniverseInfo:
        """The names of this data's universe."""
        return UniverseInfo.from_data(self.snapshot, self.risk_model)

    @property
    def benchmark(self) -> np.ndarray:
        """Benchmark weights (n,), fractions of NAV."""
        return self.snapshot.benchmark_weights.to_numpy(dtype=float)

    @property
    def holdings(self) -> np.ndarray:
        """Current weights (n,), fractions of NAV."""
        return self.snapshot.holdings.to_numpy(dtype=float)

    def sector_matrix(self, sectors: tuple[str, ...]) -> np.ndarray:
        """Indicator matrix (len(sectors) × n): 1 where the asset is in the sector."""
        labels = self.snapshot.sectors.to_numpy()
        return np.array([(labels == s).astype(float) for s in sectors]).reshape(len(sectors), -1)

    def characteristic(self, name: str) -> np.ndarray:
        """A characteristic column (n,), σ units."""
        return self.snapshot.characteristics[name].to_numpy(dtype=float)

    def asset_betas(self) -> np.ndarray:
        """Ex-ante beta of each asset to the benchmark, ``Cov(r, r_b) / Var(r_b)`` (n,), in factor form.

        For constituent weights ``Cov(r, r_b) = Σ w_b``; for an index series, from its
        :attr:`benchmark_risk`.
        """
        benchmark = self.benchmark_risk
        covariance_with_benchmark = benchmark.covariance_with_assets(self.risk_model)
        variance = benchmark.variance(self.risk_model)
        if variance <= 0:
            raise DataError("the benchmark has zero ex-ante variance: betas are undefined")
        return covariance_with_benchmark / variance

    def liquidity(self, column: str) -> np.ndarray:
        """``price × adv`` (USD traded per day, n,); missing or non-positive values → DataError."""
        dollars = (self.snapshot.assets["price"] * self.snapshot.assets["adv"]).to_numpy(dtype=float)
        bad = self.snapshot.asset_ids[~(np.isfinite(dollars) & (dollars > 0))]
        if len(bad):
            raise DataError(f"{column} needs price and adv for every asset; missing or zero for {bad.tolist()[:10]}")
        return dollars

    @cached_property
    def sector_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted sector labels, each asset's position in them): sector sums as ``np.bincount``."""
        labels, codes = np.unique(self.snapshot.sectors.to_numpy().astype(str), return_inverse=True)
        return labels, codes

    @cached_property
    def _masks(self) -> dict[tuple[str, ...], np.ndarray]:
        return {}

    def group_mask(self, members: tuple[str, ...]) -> np.ndarray:
        """0/1 vector (n,) marking ``members`` (computed once per member list; do not modify)."""
        key = tuple(members)
        if key not in self._masks:
            mask = self.snapshot.asset_ids.isin(list(key)).astype(float)
            mask.setflags(write=False)
            self._masks[key] = mask
        return self._masks[key]
