"""A ragged market in files, generated here: 24 names in 3 sectors over 700 business days, one
listing mid-sample (``LATE``) and one delisting (``GONE``), with point-in-time benchmark weights.

Returns follow market + sector + specific factors (seeded). The benchmark file holds every
name that trades on each of its dates (quarter ends, plus ``GONE``'s last day, when the index
drops it), weighted by fixed share counts × the name's price index on that date (a
cap-weighted index).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SECTORS = ("Energy", "Financials", "Health Care")
IDS = [f"R{i:02d}" for i in range(1, 25)]
LATE, GONE = "R05", "R17"
DATES = pd.bdate_range("2019-01-01", periods=700, name="date")
LATE_FIRST = 450  # first row with a return of LATE
GONE_LAST = 500  # last row with a return of GONE


def ragged_returns(seed: int = 3) -> pd.DataFrame:
    """Daily returns, dates × IDS, NaN before LATE lists and after GONE delists."""
    rng = np.random.default_rng(seed)
    t, n = len(DATES), len(IDS)
    sector = np.arange(n) % len(SECTORS)
    market = rng.normal(0.0003, 0.010, t)
    sectors = rng.normal(0.0, 0.006, (t, len(SECTORS)))
    beta = rng.uniform(0.7, 1.3, n)
    values = market[:, None] * beta + sectors[:, sector] + rng.normal(0.0, 0.012, (t, n))
    frame = pd.DataFrame(values, index=DATES, columns=IDS)
    frame.iloc[:LATE_FIRST, IDS.index(LATE)] = np.nan
    frame.iloc[GONE_LAST + 1 :, IDS.index(GONE)] = np.nan
    return frame


def universe(*, caps: bool = True) -> pd.DataFrame:
    """asset_id, sector, market_cap (USD) or benchmark_weight (GONE 0: it no longer trades at the end), price."""
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "asset_id": IDS,
            "sector": [SECTORS[i % len(SECTORS)] for i in range(len(IDS))],
            "price": rng.uniform(10, 300, len(IDS)).round(2),
            "book_to_price": rng.uniform(0.1, 1.0, len(IDS)),
        }
    )
    size = np.exp(rng.normal(24.0, 1.0, len(IDS)))
    if caps:
        frame["market_cap"] = size
    weight = size * (np.array(IDS) != GONE)
    frame["benchmark_weight"] = weight / weight.sum()
    return frame


def benchmark_weights(returns: pd.DataFrame) -> pd.DataFrame:
    """Long ``date, asset_id, weight``: quarter ends and GONE's last day, names trading that day, cap-weighted."""
    shares = np.exp(np.random.default_rng(11).normal(18.0, 1.0, len(IDS)))
    level = (1.0 + returns.fillna(0.0)).cumprod()
    quarter_ends = returns.index.to_series().groupby(returns.index.to_period("Q")).max()
    days = sorted(set(quarter_ends) | {returns.index[GONE_LAST]})
    rows = []
    for day in days:
        trading = returns.loc[day].notna()
        if day == returns.index[GONE_LAST]:
            trading[GONE] = False  # the index drops GONE at the close of its last day
        value = (shares * level.loc[day])[trading.to_numpy()]
        rows.append(pd.DataFrame({"date": day, "asset_id": value.index, "weight": value / value.sum()}))
    return pd.concat(rows, ignore_index=True)


def write_ragged(directory: Path, *, suffix: str = ".csv", caps: bool = True) -> dict[str, Path]:
    """Write universe, returns and benchmark weights files; return their paths by role."""
    directory = Path(directory)
    returns = ragged_returns()
    paths = {
        "universe": directory / f"universe{suffix}",
        "returns": directory / f"returns{suffix}",
        "benchmark": directory / f"benchmark_weights{suffix}",
    }
    frames = {
        "universe": universe(caps=caps),
        "returns": returns.reset_index(),
        "benchmark": benchmark_weights(returns),
    }
    for role, frame in frames.items():
        if ".parquet" in suffix:
            frame.to_parquet(paths[role], index=False)
        else:
            frame.to_csv(paths[role], index=False)  # pandas infers .gz/.bz2/.xz/.zip from the suffix
    return paths
