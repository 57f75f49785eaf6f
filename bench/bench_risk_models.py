"""Risk models at scale and through time: what each step costs at 500, 3,000 and 10,000 names.

Usage::

    python bench/bench_risk_models.py [--sizes 500 3000 10000] [--repeat 3] [--days 800]
                                      [--no-backtest | --backtest-only] [--load] [--cli]

For each size the script writes a synthetic universe and returns file (CSV, ``--days`` trading
days of factor-structured returns; no network) and times, before → after, min and median of
``--repeat`` runs:

* reading the returns CSV (before: pandas with a per-column missing-value dict, as the
  loader did; after: :func:`trimtab.models.read_table`), and the whole
  :func:`trimtab.models.load_snapshot` (universe, returns, checks, characteristics);
* characteristics of every month-end of a 10-year history (before: per-date pandas
  winsorize/standardize; after: ``MarketHistory.characteristics_on``, all dates at once) —
  at 500 names only, on the embedded synthetic history;
* PCA (before: full SVD; after: ``svd_solver="auto"``), with the largest relative gap
  between the two solvers' eigenvalues and factor-model tracking errors;
* the fundamental model's cross-sectional regressions over the whole window (before:
  scikit-learn's ``LinearRegression``, LAPACK ``gelsd``; after: one thin QR), with the
  largest difference of the factor returns, and the whole fit (after).

Then the 10-year monthly backtest of the default job (``bench/backtest_10y.py``'s), with the
BLAS thread caps (``trimtab.models.blas_threads``: the factor models' thin algebra, the loop
of a small universe) and without any; ``--load`` runs a busy loop on another core meanwhile,
``--backtest-only`` skips the rest. ``--cli`` also runs ``trimtab optimize`` end to
end on the largest size for the fundamental and the PCA model (wall time, peak memory).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # time the source tree, not an installed copy

from sklearn.linear_model import LinearRegression  # noqa: E402

from trimtab import models  # noqa: E402
from trimtab.models import _threads  # noqa: E402  (the bench switches the cap off to compare)
from trimtab.models._tables import CSV_NA_VALUES  # noqa: E402

SECTORS = (
    "Communication Services", "Consumer Discretionary", "Consumer Staples", "Energy", "Financials",
    "Health Care", "Industrials", "Information Technology", "Materials", "Real Estate", "Utilities",
)
WINDOW = 756


# ----------------------------------------------------------------------------- data


def write_market(directory: Path, n: int, days: int, seed: int = 0) -> tuple[Path, Path]:
    """A universe (sectors, caps, fundamentals) and ``days`` of factor-structured daily returns, as CSV."""
    rng = np.random.default_rng(seed)
    ids = [f"A{i:05d}" for i in range(n)]
    sector = rng.choice(SECTORS, n)
    caps = np.exp(rng.normal(23.0, 1.5, n))
    universe = pd.DataFrame({
        "asset_id": ids, "sector": sector, "market_cap": caps, "price": rng.uniform(5, 500, n), "adv": caps / 1e4,
        "book_to_price": rng.lognormal(-0.7, 0.5, n), "earnings_yield": rng.normal(0.05, 0.03, n),
        "cash_flow_yield": rng.normal(0.06, 0.03, n), "return_on_equity": rng.normal(0.15, 0.1, n),
        "gross_profitability": rng.normal(0.3, 0.1, n), "leverage": rng.lognormal(0.3, 0.4, n),
        "earnings_variability": rng.lognormal(-2.5, 0.5, n),
    })
    exposures = np.zeros((n, 1 + len(SECTORS) + 3))
    exposures[:, 0] = rng.normal(1.0, 0.3, n)
    exposures[np.arange(n), 1 + pd.Index(SECTORS).get_indexer(sector)] = 1.0
    exposures[:, -3:] = rng.normal(size=(n, 3)) * 0.5
    factor_returns = rng.normal(0.0, 0.01, (days, exposures.shape[1]))
    values = np.round(factor_returns @ exposures.T + rng.standard_t(5, (days, n)) * 0.012, 8)
    returns = pd.DataFrame(values, columns=ids)
    returns.insert(0, "date", pd.bdate_range(end="2026-10-30", periods=days).strftime("%Y-%m-%d"))
    directory.mkdir(parents=True, exist_ok=True)
    universe.to_csv(directory / "universe.csv", index=False)
    returns.to_csv(directory / "returns.csv", index=False)
    return directory / "universe.csv", directory / "returns.csv"


# ----------------------------------------------------------------------------- the old paths


def old_read(path: Path) -> pd.DataFrame:
    """The returns file as the loader read it before: a missing-value list per column."""
    header = path.open().readline().strip().split(",")
    na = {c: [""] if c == "date" else list(CSV_NA_VALUES) for c in header}
    return pd.read_csv(path, dtype={"date": str}, na_values=na, keep_default_na=False, encoding="utf-8-sig")


def old_regression(returns: np.ndarray, design: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factor returns and leverage as computed before: one multi-output LinearRegression (gelsd), an inverse."""
    reg = LinearRegression(fit_intercept=False).fit(design, returns.T, sample_weight=weights)
    weighted = design * np.sqrt(weights)[:, None]
    np.linalg.matrix_rank(weighted)
    leverage = np.einsum("ij,jk,ik->i", weighted, np.linalg.inv(weighted.T @ weighted), weighted)
    return reg.coef_, leverage


