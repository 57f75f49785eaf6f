"""The typed build context every constraint builds its CVXPY expressions from.

A context is made once per universe shape. Everything that changes with the data or the
date is a ``cp.Parameter`` whose value is computed from a :class:`DataView` by a function
registered next to it, so a new date re-assigns values and re-solves without recompiling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import cvxpy as cp
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


#: Negative values this small in non-negative data (weights, vols) are round-off, set to 0.
NEGATIVE_ROUNDOFF = 1e-12

ValueFunction = Callable[[DataView], np.ndarray | float]


@dataclass
class BuildContext:
    """Variables, parameters and common expressions shared by all constraints.

    Attributes
    ----------
    universe : UniverseInfo
        Names that fix the problem's shape.
    weights : cp.Variable
        Target weights ``w`` (n,), fractions of NAV.
    benchmark : cp.Parameter
        Benchmark weights ``w_b`` (n,).
    holdings : cp.Parameter
        Current weights ``w_0`` (n,).
    lots : LotTerms or None
        The tax-lot variables and parameters (``constraints._lot_terms``) of a problem with
        a ``taxes`` section, attached before the rules are built; None otherwise.
    """

    universe: UniverseInfo
    n_factors: int
    weights: cp.Variable = field(init=False)
    benchmark: cp.Parameter = field(init=False)
    holdings: cp.Parameter = field(init=False)
    _bindings: dict[str, tuple[cp.Parameter, ValueFunction]] = field(init=False, default_factory=dict)
    _assigned_data: DataView | None = field(init=False, default=None, repr=False)
    _assigned_values: dict[str, object] = field(init=False, default_factory=dict, repr=False)
    _prefix: str = field(init=False, default="")
    lots: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        n, k = self.universe.n_assets, self.n_factors
        self.weights = cp.Variable(n, name="w")
        self.benchmark = self.parameter("benchmark", (n,), lambda d: d.benchmark, nonneg=True)
        self.holdings = self.parameter("holdings", (n,), lambda d: d.holdings, nonneg=True)
        # Factor form of active risk: G = B L (n × k), stored transposed; c = Lᵀ x with x the
        # benchmark's factor exposure (Bᵀ w_b for constituent weights), y its specific part
        # (s ∘ w_b), and √κ the risk of the benchmark no portfolio can track (0 for weights).
        self._risk_loadings_t = self.parameter(
            "risk.loadings_t", (k, n), lambda d: d.risk_model.loadings.T
        )
        self._risk_benchmark_factor = self.parameter(
            "risk.benchmark_factor",
            (k,),
            lambda d: d.benchmark_factor_risk,
        )
        self._specific_vol = self.parameter("risk.specific_vol", (n,), lambda d: d.risk_model.specific_vol, nonneg=True)
        self._specific_benchmark = self.parameter(
            "risk.specific_benchmark", (n,), lambda d: d.benchmark_risk.specific
        )
        self._residual_risk = self.parameter(
            "risk.residual", (1,), lambda d: np.sqrt(d.benchmark_risk.residual_variance), nonneg=True
        )

    # -- parameter factory -------------------------------------------------------------
    def parameter(
        self, name: str, shape: tuple[int, ...], value: ValueFunction, *, nonneg: bool = False
    ) -> cp.Parameter:
        """Create a parameter whose value is computed from the data by ``value``.

        Parameters
        ----------
        name : str
            Unique name (e.g. ``"constraints[2].upper"``).
        shape : tuple of int
            Parameter shape.
        value : callable
            ``DataView -> array`` giving the parameter's value for a snapshot.
        nonneg : bool
            Declare the parameter non-negative (helps DCP analysis).
        """
        name = self._prefix + name
        if name in self._bindings:
            raise ValueError(f"parameter {name!r} defined twice")
        param = cp.Parameter(shape, name=name, nonneg=nonneg)
        self._bindings[name] = (param, value)
        return param

    def assign(self, data: DataView) -> None:
        """Set every parameter's value from ``data``.

        The values computed (and checked) for one ``DataView`` are kept: assigning the same
        view again — a re-solve, or after a frontier's overrides — only writes them back.
        """
        if data is not self._assigned_data:
            self._assigned_values = {}
            for name, (param, value) in self._bindings.items():
                # checked here (shape, finite, sign), so stored without cvxpy's second validation
                param.save_value(self._checked(name, param, value(data)))
                self._assigned_values[name] = param.value
            self._assigned_data = data
            return
        for name, (param, _) in self._bindings.items():
            param.save_value(self._assigned_values[name])

    @staticmethod
    def _checked(name: str, param: cp.Parameter, raw: np.ndarray | float) -> np.ndarray:
        array = np.asarray(raw, dtype=float).reshape(param.shape)
        if not np.all(np.isfinite(array)):
            raise DataError(f"parameter {name!r}: the data give non-finite values")
        if param.is_nonneg():
            if np.any(array < -NEGATIVE_ROUNDOFF):
                raise DataError(f"parameter {name!r}: the data give negative values (min {array.min():.3g})")
            array = np.maximum(array, 0.0)
        return array

    @contextmanager
    def scope(self, prefix: str) -> Iterator[BuildContext]:
        """Within this block, parameter names are prefixed with ``prefix + "."``."""
        previous, self._prefix = self._prefix, f"{prefix}."
        try:
            yield self
        finally:
            self._prefix = previous

    @property
    def parameters(self) -> Mapping[str, cp.Parameter]:
        """All parameters by name."""
        return {name: p for name, (p, _) in self._bindings.items()}

    # -- common expressions ------------------------------------------------------------
    @property
    def active(self) -> cp.Expression:
        """Active weights ``w − w_b`` (n,)."""
        return self.weights - self.benchmark

    @property
    def trades(self) -> cp.Expression:
        """Trades ``w − w_0`` (n,), fractions of NAV."""
        return self.weights - self.holdings

    @property
    def active_risk_terms(self) -> tuple[cp.Expression, cp.Expression]:
        """(factor part ``Lᵀ Bᵀ a``, specific part ``s ∘ a``) of active risk; TE² is their squared norm."""
        factor = self._risk_loadings_t @ self.weights - self._risk_benchmark_factor
        specific = cp.multiply(self._specific_vol, self.weights) - self._specific_benchmark
        return factor, specific

    @property
    def active_variance(self) -> cp.Expression:
        """Annualized active variance without the benchmark's residual ``κ``: ``‖factor‖² + ‖s∘w − y‖²``.

        (As ``Σ sᵢ² wᵢ² − 2 (s∘y)ᵀw + ‖y‖²`` the specific risk sits on ``P``'s diagonal: n fewer variables and
        rows, but CVXPY's *parametric* extraction adds 0.03 s to a compile at 500 names, 0.5 s at 1,000, 4 s at
        3,000; in constant compiles only (Clarabel −5 to −10 %), a one-shot solve and a re-solve of one job
        would be two problems, their weights equal to ~1e-8 only. So the affine form is kept everywhere.)
        """
        factor, specific = self.active_risk_terms
        return cp.sum_squares(factor) + cp.sum_squares(specific)

    @property
    def specific_terms(self) -> tuple[cp.Expression, cp.Parameter]:
        """(``s ∘ w``, ``s ∘ w_b``): the specific part of active risk is their difference."""
        return cp.multiply(self._specific_vol, self.weights), self._specific_benchmark

    @property
    def total_risk(self) -> cp.Expression:
        """Annualized ex-ante volatility of the portfolio ``√(wᵀ Σ w)`` (second-order cone)."""
        factor = self._risk_loadings_t @ self.weights
        specific = cp.multiply(self._specific_vol, self.weights)
        return cp.norm(cp.hstack([factor, specific]), 2)

    @property
    def residual_risk(self) -> cp.Parameter:
        """``√κ`` (1,): the benchmark's risk that no portfolio of the assets tracks (0 for constituent weights)."""
        return self._residual_risk

    @cached_property
    def tracking_error(self) -> cp.Expression:
        """Annualized ex-ante tracking error ``√(‖factor‖² + ‖specific‖² + κ)`` as a second-order-cone expression.

        Built once (its value is read after every solve; building it costs more than evaluating it).
        """
        factor, specific = self.active_risk_terms
        return cp.norm(cp.hstack([factor, specific, self._residual_risk]), 2)
