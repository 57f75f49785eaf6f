"""One entry point from a :class:`MarketSnapshot` to a :class:`RiskModel`.

The methods, their estimators, ``params`` and minimum windows are declared once in
:data:`~trimtab.models.RISK_MODEL_REGISTRY` (see ``_methods``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ._characteristics import standardize
from ._errors import DataError
from ._methods import RISK_MODEL_ESTIMATORS, RISK_MODEL_REGISTRY, RiskModelMethod, WindowShape
from ._risk_model import RiskModel
from ._snapshot import MarketSnapshot

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
        An estimated method of :data:`~trimtab.models.RISK_MODEL_REGISTRY` (any but ``"vendor"``).
    window : int or None
        Number of trailing dates of ``snapshot.returns`` to use; all of them if None.
        At least the method's minimum window (see ``_methods``).
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
        For an unknown method (or ``"vendor"``, which is read, not estimated), parameter
        or style, a window that is not a positive integer, longer than the available
        history or shorter than the minimum, or any error of the estimator's ``fit``.
    """
    entry = _method(method)
    estimator = entry.make_estimator(params)
    returns = _trailing_window(snapshot.returns, window)
    if entry.styles:
        if styles is None:
            styles = tuple(s for s in DEFAULT_STYLES if s in snapshot.characteristics.columns)
        style_table = _style_table(snapshot, styles)
        caps = _caps_for(snapshot, method)
        shape = WindowShape(
            n_assets=returns.shape[1],
            n_sectors=snapshot.sectors.reindex(returns.columns).nunique(),
            n_styles=style_table.shape[1],
            params=estimator.get_params(),
        )
        entry.check_window(len(returns), shape)
        estimator.fit(returns, sectors=snapshot.sectors, styles=style_table, market_caps=caps)
    else:
        entry.check_window(len(returns), WindowShape(n_assets=returns.shape[1], params=estimator.get_params()))
        estimator.fit(returns)
    return floor_short_history(estimator.risk_model_.reindexed(snapshot.asset_ids), snapshot)


def floor_short_history(model: RiskModel, snapshot: MarketSnapshot) -> RiskModel:
    """Floor a factor model's specific risk of short-history names at their sector's median.

    A name that listed inside the risk window has proxied returns (its sector's mean) on
    the days before it listed, which understate its own specific risk. Its annualized
    specific volatility is raised to at least the median specific volatility of the fully
    observed names of its sector (of all fully observed names if its sector has none).
    Full-covariance models (``s = 0``) are returned unchanged.

    Parameters
    ----------
    model : RiskModel
        The fitted model, rows in the order of ``snapshot.asset_ids``.
    snapshot : MarketSnapshot
        Its data; ``snapshot.short_history`` names the names to floor.
    """
    short = snapshot.asset_ids.isin(snapshot.short_history)
    if not short.any() or not np.any(model.specific_vol) or short.all():
        return model
    vol = pd.Series(model.specific_vol, index=snapshot.asset_ids)
    sectors = snapshot.sectors.reindex(snapshot.asset_ids).astype(str)
    medians = vol[~short].groupby(sectors[~short]).median()
    floor = sectors[short].map(medians).fillna(float(vol[~short].median())).to_numpy()
    floored = vol.to_numpy().copy()
    floored[short] = np.maximum(floored[short], floor)
    return dataclasses.replace(
        model,
        specific_vol=floored,
        name=f"{model.name}; specific risk of {int(short.sum())} short-history name(s) floored at their sector median",
    )


def _method(method: str) -> RiskModelMethod:
    if method not in RISK_MODEL_REGISTRY:
        raise DataError(f"unknown risk model method {method!r}; valid choices: {sorted(RISK_MODEL_ESTIMATORS)}")
    return RISK_MODEL_REGISTRY[method]


def _trailing_window(returns: pd.DataFrame, window: int | None) -> pd.DataFrame:
    if window is None:
        return returns
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window <= 0:
        raise DataError(f"risk model window must be a positive number of days, got {window!r}")
    if window > len(returns):
        raise DataError(f"risk model window of {window} days exceeds the {len(returns)} days of returns available")
    return returns.iloc[-int(window) :]


def _caps_for(snapshot: MarketSnapshot, method: str) -> pd.Series:
    """The snapshot's market caps; DataError naming the method and the missing ``market_cap`` column."""
    try:
        return snapshot.market_caps
    except DataError as error:
        raise DataError(f"risk model {method!r}: {error}") from None


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
    caps = _caps_for(snapshot, "fundamental").astype(float)
    bad = caps.index[~np.isfinite(caps.to_numpy()) | (caps.to_numpy() <= 0)]
    if len(bad):
        raise DataError(f"market_cap must be finite and positive (USD) for the size style; bad for {bad[:10].tolist()}")
    size = standardize(np.log(caps).rename(SIZE_STYLE), snapshot.benchmark_weights)
    table = snapshot.characteristics[list(styles)].copy()
    table[SIZE_STYLE] = size
    return table
