"""Write trimtab data files from skfolio's real S&P 500 sample: 20 stocks and the S&P 500 index.

Usage::

    python examples/real_sp500/make_files.py [--out DIR] [--start YYYY-MM-DD]

Source: ``skfolio.datasets.load_sp500_dataset()`` (daily adjusted closes of 20 S&P 500 stocks,
1990-01-02 to 2022-12-28) and ``load_sp500_index()`` (the S&P 500 index level), shipped inside
the ``skfolio`` package (``pip install skfolio``; no network). Files written to ``DIR`` (default:
this script's folder):

* ``universe.csv`` — ``asset_id`` (= ticker), ``ticker``, ``sector`` (GICS, 2022), ``price``
  (last close, USD) and ``benchmark_weight`` (the 20 stocks price-weighted on the last date, as
  the last row of ``benchmark_weights.csv.gz``). No ``market_cap``: real caps are not in the
  sample, and nothing here needs them.
* ``returns.csv.gz`` — daily simple returns of the 20 stocks from ``--start`` (default
  2005-01-03), wide: ``date`` + one column per ticker (gzip-compressed CSV, as vendors ship it).
* ``index_returns.csv`` — ``date``, ``SP500``: the index's daily simple returns (a price index:
  no dividends), for a benchmark given as a return series.
* ``benchmark_weights.csv.gz`` — point-in-time constituents for backtests, long ``date,
  asset_id, weight``: at each quarter end the 20 stocks **price-weighted** (weight ∝ the day's
  close, as the Dow Jones index weighs its members). *Illustrative*: the real S&P 500 holds
  ~500 names cap-weighted; these 20 are today's survivors.

The data files are generated, not committed (``.gitignore`` in this folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

#: GICS sector of each ticker (as classified in 2022).
SECTORS = {
    "AAPL": "Information Technology", "AMD": "Information Technology", "BAC": "Financials",
    "BBY": "Consumer Discretionary", "CVX": "Energy", "GE": "Industrials", "HD": "Consumer Discretionary",
    "JNJ": "Health Care", "JPM": "Financials", "KO": "Consumer Staples", "LLY": "Health Care",
    "MRK": "Health Care", "MSFT": "Information Technology", "PEP": "Consumer Staples", "PFE": "Health Care",
    "PG": "Consumer Staples", "RRC": "Energy", "UNH": "Health Care", "WMT": "Consumer Staples", "XOM": "Energy",
}

#: File names, by role.
FILES = {
    "universe": "universe.csv",
    "returns": "returns.csv.gz",
    "index": "index_returns.csv",
    "benchmark": "benchmark_weights.csv.gz",
}


def make_files(out: Path, start: str = "2005-01-03") -> dict[str, Path]:
    """Write the four files into ``out`` (created if needed); return their paths by role."""
    try:
        from skfolio.datasets import load_sp500_dataset, load_sp500_index
    except ImportError as error:  # pragma: no cover - a clear message instead of a traceback
        raise SystemExit(f"this example needs skfolio (pip install skfolio): {error}") from None
    prices = load_sp500_dataset().sort_index(axis=1)
    level = load_sp500_index()["SP500"]
    prices.index = level.index = pd.DatetimeIndex(prices.index, name="date").as_unit("ns")
    prices, level = prices.loc[pd.Timestamp(start) - pd.Timedelta(days=7) :], level.loc[prices.index[0] :]
    returns = (prices / prices.shift(1) - 1.0).iloc[1:].loc[start:]
    index = (level / level.shift(1) - 1.0).loc[returns.index].rename("SP500")
    tickers = list(prices.columns)

    last = prices.loc[returns.index[-1]]
    universe = pd.DataFrame(
        {"asset_id": tickers, "ticker": tickers, "sector": [SECTORS[t] for t in tickers],
         "price": last.round(4).to_numpy(), "benchmark_weight": (last / last.sum()).to_numpy()}
    )
    quarter_ends = returns.index.to_series().groupby(returns.index.to_period("Q")).max()
    closes = prices.loc[quarter_ends.to_numpy()]
    weights = closes.div(closes.sum(axis=1), axis=0).stack().rename("weight").reset_index()
    weights.columns = ["date", "asset_id", "weight"]

    out.mkdir(parents=True, exist_ok=True)
    paths = {role: out / name for role, name in FILES.items()}
    universe.to_csv(paths["universe"], index=False)
    returns.reset_index().to_csv(paths["returns"], index=False, date_format="%Y-%m-%d")
    index.reset_index().to_csv(paths["index"], index=False, date_format="%Y-%m-%d")
    weights.to_csv(paths["benchmark"], index=False, date_format="%Y-%m-%d")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output folder")
    parser.add_argument("--start", default="2005-01-03", help="first date of returns (YYYY-MM-DD)")
    args = parser.parse_args()
    for role, path in make_files(args.out, args.start).items():
        print(f"{role:10s} {path}")


if __name__ == "__main__":
    main()
