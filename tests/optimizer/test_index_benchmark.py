"""A benchmark given as an index return series (``data.benchmark: {returns, column}``), on real data.

skfolio's 20 real S&P 500 stocks and the real S&P 500 index: with the sample covariance the
optimum is skfolio's ``BenchmarkTracker``'s; with every other method the ex-ante tracking
error of the optimized weights, over the fitting window, is within 15 % of the realized one
(weighted as the estimator weighs the dates: uniformly, or EWMA's weights for ``ewma``).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trimtab
from trimtab.models import ewma_weights

WINDOW = 3 * 252
HALFLIFE = 126


@pytest.fixture(scope="module")
def index_files(tmp_path_factory):
    """The skfolio user files plus ``index.csv`` (date, SP500 daily simple returns)."""
    from skfolio.datasets import load_sp500_index

    spec = importlib.util.spec_from_file_location("skfolio_files", Path(__file__).parents[1] / "models" / "skfolio_files.py")
    skfolio_files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(skfolio_files)
    directory = tmp_path_factory.mktemp("index")
    files = skfolio_files.write_skfolio_user_files(directory)
    level = load_sp500_index()
    level = level.iloc[:, 0] if isinstance(level, pd.DataFrame) else level
    index = level.pct_change().dropna().rename("SP500").rename_axis("date").reset_index()
    files["index"] = directory / "index.csv"
    index.to_csv(files["index"], index=False)
    return files


def _job(files, tmp_path, method: str, params: str = "{}", rules: str = "") -> str:
    path = tmp_path / f"{method}.yaml"
    path.write_text(
        f"name: track_{method}\n"
        f"data: {{source: files, universe: {files['universe']}, returns: {files['returns']}, "
        f"benchmark: {{returns: {files['index']}, column: SP500}}}}\n"
        f"risk_model: {{method: {method}, window: {WINDOW}, params: {params}}}\n"
        "constraints:\n  - budget\n  - long_only\n" + rules
    )
    return str(path)


def _realized(files, weights: pd.Series, observation_weights: np.ndarray | None = None) -> float:
    returns = pd.read_csv(files["returns"], parse_dates=["date"], index_col="date").iloc[-WINDOW:]
    index = pd.read_csv(files["index"], parse_dates=["date"], index_col="date")["SP500"].reindex(returns.index)
    active = returns[weights.index].to_numpy() @ weights.to_numpy() - index.to_numpy()
    p = np.full(len(active), 1.0 / len(active)) if observation_weights is None else observation_weights
    return float(np.sqrt(252.0 * (p @ (active - p @ active) ** 2)))


def test_sample_covariance_matches_skfolio_benchmark_tracker(index_files, tmp_path):
    from skfolio.optimization import BenchmarkTracker

    result = trimtab.optimize(_job(index_files, tmp_path, "sample"))
    returns = pd.read_csv(index_files["returns"], parse_dates=["date"], index_col="date").iloc[-WINDOW:]
    index = pd.read_csv(index_files["index"], parse_dates=["date"], index_col="date")["SP500"].reindex(returns.index)
    tracker = BenchmarkTracker().fit(returns, index)
    theirs = pd.Series(tracker.weights_, index=returns.columns)
    assert np.abs(result.weights[theirs.index].to_numpy() - theirs.to_numpy()).max() < 1e-4
    # the ex-ante TE is the sample TE of the weights over the window, exactly
    assert result.diagnostics.tracking_error == pytest.approx(_realized(index_files, result.weights), rel=1e-6)


@pytest.mark.parametrize(
    "method, params",
    [("ledoit_wolf", "{}"), ("oas", "{}"), ("ewma", f"{{halflife: {HALFLIFE}}}"), ("pca", "{n_factors: 5}"), ("pca", "{}")],
)
def test_ex_ante_te_is_within_15_percent_of_realized_over_the_window(index_files, tmp_path, method, params):
    result = trimtab.optimize(_job(index_files, tmp_path, method, params))
    weights = ewma_weights(WINDOW, HALFLIFE) if method == "ewma" else None
    realized = _realized(index_files, result.weights, weights)
    assert result.diagnostics.tracking_error == pytest.approx(realized, rel=0.15), (method, realized)
    assert result.weights.sum() == pytest.approx(1.0) and result.weights.min() >= -1e-9


def test_the_fundamental_model_tracks_the_index_coarsely_on_twenty_names(index_files, tmp_path):
    """Sector dummies + size on 20 names is a coarse model: stated, not hidden (README)."""
    result = trimtab.optimize(_job(index_files, tmp_path, "fundamental"))
    realized = _realized(index_files, result.weights)
    assert 0.9 * realized < result.diagnostics.tracking_error < 1.4 * realized


def test_summary_states_the_benchmark_form_and_a_te_cap_holds(index_files, tmp_path):
    free = trimtab.optimize(_job(index_files, tmp_path, "ledoit_wolf"))
    cap = round(free.diagnostics.tracking_error * 1.5, 4)
    capped = trimtab.optimize(
        _job(index_files, tmp_path, "ledoit_wolf", rules=f"  - tracking_error: {{max: {cap}}}\n  - asset_weight: {{max: 0.2}}\n")
    )
    assert capped.diagnostics.tracking_error <= cap + 1e-7
    (report,) = [r for r in capped.diagnostics.constraints if r.kind == "tracking_error"]
    assert report.value == pytest.approx(capped.diagnostics.tracking_error, rel=1e-6)
    trimtab.write_run(capped, tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["benchmark"].startswith("index return series") and "SP500" in summary["benchmark"]
    assert "benchmark returns" in summary["inputs"]


def test_an_index_file_that_misses_window_dates_is_named(index_files, tmp_path):
    index = pd.read_csv(index_files["index"])
    gap_date = pd.read_csv(index_files["returns"])["date"].iloc[-10]
    index = index[index["date"] != gap_date]
    broken = tmp_path / "index_gap.csv"
    index.to_csv(broken, index=False)
    files = {**index_files, "index": broken}
    with pytest.raises(trimtab.DataError, match=rf"index_gap.csv.*SP500.*no return on 1 date.*{gap_date[:10]}"):
        trimtab.optimize(_job(files, tmp_path, "sample"))
    old = index[index["date"] < "2000-01-01"]
    old.to_csv(broken, index=False)
    with pytest.raises(trimtab.DataError, match=r"index_gap.csv.*no return on any date of the risk window .* covers 19"):
        trimtab.optimize(_job(files, tmp_path, "sample"))


def test_a_backtest_tracks_the_index_series_itself(tmp_path):
    """Backtest from files against the index's return series: the reference column is the index."""
    from trimtab.optimizer.research import backtest

    spec = importlib.util.spec_from_file_location(
        "make_files", Path(__file__).parents[2] / "examples" / "real_sp500" / "make_files.py"
    )
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    files = make.make_files(tmp_path, start="2017-01-03")
    job = tmp_path / "job.yaml"
    job.write_text(
        "name: bt_index\ndata: {source: files, universe: universe.csv, returns: returns.csv.gz, "
        "benchmark: {returns: index_returns.csv, column: SP500}}\n"
        "risk_model: {method: ledoit_wolf, window: 504}\nconstraints:\n  - asset_weight: {max: 0.15}\n"
    )
    result = backtest(job, "2021-01-01", "2022-12-28", "quarterly")
    index = pd.read_csv(files["index"], parse_dates=["date"], index_col="date")["SP500"]
    pd.testing.assert_series_equal(
        result.returns["cap_weighted"], index.reindex(result.returns.index), check_names=False, check_freq=False
    )
    rebalances = result.rebalances
    assert len(rebalances) == 7 and (rebalances["status"] == "optimal").all()  # quarter ends 2021-03 … 2022-09
    assert rebalances["ex_ante_te"].between(0.01, 0.15).all()  # a 20-stock portfolio tracks the index to a few %
