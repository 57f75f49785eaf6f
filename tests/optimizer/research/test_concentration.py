"""Concentration measures against hand computations on a 5-name toy, and facts on the embedded data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trimtab import models
from trimtab.models import DataError
from trimtab.optimizer.research import (
    concentration_over_time,
    concentration_table,
    drifted_weights,
    effective_n,
    equal_weights,
    group_weight,
    group_weight_over_time,
    hhi,
    relative_performance,
    return_contributions,
    sector_hhi,
    top_n_return_share,
    top_n_weight,
)

IDS = ["A", "B", "C", "D", "E"]
# Deliberately not normalized (sum 2): every measure works on w / Σw.
RAW = np.array([0.8, 0.5, 0.4, 0.2, 0.1])
W = RAW / RAW.sum()
SECTOR = ["Tech", "Tech", "Energy", "Energy", "Health"]
R = np.array(
    [
        [0.10, -0.05, 0.02, 0.00, 0.01],
        [0.05, 0.10, -0.02, 0.03, 0.00],
        [-0.02, 0.04, 0.01, -0.01, 0.02],
        [0.03, -0.01, 0.00, 0.02, -0.03],
    ]
)
DATES = pd.bdate_range("2025-01-06", periods=len(R))


@pytest.fixture
def toy():
    weights = pd.Series(RAW, index=IDS)
    returns = pd.DataFrame(R, index=DATES, columns=IDS)
    sectors = pd.Series(SECTOR, index=IDS)
    return weights, returns, sectors


def test_weight_measures_match_hand_computation(toy):
    weights, _, sectors = toy
    assert top_n_weight(weights, 2) == pytest.approx(W[0] + W[1])
    assert hhi(weights) == pytest.approx(np.sum(W**2))
    assert effective_n(weights) == pytest.approx(1.0 / np.sum(W**2))
    tech, energy, health = W[0] + W[1], W[2] + W[3], W[4]
    assert sector_hhi(weights, sectors) == pytest.approx(tech**2 + energy**2 + health**2)
    assert group_weight(weights, ["A", "E"]) == pytest.approx(W[0] + W[4])


def test_equal_weight_hhi_is_one_over_n():
    for n in (1, 4, 37):
        w = equal_weights([f"X{i}" for i in range(n)])
        assert hhi(w) == pytest.approx(1.0 / n)
        assert effective_n(w) == pytest.approx(n)


def test_return_contribution_from_start_weights(toy):
    weights, returns, _ = toy
    growth = np.prod(1.0 + R, axis=0)
    expected = W * (growth - 1.0)
    got = return_contributions(weights, returns, weights_at="start")
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
    # The sum is the buy-and-hold portfolio's return: value path Σ w·G_t.
    assert got.sum() == pytest.approx(W @ growth - 1.0)
    share = top_n_return_share(weights, returns, 2, weights_at="start")
    assert share == pytest.approx((expected[0] + expected[1]) / expected.sum())


def test_end_weights_drift_back_to_start(toy):
    weights, returns, _ = toy
    growth = np.prod(1.0 + R, axis=0)
    start = (W / growth) / (W / growth).sum()  # the weights that grow into W
    got = return_contributions(weights, returns, weights_at="end")
    np.testing.assert_allclose(got.to_numpy(), start * (growth - 1.0), rtol=1e-12)
    # Holding `start` for the window ends exactly at W.
    np.testing.assert_allclose(start * growth / (start @ growth), W, rtol=1e-12)


def test_return_share_undefined_for_zero_total():
    ids = ["A", "B"]
    returns = pd.DataFrame([[0.02, -0.02]], index=DATES[:1], columns=ids)
    assert np.isnan(top_n_return_share(pd.Series([0.5, 0.5], index=ids), returns, 1, weights_at="start"))


def test_return_share_of_a_loss_keeps_its_sign():
    ids = ["A", "B"]
    returns = pd.DataFrame([[0.04, -0.10]], index=DATES[:1], columns=ids)
    # A (top name) gains 0.02, B loses 0.05: total −0.03; A's share of it is 0.02 / −0.03.
    share = top_n_return_share(pd.Series([0.5, 0.5], index=ids), returns, 1, weights_at="start")
    assert share == pytest.approx(0.02 / -0.03)


def test_drifted_weights_forward_and_backward(toy):
    weights, returns, _ = toy
    cumulative = np.cumprod(1.0 + R, axis=0)
    forward = W * cumulative
    forward /= forward.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(drifted_weights(weights, returns, weights_at="start").to_numpy(), forward, rtol=1e-12)
    backward = W * cumulative / cumulative[-1]
    backward /= backward.sum(axis=1, keepdims=True)
    got = drifted_weights(weights, returns, weights_at="end")
    np.testing.assert_allclose(got.to_numpy(), backward, rtol=1e-12)
    np.testing.assert_allclose(got.iloc[-1].to_numpy(), W, rtol=1e-12)
    group = group_weight_over_time(weights, returns, ["A", "B"], weights_at="end")
    np.testing.assert_allclose(group.to_numpy(), backward[:, 0] + backward[:, 1], rtol=1e-12)


def test_relative_performance_of_a_group(toy):
    weights, returns, _ = toy
    cumulative = np.cumprod(1.0 + R, axis=0)
    inside, outside = [0, 1], [2, 3, 4]

    def sub_portfolio(cols):
        w = W[cols] / W[cols].sum()
        return cumulative[:, cols] @ w - 1.0

    got = relative_performance(weights, returns, ["A", "B"], weights_at="start")
    np.testing.assert_allclose(got["group"].to_numpy(), sub_portfolio(inside), rtol=1e-12)
    np.testing.assert_allclose(got["rest"].to_numpy(), sub_portfolio(outside), rtol=1e-12)
    expected = (1 + sub_portfolio(inside)) / (1 + sub_portfolio(outside)) - 1
    np.testing.assert_allclose(got["relative"].to_numpy(), expected, rtol=1e-12)


def test_table_rows_and_window(toy):
    weights, returns, sectors = toy
    table = concentration_table(
        {"cap": weights, "ew": equal_weights(IDS)}, returns, sectors, {"AB": ["A", "B"]}, top_n=1, window=2
    )
    assert list(table.index) == ["cap", "ew"]
    # Window = the last 2 days; weights held at the end, drifted back to the window start.
    growth = np.prod(1.0 + R[-2:], axis=0)
    start = (W / growth) / (W / growth).sum()
    contributions = start * (growth - 1.0)
    row = table.loc["cap"]
    assert row["top_n_weight"] == pytest.approx(W[0])
    assert row["top_n_return_share"] == pytest.approx(contributions[0] / contributions.sum())
    assert row["window_return"] == pytest.approx(contributions.sum())
    assert row["AB"] == pytest.approx(W[0] + W[1])
    assert table.loc["ew", "hhi"] == pytest.approx(0.2)
    assert table.loc["ew", "effective_n"] == pytest.approx(5.0)
    assert table.loc["ew", "sector_hhi"] == pytest.approx(0.4**2 + 0.4**2 + 0.2**2)


def test_over_time_columns_and_month_ends():
    ids = ["A", "B", "C"]
    dates = pd.bdate_range("2025-01-01", "2025-03-31")
    rng = np.random.default_rng(3)
    returns = pd.DataFrame(rng.normal(0.0, 0.01, (len(dates), 3)), index=dates, columns=ids)
    weights = pd.Series([0.5, 0.3, 0.2], index=ids)
    sectors = pd.Series(["X", "X", "Y"], index=ids)
    frame = concentration_over_time(weights, returns, sectors, {"G": ["A"]}, top_n=2)
    assert list(frame.columns) == ["top_2_weight", "hhi", "effective_n", "sector_hhi", "G"]
    assert list(frame.index) == [pd.Timestamp("2025-01-31"), pd.Timestamp("2025-02-28"), pd.Timestamp("2025-03-31")]
    cumulative = np.cumprod(1.0 + returns.to_numpy(), axis=0)
    w = weights.to_numpy() * cumulative / cumulative[-1]
    w /= w.sum(axis=1, keepdims=True)
    jan = w[dates.get_loc(pd.Timestamp("2025-01-31"))]
    row = frame.iloc[0]
    assert row["top_2_weight"] == pytest.approx(np.sort(jan)[-2:].sum())
    assert row["hhi"] == pytest.approx(np.sum(jan**2))
    assert row["sector_hhi"] == pytest.approx((jan[0] + jan[1]) ** 2 + jan[2] ** 2)
    assert row["G"] == pytest.approx(jan[0])
    np.testing.assert_allclose(frame.iloc[-1][["hhi"]].to_numpy(), [np.sum(weights.to_numpy() ** 2)])


def test_bad_inputs_are_data_errors(toy):
    weights, returns, sectors = toy
    with pytest.raises(DataError, match="negative weight"):
        hhi(pd.Series([0.5, -0.1], index=["A", "B"]))
    with pytest.raises(DataError, match="'G'.*'Z'"):
        group_weight(weights, ["A", "Z"], group="G")
    with pytest.raises(DataError, match="window of 10 days"):
        return_contributions(weights, returns, window=10)
    with pytest.raises(DataError, match="no sector"):
        sector_hhi(weights, sectors.drop("E"))


def test_embedded_benchmark_concentration():
    snapshot = models.load_synthetic_sp500(seed=7)
    wb = snapshot.benchmark_weights.to_numpy()
    table = concentration_table(
        {"benchmark": snapshot.benchmark_weights, "equal_weight": equal_weights(snapshot.asset_ids)},
        snapshot.returns,
        snapshot.sectors,
        snapshot.groups,
    )
    assert 0.35 <= table.loc["benchmark", "top_n_weight"] <= 0.40
    assert table.loc["benchmark", "top_n_weight"] == pytest.approx(np.sort(wb)[-10:].sum())
    assert table.loc["benchmark", "effective_n"] == pytest.approx(51, abs=1)
    assert table.loc["equal_weight", "hhi"] == pytest.approx(1 / 500)
    mag7 = snapshot.benchmark_weights[list(snapshot.groups["MAG7"])].sum()
    assert table.loc["benchmark", "MAG7"] == pytest.approx(mag7)


def test_monitor_cli_on_a_run_directory(tmp_path):
    from typer.testing import CliRunner

    from trimtab import optimizer
    from trimtab.optimizer.cli import app

    job = tmp_path / "job.yaml"
    job.write_text("data: {source: embedded, seed: 7}\nconstraints:\n  - group_weight: {group: MAG7, max: 0.20}\n")
    run_dir = tmp_path / "run"
    target = optimizer.optimize(job)
    optimizer.write_run(target, run_dir)
    runner = CliRunner()
    done = runner.invoke(app, ["monitor", str(run_dir), "--window", "63", "--top", "5"])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(run_dir / "concentration.csv", index_col="portfolio")
    assert list(table.index) == ["benchmark", "target", "equal_weight"]
    w = target.weights.to_numpy()
    assert table.loc["target", "top_n_weight"] == pytest.approx(np.sort(w)[-5:].sum(), rel=1e-8)
    assert table.loc["target", "hhi"] == pytest.approx(np.sum(w**2), rel=1e-8)
    assert table.loc["target", "MAG7"] == pytest.approx(0.20, abs=1e-7)
    assert table.loc["equal_weight", "effective_n"] == pytest.approx(500)
    over_time = pd.read_csv(run_dir / "concentration_over_time.csv", index_col="date", parse_dates=True)
    assert list(over_time.columns) == ["top_5_weight", "hhi", "effective_n", "sector_hhi", "MAG7"]
    wb = target.benchmark.to_numpy()
    assert over_time["hhi"].iloc[-1] == pytest.approx(np.sum(wb**2), rel=1e-8)
    again = runner.invoke(app, ["monitor", str(run_dir)])
    assert again.exit_code == 2 and "--force" in again.output