def old_standardize(values: pd.Series, weights: pd.Series) -> pd.Series:
    x = values.astype(float)
    present = x.notna()
    w = weights.reindex(x.index).fillna(0.0)[present]
    mean = float(np.average(x[present], weights=w)) if w.sum() > 0 else float(x[present].mean())
    z = ((x - mean) / float(x[present].std(ddof=0))).fillna(0.0)
    z -= float(np.average(z, weights=weights.reindex(z.index).fillna(0.0)))
    return z / float(z.std(ddof=0))


def old_winsorize(values: pd.Series) -> pd.Series:
    lo, hi = values.quantile([0.01, 0.99])
    return values.clip(lower=lo, upper=hi)


def old_characteristics(history: models.MarketHistory, date: pd.Timestamp) -> pd.DataFrame:
    """One date's characteristics as built before: per-date pandas winsorize/standardize."""
    trading = history.trading_at(date).to_numpy()
    raw, weights = history.assets[trading], history.benchmark_weights_at(date)[trading]
    out = {}
    for name, parts in models.COMPOSITES.items():
        scores = pd.DataFrame({d: s * old_standardize(old_winsorize(raw[d]), weights) for d, s in parts.items()})
        out[name] = old_standardize(scores.mean(axis=1), weights)
    for d in [d for parts in models.COMPOSITES.values() for d in parts]:
        out[d] = old_standardize(old_winsorize(raw[d]), weights)
    out["size"] = old_standardize(old_winsorize(np.log(history.market_caps_at(date)[trading])), weights)
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------- timing


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """(min, median) seconds of ``repeat`` calls, and the last result."""
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return min(seconds), statistics.median(seconds), result


def row(step: str, n: int | str, before: tuple | None, after: tuple, note: str = "") -> None:
    b = f"{before[0]:8.3f} {before[1]:8.3f}" if before else f"{'':8} {'':8}"
    ratio = f"{before[0] / after[0]:6.1f}x" if before else f"{'':7}"
    print(f"{step:<34} {n!s:>6} | {b} | {after[0]:8.3f} {after[1]:8.3f} | {ratio} {note}", flush=True)


@contextmanager
def busy_core(enabled: bool):
    """A busy loop in another process (the machine under load), stopped on exit."""
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if enabled else None
    try:
        yield
    finally:
        if process is not None:
            process.kill()
            process.wait()


class _NoCap:
    """Stands in for threadpoolctl's controller: every ``blas_threads`` block leaves BLAS as it is."""

    @staticmethod
    def limit(**_: object) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()


@contextmanager
def blas_cap(enabled: bool):
    """With ``enabled`` False, no BLAS cap anywhere (models and backtest loop): the code as before."""
    saved = _threads._controller  # noqa: SLF001
    if not enabled:
        _threads._controller = lambda: _NoCap  # noqa: SLF001
    try:
        yield
    finally:
        _threads._controller = saved  # noqa: SLF001


# ----------------------------------------------------------------------------- benchmarks


