"""The embedded default dataset: a synthetic, S&P 500-like market snapshot.

Nothing is downloaded: everything is generated from a seed, deterministically, in a
fraction of a second. The data are calibrated to look like the real index (sector
counts, mega-cap concentration, value/quality profile of mega-caps, volatilities) but
are **not** real data; the snapshot's ``dataset`` name says so and is copied into every
output.

Example
-------
>>> snapshot = load_synthetic_sp500()
>>> snapshot.dataset
'synthetic-sp500 v1 (seed 7)'
>>> snapshot.n_assets
500
"""

from __future__ import annotations

import functools
import operator

import numpy as np
import pandas as pd

from ._characteristics import build_characteristics, standardize, winsorize
from ._errors import DataError
from ._snapshot import MarketSnapshot
from ._synthetic_returns import FactorProcess, build_exposures, simulate_returns, trading_days
from ._synthetic_universe import (
    GICS_SECTORS,
    SECTOR_COUNTS,
    draw_caps_and_sectors,
    draw_fundamentals,
    draw_prices_and_volume,
    make_identifiers,
)

__all__ = [
    "GICS_SECTORS",
    "MAG7_GROUP",
    "SECTOR_COUNTS",
    "SYNTHETIC_AS_OF",
    "SYNTHETIC_DATASET_NAME",
    "FactorProcess",
    "check_seed",
    "load_synthetic_sp500",
    "synthetic_factor_process",
]

#: Name pattern of the dataset; ``snapshot.dataset == SYNTHETIC_DATASET_NAME.format(seed=seed)``.
SYNTHETIC_DATASET_NAME = "synthetic-sp500 v1 (seed {seed})"

#: As-of date of the synthetic snapshot (last day of the returns window).
SYNTHETIC_AS_OF = pd.Timestamp("2026-10-30")

#: Length of the returns window in trading days (6 years).
SYNTHETIC_HISTORY_DAYS = 6 * 252

#: Name of the group holding the seven largest names.
MAG7_GROUP = "MAG7"

#: Trading days between the current holdings (last month's benchmark) and the as-of date.
HOLDINGS_AGE_DAYS = 21

#: Number of names added to the index during the last month (not held yet).
N_INDEX_ADDITIONS = 5

#: Ranks (1 = largest) the added names are drawn from: recent large entrants (IPOs,
#: spin-offs) rather than marginal ones, so the event is visible in the weights.
ADDITION_RANKS = (25, 200)

#: Number of names whose share count changed during the last month (buybacks, issuance).
N_SHARE_CHANGES = 30

#: Size of a share-count change (fraction of shares outstanding).
SHARE_CHANGE_RANGE = (0.01, 0.05)


def load_synthetic_sp500(seed: int = 7) -> MarketSnapshot:
    """Synthetic S&P 500-like market snapshot (the embedded default dataset).

    Deterministic: the same seed gives identical data, byte for byte. Generated once per
    seed and cached; every call returns fresh copies, so mutating one snapshot's frames
    cannot affect another.

    The universe has 500 assets in the 11 GICS sectors, ``asset_id`` ``SP001`` (largest)
    to ``SP500`` in market-cap order, and a ``MAG7`` group of the seven largest (three
    Information Technology, two Consumer Discretionary, two Communication Services)
    holding about a third of the index.

    Parameters
    ----------
    seed : int, default 7
        Non-negative seed of ``numpy.random.default_rng``.

    Returns
    -------
    MarketSnapshot
        ``dataset = "synthetic-sp500 v1 (seed <seed>)"``, ``as_of = 2026-10-30``, and

        * ``assets``: ``ticker``, ``name``, ``sector``, ``market_cap`` (USD), ``price``
          (USD per share), ``adv`` (average daily volume, shares), ``shares_outstanding``
          (shares) and the raw fundamentals ``book_to_price``, ``earnings_yield``,
          ``cash_flow_yield``, ``return_on_equity``, ``gross_profitability``,
          ``leverage`` (fractions) and ``earnings_variability`` (ratio);
        * ``benchmark_weights``: market-cap weights (fractions of NAV);
        * ``holdings``: last month's benchmark drifted by the month's returns, before
          this month's index events (5 additions, share-count changes on 30 names), so
          it differs from the benchmark by a few percent two-way;
        * ``characteristics``: ``value``, ``quality``, each descriptor and ``size``
          (σ units, benchmark exposure 0, unit cross-sectional std);
        * ``returns``: 1512 trading days of daily simple total returns (fractions)
          from a market + sector + style factor model with Student-t shocks;
        * ``groups``: ``{"MAG7": (...)}``.

    Raises
    ------
    TypeError
        If ``seed`` is not an integer.
    DataError
        If ``seed`` is negative (a ``ValueError``).
    """
    cached, _ = _generate(check_seed(seed))
    return MarketSnapshot(
        dataset=cached.dataset,
        as_of=cached.as_of,
        assets=cached.assets.copy(),
        benchmark_weights=cached.benchmark_weights.copy(),
        holdings=cached.holdings.copy(),
        characteristics=cached.characteristics.copy(),
        returns=cached.returns.copy(),
        groups=dict(cached.groups),
    )


