"""Backtest facts: accounting against a hand NAV computation, an end-to-end run on 40 names
(constraints, drift, compile once, an infeasible date), real S&P 500 data, and the CLI."""

from __future__ import annotations

import importlib.util
import textwrap
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import trimtab.optimizer._compile_cache as cache_module
from trimtab.constraints import loads_job
from trimtab.models import DataError, MarketHistory, load_synthetic_history
from trimtab.optimizer.cli import app
from trimtab.optimizer.research import BacktestResult, backtest
from trimtab.optimizer.research._backtest_accounting import (
    buy_and_hold,
    drift,
    linear_and_impact_cost,
    rebalance_schedule,
    simulate_policy,
)
from trimtab.optimizer.research._backtest_stats import period_tracking_error

ROOT = Path(__file__).parents[3]
ANNUAL = 252

# -- accounting on a 4-asset toy ------------------------------------------------------------
DAYS = pd.DatetimeIndex(pd.bdate_range("2024-01-29", periods=10), name="date")
R = np.array(
    [
        [0.010, -0.020, 0.005, 0.000],
        [0.020, 0.010, -0.010, 0.030],
        [-0.015, 0.005, 0.020, -0.010],
        [0.000, 0.030, -0.005, 0.010],
        [0.012, -0.008, 0.004, 0.020],
        [-0.030, 0.015, 0.010, -0.005],
        [0.025, -0.010, 0.000, 0.015],
        [0.005, 0.005, -0.020, 0.010],
        [-0.010, 0.020, 0.015, -0.025],
        [0.018, -0.012, 0.006, 0.004],
    ]
)
RETURNS = pd.DataFrame(R, index=DAYS, columns=["A", "B", "C", "D"])
REBALANCE = [1, 4, 7]  # positions of the rebalance dates
BENCHMARK = np.array([0.4, 0.3, 0.2, 0.1])
HAND_TARGETS = {1: np.array([0.5, 0.2, 0.2, 0.1]), 4: np.array([0.3, 0.3, 0.3, 0.1]), 7: np.array([0.1, 0.4, 0.2, 0.3])}
RATE = 0.002  # 20 bps per unit traded


def hand_nav(target_for, rate):
    """Dollar book: values grow by (1 + r); a rebalance pays rate × Σ|target − pre| of NAV."""
    values, first = BENCHMARK.copy(), REBALANCE[0]
    returns, navs, turnovers, costs, nav_before = [], [], [], [], 1.0
    for i in range(first, len(R)):
        if i > first:
            values = values * (1.0 + R[i])
            returns.append(values.sum() / nav_before - 1.0)
        nav = values.sum()
        navs.append(nav)
        if i in REBALANCE:
            pre = values / nav
            target = target_for(i, pre)
            turnovers.append(np.abs(target - pre).sum())
            costs.append(rate * turnovers[-1])
            values = target * nav * (1.0 - costs[-1])
        nav_before = nav
    return np.array(returns), np.array(navs[1:]), np.array(turnovers), np.array(costs)


def linear_cost(date, drifted, target):
    return RATE * float(np.abs(target - drifted).sum())


@pytest.fixture(scope="module")
def toy_paths():
    dates = DAYS[REBALANCE]
    optimized = simulate_policy(
        RETURNS, dates, BENCHMARK, lambda d, w: HAND_TARGETS[DAYS.get_loc(d)], linear_cost, name="optimized"
    )
    equal = simulate_policy(RETURNS, dates, BENCHMARK, lambda d, w: np.full(4, 0.25), linear_cost, name="equal_weighted")
    cap = buy_and_hold(RETURNS, dates[0], BENCHMARK, name="cap_weighted")
    return optimized, cap, equal


def test_drift_and_cost_by_hand():
    drifted, gross = drift(np.array([0.6, 0.4]), np.array([0.10, -0.05]))
    assert gross == pytest.approx(0.04)
    np.testing.assert_allclose(drifted, [0.66 / 1.04, 0.38 / 1.04])
    # cash (1 − Σw = 0.1) earns 0 and keeps its share of the grown NAV
    drifted, gross = drift(np.array([0.5, 0.4]), np.array([0.10, 0.0]))
    assert gross == pytest.approx(0.05) and drifted.sum() == pytest.approx(0.95 / 1.05)
    cost = linear_and_impact_cost(np.array([0.001, 0.002]), np.array([0.01, 0.0]), np.array([0.04, -0.09]))
    assert cost == pytest.approx(0.001 * 0.04 + 0.002 * 0.09 + 0.01 * 0.04**1.5)


