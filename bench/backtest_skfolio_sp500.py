"""Backtest on real data: 20 S&P 500 stocks against the real S&P 500 index, 1995–2022, quarterly.

Usage: ``python bench/backtest_skfolio_sp500.py [START END]`` (default 1995-01-01 2022-12-28).

Data: skfolio's offline sample (``load_sp500_dataset``: daily prices of 20 stocks,
``load_sp500_index``: the S&P 500 index level, 1990-01-02 to 2022-12-28; no network). The
index is added as a 21st asset, ``SP500``, which the benchmark holds with weight 1 and the
portfolio may not hold (``restricted``). The job: minimum tracking error to the index with
a ledoit_wolf covariance over the 21 series (3-year window), long-only, at most 15 % per
name, at most 25 % two-way turnover per quarter (priority 1, relaxed as little as needed —
the first rebalance moves the whole book out of the index), 5 bps linear costs.

Caveats: the index is a price index (no dividends) while the stock prices are skfolio's
(adjusted) closes, so active returns include roughly the index's dividend yield; the 20
names are today's survivors (survivorship); sectors and the end-2022 market caps come from
``tests/models/skfolio_files.py`` (caps approximate; they only feed the snapshot's table).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trimtab.constraints import JobSpec, loads_job
from trimtab.models import MarketHistory, prices_to_returns

#: asset_id of the S&P 500 index in the history.
INDEX_ID = "SP500"

#: Approximate total market cap of the S&P 500 at end-2022, USD (only labels the index row).
INDEX_MARKET_CAP = 3.2e13

_REPO = Path(__file__).resolve().parents[1]


def _skfolio_tables():
    """SECTORS and MARKET_CAPS of the 20 stocks (shared with the tests' user-file builder)."""
    spec = importlib.util.spec_from_file_location("skfolio_files", _REPO / "tests" / "models" / "skfolio_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SECTORS, module.MARKET_CAPS


def build_history() -> MarketHistory:
    """The 20 stocks and the index as one history whose benchmark is the index alone."""
    from skfolio.datasets import load_sp500_dataset, load_sp500_index

    sectors, caps = _skfolio_tables()
    prices = load_sp500_dataset().join(load_sp500_index().rename(columns={"SP500": INDEX_ID}))
    prices.index = pd.DatetimeIndex(prices.index, name="date").as_unit("ns")
    prices = prices.sort_index(axis=1)
    returns = prices_to_returns(prices)
    ids = pd.Index(prices.columns, name="asset_id")
    returns.columns = ids
    last = prices.iloc[-1]
    assets = pd.DataFrame(
        {
            "ticker": ids,
            "sector": [sectors.get(a, "Index") for a in ids],
            "market_cap": [caps.get(a, INDEX_MARKET_CAP) for a in ids],
            "price": last.to_numpy(dtype=float),
            "adv": np.nan,  # the sample has no volume
        },
        index=ids,
    )
    return MarketHistory(
        dataset="skfolio S&P 500 sample (20 stocks + S&P 500 index, real prices)",
        assets=assets,
        returns=returns,
        benchmark_values=pd.Series((ids == INDEX_ID).astype(float), index=ids),
        characteristics=False,
    )


def sp500_job(*, window: int = 756, name_cap: float = 0.15, turnover: float = 0.25, linear_bps: float = 5.0) -> JobSpec:
    """Minimum TE to the index: no index holding, long-only, per-name cap, turnover budget, costs."""
    return loads_job(
        f"""
name: sp500_20_stocks_min_te
risk_model: {{method: ledoit_wolf, window: {window}}}
constraints:
  - restricted: {{assets: [{INDEX_ID}]}}
  - asset_weight: {{max: {name_cap}}}
  - turnover: {{max: {turnover}, priority: 1}}
allow_relaxation: true
costs: {{linear_bps: {linear_bps}}}
""",
        source="bench/backtest_skfolio_sp500.py",
    )


def main(start: str, end: str) -> None:
    from trimtab.optimizer.research import backtest

    started = time.perf_counter()
    history = build_history()
    loaded = time.perf_counter() - started
    result = backtest(sp500_job(), start, end, "quarterly", history=history)
    pd.set_option("display.width", 160)
    print(f"history: {history.dataset}, {history.dates[0].date()} to {history.dates[-1].date()} ({loaded:.1f} s)")
    print(result.describe())
    print(result.summary().to_string(float_format=lambda v: f"{v:.4f}"))
    r = result.rebalances
    print(
        f"ex-ante TE mean {r['ex_ante_te'].mean():.2%}, realized TE per quarter mean {r['realized_te'].mean():.2%}; "
        f"turnover after the first rebalance {r['turnover'].iloc[1:].mean():.2%} per quarter"
    )
    print(f"runtime: {result.runtime_seconds:.1f} s (wall {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(args if len(args) == 2 else ("1995-01-01", "2022-12-28")))