def synthetic_factor_process(seed: int = 7) -> FactorProcess:
    """The ground-truth factor process behind :func:`load_synthetic_sp500` (for tests).

    Parameters
    ----------
    seed : int, default 7
        Same seed as the snapshot.

    Returns
    -------
    FactorProcess
        Exposures (market beta, sector dummies, style scores in σ units), daily factor
        returns (fractions) and annualized specific volatilities (fraction per year).
    """
    _, process = _generate(check_seed(seed))
    return FactorProcess(
        exposures=process.exposures.copy(),
        factor_returns=process.factor_returns.copy(),
        specific_vol=process.specific_vol.copy(),
    )


def check_seed(seed: object) -> int:
    """``seed`` as a Python int that ``numpy.random.default_rng`` accepts.

    Raises
    ------
    TypeError
        If ``seed`` is not an integer (``True``/``False`` included).
    DataError
        If ``seed`` is negative: numpy's generator takes only seeds ≥ 0.
    """
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    try:
        value = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed must be an integer, got {seed!r} ({type(seed).__name__})") from None
    if value < 0:
        raise DataError(
            f"seed must be a non-negative integer (numpy's random generator takes seeds ≥ 0), got {value}; "
            "the default is 7"
        )
    return value


@functools.lru_cache(maxsize=8)
def _generate(seed: int) -> tuple[MarketSnapshot, FactorProcess]:
    """Generate the snapshot and its ground truth (cached per seed)."""
    universe_rng, fundamentals_rng, market_rng, returns_rng, events_rng = np.random.default_rng(seed).spawn(5)

    universe = draw_caps_and_sectors(universe_rng)
    ids = make_identifiers(universe["sector"].to_numpy(), universe_rng)
    universe.index = ids.index
    sectors = universe["sector"]
    trading = draw_prices_and_volume(universe["market_cap"], market_rng)
    market_cap = trading["shares_outstanding"] * trading["price"]  # consistent to the cent
    benchmark_weights = (market_cap / market_cap.sum()).rename("benchmark_weight")

    fundamentals = draw_fundamentals(sectors, market_cap, fundamentals_rng)
    characteristics = build_characteristics(fundamentals, benchmark_weights)
    log_cap = np.log(market_cap).rename("size")
    characteristics["size"] = standardize(winsorize(log_cap), benchmark_weights)
    characteristics.index.name = "asset_id"

    dates = trading_days(SYNTHETIC_AS_OF, SYNTHETIC_HISTORY_DAYS)
    exposures = build_exposures(sectors, benchmark_weights, characteristics, returns_rng)
    returns, process = simulate_returns(exposures, sectors, characteristics["size"], dates, returns_rng)
    returns.columns.name = "asset_id"

    holdings = _last_month_holdings(trading["shares_outstanding"], trading["price"], returns, events_rng)

    assets = pd.concat(
        [ids, sectors, market_cap.rename("market_cap"), trading[["price", "adv", "shares_outstanding"]], fundamentals],
        axis=1,
    )
    assets.index.name = "asset_id"
    snapshot = MarketSnapshot(
        dataset=SYNTHETIC_DATASET_NAME.format(seed=seed),
        as_of=SYNTHETIC_AS_OF,
        assets=assets,
        benchmark_weights=benchmark_weights,
        holdings=holdings,
        characteristics=characteristics,
        returns=returns,
        groups={MAG7_GROUP: tuple(assets.index[:7])},
    )
    return snapshot, process


def _last_month_holdings(
    shares: pd.Series, price: pd.Series, returns: pd.DataFrame, rng: np.random.Generator
) -> pd.Series:
    """Benchmark of :data:`HOLDINGS_AGE_DAYS` ago, drifted by the returns since.

    A month ago the index held the same names with last month's share counts, except
    :data:`N_INDEX_ADDITIONS` names added since (held at 0) and
    :data:`N_SHARE_CHANGES` names whose share count changed by 1-5 % (two thirds
    buybacks, one third issuance). Deleted names are assumed already sold.

    Parameters
    ----------
    shares : pd.Series
        Today's shares outstanding by asset_id.
    price : pd.Series
        Today's price by asset_id, USD.
    returns : pd.DataFrame
        Daily simple returns (fractions), dates × asset_id.

    Returns
    -------
    pd.Series
        Holdings, fractions of NAV summing to 1, named ``holdings``.
    """
    n = len(shares)
    lo, hi = ADDITION_RANKS
    added = rng.choice(np.arange(lo - 1, hi), size=N_INDEX_ADDITIONS, replace=False)
    candidates = np.setdiff1d(np.arange(7, n), added)  # MAG7 share counts kept for simplicity
    changed = rng.choice(candidates, size=N_SHARE_CHANGES, replace=False)
    change = rng.uniform(*SHARE_CHANGE_RANGE, N_SHARE_CHANGES)
    change *= np.where(rng.random(N_SHARE_CHANGES) < 2 / 3, 1.0, -1.0)  # + : bought back since

    shares_then = shares.to_numpy(dtype=float).copy()
    shares_then[changed] *= 1.0 + change
    shares_then[added] = 0.0
    growth = (1.0 + returns.iloc[-HOLDINGS_AGE_DAYS:]).prod().to_numpy()
    price_then = price.to_numpy(dtype=float) / growth
    weights_then = shares_then * price_then / np.sum(shares_then * price_then)
    drifted = weights_then * growth
    return pd.Series(drifted / drifted.sum(), index=shares.index, name="holdings")
