"""Backtests and optimizations from files: a ragged history (a listing and a delisting mid-sample)
with point-in-time benchmark weights, gzip files, the real S&P 500 example through the CLI,
and bad inputs naming file and date."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import trimtab
from trimtab.models import DataError, load_history
from trimtab.optimizer import prepare
from trimtab.optimizer.cli import app
from trimtab.optimizer.research import backtest

ROOT = Path(__file__).parents[3]
_spec = importlib.util.spec_from_file_location("trimtab_tests_ragged_files", ROOT / "tests" / "models" / "ragged_files.py")
ragged = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ragged)
IDS, DATES, LATE, GONE = ragged.IDS, ragged.DATES, ragged.LATE, ragged.GONE
runner = CliRunner()


def _job(directory: Path, name: str, data: str, rules: str = "", method: str = "ledoit_wolf", window: int = 126) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: {name}
        data: {data}
        risk_model: {{method: {method}, window: {window}}}
        constraints:
          - asset_weight: {{max: benchmark + 0.05}}
        {rules}"""))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ragged")
    paths = ragged.write_ragged(directory, suffix=".csv.gz")
    data = ("{source: files, universe: universe.csv.gz, returns: returns.csv.gz, "
            "benchmark: {weights: benchmark_weights.csv.gz}}")
    job = _job(directory, "ragged", data, "costs: {linear_bps: 10}\n", method="fundamental")
    result = backtest(job, "2019-09-01", DATES[-1], "monthly")
    history = load_history(paths["universe"], paths["returns"], benchmark_weights=paths["benchmark"])
    return result, history, directory


def test_a_ragged_files_job_backtests_and_follows_the_universe(run):
    result, history, _ = run
    r, w = result.rebalances, result.weights
    assert (r["status"] == "optimal").all() and len(r) == 24
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-9)
    assert list(w.columns) == IDS
    listed, delisted = DATES[ragged.LATE_FIRST], DATES[ragged.GONE_LAST]
    assert (w.loc[w.index < listed, LATE] == 0).all()  # not yet listed: not in the universe
    assert (w.loc[w.index > delisted, GONE] == 0).all()  # delisted: sold at the next rebalance
    assert (w.loc[w.index > listed, LATE] > 0).any()
    for date in w.index:
        assert (w.loc[date] <= history.benchmark_weights_at(date) + 0.05 + 1e-7).all()
    # the rebalance after GONE delists sells its drifted weight (counted in turnover)
    after = w.index[w.index > delisted][0]
    assert r.loc[after, "turnover"] >= w.loc[w.index[w.index <= delisted][-1], GONE] * 0.5


