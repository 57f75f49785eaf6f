"""Daily total returns of the synthetic dataset from a known factor process.

Private helper of :mod:`models._synthetic`.

``r_it = β_i·f_mkt,t + f_sector(i),t + Σ_style x_i,style·f_style,t + s_i·ε_it``

* market and specific shocks are Student-t (df = 5) scaled to unit variance, so returns
  are heavy tailed; sector and style factor returns are Gaussian;
* style exposures ``x`` are the assets' characteristic scores (σ units), so a
  cross-sectional (fundamental) regression on those scores can recover the factors;
* specific volatility ``s_i`` is chosen so each name's total volatility hits a target
  drawn around its sector's typical level (higher for smaller names).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    GoodFriday,
    Holiday,
    USLaborDay,
    USMartinLutherKingJr,
    USMemorialDay,
    USPresidentsDay,
    USThanksgivingDay,
    nearest_workday,
    sunday_to_monday,
)

from ._risk_model import TRADING_DAYS_PER_YEAR
from ._synthetic_universe import SECTOR_PROFILES

#: Degrees of freedom of the Student-t market and specific shocks.
STUDENT_T_DF = 5.0

#: Unit-variance shocks are capped at this many standard deviations (keeps returns > -95 %).
SHOCK_CAP_SIGMAS = 12.0

#: Hard floor on a daily return (fraction); never binding with the calibration above.
RETURN_FLOOR = -0.90

#: Annualized volatility (fraction per year) of the market factor.
MARKET_VOL = 0.165

#: Annualized drift (fraction per year) of the market factor.
MARKET_DRIFT = 0.07

#: Style factors: name → (annualized vol, annualized drift), fractions per year, per σ of exposure.
STYLE_FACTORS: dict[str, tuple[float, float]] = {
    "value": (0.045, 0.010),
    "quality": (0.035, 0.015),
    "size": (0.030, -0.005),
}

#: Range of target total volatility of a single name (fraction per year).
TOTAL_VOL_RANGE = (0.24, 0.50)

#: Floor on specific volatility (fraction per year).
MIN_SPECIFIC_VOL = 0.10


class NyseLikeHolidayCalendar(AbstractHolidayCalendar):
    """Regular US exchange holidays: New Year (a Saturday one is not observed), MLK,
    Presidents, Good Friday, Memorial, Juneteenth (from 2022), Independence, Labor,
    Thanksgiving, Christmas (weekend dates observed on the nearest weekday)."""

    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
        USMartinLutherKingJr,
        USPresidentsDay,
        GoodFriday,
        USMemorialDay,
        Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01", observance=nearest_workday),
        Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Christmas Day", month=12, day=25, observance=nearest_workday),
    ]


def trading_days(end: pd.Timestamp, periods: int) -> pd.DatetimeIndex:
    """The ``periods`` exchange trading days ending on ``end`` (inclusive), named ``date``."""
    end = pd.Timestamp(end).normalize()
    span = pd.Timedelta(days=int(periods * 7 / 5 * 1.1) + 30)  # enough calendar days, with margin
    holidays = NyseLikeHolidayCalendar().holidays(start=end - span, end=end)
    days = pd.date_range(end=end, periods=periods, freq=pd.offsets.CustomBusinessDay(holidays=holidays))
    return pd.DatetimeIndex(days.normalize(), name="date", freq=None)


@dataclass(frozen=True)
class FactorProcess:
    """The generating model (ground truth), kept for tests and documentation.

    Attributes
    ----------
    exposures : pd.DataFrame
        asset_id × factor: market beta, sector dummies, style scores (σ units).
    factor_returns : pd.DataFrame
        date × factor daily returns (fractions).
    specific_vol : pd.Series
        Annualized specific volatility by asset_id (fraction per year).
    """

    exposures: pd.DataFrame
    factor_returns: pd.DataFrame
    specific_vol: pd.Series


def _unit_t(rng: np.random.Generator, size: tuple[int, ...] | int) -> np.ndarray:
    """Student-t draws scaled to unit variance and capped at ±SHOCK_CAP_SIGMAS."""
    scale = np.sqrt((STUDENT_T_DF - 2.0) / STUDENT_T_DF)
    return np.clip(rng.standard_t(STUDENT_T_DF, size) * scale, -SHOCK_CAP_SIGMAS, SHOCK_CAP_SIGMAS)


def build_exposures(
    sectors: pd.Series, benchmark_weights: pd.Series, styles: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Factor exposures: market beta (cap-weighted mean 1), sector dummies, style scores.

    Parameters
    ----------
    sectors : pd.Series
        GICS sector by asset_id.
    benchmark_weights : pd.Series
        Benchmark weights by asset_id, fractions summing to 1.
    styles : pd.DataFrame
        Style scores by asset_id (σ units), one column per entry of :data:`STYLE_FACTORS`.
    """
    names = sectors.to_numpy(dtype=object)  # read once: numpy's comparisons, not eleven of pandas' string column
    base_beta = np.array([SECTOR_PROFILES[s].beta for s in names])
    beta = np.clip(base_beta + rng.normal(0.0, 0.15, len(sectors)), 0.4, 1.8)
    beta /= float(np.dot(beta, benchmark_weights.to_numpy()))
    dummies = pd.DataFrame({s: (names == s).astype(float) for s in SECTOR_PROFILES}, index=sectors.index)
    market = pd.DataFrame({"market": beta}, index=sectors.index)
    exposures = pd.concat([market, dummies, styles[list(STYLE_FACTORS)]], axis=1)
    exposures.index.name = "asset_id"
    exposures.columns.name = "factor"
    return exposures


