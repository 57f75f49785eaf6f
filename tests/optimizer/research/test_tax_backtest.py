"""The tax-aware backtest: lots carried share by share, the tax paid, wash-sale windows across
rebalances, after-tax statistics — on 40 synthetic names monthly — and the default job (MAG7
cap, synthetic lots) on the embedded history, in Python and through ``trimtab backtest``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trimtab import optimizer
from trimtab.constraints import loads_job
from trimtab.models import DataError, MarketHistory, TaxLots, load_synthetic_history
from trimtab.optimizer.cli import app
from trimtab.optimizer.research import (
    LotLedger,
    TaxBacktestResult,
    plot_tax_backtest,
    tax_backtest,
)

ROOT = Path(__file__).parents[3]
WASH_DAYS = 45  # longer than a month: a monthly rebalance's trades are in the next one's look-back
RATES = {"short": 0.37, "long": 0.20}

TOY_JOB = f"""
name: toy40_taxes
risk_model: {{method: ledoit_wolf, window: 126}}
constraints:
  - group_weight: {{group: MAG7, max: 0.70}}
  - asset_weight: {{max: benchmark + 0.05}}
  - turnover: {{max: 0.30}}
taxes: {{weight: 1.0, wash_sale_days: {WASH_DAYS}, short_term_rate: 0.37, long_term_rate: 0.20}}
"""


@pytest.fixture(scope="module")
def toy():
    full = load_synthetic_history(7, years=6)
    mag7 = list(full.asset_ids[:7])
    chosen = sorted(set(mag7) | set(full.asset_ids[7::14][:33]))
    history = MarketHistory("synthetic 40 names", full.assets.loc[chosen], full.returns[chosen], groups={"MAG7": mag7})
    job = loads_job(TOY_JOB)
    result = tax_backtest(job, "2024-01-31", "2024-12-31", "monthly", history=history)
    return result, history, job


def _replay(result: TaxBacktestResult, policy: str):
    """(date, lots before, sells, buys, lots after) per rebalance, applying the trades log to the starting lots by hand."""
    lots = {r.lot_id: dict(asset=r.asset_id, shares=r.shares, basis=r.cost_basis, acquired=r.acquired)
            for r in result.initial_lots.itertuples()}
    log = result.trades[(result.trades["policy"] == policy) & (result.trades["lot_id"] != "")]
    steps = []
    for date, trades in log.groupby("date", sort=True):
        before = {k: dict(v) for k, v in lots.items()}
        sells, buys = trades[trades["side"] == "sell"], trades[trades["side"] == "buy"]
        for t in sells.itertuples():
            assert t.shares <= lots[t.lot_id]["shares"] + 1e-6, (date, t.lot_id)
            lots[t.lot_id]["shares"] -= t.shares
            if lots[t.lot_id]["shares"] <= 1e-6:
                del lots[t.lot_id]
        for t in buys.itertuples():
            assert t.lot_id not in lots
            lots[t.lot_id] = dict(asset=t.asset_id, shares=t.shares, basis=t.price, acquired=pd.Timestamp(date))
        steps.append((pd.Timestamp(date), before, sells, buys, {k: dict(v) for k, v in lots.items()}))
    return steps, lots


# -- the ledger ---------------------------------------------------------------------------------
def test_a_ledger_sells_lots_and_buys_new_ones():
    lots = TaxLots(pd.DataFrame({
        "lot_id": ["A1", "A2", "B1"], "asset_id": ["A", "A", "B"], "shares": [100.0, 50.0, 10.0],
        "cost_basis": [10.0, 30.0, 5.0], "acquired": pd.to_datetime(["2020-01-02", "2024-03-01", "2023-05-05"]),
    }))
    ledger = LotLedger.from_tax_lots(lots)
    price = pd.Series({"A": 20.0, "B": 40.0, "C": 8.0})
    assert ledger.value(price) == pytest.approx(150 * 20 + 10 * 40)
    assert ledger.weights(price).to_dict() == pytest.approx({"A": 3000 / 3400, "B": 400 / 3400, "C": 0.0})
    after = ledger.after(
        pd.Timestamp("2024-06-28"), pd.Series({"A1": 40.0, "A2": 50.0}), pd.Series({"C": 125.0}), price,
        realized_gain=pd.Series({"A1": 400.0, "A2": -500.0}), rate=pd.Series({"A1": 0.2, "A2": 0.37}),
        term=pd.Series({"A1": "long", "A2": "short"}),
    )
    held = after.lots.set_index("lot_id")
    assert held["shares"].to_dict() == {"A1": 60.0, "B1": 10.0, "C@2024-06-28": 125.0}  # A2 sold whole: gone
    assert held.loc["C@2024-06-28", "cost_basis"] == 8.0
    assert held.loc["C@2024-06-28", "acquired"] == pd.Timestamp("2024-06-28")
    sells = after.trades[after.trades["side"] == "sell"].set_index("lot_id")
    assert sells["tax"].to_dict() == pytest.approx({"A1": 80.0, "A2": -185.0})
    # the look-back: the A2 loss sale and the C buy are recent trades 30 days later, not 31 days later
    recent = after.tax_lots(pd.Timestamp("2024-07-28"), 30).trades
    assert sorted(zip(recent["asset_id"], recent["side"])) == [("A", "sell"), ("A", "sell"), ("C", "buy")]
    assert after.tax_lots(pd.Timestamp("2024-07-29"), 30).trades.empty
    with pytest.raises(DataError, match="holding 60"):
        after.after(pd.Timestamp("2024-07-31"), pd.Series({"A1": 61.0}), pd.Series(dtype=float), price,
                    realized_gain=pd.Series({"A1": 0.0}), rate=pd.Series({"A1": 0.2}), term=pd.Series({"A1": "long"}))


# -- accounting on 40 names, monthly ------------------------------------------------------------
@pytest.mark.parametrize("policy", ["tax_aware", "tax_unaware"])
def test_lots_after_a_rebalance_are_lots_before_minus_sales_plus_buys(toy, policy):
    result, history, _ = toy
    steps, final = _replay(result, policy)
    assert len(steps) >= 8  # most months trade
    for date, _, sells, buys, after in steps:
        price = history.assets_at(date)["price"]
        assert (buys["price"].to_numpy() == price[buys["asset_id"]].to_numpy()).all()  # new lots at the day's price
        if policy == "tax_unaware":  # a net trade per asset: sold or bought, not both
            assert set(sells["asset_id"]).isdisjoint(buys["asset_id"])
        shares = pd.Series({k: v["shares"] for k, v in after.items()})
        assets = pd.Series({k: v["asset"] for k, v in after.items()})
        values = (shares * price[assets].to_numpy()).groupby(assets).sum().reindex(history.asset_ids, fill_value=0.0)
        held = result.weights[policy].loc[date]
        assert np.allclose(values / values.sum(), held, atol=1e-12)  # the weights held are those of the lots
    end = result.lots[result.lots["policy"] == policy].set_index("lot_id")
    assert set(end.index) == set(final)
    assert np.allclose(end["shares"].reindex(list(final)).to_numpy(), [final[k]["shares"] for k in final], rtol=1e-12)


def test_the_optimizer_chose_the_lots_sold(toy):
    """Re-solving one rebalance from the replayed lots and trades gives the trades logged."""
    result, history, job = toy
    steps, _ = _replay(result, "tax_aware")
    date, before, sells, buys, _ = steps[3]
    lots = pd.DataFrame([dict(lot_id=k, asset_id=v["asset"], shares=v["shares"], cost_basis=v["basis"],
                              acquired=v["acquired"]) for k, v in before.items()])
    log = result.trades[(result.trades["policy"] == "tax_aware") & (result.trades["date"] < date)]
    recent = log[log["date"] >= date - pd.Timedelta(days=WASH_DAYS)][["asset_id", "date", "side", "realized_gain"]]
    price = history.assets_at(date)["price"]
    ledger = LotLedger.from_tax_lots(TaxLots(lots))
    snapshot = history.snapshot(date, 126, holdings=ledger.weights(price))
    target = optimizer.optimize(job, snapshot=snapshot, lots=TaxLots(lots, recent.reset_index(drop=True)))
    chosen = target.diagnostics.taxes.lots_sold.set_index("lot_id")["shares"]
    logged = sells.set_index("lot_id")["shares"]
    assert set(chosen.index) == set(logged.index)
    assert np.allclose(chosen.reindex(logged.index), logged, rtol=1e-6)
    assert np.allclose(target.weights, result.weights["tax_aware"].loc[date], atol=1e-6)


@pytest.mark.parametrize("policy", ["tax_aware", "tax_unaware"])
def test_tax_paid_is_the_sum_of_realized_gains_times_rates(toy, policy):
    result, history, _ = toy
    steps, _ = _replay(result, policy)
    log = result.trades[result.trades["policy"] == policy]
    for date, before, sells, _, _ in steps:
        price = history.assets_at(date)["price"]
        window = date - pd.Timedelta(days=WASH_DAYS)
        bought_recently = {v["asset"] for v in before.values() if v["acquired"] >= window} | set(
            log[(log["side"] == "buy") & (log["date"] >= window) & (log["date"] < date)]["asset_id"]
        )
        tax = 0.0
        for t in sells.itertuples():
            lot = before[t.lot_id]
            gain = t.shares * (price[lot["asset"]] - lot["basis"])
            if gain < 0 and lot["asset"] in bought_recently:
                assert policy == "tax_unaware", "the optimizer sold a wash-blocked loss lot"
                gain = 0.0  # a disallowed loss
            held_days = (date - lot["acquired"]).days
            tax += RATES["long" if held_days > 365 else "short"] * gain
        assert result.rebalances.loc[(policy, date), "tax"] == pytest.approx(tax, rel=1e-7, abs=1e-2)
    total = result.rebalances.loc[policy, "tax"].sum()
    assert result.summary().loc[policy, "tax_paid"] == pytest.approx(total / result.start_nav)


def test_wash_sale_windows_hold_across_rebalances(toy):
    result, _, _ = toy
    log = result.trades[(result.trades["policy"] == "tax_aware") & (result.trades["lot_id"] != "")]
    start = result.initial_lots
    losses = log[(log["side"] == "sell") & (log["realized_gain"] < 0)]
    buys = log[log["side"] == "buy"]
    for t in buys.itertuples():  # no buy within the window after (or with) a loss sale of the asset
        earlier = losses[(losses["asset_id"] == t.asset_id) & (losses["date"] <= t.date)]
        assert not (earlier["date"] >= t.date - pd.Timedelta(days=WASH_DAYS)).any(), (t.date, t.asset_id)
    for t in losses.itertuples():  # no loss sale within the window after a buy (a trade or a starting lot)
        bought = list(buys[(buys["asset_id"] == t.asset_id) & (buys["date"] < t.date)]["date"])
        bought += list(start[start["asset_id"] == t.asset_id]["acquired"])
        assert not any(t.date - pd.Timedelta(days=WASH_DAYS) <= d <= t.date for d in bought), (t.date, t.asset_id)
    aware = result.rebalances.loc["tax_aware"]
    assert (aware["blocked_buys"].iloc[1:] > 0).sum() >= 3  # the look-back blocked buys at several rebalances
    assert (aware["losses_harvested"] > 0).all()


def test_after_tax_statistics_for_both_policies(toy):
    result, _, _ = toy
    summary = result.summary()
    assert list(summary.index) == ["tax_aware", "tax_unaware"]
    assert np.isfinite(summary.to_numpy(dtype=float)).all()
    assert np.isfinite(result.tax_alpha)
    assert result.tax_alpha == pytest.approx(summary["after_tax_return"].diff().iloc[-1] * -1)
    for policy in ("tax_aware", "tax_unaware"):
        pre = result.start_nav * (1 + result.pre_tax[policy]).prod()
        assert pre == pytest.approx(result.market_value(policy), rel=1e-9)  # no costs: pre-tax NAV = the lots' value
        after = result.start_nav * (1 + result.after_tax[policy]).prod()
        assert after == pytest.approx(result.market_value(policy) - result.rebalances.loc[policy, "tax"].sum(), rel=1e-9)
        assert summary.loc[policy, "tracking_error"] > 0
    assert summary.loc["tax_aware", "tax_paid"] < summary.loc["tax_unaware", "tax_paid"]
    figure = plot_tax_backtest(result)
    assert len(figure.axes) == 2 and "tax alpha" in figure.axes[0].get_title()


def test_a_bad_lot_order_and_a_ragged_history_are_refused(toy):
    _, history, job = toy
    with pytest.raises(DataError, match="lot_order"):
        tax_backtest(job, "2024-01-31", "2024-03-29", history=history, lot_order="lifo")
    returns = history.returns.copy()
    returns.loc["2024-06-03":, returns.columns[10]] = np.nan  # a name stops trading mid-window
    ragged = MarketHistory("ragged", history.assets, returns, groups=history.groups)
    with pytest.raises(DataError, match="ragged"):
        tax_backtest(job, "2024-01-31", "2024-12-31", "monthly", history=ragged)


# -- the default job on the embedded data ---------------------------------------------------
MAG7 = ["SP001", "SP002", "SP003", "SP004", "SP005", "SP006", "SP007"]


def test_the_default_job_tax_aware_against_tax_unaware():
    """MAG7 ≤ 20 %, the synthetic lots, two quarterly rebalances: both policies' after-tax numbers."""
    result = tax_backtest(ROOT / "examples" / "mag7_taxes.yaml", "2026-03-31", "2026-09-30", "quarterly")
    summary = result.summary()
    assert np.isfinite(summary.to_numpy(dtype=float)).all() and np.isfinite(result.tax_alpha)
    assert (result.rebalances["status"] == "optimal").all()
    for policy in ("tax_aware", "tax_unaware"):
        assert (result.weights[policy][MAG7].sum(axis=1) <= 0.20 + 1e-6).all()
        assert (result.rebalances.loc[policy, "turnover"] <= 0.30 + 1e-6).all()
    assert summary.loc["tax_aware", "tax_paid"] < summary.loc["tax_unaware", "tax_paid"]
    assert summary.loc["tax_aware", "after_tax_return"] - summary.loc["tax_aware", "pre_tax_return"] > 0


def test_trimtab_backtest_of_a_job_with_taxes(tmp_path):
    out = tmp_path / "bt"
    run = CliRunner().invoke(app, ["backtest", str(ROOT / "examples" / "mag7_taxes.yaml"), "--start", "2026-06-30",
                                   "--end", "2026-08-31", "--rebalance", "quarterly", "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "tax alpha" in run.output and "after-tax return" in run.output
    assert sorted(p.name for p in out.iterdir()) == ["lots.csv", "rebalances.csv", "returns.csv", "summary.csv", "trades.csv"]
    summary = pd.read_csv(out / "summary.csv", index_col="policy")
    assert list(summary.index) == ["tax_aware", "tax_unaware"] and np.isfinite(summary.to_numpy(dtype=float)).all()
    returns = pd.read_csv(out / "returns.csv", index_col="date")
    assert list(returns.columns) == ["tax_aware", "tax_unaware", "tax_aware_pre_tax", "tax_unaware_pre_tax", "cap_weighted"]
    bad = CliRunner().invoke(app, ["backtest", str(ROOT / "examples" / "mag7_taxes.yaml"), "--start", "2026-06-30",
                                   "--end", "2026-08-31", "--lot-order", "lifo", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "lot-order" in bad.output
