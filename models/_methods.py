"""The risk-model methods a job file can name (``risk_model.method``), declared once.

:data:`RISK_MODEL_REGISTRY` maps each method name to a frozen :class:`RiskModelMethod`
record; everything else derives from it: the job file's accepted ``method`` choices
(``constraints.RISK_MODEL_METHODS``), the estimator lookup, its ``params`` check and the
minimum window (:func:`~trimtab.models.estimate_risk_model`), and the README's method list
(a test checks it names exactly these methods). Adding a method = its estimator class + one
record below + its README words.

``"vendor"`` is a method without an estimator: the model is delivered as files and read by
:func:`~trimtab.models.load_vendor_risk_model`, so its record has ``estimator=None``, no
``params`` and no minimum window, and :meth:`RiskModelMethod.make_estimator` refuses it.

Minimum window (dates of returns), so that a window too short to say anything is an
error rather than a silently degenerate model: at least :data:`MIN_WINDOW_DAYS` (about a
quarter), and at least ``2 × d`` where ``d`` is the number of parameters per date the
method must pin down (its record's ``dimension``):

* ``"sample"``, ``"ewma"``: ``d = n_assets`` — with fewer dates the covariance is
  singular or nearly so and the optimizer would find spurious riskless hedges. For
  ``"ewma"`` the dates counted in the ``2 × d`` rule are the *effective* sample size of its
  weights, ``(Σw)² / Σw²`` (Kish), not the raw window: halflife 63 over 1,259 days weighs
  like 181.8 equally weighted days, so it suits at most 90 names; the raw window must still
  clear the 60-day floor;
* ``"ledoit_wolf"``, ``"oas"``: shrinkage keeps the estimate well conditioned for any
  window, so only the 60-day floor applies;
* ``"pca"``: ``d = n_factors``;
* ``"fundamental"``: ``d`` = number of sectors + styles (including size).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from ._covariance import EWMACovariance, LedoitWolfCovariance, OASCovariance, SampleCovariance, ewma_weights
from ._errors import DataError
from ._factor_models import FundamentalFactorModel, StatisticalFactorModel

#: Fewest dates of returns any method accepts (≈ one quarter of trading days).
MIN_WINDOW_DAYS = 60

#: Dates required per parameter-per-date of the method (see the module docstring).
DAYS_PER_DIMENSION = 2


def minimum_window(dimension: int) -> int:
    """Fewest dates accepted for a method with ``dimension`` parameters per date."""
    return max(MIN_WINDOW_DAYS, DAYS_PER_DIMENSION * int(dimension))


@dataclass(frozen=True)
class WindowShape:
    """The sizes of one fit that a method's minimum window depends on.

    Parameters
    ----------
    n_assets : int
        Assets (columns) in the returns window.
    n_sectors, n_styles : int
        Sectors present and style factors (size included); set for methods that fit on
        styles (``RiskModelMethod.styles``), 0 otherwise.
    params : Mapping
        The estimator's full ``get_params()`` after the job's ``params`` are applied.
    """

    n_assets: int
    n_sectors: int = 0
    n_styles: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskModelMethod:
    """One risk-model method: its job-file name, estimator and minimum-window rule.

    Parameters
    ----------
    name : str
        The value of ``risk_model.method`` in a job file.
    description : str
        One line for people (docs, ``--help``-style listings).
    estimator : type of BaseEstimator or None
        scikit-learn-style estimator class (``fit(returns) -> self``, ``risk_model_``);
        None for a model that is read, not estimated (``"vendor"``).
    per_date : str
        What the method pins down per date (``"assets"``, ``"factors"``, ...), as named in
        the short-window error; empty when only the :data:`MIN_WINDOW_DAYS` floor applies.
    dimension : callable or None
        ``WindowShape -> int``: the number of those parameters per date; None for 0.
    styles : bool
        Whether ``fit`` also takes ``sectors``, ``styles`` and ``market_caps`` (the
        fundamental model) rather than returns alone.
    effective_days : callable or None
        ``(n_days, WindowShape) -> float``: the number of equally weighted dates the
        method's observation weights are worth (EWMA's ``(Σw)²/Σw²``), used in the
        ``2 × dimension`` rule; None when every date weighs the same (``n_days``).
    """

    name: str
    description: str
    estimator: type[BaseEstimator] | None = None
    per_date: str = ""
    dimension: Callable[[WindowShape], int] | None = None
    styles: bool = False
    effective_days: Callable[[int, WindowShape], float] | None = None

    @property
    def estimated(self) -> bool:
        """True if the model is fitted on returns (False for a model read from files)."""
        return self.estimator is not None

    @property
    def params(self) -> tuple[str, ...]:
        """Names the job file's ``risk_model.params`` may set: the estimator's ``get_params()``, sorted."""
        return tuple(sorted(self.estimator().get_params())) if self.estimator is not None else ()

    def make_estimator(self, params: Mapping[str, Any]) -> BaseEstimator:
        """A new estimator with ``params`` set.

        Raises
        ------
        DataError
            For a parameter the estimator does not have (naming the valid ones), or for a
            method without an estimator.
        """
        if self.estimator is None:
            raise DataError(
                f"risk model method {self.name!r} is read from files (load_vendor_risk_model), not estimated; "
                f"estimated methods: {sorted(RISK_MODEL_ESTIMATORS)}"
            )
        estimator = self.estimator()
        valid = sorted(estimator.get_params())
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise DataError(f"risk model {self.name!r}: unknown parameter(s) {unknown}; valid parameters: {valid}")
        return estimator.set_params(**params)

    def window_dimension(self, shape: WindowShape) -> int:
        """Parameters per date the method must pin down for a fit of this ``shape``."""
        return self.dimension(shape) if self.dimension is not None else 0

    def minimum_window(self, shape: WindowShape) -> int:
        """Fewest dates of returns accepted for a fit of this ``shape``."""
        return minimum_window(self.window_dimension(shape))

    def check_window(self, n_days: int, shape: WindowShape) -> None:
        """Raise :class:`DataError` if ``n_days`` dates are fewer than :meth:`minimum_window`.

        The raw dates must clear the :data:`MIN_WINDOW_DAYS` floor; the effective dates
        (:attr:`effective_days`, ``n_days`` for equal weights) must reach ``2 × dimension``.
        """
        dimension = self.window_dimension(shape)
        effective = n_days if self.effective_days is None else self.effective_days(n_days, shape)
        too_few_effective = effective < DAYS_PER_DIMENSION * dimension
        if n_days >= MIN_WINDOW_DAYS and not too_few_effective:
            return
        if too_few_effective and self.effective_days is not None:
            raise DataError(
                f"risk model {self.name!r} needs at least {DAYS_PER_DIMENSION * dimension} effective days of returns "
                f"({DAYS_PER_DIMENSION} × {dimension} {self.per_date}), got {effective:.1f}: its weights over the "
                f"{n_days}-day window count as (Σw)²/Σw² = {effective:.1f} equally weighted days; use a longer "
                "halflife, fewer names or a factor/shrinkage method"
            )
        need = minimum_window(dimension)
        reason = (
            f"{DAYS_PER_DIMENSION} × {dimension} {self.per_date}" if need > MIN_WINDOW_DAYS else f"the {MIN_WINDOW_DAYS}-day floor"
        )
        raise DataError(
            f"risk model {self.name!r} needs at least {need} days of returns ({reason}), got {n_days}; "
            "use a longer window or a factor/shrinkage method"
        )


def _n_assets(shape: WindowShape) -> int:
    return shape.n_assets


def _n_factors(shape: WindowShape) -> int:
    try:
        return int(shape.params["n_factors"])
    except (TypeError, ValueError):
        return 0  # the estimator's fit reports the invalid parameter


def _n_sectors_and_styles(shape: WindowShape) -> int:
    return shape.n_sectors + shape.n_styles


def _ewma_effective_days(n_days: int, shape: WindowShape) -> float:
    """Kish effective sample size ``(Σw)²/Σw²`` of EWMA's weights over ``n_days`` (``n_days`` if the halflife is invalid)."""
    halflife = shape.params.get("halflife")
    if isinstance(halflife, bool) or not isinstance(halflife, (int, float)) or not halflife > 0 or n_days <= 0:
        return float(n_days)  # the estimator's fit reports the invalid parameter
    w = ewma_weights(int(n_days), float(halflife))
    return float(w.sum() ** 2 / np.sum(w**2))


