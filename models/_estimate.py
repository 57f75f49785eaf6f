"""One entry point from a :class:`MarketSnapshot` to a :class:`RiskModel`.

Minimum window (dates of returns), so that a window too short to say anything is an
error rather than a silently degenerate model: at least :data:`MIN_WINDOW_DAYS` (about a
quarter), and at least ``2 × d`` where ``d`` is the number of parameters per date the
method must pin down:

* ``"sample"``, ``"ewma"``: ``d = n_assets`` — with fewer dates the covariance is
  singular or nearly so and the optimizer would find spurious riskless hedges;
* ``"ledoit_wolf"``, ``"oas"``: shrinkage keeps the estimate well conditioned for any
  window, so only the 60-day floor applies;
* ``"pca"``: ``d = n_factors``;
* ``"fundamental"``: ``d`` = number of sectors + styles (including size).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ._characteristics import standardize
from ._covariance import EWMACovariance, LedoitWolfCovariance, OASCovariance, SampleCovariance
from ._errors import DataError
from ._factor_models import FundamentalFactorModel, StatisticalFactorModel
from ._risk_model import RiskModel
from ._snapshot import MarketSnapshot

#: Method name (as written in a job file) → risk-model estimator class.
RISK_MODEL_ESTIMATORS: Mapping[str, type[BaseEstimator]] = {
    "sample": SampleCovariance,
    "ledoit_wolf": LedoitWolfCovariance,
    "oas": OASCovariance,
    "ewma": EWMACovariance,
    "pca": StatisticalFactorModel,
    "fundamental": FundamentalFactorModel,
}

#: Fewest dates of returns any method accepts (≈ one quarter of trading days).
MIN_WINDOW_DAYS = 60

#: Dates required per parameter-per-date of the method (see the module docstring).
DAYS_PER_DIMENSION = 2

#: Name of the size style the fundamental model adds (standardized log market cap).
SIZE_STYLE = "size"

#: Style factors of the fundamental model when none are named (those present are used).
DEFAULT_STYLES = ("value", "quality")


def estimate_risk_model(
    snapshot: MarketSnapshot,
    method: str = "fundamental",
    *,
    window: int | None = None,
    styles: tuple[str, ...] | None = None,
    **params: Any,
) -> RiskModel:
    """Estimate an annualized risk model for the snapshot's universe.

    Parameters
    ----------
    snapshot : MarketSnapshot
        Universe, caps, sectors, characteristics and daily returns.
    method : str, default "fundamental"
        Key of :data:`RISK_MODEL_ESTIMATORS`.
    window : int or None
        Number of trailing dates of ``snapshot.returns`` to use; all of them if None.
        See the module docstring for the minimum per method.
    styles : tuple of str, optional
        Columns of ``snapshot.characteristics`` (σ units) used as style factors by the
        fundamental model. By default, those of :data:`DEFAULT_STYLES` (value, quality) the
        data has — user data without fundamentals gets sectors + size. A ``size`` style (log market cap standardized with
        :func:`standardize`: benchmark mean 0, unit std) is always added. Ignored by the
        other methods.
    **params
        Estimator parameters, e.g. ``halflife=126`` or ``n_factors=15``.

    Returns
    -------
    RiskModel
        Annualized model with rows in the order of ``snapshot.asset_ids``.

    Raises
    ------
    DataError
        For an unknown method, parameter or style, a window that is not a positive
        integer, longer than the available history or shorter than the minimum, or any
        error of the estimator's ``fit``.
    """
    estimator = _make_estimator(method, params)
    returns = _trailing_window(snapshot.returns, window)
    if method == "fundamental":
        if styles is None:
            styles = tuple(s for s in DEFAULT_STYLES if s in snapshot.characteristics.columns)
        style_table = _style_table(snapshot, styles)
        n_sectors = snapshot.sectors.reindex(returns.columns).nunique()
        _check_window(method, len(returns), n_sectors + style_table.shape[1], "sectors + styles")
        estimator.fit(returns, sectors=snapshot.sectors, styles=style_table, market_caps=snapshot.market_caps)
    else:
        if method == "pca":
            _check_window(method, len(returns), _as_dimension(estimator.get_params()["n_factors"]), "factors")
        elif method in ("sample", "ewma"):
            _check_window(method, len(returns), returns.shape[1], "assets")
        else:
            _check_window(method, len(returns), 0, "")
        estimator.fit(returns)
    return estimator.risk_model_.reindexed(snapshot.asset_ids)


def minimum_window(dimension: int) -> int:
    """Fewest dates accepted for a method with ``dimension`` parameters per date."""
    return max(MIN_WINDOW_DAYS, DAYS_PER_DIMENSION * int(dimension))


def _make_estimator(method: str, params: dict[str, Any]) -> BaseEstimator:
    if method not in RISK_MODEL_ESTIMATORS:
        raise DataError(f"unknown risk model method {method!r}; valid choices: {sorted(RISK_MODEL_ESTIMATORS)}")
    estimator = RISK_MODEL_ESTIMATORS[method]()
    valid = sorted(estimator.get_params())
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise DataError(f"risk model {method!r}: unknown parameter(s) {unknown}; valid parameters: {valid}")
    return estimator.set_params(**params)


def _trailing_window(returns: pd.DataFrame, window: int | None) -> pd.DataFrame:
    if window is None:
        return returns
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window <= 0:
        raise DataError(f"risk model window must be a positive number of days, got {window!r}")
    if window > len(returns):
        raise DataError(f"risk model window of {window} days exceeds the {len(returns)} days of returns available")
    return returns.iloc[-int(window) :]


def _check_window(method: str, n_days: int, dimension: int, what: str) -> None:
    need = minimum_window(dimension)
    if n_days < need:
        reason = f"{DAYS_PER_DIMENSION} × {dimension} {what}" if need > MIN_WINDOW_DAYS else f"the {MIN_WINDOW_DAYS}-day floor"
        raise DataError(
            f"risk model {method!r} needs at least {need} days of returns ({reason}), got {n_days}; "
            "use a longer window or a factor/shrinkage method"
        )


def _as_dimension(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0  # the estimator's fit reports the invalid parameter


def _style_table(snapshot: MarketSnapshot, styles: tuple[str, ...]) -> pd.DataFrame:
    styles = tuple(styles)
    if SIZE_STYLE in styles:
        raise DataError(
            f"style {SIZE_STYLE!r} is added automatically from market caps; remove it from styles {list(styles)}"
        )
    if len(set(styles)) < len(styles):
        raise DataError(f"styles are listed twice: {list(styles)}")
    available = list(snapshot.characteristics.columns)
    unknown = [s for s in styles if s not in available]
    if unknown:
        raise DataError(f"unknown style(s) {unknown}; characteristics available: {available}")
    caps = snapshot.market_caps.astype(float)
    bad = caps.index[~np.isfinite(caps.to_numpy()) | (caps.to_numpy() <= 0)]
    if len(bad):
        raise DataError(f"market_cap must be finite and positive (USD) for the size style; bad for {bad[:10].tolist()}")
    size = standardize(np.log(caps).rename(SIZE_STYLE), snapshot.benchmark_weights)
    table = snapshot.characteristics[list(styles)].copy()
    table[SIZE_STYLE] = size
    return table
