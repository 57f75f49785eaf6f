"""Small user data files (universe, returns, holdings) for the loader tests: frames and writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

IDS = ["A001", "A002", "A003", "A004", "A005", "A006"]
DATES = pd.bdate_range("2024-01-02", periods=30)


def universe_frame() -> pd.DataFrame:
    """Six assets, listed out of order, with every kind of column the loader knows."""
    rng = np.random.default_rng(0)
    n = len(IDS)
    frame = pd.DataFrame(
        {
            "asset_id": IDS,
            "ticker": ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"],
            "cusip": ["012345678", "001234567", "123456789", "000000017", "222222222", "333333333"],
            "name": ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"],
            "sector": ["Energy", "Energy", "Financials", "Financials", "Health Care", "Health Care"],
            "market_cap": [3.0e12, 1.0e12, 5.0e11, 2.0e11, 1.0e11, 5.0e10],
            "price": [150.0, 80.0, 40.0, 25.0, 10.0, 5.0],
            "adv": [5e7, 2e7, 1e7, 5e6, 2e6, 1e6],
            "book_to_price": rng.uniform(0.1, 1.0, n),
            "earnings_yield": rng.uniform(0.01, 0.10, n),
            "cash_flow_yield": rng.uniform(0.01, 0.12, n),
            "return_on_equity": rng.uniform(0.05, 0.40, n),
            "gross_profitability": rng.uniform(0.10, 0.60, n),
            "leverage": rng.uniform(0.5, 3.0, n),
            "earnings_variability": rng.uniform(0.01, 0.30, n),
            "momentum": rng.normal(0.1, 0.2, n),
        }
    )
    return frame.iloc[[3, 0, 5, 1, 4, 2]].reset_index(drop=True)


def returns_frame(ids: list[str] = IDS, dates: pd.DatetimeIndex = DATES) -> pd.DataFrame:
    """Wide daily returns with a ``date`` column, rows shuffled (the loader sorts them)."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(0.0004, 0.015, (len(dates), len(ids))), columns=ids)
    frame.insert(0, "date", dates)
    return frame.sample(frac=1.0, random_state=2).reset_index(drop=True)


def holdings_frame() -> pd.DataFrame:
    return pd.DataFrame({"asset_id": ["A001", "A003", "A005"], "weight": [0.5, 0.3, 0.2]})


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def write_all(directory: Path, suffix: str = ".csv", **frames: pd.DataFrame) -> dict[str, Path]:
    """Write universe/returns/holdings (defaults overridable) and return their paths."""
    defaults = {"universe": universe_frame(), "returns": returns_frame(), "holdings": holdings_frame()}
    defaults.update(frames)
    return {name: write(frame, directory / f"{name}{suffix}") for name, frame in defaults.items()}
