"""Cells of notebook 06 (tax aware)."""

from __future__ import annotations

from .common import JOB_TEMPLATE, SETUP, code, md

TAXES = [
    md("""
# 06 · Tax-aware rebalancing: the tax bill in the objective

**The question.** Most right-sizing happens in taxable accounts. Cutting the Magnificent 7
from a third of the book to 20 % sells lots bought years ago: which lots, and how much tax?
With tax lots, trimtab makes the sale of each lot a variable: the realized gain is linear in
the sales, so the tax bill joins the objective exactly — `TE² + weight × tax` — and the lot
choice (specific identification) falls out of the optimization, within the wash-sale rule.

This notebook: the synthetic account's lots → the default job tax-aware against tax-unaware
(tax paid, TE, lots sold) → the TE cost of a gain budget (a frontier) → a backtest that
carries the lots through time, with the after-tax growth of both policies and the tax alpha.

> **The data are synthetic**, lots included: the numbers show how the machinery behaves,
> not what a real account would have paid.
"""),
    code(SETUP),
    code(JOB_TEMPLATE),
    code("""
RULES = '''
  - group_weight: {group: MAG7, max: 0.20}
  - factor_exposure: {factor: value, min: 0.25}
  - factor_exposure: {factor: quality, min: 0.25}
  - turnover: {max: 0.30, kind: two_way}
  - asset_weight: {max: benchmark + 0.02}'''
unaware_job = job_from_rules("mag7_value_quality", RULES)
# the same rules with a taxes section: the embedded data's synthetic lots ($1bn), 37 % / 20 %, 30-day wash sales
aware_job = job_from_rules("mag7_taxes", RULES, extra="taxes: {weight: 1.0}\\n")
print(aware_job.taxes)
"""),
    md("""
## 1. The lots

`trimtab.prepare` loads the data, fits the risk model and checks the lots against the
holdings (they must add up, name by name). Its `data.lots` is the lot book aligned to the
universe: each lot's weight (fraction of NAV), gain ratio `1 − basis / price` (negative: a
loss), term, and whether the wash-sale look-back blocks its loss (the name was bought within
30 days). The embedded account holds each name in 1–4 lots bought over the past three years.
"""),
    code("""
prepared = trimtab.prepare(aware_job)
book = prepared.data.lots
mag7 = list(prepared.data.snapshot.groups["MAG7"])
lots = pd.DataFrame({
    "lot_id": book.lot_ids, "asset_id": book.assets, "shares": book.shares, "cost_basis": book.cost_basis,
    "price": book.price, "acquired": book.acquired, "weight": book.weights, "gain_ratio": book.gain_ratio,
    "long_term": book.long_term, "wash_blocked": book.loss_sale_blocked,
})
at_loss = lots.loc[lots["gain_ratio"] < 0, "weight"].sum()
print(f"{book.n_lots} lots, NAV ${book.nav:,.0f}; {pct(at_loss, 0)} of the book's weight is in lots at a loss; "
      f"{len(book.bought_recently)} names bought within the wash-sale window")
formatted(lots[lots["asset_id"].isin(mag7)].set_index("lot_id"),
          {"shares": "{:,.0f}", "cost_basis": "{:.2f}", "price": "{:.2f}", "weight": "{:.2%}", "gain_ratio": "{:+.1%}"})
"""),
    md("""
## 2. Tax-aware against tax-unaware

The tax-unaware run is the same job without its `taxes` section: it minimizes TE alone, and
its net sells are then taken from the lots by a rule — first-in-first-out (the broker
default) or least tax first (`PreparedProblem.tax_of(weights, lot_order=...)`). The
tax-aware run weighs the tax against TE²: with `weight: 1`, a tax of 1 bp of NAV costs as
much as 10⁻⁴ of TE². Both hold the MAG7 at 20 % with 30 % turnover.
"""),
    code("""
aware = prepared.solve()
unaware = trimtab.optimize(unaware_job, snapshot=prepared.data.snapshot, risk_model=prepared.data.risk_model)
runs = {
    "tax-unaware, FIFO lots": (unaware, prepared.tax_of(unaware.weights, lot_order="fifo")),
    "tax-unaware, least-tax lots": (unaware, prepared.tax_of(unaware.weights, lot_order="min_tax")),
    "tax-aware (weight 1)": (aware, aware.diagnostics.taxes),
}
side_by_side = pd.DataFrame.from_dict({
    label: {"TE": t.diagnostics.tracking_error, "tax (USD)": r.tax, "tax (of NAV)": r.tax_fraction,
            "net realized gain (USD)": r.net_gain, "losses harvested (USD)": r.losses_harvested,
            "lots sold": len(r.lots_sold), "MAG7": t.weights[mag7].sum(), "turnover": t.diagnostics.turnover}
    for label, (t, r) in runs.items()
}, orient="index")
assert all(side_by_side.loc["tax-aware (weight 1)", "tax (USD)"] < side_by_side.loc[k, "tax (USD)"] - 1e6 for k in list(runs)[:2])
assert (side_by_side["MAG7"] <= 0.20 + 1e-7).all()
usd = "${:,.0f}"
formatted(side_by_side, {"TE": "{:.3%}", "tax (USD)": usd, "tax (of NAV)": "{:+.3%}", "net realized gain (USD)": usd,
                         "losses harvested (USD)": usd, "lots sold": "{:.0f}", "MAG7": "{:.2%}", "turnover": "{:.1%}"})
"""),
    md("""
The tax-aware run spends its turnover on lots at a loss — the tax it saves (a negative tax:
the losses offset gains elsewhere, at their rates) is worth more than the extra TE at this
weight — and pays for the MAG7 trims with long-term lots. The lots it sells, by term and sign:
"""),
    code("""
sold = aware.diagnostics.taxes.lots_sold
by_term = sold.assign(side=np.where(sold["gain"] < 0, "loss", "gain")).groupby(["term", "side"]).agg(
    lots=("lot_id", "count"), gain=("gain", "sum"))
formatted(by_term, {"gain": "${:,.0f}"})
"""),
    md("""
## 3. What a gain budget costs in TE

`research.gain_budget_frontier` sweeps a `realized_gain: {max: ...}` budget (net gains, a
fraction of NAV; negative asks for net losses) with the tax's weight set to 0, so each point
is the minimum TE under the budget alone: the frontier is monotone — a tighter budget never
lowers TE. Budgets the lots cannot meet are marked infeasible.
"""),
    code("""
frontier = research.gain_budget_frontier(aware_job, snapshot=prepared.data.snapshot, risk_model=prepared.data.risk_model)
te = frontier.feasible["tracking_error"].to_numpy()
assert np.all(np.diff(te) >= -1e-7)
show(research.plot_frontier(frontier.points, xlabel="net realized gain budget (of NAV; below 0: net losses)",
                            title="TE against the gain budget (default job, synthetic lots)", x_percent=True),
     "06_gain_budget_frontier")
formatted(frontier.points[["bound", "tracking_error", "value", "binding", "status"]].set_index("bound"),
          {"tracking_error": "{:.3%}", "value": "{:+.2%}"})
"""),
    md("""
## 4. A backtest that carries the lots

`research.tax_backtest` starts both policies from the same synthetic lots and re-solves at
each quarter end: the tax-aware policy with its current lots (new lots at each buy, at the
day's price; lots sold as the optimizer chose; the wash-sale look-back reading its own trades
log), the tax-unaware one without the lots, its sells taken first-in-first-out.

**Assumptions.** Gains are taxed on the trade date at their term's rate and a net loss
refunds at its rate (as if it offset gains elsewhere); the tax is settled in cash outside the
invested portfolio, so the *after-tax NAV* is the portfolio minus the cumulative net tax. The
**tax alpha** is the after-tax annual return of the tax-aware policy minus the tax-unaware
one's. Harvested losses lower the basis of what is held, so part of the alpha is deferral:
`liquidation_return` pays the tax on every lot at the end.
"""),
    code("""
history = models.load_synthetic_history()
result = research.tax_backtest(aware_job, "2025-09-30", "2026-09-30", "quarterly", history=history)
print(result.describe())
assert (result.rebalances["status"] == "optimal").all()
result
"""),
    code("""
show(research.plot_tax_backtest(result), "06_tax_backtest")
s = result.summary()
liquidation_alpha = s.loc["tax_aware", "liquidation_return"] - s.loc["tax_unaware", "liquidation_return"]
print(f"tax alpha {result.tax_alpha:+.2%} a year (liquidated at the end: {liquidation_alpha:+.2%}); "
      f"pre-tax {s.loc['tax_aware', 'pre_tax_return']:.2%} vs {s.loc['tax_unaware', 'pre_tax_return']:.2%}; "
      f"realized TE {pct(s.loc['tax_aware', 'tracking_error'])} vs {pct(s.loc['tax_unaware', 'tracking_error'])}")
assert np.isfinite(s.to_numpy(dtype=float)).all()
"""),
    md("""
Per rebalance: the tax (fraction of the NAV then; negative: a refund), the net realized gain,
the losses harvested, the lots sold, turnover and the ex-ante TE after the trade.
"""),
    code("""
formatted(result.by_rebalance(), {"tax": "{:+.3%}", "net_realized_gain": "{:+.2%}", "losses_harvested": "{:.2%}",
                                  "lots_sold": "{:.0f}", "turnover": "{:.1%}", "ex_ante_te": "{:.2%}"})
"""),
    md("""
From the shell, a job with a `taxes` section runs this backtest and writes the returns, the
per-rebalance taxes, the lots held and the trades logs:

```bash
trimtab backtest examples/mag7_taxes.yaml --start 2023-09-29 --end 2026-09-30 --rebalance quarterly --out bt_taxes/
```
"""),
]
