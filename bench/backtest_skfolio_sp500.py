"""Backtest on real data: 20 S&P 500 stocks against the real S&P 500 index, 1995–2022, quarterly.

Usage: ``python bench/backtest_skfolio_sp500.py [START END]`` (default 1995-01-01 2022-12-28).

Data: skfolio's offline sample (20 stocks' daily prices and the S&P 500 index level,
1990-01-02 to 2022-12-28; no network), written as trimtab files by
``examples/real_sp500/make_files.py`` into a temporary folder. The benchmark is the index's
**return series** (``data.benchmark: {returns: index_returns.csv, column: SP500}``): at each
rebalance the index is regressed on the stocks over the risk window, consistently with the
Ledoit-Wolf covariance (README, "Benchmarks") — no pseudo-asset, so the ex-ante TE is an
estimate of the realized one (the old trick, the index as a 21st asset, made Ledoit-Wolf shrink
the index itself and overstated the ex-ante TE about 5×). The job: minimum TE to the index,
3-year window, long-only, at most 15 % per name, at most 25 % two-way turnover per quarter
(priority 1, relaxed as little as needed), 5 bps linear costs.

It prints the summary and, per rebalance, the ex-ante TE next to the TE realized over the
following quarter (mean and median of both and of their ratio).

Caveats: the index is a price index (no dividends) while the stock prices are adjusted
closes, so active returns include roughly the index's dividend yield; the 20 names are
today's survivors (survivorship).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

_REPO = Path(__file__).resolve().parents[1]
JOB = """\
name: sp500_20_stocks_min_te
data:
  source: files
  universe: universe.csv
  returns: returns.csv.gz
  benchmark: {{returns: index_returns.csv, column: SP500}}
risk_model: {{method: ledoit_wolf, window: {window}}}
constraints:
  - asset_weight: {{max: {name_cap}}}
  - turnover: {{max: {turnover}, priority: 1}}
allow_relaxation: true
costs: {{linear_bps: {linear_bps}}}
"""


def write_files(folder: Path, start: str) -> None:
    """The example's data files, from the first date the backtest's window needs."""
    spec = importlib.util.spec_from_file_location("make_files", _REPO / "examples" / "real_sp500" / "make_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_files(folder, start=start)


def main(start: str, end: str, window: int = 756) -> None:
    from trimtab.optimizer.research import backtest

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="trimtab-sp500-") as work:
        folder = Path(work)
        first = (pd.Timestamp(start) - pd.offsets.BDay(window + 30)).date().isoformat()
        write_files(folder, max(first, "1990-01-03"))
        job = folder / "job.yaml"
        job.write_text(JOB.format(window=window, name_cap=0.15, turnover=0.25, linear_bps=5.0))
        loaded = time.perf_counter() - started
        result = backtest(job, start, end, "quarterly")
    pd.set_option("display.width", 160)
    print(f"data written in {loaded:.1f} s")
    print(result.describe())
    print(result.summary().to_string(float_format=lambda v: f"{v:.4f}"))
    r = result.rebalances.dropna(subset=["realized_te"])
    ratio = r["realized_te"] / r["ex_ante_te"]
    print(
        f"ex-ante TE mean {r['ex_ante_te'].mean():.2%} / median {r['ex_ante_te'].median():.2%}; realized TE over the "
        f"next quarter mean {r['realized_te'].mean():.2%} / median {r['realized_te'].median():.2%}; realized/ex-ante "
        f"median {ratio.median():.2f}; turnover after the first rebalance {r['turnover'].iloc[1:].mean():.2%} per quarter"
    )
    print(f"runtime: {result.runtime_seconds:.1f} s (wall {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(args if len(args) == 2 else ("1995-01-01", "2022-12-28")))
