"""A small random universe and factor risk model for fast constraint and optimizer tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trimtab.models import MarketSnapshot, RiskModel

SECTORS = ("Energy", "Financials", "Health Care", "Information Technology")


def make_toy(n: int = 40, k: int = 4, seed: int = 0) -> tuple[MarketSnapshot, RiskModel]:
    """A heavy-tailed cap-weighted universe of ``n`` names in 4 sectors and a k-factor model.

    Characteristics ``value`` and ``quality`` have benchmark exposure 0; group ``TOP5``
    holds the five largest names; holdings are the benchmark perturbed by a few percent.
    """
    rng = np.random.default_rng(seed)
    digits = max(3, len(str(n - 1)))  # sorted ids at any size
    ids = pd.Index([f"T{i:0{digits}d}" for i in range(n)], name="asset_id")
    caps = np.sort(rng.lognormal(0.0, 1.2, n))[::-1] * 1e10
    wb = caps / caps.sum()
    assets = pd.DataFrame(
        {"sector": [SECTORS[i % len(SECTORS)] for i in range(n)], "market_cap": caps, "price": 50.0, "adv": 1e6},
        index=ids,
    )
    w0 = wb * np.exp(rng.normal(0.0, 0.2, n))
    w0 /= w0.sum()
    chars = pd.DataFrame({"value": rng.normal(size=n), "quality": rng.normal(size=n)}, index=ids)
    chars = (chars - wb @ chars.to_numpy()) / chars.std(ddof=0)
    chars -= wb @ chars.to_numpy()
    dates = pd.bdate_range("2024-01-01", periods=260)
    returns = pd.DataFrame(rng.normal(0.0, 0.015, (len(dates), n)), index=dates, columns=ids)
    snapshot = MarketSnapshot(
        dataset="toy",
        as_of=dates[-1],
        assets=assets,
        benchmark_weights=pd.Series(wb, index=ids),
        holdings=pd.Series(w0, index=ids),
        characteristics=chars,
        returns=returns,
        groups={"TOP5": tuple(ids[:5])},
    )
    exposures = rng.normal(size=(n, k))
    factor_cov_sqrt = np.linalg.cholesky(np.diag(rng.uniform(0.01, 0.04, k)) + 0.002)
    specific = rng.uniform(0.15, 0.35, n)
    model = RiskModel(tuple(ids), tuple(f"f{i}" for i in range(k)), exposures, factor_cov_sqrt, specific, name="toy")
    return snapshot, model