def simulate_returns(
    exposures: pd.DataFrame,
    sectors: pd.Series,
    size_score: pd.Series,
    dates: pd.DatetimeIndex,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, FactorProcess]:
    """Simulate daily simple total returns (fractions) from the factor process.

    Parameters
    ----------
    exposures : pd.DataFrame
        From :func:`build_exposures`.
    sectors : pd.Series
        GICS sector by asset_id.
    size_score : pd.Series
        Size score (σ units) by asset_id; smaller names get higher target volatility.
    dates : pd.DatetimeIndex
        Trading days of the window.

    Returns
    -------
    returns : pd.DataFrame
        dates × asset_id daily simple returns (fractions), all ≥ RETURN_FLOOR.
    process : FactorProcess
        The ground truth that generated them.
    """
    n_days, days = len(dates), TRADING_DAYS_PER_YEAR
    factor_names = list(exposures.columns)
    vols = {"market": MARKET_VOL, **{s: p.factor_vol for s, p in SECTOR_PROFILES.items()}}
    vols.update({k: v for k, (v, _) in STYLE_FACTORS.items()})
    drifts = {"market": MARKET_DRIFT, **{k: d for k, (_, d) in STYLE_FACTORS.items()}}
    factor_vol = np.array([vols[f] for f in factor_names])
    factor_drift = np.array([drifts.get(f, 0.0) for f in factor_names])
    shocks = rng.standard_normal((n_days, len(factor_names)))
    shocks[:, 0] = _unit_t(rng, n_days)  # heavy-tailed market
    factor_returns = shocks * (factor_vol / np.sqrt(days)) + factor_drift / days

    loadings = exposures.to_numpy()
    systematic_var = (loadings**2) @ (factor_vol**2)  # factors are independent by construction
    typical = np.array([SECTOR_PROFILES[s].total_vol for s in sectors.tolist()])
    target_vol = np.clip(
        typical * np.exp(-0.08 * size_score.to_numpy() + rng.normal(0.0, 0.15, len(sectors))), *TOTAL_VOL_RANGE
    )
    specific_vol = np.sqrt(np.maximum(target_vol**2 - systematic_var, MIN_SPECIFIC_VOL**2))
    specific = _unit_t(rng, (n_days, len(sectors))) * (specific_vol / np.sqrt(days))

    values = np.maximum(factor_returns @ loadings.T + specific, RETURN_FLOOR)
    returns = pd.DataFrame(values, index=dates, columns=exposures.index)
    process = FactorProcess(
        exposures=exposures,
        factor_returns=pd.DataFrame(factor_returns, index=dates, columns=exposures.columns),
        specific_vol=pd.Series(specific_vol, index=exposures.index, name="specific_vol"),
    )
    return returns, process
