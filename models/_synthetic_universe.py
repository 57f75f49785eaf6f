"""Universe of the synthetic S&P 500-like dataset: sectors, market caps, names, fundamentals.

Private helper of :mod:`models._synthetic`. Everything here is a pure function of a
``numpy.random.Generator``; the calibration constants are module-level so they are
visible and testable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Number of assets in the synthetic universe.
N_ASSETS = 500

#: The 11 GICS sectors and their number of constituents (sums to 500; ordering as in the
#: real index: the four largest by count are Industrials, Financials, Information
#: Technology and Health Care; the three smallest Materials, Communication Services, Energy).
SECTOR_COUNTS: dict[str, int] = {
    "Information Technology": 70,
    "Financials": 72,
    "Industrials": 78,
    "Health Care": 62,
    "Consumer Discretionary": 50,
    "Consumer Staples": 38,
    "Utilities": 31,
    "Real Estate": 31,
    "Materials": 26,
    "Communication Services": 22,
    "Energy": 20,
}

#: GICS sector names, in the order of :data:`SECTOR_COUNTS`.
GICS_SECTORS: tuple[str, ...] = tuple(SECTOR_COUNTS)

_IT, _FIN, _IND, _HC, _CD, _CS, _UTIL, _RE, _MAT, _COMM, _EN = GICS_SECTORS

#: Sectors of the ten largest names (ranks 1-7 are the "MAG7": three IT, two Consumer
#: Discretionary, two Communication Services; then a chip maker, a conglomerate, a bank).
TOP10_SECTORS: tuple[str, ...] = (_IT, _IT, _IT, _COMM, _CD, _COMM, _CD, _IT, _FIN, _FIN)

#: Benchmark weights (fractions) of the ten largest names before a small random jitter.
#: MAG7 ≈ 31.5 %, top 10 ≈ 36 % (S&P 500 2024-2026 ranged about 30-35 % and 35-40 %).
TOP10_WEIGHTS: tuple[float, ...] = (0.067, 0.062, 0.058, 0.041, 0.037, 0.028, 0.022, 0.019, 0.016, 0.013)

#: Anchors (rank, weight as a fraction) of the weight curve of ranks 11-500; weights in
#: between are log-log interpolated, then rescaled so all 500 weights sum to 1.
TAIL_WEIGHT_ANCHORS: tuple[tuple[int, float], ...] = (
    (11, 0.0115), (20, 0.0075), (50, 0.0038), (100, 0.0020), (250, 0.00075), (400, 0.00035), (500, 0.00014),
)

#: Loading of the profitability (quality) latent on the size z-score (z of log cap).
SIZE_ON_PROFITABILITY = 0.15

#: Loading of the cheapness (value) latent on the size z-score.
SIZE_ON_CHEAPNESS = -0.25

#: Size z-score above which the extra mega-cap effect starts (about the ten largest).
MEGACAP_SIZE_Z = 2.5

#: Extra loading of the profitability latent per σ of size above :data:`MEGACAP_SIZE_Z`.
MEGACAP_ON_PROFITABILITY = 0.3

#: Extra loading of the cheapness latent per σ of size above :data:`MEGACAP_SIZE_Z`.
MEGACAP_ON_CHEAPNESS = -0.3

#: Loading of the cheapness latent on the profitability noise.
PROFITABILITY_ON_CHEAPNESS = -0.10

#: Total market capitalization of the universe, USD.
TOTAL_MARKET_CAP_USD = 50e12


@dataclass(frozen=True)
class SectorProfile:
    """Per-sector calibration: size tilt, risk and median fundamentals.

    Attributes
    ----------
    size_tilt : float
        Log-odds tilt of landing on a large rank (higher = bigger companies).
    beta : float
        Typical market beta (before the cap-weighted beta is normalized to 1).
    factor_vol : float
        Annualized volatility of the sector factor (fraction per year).
    total_vol : float
        Typical annualized total volatility of a mid-cap name (fraction per year).
    book_to_price, return_on_equity, cash_flow_yield, gross_profitability, leverage, earnings_variability : float
        Sector medians: book / price, net income / equity, operating cash flow / price,
        gross profit / total assets, debt / total assets (all fractions); earnings
        variability is the coefficient of variation of annual EPS (ratio).
    """

    size_tilt: float
    beta: float
    factor_vol: float
    total_vol: float
    book_to_price: float
    return_on_equity: float
    cash_flow_yield: float
    gross_profitability: float
    leverage: float
    earnings_variability: float


#: Calibration of each sector (see :class:`SectorProfile` for units).
SECTOR_PROFILES: dict[str, SectorProfile] = {
    _IT: SectorProfile(0.6, 1.20, 0.09, 0.34, 0.12, 0.25, 0.040, 0.40, 0.20, 0.25),
    _FIN: SectorProfile(0.2, 1.05, 0.07, 0.27, 0.70, 0.12, 0.080, 0.05, 0.25, 0.25),
    _IND: SectorProfile(-0.1, 1.05, 0.05, 0.29, 0.25, 0.18, 0.055, 0.30, 0.30, 0.25),
    _HC: SectorProfile(0.3, 0.85, 0.07, 0.29, 0.25, 0.17, 0.055, 0.35, 0.28, 0.25),
    _CD: SectorProfile(0.0, 1.15, 0.07, 0.33, 0.20, 0.20, 0.050, 0.40, 0.30, 0.30),
    _CS: SectorProfile(0.0, 0.65, 0.07, 0.24, 0.25, 0.20, 0.055, 0.45, 0.32, 0.15),
    _UTIL: SectorProfile(-0.4, 0.55, 0.10, 0.24, 0.55, 0.10, 0.100, 0.10, 0.42, 0.12),
    _RE: SectorProfile(-0.5, 0.85, 0.09, 0.27, 0.55, 0.07, 0.070, 0.06, 0.45, 0.25),
    _MAT: SectorProfile(-0.4, 1.05, 0.07, 0.30, 0.40, 0.13, 0.075, 0.22, 0.28, 0.35),
    _COMM: SectorProfile(0.5, 1.05, 0.08, 0.31, 0.25, 0.18, 0.060, 0.30, 0.30, 0.30),
    _EN: SectorProfile(0.0, 1.00, 0.16, 0.34, 0.60, 0.14, 0.120, 0.20, 0.22, 0.60),
}

_NAME_STARTS = (
    "Al", "Bel", "Cor", "Dal", "Ev", "Fen", "Gal", "Hal", "Ior", "Jun", "Kel", "Lum", "Mar", "Nor", "Ol",
    "Pra", "Quen", "Ros", "Sol", "Tor", "Ul", "Ver", "Wes", "Xan", "Yor", "Zen",
)
_NAME_ENDS = ("ara", "ex", "ion", "ova", "ant", "eon", "is", "ora", "yx", "en", "ium", "ar", "ent", "ic")
_SECTOR_SUFFIXES: dict[str, tuple[str, ...]] = {
    _IT: ("Systems", "Software", "Semiconductor", "Networks"),
    _FIN: ("Financial", "Bancorp", "Capital", "Insurance"),
    _IND: ("Industries", "Aerospace", "Logistics", "Machinery"),
    _HC: ("Health", "Therapeutics", "Medical", "Biosciences"),
    _CD: ("Retail", "Motors", "Brands", "Leisure"),
    _CS: ("Foods", "Beverages", "Household", "Stores"),
    _UTIL: ("Power", "Electric", "Energy Utilities", "Water"),
    _RE: ("Realty", "Properties", "REIT", "Residential"),
    _MAT: ("Materials", "Chemicals", "Metals", "Packaging"),
    _COMM: ("Media", "Communications", "Interactive", "Telecom"),
    _EN: ("Petroleum", "Oil & Gas", "Resources", "Midstream"),
}


def _tail_weight_profile() -> np.ndarray:
    """Weight curve of ranks 11-500 (fractions, decreasing, before rescaling)."""
    ranks = np.arange(len(TOP10_WEIGHTS) + 1, N_ASSETS + 1)
    anchor_ranks = np.log([r for r, _ in TAIL_WEIGHT_ANCHORS])
    anchor_weights = np.log([w for _, w in TAIL_WEIGHT_ANCHORS])
    return np.exp(np.interp(np.log(ranks), anchor_ranks, anchor_weights))


def draw_caps_and_sectors(rng: np.random.Generator) -> pd.DataFrame:
    """Draw market caps (USD) and sectors, sorted by cap, largest first.

    The ten largest names follow :data:`TOP10_WEIGHTS` / :data:`TOP10_SECTORS` with a 4 %
    multiplicative jitter. The other 490 follow :data:`TAIL_WEIGHT_ANCHORS` with 8 %
    jitter; their sectors are dealt by a size-tilted random order (Gumbel-max sampling
    with :attr:`SectorProfile.size_tilt`), so e.g. Utilities tend to be smaller.

    Returns
    -------
    pd.DataFrame
        Columns ``sector`` and ``market_cap`` (USD), 500 rows, default integer index.
    """
    top_weights = np.asarray(TOP10_WEIGHTS) * np.exp(rng.normal(0.0, 0.04, len(TOP10_WEIGHTS)))
    remaining = dict(SECTOR_COUNTS)
    for sector in TOP10_SECTORS:
        remaining[sector] -= 1
    tail_sectors = np.array([s for s, n in remaining.items() for _ in range(n)])
    tilt = np.array([SECTOR_PROFILES[s].size_tilt for s in tail_sectors])
    tail_sectors = tail_sectors[np.argsort(-(tilt + rng.gumbel(size=len(tilt))), kind="stable")]
    tail_weights = _tail_weight_profile() * np.exp(rng.normal(0.0, 0.08, len(tail_sectors)))
    tail_weights *= (1.0 - top_weights.sum()) / tail_weights.sum()
    weights = np.concatenate([top_weights, tail_weights])
    sectors = np.concatenate([np.array(TOP10_SECTORS), tail_sectors])
    total_cap = TOTAL_MARKET_CAP_USD * float(np.exp(rng.normal(0.0, 0.03)))
    order = np.argsort(-weights, kind="stable")
    return pd.DataFrame({"sector": sectors[order], "market_cap": weights[order] * total_cap})


def make_identifiers(sectors: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Asset ids ``SP001``… (rank by cap), tickers ``SYNAA``… and unique company names.

    Parameters
    ----------
    sectors : np.ndarray of str
        Sector of each asset, in rank order.

    Returns
    -------
    pd.DataFrame
        Columns ``ticker`` and ``name``, indexed by ``asset_id``.
    """
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    n = len(sectors)
    asset_ids = [f"SP{i + 1:03d}" for i in range(n)]
    tickers = [f"SYN{letters[i // 26]}{letters[i % 26]}" for i in range(n)]
    names: list[str] = []
    used: set[str] = set()
    for sector in sectors:
        while True:
            stem = _draw(rng, _NAME_STARTS) + _draw(rng, _NAME_ENDS)
            name = f"{stem} {_draw(rng, _SECTOR_SUFFIXES[sector])}"
            if name not in used:
                break
        used.add(name)
        names.append(name)
    index = pd.Index(asset_ids, name="asset_id")
    return pd.DataFrame({"ticker": tickers, "name": names}, index=index)


