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

from trimtab.models import DataError

from ._data_view import DataView, UniverseInfo

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