def bench_size(n: int, days: int, repeat: int, directory: Path) -> None:
    universe, returns_path = write_market(directory / f"n{n}", n, days)
    new_read = timed(lambda: models.read_table(returns_path, "returns", text_columns=("date",)), repeat)
    row("read returns CSV", n, timed(lambda: old_read(returns_path), repeat)[:2], new_read[:2])
    row("load_snapshot (universe + returns)", n, None, timed(lambda: models.load_snapshot(universe, returns_path), repeat)[:2])
    snapshot = models.load_snapshot(universe, returns_path)
    returns = snapshot.returns.iloc[-WINDOW:]
    x = returns.to_numpy()

    before = timed(lambda: models.StatisticalFactorModel(svd_solver="full").fit(returns), repeat)
    after = timed(lambda: models.StatisticalFactorModel().fit(returns), repeat)
    ev = np.max(np.abs(after[2].pca_.explained_variance_ / before[2].pca_.explained_variance_ - 1))
    active = np.random.default_rng(1).normal(0, 1e-3, n)
    te = abs(after[2].risk_model_.volatility(active) / before[2].risk_model_.volatility(active) - 1)
    row("pca fit (10 factors)", n, before[:2], after[:2], f"eigenvalues rel {ev:.1e}, TE rel {te:.1e}")

    fit = models.FundamentalFactorModel().fit(
        returns, sectors=snapshot.sectors, styles=snapshot.characteristics[["value", "quality"]],
        market_caps=snapshot.market_caps,
    )
    design, weights = fit.exposures_.to_numpy(), fit.regression_weights_.to_numpy()
    before = timed(lambda: old_regression(x, design, weights), repeat)
    after = timed(lambda: models.cross_sectional_regression(x, design, weights), repeat)
    gap = np.max(np.abs(before[2][0] - after[2][0]))
    row("fundamental regressions", n, before[:2], after[:2], f"factor returns max abs diff {gap:.1e}")
    whole = timed(lambda: models.estimate_risk_model(snapshot, "fundamental", window=WINDOW), repeat)
    row("fundamental estimate_risk_model", n, None, whole[:2])
    pca = timed(lambda: models.estimate_risk_model(snapshot, "pca", window=WINDOW), repeat)
    row("pca estimate_risk_model", n, None, pca[:2])


def bench_characteristics(repeat: int) -> None:
    history = models.load_synthetic_history(7, 14)
    dates = history.dates[history.dates.searchsorted(pd.date_range("2016-10-31", "2026-09-30", freq="BME"))]
    before = timed(lambda: [old_characteristics(history, d) for d in dates], repeat)

    def batch() -> dict:
        history._characteristics_memo.clear()  # noqa: SLF001 - time the computation, not the memo
        return history.characteristics_on(dates)

    after = timed(batch, repeat)
    gap = max(float((before[2][i] - after[2][d]).abs().max().max()) for i, d in enumerate(dates))
    row(f"characteristics, {len(dates)} dates", 500, before[:2], after[:2], f"max abs diff {gap:.1e}")


def bench_backtest(repeat: int, load: bool) -> None:
    from trimtab.optimizer.research import backtest

    job = REPO / "examples" / "mag7_value_quality.yaml"
    with busy_core(load):
        for capped in (False, True):
            with blas_cap(capped):
                result = timed(lambda: backtest(job, "2016-10-31", "2026-10-30", "monthly"), repeat)
            r = result[2].rebalances
            note = f"risk {r['risk_seconds'].sum():.2f} s, solve {r['solve_seconds'].sum():.2f} s (last run)"
            label = "backtest 10y monthly, " + ("BLAS capped" if capped else "BLAS uncapped")
            row(label + (" +load" if load else ""), 500, None, result[:2], note)


def bench_cli(n: int, days: int, directory: Path) -> None:
    folder = directory / f"n{n}"
    if not (folder / "returns.csv").exists():
        write_market(folder, n, days)
    for method in ("fundamental", "pca"):
        job = folder / f"{method}.yaml"
        job.write_text(
            f"name: bench_{method}_{n}\ndata: {{source: files, universe: universe.csv, returns: returns.csv}}\n"
            f"risk_model: {{method: {method}, window: {WINDOW}}}\nconstraints:\n"
            "  - factor_exposure: {factor: value, min: 0.25}\n  - factor_exposure: {factor: quality, min: 0.25}\n"
            "  - asset_weight: {max: benchmark + 0.02}\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "trimtab", "optimize", str(job), "--out", str(folder / f"out_{method}"), "-q"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        ok = "ok" if os.waitstatus_to_exitcode(status) == 0 else f"exit {os.waitstatus_to_exitcode(status)}"
        print(f"cli optimize {method:<11} n={n}: {wall:6.2f} s wall, peak RSS {usage.ru_maxrss / 2**20:.2f} GiB ({ok})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 3000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--days", type=int, default=800)
    parser.add_argument("--no-backtest", action="store_true")
    parser.add_argument("--backtest-only", action="store_true")
    parser.add_argument("--load", action="store_true", help="run the backtest with a busy loop on another core")
    parser.add_argument("--cli", action="store_true", help="also run `trimtab optimize` on the largest size")
    args = parser.parse_args()
    print(f"{'step':<34} {'names':>6} | {'before: min   median':>17} | {'after: min   median':>17} | speed-up")
    with tempfile.TemporaryDirectory(prefix="trimtab-bench-") as tmp:
        if not args.backtest_only:
            for n in args.sizes:
                bench_size(n, args.days, args.repeat, Path(tmp))
            bench_characteristics(args.repeat)
        if not args.no_backtest:
            bench_backtest(args.repeat, args.load)
        if args.cli:
            bench_cli(max(args.sizes), args.days, Path(tmp))


if __name__ == "__main__":
    main()
