"""User data files built from skfolio's real S&P 500 sample (20 stocks, daily, 1990–2022).

Prices and everything derived from them (returns, last price, momentum, volatility) are real.
Sectors are the stocks' GICS sectors. Market caps are *approximate* end-2022 values in USD,
fixed here by hand (plausible, not sourced to the day). There is no volume in the sample, so
the universe has no ``adv`` column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: GICS sector of each ticker (as classified in 2022).
SECTORS = {
    "AAPL": "Information Technology",
    "AMD": "Information Technology",
    "BAC": "Financials",
    "BBY": "Consumer Discretionary",
    "CVX": "Energy",
    "GE": "Industrials",
    "HD": "Consumer Discretionary",
    "JNJ": "Health Care",
    "JPM": "Financials",
    "KO": "Consumer Staples",
    "LLY": "Health Care",
    "MRK": "Health Care",
    "MSFT": "Information Technology",
    "PEP": "Consumer Staples",
    "PFE": "Health Care",
    "PG": "Consumer Staples",
    "RRC": "Energy",
    "UNH": "Health Care",
    "WMT": "Consumer Staples",
    "XOM": "Energy",
}

#: Approximate market capitalization at end-2022, USD.
MARKET_CAPS = {
    "AAPL": 2.05e12,
    "AMD": 1.0e11,
    "BAC": 2.6e11,
    "BBY": 1.8e10,
    "CVX": 3.45e11,
    "GE": 7.3e10,
    "HD": 3.25e11,
    "JNJ": 4.6e11,
    "JPM": 3.9e11,
    "KO": 2.75e11,
    "LLY": 3.45e11,
    "MRK": 2.8e11,
    "MSFT": 1.78e12,
    "PEP": 2.45e11,
    "PFE": 2.9e11,
    "PG": 3.55e11,
    "RRC": 6.0e9,
    "UNH": 4.9e11,
    "WMT": 3.85e11,
    "XOM": 4.5e11,
}

#: Trading days of returns written (about three years).
N_RETURN_DAYS = 3 * 252


def write_skfolio_user_files(directory: Path, *, fmt: str = "csv") -> dict[str, Path]:
    """Write universe, returns and holdings files for the 20 skfolio S&P 500 stocks.

    Parameters
    ----------
    directory : Path
        Existing directory to write into.
    fmt : {"csv", "parquet"}
        File format of all three files.

    Returns
    -------
    dict of str to Path
        Paths under keys ``"universe"``, ``"returns"`` and ``"holdings"``. The universe has
        ``asset_id`` (= ticker), ``ticker``, ``sector``, ``market_cap`` (USD), ``price`` (last
        close, USD) and two characteristics from the prices: ``momentum_12_1`` (return from
        252 to 21 trading days before the last date, fraction) and ``volatility_1y``
        (annualized std of the last 252 daily returns, fraction). Returns are the last
        ``N_RETURN_DAYS`` daily simple returns (to 2022-12-28); holdings are equal weights.
    """
    from skfolio.datasets import load_sp500_dataset

    from trimtab.models._loaders import prices_to_returns

    directory = Path(directory)
    prices = load_sp500_dataset().iloc[-(N_RETURN_DAYS + 1) :]
    returns = prices_to_returns(prices)
    tickers = sorted(prices.columns)
    last = prices.iloc[-1]
    universe = pd.DataFrame(
        {
            "asset_id": tickers,
            "ticker": tickers,
            "sector": [SECTORS[t] for t in tickers],
            "market_cap": [MARKET_CAPS[t] for t in tickers],
            "price": [float(last[t]) for t in tickers],
            "momentum_12_1": [float(prices[t].iloc[-22] / prices[t].iloc[-253] - 1.0) for t in tickers],
            "volatility_1y": [float(returns[t].iloc[-252:].std() * np.sqrt(252)) for t in tickers],
        }
    )
    holdings = pd.DataFrame({"asset_id": tickers, "weight": 1.0 / len(tickers)})
    returns = returns.rename_axis("date").reset_index()

    paths = {name: directory / f"{name}.{fmt}" for name in ("universe", "returns", "holdings")}
    for name, frame in (("universe", universe), ("returns", returns), ("holdings", holdings)):
        if fmt == "csv":
            frame.to_csv(paths[name], index=False)
        elif fmt == "parquet":
            frame.to_parquet(paths[name], index=False)
        else:
            raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    return paths