def test_every_policy_matches_the_hand_nav(toy_paths):
    optimized, cap, equal = toy_paths
    cases = (
        (optimized, lambda i, pre: HAND_TARGETS[i], RATE),
        (equal, lambda i, pre: np.full(4, 0.25), RATE),
        (cap, lambda i, pre: pre if i > REBALANCE[0] else BENCHMARK, 0.0),
    )
    for path, target_for, rate in cases:
        hand_returns, hand_navs, hand_turnover, hand_costs = hand_nav(target_for, rate)
        assert path.returns.index.equals(DAYS[REBALANCE[0] + 1 :])
        np.testing.assert_allclose(path.returns, hand_returns, rtol=0, atol=1e-15)
        np.testing.assert_allclose((1.0 + path.returns).cumprod(), hand_navs, rtol=1e-14)
        if path is not cap:
            np.testing.assert_allclose(path.turnover, hand_turnover, atol=1e-15)
            np.testing.assert_allclose(path.cost, hand_costs, atol=1e-15)
    assert cap.turnover.tolist() == [0.0] and cap.cost.tolist() == [0.0]
    # the buy-and-hold benchmark is the drifted benchmark: w_t ∝ w_0 ∘ Π(1 + r)
    grown = BENCHMARK * np.prod(1.0 + R[2:5], axis=0)
    assert cap.returns.iloc[3] == pytest.approx(grown / grown.sum() @ R[5])


def test_summary_statistics_match_numpy(toy_paths):
    optimized, cap, equal = toy_paths
    returns = pd.concat([optimized.returns, cap.returns, equal.returns], axis=1)
    rebalances = pd.DataFrame(
        {"turnover": optimized.turnover, "cost": optimized.cost, "eq_turnover": equal.turnover, "eq_cost": equal.cost,
         "status": "optimal"}
    )
    result = BacktestResult(returns, rebalances, optimized.targets, "toy", "hand", "monthly", 0.0, risk_free=0.03)
    summary = result.summary()
    assert list(summary.index) == ["optimized", "cap_weighted", "equal_weighted"]
    rb, rf = cap.returns.to_numpy(), 1.03 ** (1 / ANNUAL) - 1
    for policy, path in (("optimized", optimized), ("cap_weighted", cap), ("equal_weighted", equal)):
        r = path.returns.to_numpy()
        row = summary.loc[policy]
        assert row["annual_return"] == pytest.approx(np.prod(1 + r) ** (ANNUAL / len(r)) - 1, rel=1e-12)
        assert row["volatility"] == pytest.approx(np.std(r, ddof=1) * np.sqrt(ANNUAL), rel=1e-12)
        assert row["sharpe"] == pytest.approx(np.mean(r - rf) / np.std(r - rf, ddof=1) * np.sqrt(ANNUAL), rel=1e-12)
        wealth, peak, worst = 1.0, 1.0, 0.0
        for x in r:
            wealth *= 1 + x
            peak = max(peak, wealth)
            worst = min(worst, wealth / peak - 1)
        assert row["max_drawdown"] == pytest.approx(worst, rel=1e-12)
        te = np.std(r - rb, ddof=1) * np.sqrt(ANNUAL)
        assert row["tracking_error"] == pytest.approx(te, abs=1e-15)
        if policy == "cap_weighted":
            assert np.isnan(row["information_ratio"]) and row["avg_turnover"] == 0 and row["avg_cost"] == 0
        else:
            assert row["information_ratio"] == pytest.approx(np.mean(r - rb) * ANNUAL / te, rel=1e-12)
            assert row["avg_turnover"] == pytest.approx(np.mean(path.turnover))
            assert row["avg_cost"] == pytest.approx(np.mean(path.cost))
    np.testing.assert_allclose(result.cumulative()["optimized"], np.cumprod(1 + optimized.returns.to_numpy()))
    assert "toy" in result._repr_html_() and "equal_weighted" in result._repr_html_()


def test_period_tracking_error_by_hand(toy_paths):
    optimized, cap, _ = toy_paths
    realized = period_tracking_error(optimized.returns, cap.returns, DAYS[REBALANCE])
    active = optimized.returns.to_numpy() - cap.returns.to_numpy()  # days 2..9
    for k, (lo, hi) in enumerate(((2, 4), (5, 7), (8, 9))):  # days held with rebalance k's weights
        expected = np.std(active[lo - 2 : hi - 1], ddof=1) * np.sqrt(ANNUAL)
        assert realized.iloc[k] == pytest.approx(expected, rel=1e-12)


