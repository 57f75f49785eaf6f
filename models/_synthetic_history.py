"""The embedded synthetic market extended backward in time: a :class:`MarketHistory` for backtests."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from ._errors import DataError
from ._history import MarketHistory
from ._risk_model import TRADING_DAYS_PER_YEAR
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

__all__ = ["MAX_SYNTHETIC_HISTORY_YEARS", "SYNTHETIC_HISTORY_NAME", "load_synthetic_history"]

#: Name pattern of the synthetic history: ``SYNTHETIC_HISTORY_NAME.format(seed=7, years=15)``.
SYNTHETIC_HISTORY_NAME = SYNTHETIC_DATASET_NAME + ", {years}-year history"

#: Longest synthetic history, in years of 252 trading days (about 100 MB of returns).
MAX_SYNTHETIC_HISTORY_YEARS = 100

#: Entropy tag of the random stream of the extension (kept apart from the snapshot's streams).
_EXTENSION_STREAM = 0x4849_5354


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