def _draw(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    """One of ``words``, uniformly: the same draw from ``rng``'s stream as ``rng.choice(words)``.

    ``Generator.choice`` draws ``integers(0, len(words))``; called on a tuple it first converts the
    tuple to an array, 10× the cost of the draw (35 ms of the embedded dataset's 500 names).
    """
    return words[rng.integers(0, len(words))]


def draw_fundamentals(sectors: pd.Series, market_caps: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Raw fundamentals with realistic sector levels and a size relation.

    Two latent scores drive the ratios, with ``size`` the z-score of log market cap and
    ``mega = max(size - 2.5, 0)`` (non-zero for about the ten largest names); the
    loadings are the module constants ``SIZE_ON_*``, ``MEGACAP_*`` and
    ``PROFITABILITY_ON_CHEAPNESS``::

        profitability q = 0.15·size + 0.3·mega + ε_q
        cheapness     v = -0.25·size - 0.3·mega - 0.1·ε_q + ε_v   (profitable trades richer)

    Mega-caps are therefore expensive (low yields) and high quality (high ROE and gross
    profitability, low leverage and earnings variability), while the equal-weighted
    universe is only mildly cheaper and lower quality than the index. Earnings yield is
    ``return_on_equity × book_to_price`` (E/P = E/B · B/P, clipped to ±25 %), so loss
    makers have a negative earnings yield.

    Parameters
    ----------
    sectors : pd.Series
        GICS sector by asset_id.
    market_caps : pd.Series
        Market capitalization by asset_id, USD.

    Returns
    -------
    pd.DataFrame
        Indexed by asset_id. ``book_to_price``, ``earnings_yield``, ``cash_flow_yield``
        (per unit of price, fractions), ``return_on_equity``, ``gross_profitability``,
        ``leverage`` (fractions) and ``earnings_variability`` (ratio, ≥ 0).
    """
    n = len(sectors)
    log_cap = np.log(market_caps.to_numpy(dtype=float))
    size = (log_cap - log_cap.mean()) / log_cap.std()
    profitable_noise, cheap_noise = rng.standard_normal((2, n))
    mega = np.maximum(size - MEGACAP_SIZE_Z, 0.0)
    profitable = SIZE_ON_PROFITABILITY * size + MEGACAP_ON_PROFITABILITY * mega + profitable_noise
    # Profitable firms trade at richer multiples.
    cheap = (
        SIZE_ON_CHEAPNESS * size + MEGACAP_ON_CHEAPNESS * mega
        + PROFITABILITY_ON_CHEAPNESS * profitable_noise + cheap_noise
    )
    eps = rng.standard_normal((6, n))
    profiles = [SECTOR_PROFILES[s] for s in sectors.tolist()]  # one pass over the (Arrow) strings, not six
    median = {
        field: np.array([getattr(profile, field) for profile in profiles])
        for field in ("book_to_price", "return_on_equity", "cash_flow_yield", "gross_profitability",
                      "leverage", "earnings_variability")
    }
    book_to_price = median["book_to_price"] * np.exp(0.35 * cheap + 0.2 * eps[0])
    return_on_equity = median["return_on_equity"] * np.exp(0.30 * profitable + 0.25 * eps[1])
    # About 5 % loss makers, more likely among low-profitability names.
    loss_maker = rng.random(n) < 0.035 * np.exp(-0.8 * profitable)
    return_on_equity = np.where(loss_maker, -rng.uniform(0.02, 0.30, n), return_on_equity)
    return_on_equity = np.clip(return_on_equity, -0.50, 1.00)
    earnings_yield = np.clip(return_on_equity * book_to_price, -0.25, 0.25)
    cash_flow_yield = median["cash_flow_yield"] * np.exp(0.35 * cheap + 0.30 * eps[2])
    gross_profitability = median["gross_profitability"] * np.exp(0.25 * profitable + 0.30 * eps[3])
    gross_profitability = np.clip(gross_profitability, 0.005, 1.2)
    leverage = np.clip(median["leverage"] - 0.08 * profitable + 0.08 * eps[4], 0.0, 0.85)
    earnings_variability = median["earnings_variability"] * np.exp(-0.35 * profitable + 0.35 * eps[5])
    return pd.DataFrame(
        {
            "book_to_price": book_to_price,
            "earnings_yield": earnings_yield,
            "cash_flow_yield": cash_flow_yield,
            "return_on_equity": return_on_equity,
            "gross_profitability": gross_profitability,
            "leverage": leverage,
            "earnings_variability": earnings_variability,
        },
        index=sectors.index,
    )


def draw_prices_and_volume(market_caps: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Share prices (USD, 10-900) and average daily volume (shares, 0.3-1.5 % of shares a day).

    Parameters
    ----------
    market_caps : pd.Series
        Market capitalization by asset_id, USD.

    Returns
    -------
    pd.DataFrame
        Columns ``price`` (USD per share), ``shares_outstanding`` (shares, = cap / price)
        and ``adv`` (average daily volume, shares), indexed by asset_id.
    """
    n = len(market_caps)
    price = np.round(np.clip(np.exp(rng.normal(np.log(140.0), 0.8, n)), 10.0, 900.0), 2)
    shares = market_caps.to_numpy(dtype=float) / price
    daily_turnover = np.clip(np.exp(rng.normal(np.log(0.0065), 0.35, n)), 0.003, 0.015)
    adv = np.round(shares * daily_turnover)
    return pd.DataFrame({"price": price, "shares_outstanding": shares, "adv": adv}, index=market_caps.index)