def test_the_benchmark_reference_is_the_point_in_time_benchmark_day_by_day(run):
    result, history, _ = run
    returns = ragged.ragged_returns().fillna(0.0)
    days = result.returns.index
    for day in (days[0], days[100], DATES[ragged.GONE_LAST + 1], days[-1]):
        previous = history.dates[history.dates.get_loc(day) - 1]
        expected = history.benchmark_weights_at(previous) @ returns.loc[day]
        assert result.returns.loc[day, "cap_weighted"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    first = result.rebalances.index[0]
    trading = history.trading_at(first)
    day1 = (1 - 0.001 * result.rebalances["eq_turnover"].iloc[0]) * (1 + returns.loc[days[0], trading].mean()) - 1
    assert result.returns["equal_weighted"].iloc[0] == pytest.approx(day1, rel=1e-10)


def test_a_ragged_files_job_optimizes_and_reports_the_short_history(tmp_path):
    ragged.write_ragged(tmp_path, suffix=".csv.gz")
    job = _job(tmp_path, "opt", "{source: files, universe: universe.csv.gz, returns: returns.csv.gz}", window=252)
    result = trimtab.optimize(job)
    assert GONE not in result.weights.index and LATE in result.weights.index and len(result.weights) == 23
    assert result.weights.sum() == pytest.approx(1.0) and result.weights.min() >= -1e-9
    snapshot = prepare(job).data.snapshot
    assert LATE in snapshot.short_history and snapshot.history_days[LATE] == len(DATES) - ragged.LATE_FIRST


def test_a_universe_without_caps_works_with_benchmark_weights(tmp_path):
    ragged.write_ragged(tmp_path, suffix=".csv.gz", caps=False)
    job = _job(tmp_path, "nocaps", "{source: files, universe: universe.csv.gz, returns: returns.csv.gz}", window=252)
    result = trimtab.optimize(job)
    assert result.weights.sum() == pytest.approx(1.0)
    capped = _job(tmp_path, "capped", "{source: files, universe: universe.csv.gz, returns: returns.csv.gz}",
                  "  - group_weight: {top_n_by_cap: 3, max: 0.3}\n", window=252)
    with pytest.raises(DataError, match="no 'market_cap' column"):
        trimtab.optimize(capped)


def test_a_benchmark_return_series_backtests_and_a_missing_day_is_named(tmp_path):
    paths = ragged.write_ragged(tmp_path)
    index = ragged.ragged_returns().mean(axis=1).rename("IDX")
    index.reset_index().to_csv(tmp_path / "index.csv", index=False)
    job = _job(tmp_path, "series", "{source: files, universe: universe.csv, returns: returns.csv, "
                                    "benchmark: {returns: index.csv, column: IDX}}")
    result = backtest(job, "2020-01-01", DATES[-1], "monthly")
    np.testing.assert_allclose(result.returns["cap_weighted"], index.reindex(result.returns.index), atol=1e-12)
    gap = result.returns.index[5]
    index.drop(gap).reset_index().to_csv(tmp_path / "index.csv", index=False)
    with pytest.raises(DataError, match=rf"index.csv.*no.* return on 1 .*{gap.date()}"):
        backtest(job, "2020-01-01", DATES[-1], "monthly")
    assert paths["returns"].exists()


def _invoke(*args):
    result = runner.invoke(app, ["backtest", *map(str, args)])
    return result, " ".join(result.output.split())


def test_the_real_sp500_example_backtests_through_the_cli(tmp_path):
    pytest.importorskip("skfolio")
    spec = importlib.util.spec_from_file_location("make_files", ROOT / "examples" / "real_sp500" / "make_files.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    paths = make.make_files(tmp_path, start="2016-01-04")
    (tmp_path / "backtest.yaml").write_text((ROOT / "examples" / "real_sp500" / "backtest.yaml").read_text())
    out = tmp_path / "bt"
    result, text = _invoke(tmp_path / "backtest.yaml", "--start", "2019-01-01", "--end", "2022-12-28",
                           "--rebalance", "quarterly", "--out", out)
    assert result.exit_code == 0, result.output
    assert "real_sp500_backtest" in text and "benchmark=benchmark_weights.csv.gz" in text
    weights = pd.read_csv(out / "weights.csv", index_col="date")
    assert len(weights) == 15 and (weights[["CVX", "RRC", "XOM"]] == 0).all().all()  # 2019Q1 .. 2022Q3
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
    summary = pd.read_csv(out / "summary.csv", index_col="policy")
    assert 0 < summary.loc["optimized", "tracking_error"] < summary.loc["equal_weighted", "tracking_error"]
    # the benchmark column is the price-weighted file's benchmark: its first day by hand
    file = pd.read_csv(paths["benchmark"], parse_dates=["date"])
    stocks = pd.read_csv(paths["returns"], parse_dates=["date"], index_col="date")
    daily = pd.read_csv(out / "returns.csv", index_col="date", parse_dates=True)
    first = pd.Timestamp("2019-03-29")
    w = file[file["date"] == first].set_index("asset_id")["weight"]
    assert daily["cap_weighted"].iloc[0] == pytest.approx(w @ stocks.loc[daily.index[0], w.index], rel=1e-9)
    universe = pd.read_csv(paths["universe"], index_col="asset_id")
    assert "market_cap" not in universe  # no caps needed
    last = file[file["date"] == file["date"].max()].set_index("asset_id")["weight"]
    np.testing.assert_allclose(universe["benchmark_weight"], last[universe.index], rtol=1e-12)


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("unknown name", ["benchmark_weights.csv", "ZZZ", "not in the universe", "on 2019-03-29"]),
        ("not overlapping", ["benchmark_weights.csv", "2030-03-29", "do not overlap"]),
        ("gap", ["returns.csv", "R09 on", "inside a name's trading life"]),
    ],
)
def test_bad_history_files_exit_2_naming_file_and_date(tmp_path, case, fragments):
    paths = ragged.write_ragged(tmp_path)
    if case == "gap":
        returns = ragged.ragged_returns()
        returns.iloc[600, IDS.index("R09")] = np.nan
        returns.reset_index().to_csv(paths["returns"], index=False)
        fragments = [*fragments, str(DATES[600].date())]
    else:
        frame = pd.read_csv(paths["benchmark"])
        if case == "unknown name":
            frame.loc[frame["date"] == "2019-03-29", "asset_id"] = frame["asset_id"].where(frame.index != 0, "ZZZ")
        else:
            frame = frame[frame["date"] == "2019-03-29"].assign(date="2030-03-29")
        frame.to_csv(paths["benchmark"], index=False)
    job = _job(tmp_path, "bad", "{source: files, universe: universe.csv, returns: returns.csv, "
                                "benchmark: {weights: benchmark_weights.csv}}")
    result, text = _invoke(job, "--start", "2020-01-01", "--end", "2021-06-30", "--out", tmp_path / "bt")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not (tmp_path / "bt").exists()
    for fragment in fragments:
        assert fragment in text, (fragment, text)
