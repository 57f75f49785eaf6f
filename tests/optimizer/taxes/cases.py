"""Hand-built tax cases: 3 assets, 6 lots, known prices and a one-factor risk model.

NAV $1,000,000; prices A $100, B $50, C $20; holdings 60 / 25 / 15 %, benchmark 50 / 30 / 20 %.
As of 2025-06-30, rates 37 % short-term and 20 % long-term:

====  =====  ======  =====  ==========  ======  ==========================
lot   asset  shares  basis  acquired    g       tax per unit of NAV sold
====  =====  ======  =====  ==========  ======  ==========================
A1    A      3000    60     2020-01-15  +0.40   +0.080 (long)
A2    A      3000    110    2025-03-01  −0.10   −0.037 (short)
B1    B      2500    40     2025-01-10  +0.20   +0.074 (short)
B2    B      2500    62.5   2022-05-01  −0.25   −0.050 (long)
C1    C      5000    10     2019-01-01  +0.50   +0.100 (long)
C2    C      2500    16     2025-02-01  +0.20   +0.074 (short)
====  =====  ======  =====  ==========  ======  ==========================

Without a turnover cap, selling B2 at a loss and buying B back costs nothing in the convex
relaxation: the case exercises the wash-sale either/or.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

from trimtab.constraints import loads_job
from trimtab.models import MarketSnapshot, RiskModel, TaxLots

IDS = ["A", "B", "C"]
PRICES = np.array([100.0, 50.0, 20.0])
HOLDINGS = np.array([0.60, 0.25, 0.15])
BENCHMARK = np.array([0.50, 0.30, 0.20])
NAV = 1_000_000.0
AS_OF = pd.Timestamp("2025-06-30")
EXPOSURES = np.array([[1.0], [1.2], [0.8]])
FACTOR_VOL = 0.16
SPECIFIC = np.array([0.25, 0.30, 0.35])
RATES = {"short_term_rate": 0.37, "long_term_rate": 0.20}

LOTS = pd.DataFrame(
    {
        "lot_id": ["A1", "A2", "B1", "B2", "C1", "C2"],
        "asset_id": ["A", "A", "B", "B", "C", "C"],
        "shares": [3000.0, 3000.0, 2500.0, 2500.0, 5000.0, 2500.0],
        "cost_basis": [60.0, 110.0, 40.0, 62.5, 10.0, 16.0],
        "acquired": pd.to_datetime(["2020-01-15", "2025-03-01", "2025-01-10", "2022-05-01", "2019-01-01", "2025-02-01"]),
    }
)


def snapshot() -> MarketSnapshot:
    """The 3-asset market (returns are filler: the risk model is given)."""
    ids = pd.Index(IDS, name="asset_id")
    dates = pd.bdate_range(end=AS_OF, periods=40)
    rng = np.random.default_rng(0)
    return MarketSnapshot(
        dataset="hand-built tax case",
        as_of=AS_OF,
        assets=pd.DataFrame(
            {"sector": ["Energy", "Financials", "Health Care"], "market_cap": BENCHMARK * 1e12, "price": PRICES, "adv": 1e6},
            index=ids,
        ),
        benchmark_weights=pd.Series(BENCHMARK, index=ids),
        holdings=pd.Series(HOLDINGS, index=ids),
        characteristics=pd.DataFrame({"value": [0.0, 0.0, 0.0]}, index=ids),
        returns=pd.DataFrame(rng.normal(0, 0.01, (len(dates), 3)), index=dates, columns=ids),
    )


def risk_model() -> RiskModel:
    """One market factor (16 % vol) and specific vols 25 / 30 / 35 %."""
    return RiskModel(tuple(IDS), ("market",), EXPOSURES, np.array([[FACTOR_VOL]]), SPECIFIC, name="hand-built")


def covariance() -> np.ndarray:
    """Σ = B F Bᵀ + diag(s²), annualized."""
    return FACTOR_VOL**2 * EXPOSURES @ EXPOSURES.T + np.diag(SPECIFIC**2)


def lots(**changes) -> TaxLots:
    """The six lots (``changes``: column → list of values replacing it), no recent trades."""
    return TaxLots(LOTS.assign(**changes), source="hand-built lots")


def job(weight: float = 0.2, method: str = "auto", constraints: list | None = None, **taxes):
    """The case's job: min TE, the taxes section with the case's rates."""
    spec = {"constraints": constraints or [], "taxes": {**RATES, "weight": weight, "method": method, "nav": NAV, **taxes}}
    return loads_job(yaml.safe_dump(spec))


def tax_per_sale(lot_table: pd.DataFrame | None = None) -> np.ndarray:
    """Rate × (1 − basis / price) of each lot, in the lots' order (computed here, not by trimtab)."""
    table = LOTS if lot_table is None else lot_table
    price = PRICES[[IDS.index(a) for a in table["asset_id"]]]
    gain = 1 - table["cost_basis"].to_numpy() / price
    long_term = (AS_OF - table["acquired"]).dt.days.to_numpy() > 365
    return np.where(long_term, RATES["long_term_rate"], RATES["short_term_rate"]) * gain