def test_rebalance_schedule():
    dates = pd.bdate_range("2024-01-02", "2024-04-30").drop(pd.Timestamp("2024-03-29"))  # a Good Friday
    monthly = rebalance_schedule(dates, pd.Timestamp("2024-01-15"), pd.Timestamp("2024-04-30"), "monthly")
    assert [d.date().isoformat() for d in monthly] == ["2024-01-31", "2024-02-29", "2024-03-28"]  # 04-30 is the end
    quarterly = rebalance_schedule(dates, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-30"), "quarterly")
    assert [d.date().isoformat() for d in quarterly] == ["2024-03-28"]
    with pytest.raises(DataError, match="2024-04-01"):
        rebalance_schedule(dates, pd.Timestamp("2024-04-01"), pd.Timestamp("2024-04-30"), "monthly")


# -- end to end on 40 synthetic names ---------------------------------------------------------
TURNOVER_CAP = 0.2


@pytest.fixture(scope="module")
def run40():
    full = load_synthetic_history(7, years=6)
    mag7 = list(full.asset_ids[:7])
    chosen = sorted(set(mag7) | set(full.asset_ids[7::14][:33]))
    history = MarketHistory("synthetic 40 names", full.assets.loc[chosen], full.returns[chosen], groups={"MAG7": mag7})
    month_ends = pd.Series(history.dates, index=history.dates).groupby(history.dates.to_period("M")).max()
    mag7_weight = np.array([history.benchmark_weights_at(d)[mag7].sum() for d in month_ends])
    # A month where MAG7's benchmark weight falls by > 1 %: with holdings = benchmark, a cap C and a turnover
    # budget τ, the first date needs 2(m0 − C) > τ (infeasible) and the second 2(m1 − C) < τ (feasible).
    k = next(k for k in range(8, len(month_ends) - 5) if mag7_weight[k] - mag7_weight[k + 1] > 0.01)
    cap = (mag7_weight[k] + mag7_weight[k + 1]) / 2 - TURNOVER_CAP / 2
    job = loads_job(textwrap.dedent(f"""
        name: toy40
        risk_model: {{method: ledoit_wolf, window: 126}}
        constraints:
          - group_weight: {{group: MAG7, max: {cap}}}
          - asset_weight: {{max: benchmark + 0.05}}
          - turnover: {{max: {TURNOVER_CAP}}}
        costs: {{linear_bps: 10}}
        """))
    built = []

    class CountingProblem(cache_module.CompiledProblem):
        def __init__(self, *args, **kwargs):
            built.append(self)
            super().__init__(*args, **kwargs)

    patch = pytest.MonkeyPatch()
    patch.setattr(cache_module, "CompiledProblem", CountingProblem)
    patch.setattr(cache_module, "_CACHE", OrderedDict())
    try:
        result = backtest(job, month_ends.iloc[k], month_ends.iloc[k + 4], "monthly", history=history)
    finally:
        patch.undo()
    return result, history, mag7, cap, built


def test_the_first_date_is_infeasible_and_keeps_the_benchmark(run40):
    result, history, _, _, _ = run40
    r = result.rebalances
    assert r["status"].tolist()[0] == "infeasible" and "turnover" in r["message"].iloc[0]
    assert r["turnover"].iloc[0] == 0 and r["cost"].iloc[0] == 0 and r["ex_ante_te"].iloc[0] == pytest.approx(0, abs=1e-12)
    first, second = r.index[:2]
    np.testing.assert_allclose(result.weights.loc[first], history.benchmark_weights_at(first), atol=1e-15)
    held = (result.returns.index > first) & (result.returns.index <= second)
    np.testing.assert_allclose(result.returns.loc[held, "optimized"], result.returns.loc[held, "cap_weighted"], atol=1e-14)
    assert "\n" not in repr(result) and repr(result).startswith("BacktestResult(") and "(1 kept drifted holdings)" in repr(result)


def test_constraints_hold_at_every_solved_rebalance(run40):
    result, history, mag7, cap, _ = run40
    solved = result.rebalances["status"] == "optimal"
    assert solved.sum() == 3
    for date in result.rebalances.index[solved]:
        w, wb = result.weights.loc[date], history.benchmark_weights_at(date)
        assert abs(w.sum() - 1) < 1e-9 and w.min() > -1e-9
        assert w[mag7].sum() <= cap + 1e-7
        assert np.all(w <= wb + 0.05 + 1e-7)
        assert result.rebalances.loc[date, "turnover"] <= TURNOVER_CAP + 1e-7
        assert 0 < result.rebalances.loc[date, "ex_ante_te"] < 0.2


def test_holdings_start_from_drifted_weights_and_costs_are_charged(run40):
    result, history, _, _, _ = run40
    dates, r = result.rebalances.index, history.returns
    for previous, date in zip(dates[:-1], dates[1:]):
        grown = result.weights.loc[previous] * (1 + r.loc[previous:date].iloc[1:]).prod()
        drifted = grown / grown.sum()
        turnover = np.abs(result.weights.loc[date] - drifted).sum()
        assert result.rebalances.loc[date, "turnover"] == pytest.approx(turnover, abs=1e-12)
        assert result.rebalances.loc[date, "cost"] == pytest.approx(0.001 * turnover, abs=1e-15)
        # growth over the period = (1 − cost at the previous rebalance) × Σ w Π(1 + r)
        period = (result.returns.index > previous) & (result.returns.index <= date)
        growth = (1 + result.returns.loc[period, "optimized"]).prod()
        assert growth == pytest.approx((1 - result.rebalances.loc[previous, "cost"]) * grown.sum(), rel=1e-12)
    assert result.rebalances["realized_te"].notna().all()


def test_reference_policies(run40):
    result, history, _, _, _ = run40
    r, first = history.returns, result.rebalances.index[0]
    days = result.returns.index
    previous = history.dates[history.dates.get_indexer(days) - 1]
    expected = [history.benchmark_weights_at(p) @ r.loc[d] for p, d in zip(previous, days)]
    np.testing.assert_allclose(result.returns["cap_weighted"], expected, atol=1e-14)
    wb = history.benchmark_weights_at(first).to_numpy()
    eq_turnover = np.abs(1 / 40 - wb).sum()
    assert result.rebalances["eq_turnover"].iloc[0] == pytest.approx(eq_turnover)
    day1 = (1 - 0.001 * eq_turnover) * (1 + r.loc[days[0]].mean()) - 1
    assert result.returns["equal_weighted"].iloc[0] == pytest.approx(day1, rel=1e-12)


def test_the_problem_is_compiled_once(run40):
    """Counted by wrapping CompiledProblem on an empty cache: one build for every date (the infeasible one too)."""
    result, _, _, _, built = run40
    assert len(result.rebalances) == 4 and len(built) == 1


# -- real data: 20 S&P 500 stocks against the real index --------------------------------------
def _bench_module():
    spec = importlib.util.spec_from_file_location("backtest_skfolio_sp500", ROOT / "bench" / "backtest_skfolio_sp500.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_skfolio_sp500_against_the_real_index(tmp_path):
    """The bench's job (index return series, turnover budget with priority, costs) on a short span."""
    pytest.importorskip("skfolio")
    bench = _bench_module()
    bench.write_files(tmp_path, "2019-06-03")
    job = tmp_path / "job.yaml"
    job.write_text(bench.JOB.format(window=252, name_cap=0.15, turnover=0.25, linear_bps=5.0))
    result = backtest(job, "2020-12-01", "2022-06-30", "quarterly")
    assert len(result.rebalances) == 6 and (result.rebalances["status"] == "optimal").all()
    w = result.weights
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-9)
    assert (w.to_numpy() <= 0.15 + 1e-7).all()
    assert (result.rebalances["turnover"].iloc[1:] <= 0.25 + 1e-7).all()
    index = pd.read_csv(tmp_path / "index_returns.csv", parse_dates=["date"], index_col="date")["SP500"]
    np.testing.assert_allclose(result.returns["cap_weighted"], index.loc[result.returns.index], atol=1e-12)
    te = result.summary()["tracking_error"]
    assert np.isfinite(te["optimized"]) and 0 < te["optimized"] < te["equal_weighted"]


# -- CLI ---------------------------------------------------------------------------------------
runner = CliRunner()
DEFAULT_JOB = ROOT / "examples" / "mag7_value_quality.yaml"


def invoke(*args):
    result = runner.invoke(app, ["backtest", *map(str, args)])
    return result, " ".join(result.output.split())


def test_cli_writes_the_files_and_prints_the_table(tmp_path):
    out = tmp_path / "bt"
    result, text = invoke(DEFAULT_JOB, "--start", "2026-07-01", "--end", "2026-10-30", "--out", out)
    assert result.exit_code == 0, result.output
    assert "cap_weighted" in text and "equal_weighted" in text and "runtime:" in text
    assert sorted(p.name for p in out.iterdir()) == ["rebalances.csv", "returns.csv", "summary.csv", "weights.csv"]
    returns = pd.read_csv(out / "returns.csv", index_col="date", parse_dates=True)
    assert list(returns.columns) == ["optimized", "cap_weighted", "equal_weighted"]
    assert returns.index[0] == pd.Timestamp("2026-08-03") and returns.index[-1] == pd.Timestamp("2026-10-30")
    rebalances = pd.read_csv(out / "rebalances.csv", index_col="date", parse_dates=True)
    assert list(rebalances.index.strftime("%Y-%m-%d")) == ["2026-07-31", "2026-08-31", "2026-09-30"]
    weights = pd.read_csv(out / "weights.csv", index_col="date")
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
    # a second run into the same directory is refused unless --force
    again, text = invoke(DEFAULT_JOB, "--start", "2026-07-01", "--end", "2026-10-30", "--out", out)
    assert again.exit_code == 2 and "not empty" in text
    forced, _ = invoke(DEFAULT_JOB, "--start", "2026-07-01", "--end", "2026-10-30", "--out", out, "--force")
    assert forced.exit_code == 0 and pd.read_csv(out / "returns.csv", index_col="date").equals(returns.set_axis(
        returns.index.strftime("%Y-%m-%d"), axis=0).rename_axis("date"))  # deterministic: same numbers again


@pytest.mark.parametrize(
    ("start", "end", "extra", "named"),
    [
        ("2026-13-01", "2026-10-30", (), "2026-13-01"),
        ("2026-09-01", "2027-01-29", (), "2027-01-29"),
        ("2021-01-29", "2022-06-30", ("--years", "6"), "2021-01-29"),
        ("2026-10-01", "2026-10-30", (), "2026-10-01"),
        ("2026-07-01", "2026-10-30", ("--rebalance", "weekly"), "weekly"),
    ],
    ids=["bad date", "after the history", "window before the history", "no rebalance", "bad frequency"],
)
def test_cli_bad_dates_exit_2_naming_the_date(tmp_path, start, end, extra, named):
    result, text = invoke(DEFAULT_JOB, "--start", start, "--end", end, "--out", tmp_path / "bt", *extra)
    assert result.exit_code == 2, result.output
    assert named in text and "Traceback" not in result.output
    assert not (tmp_path / "bt").exists()


def test_cli_backtests_a_files_job(tmp_path, skfolio_user_files):
    job = tmp_path / "files.yaml"
    paths = skfolio_user_files
    job.write_text(
        f"data: {{source: files, universe: {paths['universe']}, returns: {paths['returns']}}}\n"
        "risk_model: {method: ledoit_wolf, window: 252}\nconstraints: [{asset_weight: {max: 0.15}}]\n"
    )
    out = tmp_path / "bt"
    result, text = invoke(job, "--start", "2022-01-01", "--end", "2022-12-28", "--out", out)
    assert result.exit_code == 0, result.output
    weights = pd.read_csv(out / "weights.csv", index_col="date")
    assert len(weights) == 11 and list(weights.columns) == sorted(weights.columns)  # month ends Jan..Nov 2022
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
    assert weights.to_numpy().max() <= 0.15 + 1e-7
    index = pd.read_csv(paths["returns"], index_col="date", parse_dates=True)
    caps = pd.read_csv(paths["universe"], index_col="asset_id")["market_cap"]
    returns = pd.read_csv(out / "returns.csv", index_col="date", parse_dates=True)
    # the cap-weighted reference is the universe's caps drifted back: its first day's return by hand
    first, day = pd.Timestamp("2022-01-31"), returns.index[0]
    at_first = caps / (1 + index.loc[first:].iloc[1:]).prod()  # cap(first) = cap(T) / Π_{s > first} (1 + r_s)
    assert returns.loc[day, "cap_weighted"] == pytest.approx((at_first / at_first.sum()) @ index.loc[day], rel=1e-10)
