"""Constraints on active exposures, tracking error and turnover."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import cvxpy as cp
import numpy as np
from pydantic import Field

from ._context import BuildContext
from ._data_view import DataView, UniverseInfo
from ._shapes import Capped, ScalarRange, constraint_type


@constraint_type
class FactorExposure(ScalarRange):
    """Active exposure to a characteristic or risk-model factor: ``xᵀ(w − w_b)`` ≥ / ≤ / = a target.

    Characteristics are standardized so the benchmark's exposure is 0 and the
    cross-sectional std is 1; ``min: 0.25`` on ``value`` means "+0.25 σ versus the index".
    A risk-model factor (``style:size``, ``sector:Energy``, ``pc01``, a vendor's factor)
    uses the model's exposure column in the model's units: σ for styles, so
    ``sector:Energy`` is the active weight the model sees in Energy. Its name is known
    only once the model is estimated, so it is checked then (``trimtab validate`` estimates
    the model when a job names one). A name that is both is the characteristic.

    Parameters
    ----------
    factor : str
        A characteristic column (``value``, ``quality``) or a risk-model factor name.
    min, max : float, optional
        Bounds on the active exposure, σ.
    target : float, optional
        Exact active exposure, σ (instead of min/max).
    """

    key: ClassVar[str] = "factor_exposure"
    qualified_by_subject: ClassVar[bool] = True
    _missing_bounds: ClassVar[str] = "give 'min', 'max' or 'target'"

    factor: str
    min: float | None = None
    max: float | None = None
    target: float | None = None

    @property
    def subject(self) -> str:
        """The factor (``value``, ``style:size``)."""
        return self.factor

    def _quantity(self) -> str:
        return f"{self.factor} active exposure"

    def _target(self) -> float | None:
        return self.target

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        n = ctx.universe.n_assets
        exposure = ctx.parameter("exposure", (n,), self._exposures)
        benchmark_exposure = ctx.parameter("benchmark_exposure", (), lambda d: self._exposures(d) @ d.benchmark)
        return exposure @ ctx.weights - benchmark_exposure

    def _exposures(self, data: DataView) -> np.ndarray:
        if self.factor in data.universe.characteristics:
            return data.characteristic(self.factor)
        return data.risk_model.exposures[:, data.risk_model.factor_names.index(self.factor)]

    def check(self, universe: UniverseInfo) -> None:
        if self.factor in universe.characteristics or not universe.factor_names:
            return  # a risk-model factor is checked once the model is known
        universe.require(
            self.factor,
            universe.characteristics + universe.factor_names,
            what="characteristic or risk-model factor",
            field_path="factor",
        )

    def names_a_risk_factor(self, universe: UniverseInfo) -> bool:
        """True when ``factor`` is not a characteristic (so it must be a risk-model factor)."""
        return self.factor not in universe.characteristics


@constraint_type
class Turnover(Capped):
    """Portfolio turnover against current holdings.

    ``two_way`` (default) is ``Σ|w − w₀|``: buys plus sells, so replacing 10 % of the
    portfolio is 0.20. ``one_way`` is half that, ``½ Σ|w − w₀|`` (0.10 in the example).

    Parameters
    ----------
    max : float
        Turnover budget, fraction of NAV; ``0`` means no trading (the weights stay at the
        current holdings).
    kind : {"two_way", "one_way"}
        Which definition ``max`` uses.
    """

    key: ClassVar[str] = "turnover"

    max: Annotated[float, Field(ge=0, le=2)]
    kind: Literal["two_way", "one_way"] = "two_way"

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        two_way = cp.norm1(ctx.trades)
        return two_way if self.kind == "two_way" else 0.5 * two_way

    def describe(self) -> str:
        return f"turnover ({self.kind.replace('_', '-')}) <= {self.max:g}"


@constraint_type
class TrackingError(Capped):
    """Ex-ante tracking error cap: ``√(aᵀ Σ a) ≤ max`` (annualized, fraction: 0.02 = 2 %)."""

    key: ClassVar[str] = "tracking_error"

    max: Annotated[float, Field(gt=0, le=1)]

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return ctx.tracking_error

    def describe(self) -> str:
        return f"tracking error <= {self.max:g}"


@constraint_type
class TotalRisk(Capped):
    """Ex-ante portfolio volatility cap: ``√(wᵀ Σ w) ≤ max`` (annualized fraction: 0.15 = 15 %)."""

    key: ClassVar[str] = "total_risk"

    max: Annotated[float, Field(gt=0, le=5)]

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return ctx.total_risk

    def describe(self) -> str:
        return f"total risk <= {self.max:g}"


@constraint_type
class Beta(ScalarRange):
    """Ex-ante beta to the benchmark, ``βᵀ w`` with ``β = Σ w_b / (w_bᵀ Σ w_b)``, in a range.

    The benchmark's own beta is 1. Parameters ``min``/``max`` are dimensionless.
    """

    key: ClassVar[str] = "beta"

    min: float | None = None
    max: float | None = None

    def _quantity(self) -> str:
        return "beta"

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        betas = ctx.parameter("asset_betas", (ctx.universe.n_assets,), lambda d: d.asset_betas())
        return betas @ ctx.weights