_METHODS = (
    RiskModelMethod(
        "sample", "sample covariance (scikit-learn EmpiricalCovariance), full, in square-root form",
        SampleCovariance, "assets", _n_assets,
    ),
    RiskModelMethod("ledoit_wolf", "Ledoit-Wolf shrunk covariance (scikit-learn LedoitWolf)", LedoitWolfCovariance),
    RiskModelMethod("oas", "Oracle Approximating Shrinkage covariance (scikit-learn OAS)", OASCovariance),
    RiskModelMethod(
        "ewma", "exponentially weighted covariance (halflife in days)", EWMACovariance, "assets", _n_assets,
        effective_days=_ewma_effective_days,
    ),
    RiskModelMethod(
        "pca", "statistical factor model: n_factors principal components (scikit-learn PCA)",
        StatisticalFactorModel, "factors", _n_factors,
    ),
    RiskModelMethod(
        "fundamental", "cross-sectional regressions on sector dummies + value/quality/size styles (the default)",
        FundamentalFactorModel, "sectors + styles", _n_sectors_and_styles, styles=True,
    ),
    RiskModelMethod("vendor", "a delivered factor model read from exposures, factor covariance and specific-risk files"),
)

#: Method name (as written in a job file) → its :class:`RiskModelMethod`, in documentation order.
RISK_MODEL_REGISTRY: Mapping[str, RiskModelMethod] = MappingProxyType({m.name: m for m in _METHODS})

#: Method name → risk-model estimator class, for the methods that are estimated (all but ``vendor``).
RISK_MODEL_ESTIMATORS: Mapping[str, type[BaseEstimator]] = MappingProxyType(
    {m.name: m.estimator for m in _METHODS if m.estimator is not None}
)
