"""Cells of notebook 04 (backtest)."""

from __future__ import annotations

from .common import JOB_TEMPLATE, SETUP, code, md

BACKTEST = [
    md("""
# 04 · Backtest: optimized vs cap-weighted vs equal-weighted

**The question.** How would the policy — cap the MAG7 at 20 %, tilt to value and quality,
trade at most 30 % per rebalance — have behaved next to the two indexes people actually
compare: the cap-weighted index and the equal-weighted one?

> **The data are synthetic.** `models.load_synthetic_history()` extends the embedded
> S&P 500-like dataset back in time from the same factor process. The returns, and therefore
> every performance number below, are simulated: they show how the machinery works and how
> the three policies differ *structurally* (TE, turnover, cost, concentration), not what
> would have happened in the real market. To backtest on real data, pass a `MarketHistory`
> built from your own prices (`research.backtest(..., history=...)`).

**How the backtest works.** At each rebalance (last trading day of each month) the risk
model is refitted on the trailing 3 years, the job is re-solved on the data known that day,
starting from the drifted holdings, and the job's trading costs are charged. The
cap-weighted index is bought once and drifts; the equal-weighted index is reset to 1/n at
each rebalance and pays the same costs.
"""),
    code(SETUP),
    code(JOB_TEMPLATE),
    code("""
history = models.load_synthetic_history()
print(history.dataset, "|", len(history.asset_ids), "names |", history.dates[0].date(), "to", history.dates[-1].date())

# the default rules, plus trading costs: 5 bp per unit traded, in the objective and charged in the backtest
job = job_from_rules("mag7_value_quality", '''
  - group_weight: {group: MAG7, max: 0.20}
  - factor_exposure: {factor: value, min: 0.25}
  - factor_exposure: {factor: quality, min: 0.25}
  - turnover: {max: 0.30, kind: two_way}
  - asset_weight: {max: benchmark + 0.02}''', extra="costs: {risk_aversion: 100, linear_bps: 5}\\n")
"""),
    md("""
## 1. Run it

Two years of monthly rebalances (24 re-solves, each with a refitted risk model) take about
ten seconds: the problem is compiled once and re-solved through its parameters.
"""),
    code("""
result = research.backtest(job, "2024-10-31", "2026-10-30", rebalance="monthly", history=history)
print(result.describe())
assert result.n_infeasible == 0
result
"""),
    md("""
`summary()` holds the raw numbers (fractions): annualized return and volatility, Sharpe ratio,
maximum drawdown, realized TE and information ratio against the cap-weighted index, average
turnover and cost per rebalance (fractions of NAV).
"""),
    code("""
summary = result.summary()
summary
"""),
    code("""
show(research.plot_backtest(result.returns), "04_backtest")
"""),
    md("""
## 2. Each rebalance

Turnover, cost, the ex-ante TE of the new target (under that day's risk model) and the TE
realized over the following month. The first rebalance moves from the index to the policy
and uses the full 30 % budget; later ones only undo the drift and follow the changing
characteristics.
"""),
    code("""
rebalances = result.rebalances[["turnover", "cost", "ex_ante_te", "realized_te", "eq_turnover", "status"]]
formatted(
    rebalances,
    {"turnover": "{:.1%}", "cost": "{:.4%}", "ex_ante_te": "{:.2%}", "realized_te": "{:.2%}", "eq_turnover": "{:.1%}"},
)
"""),
    code("""
s = summary
print(f"realized TE of the optimized policy: {pct(s.loc['optimized', 'tracking_error'])} "
      f"(mean ex-ante {pct(result.rebalances['ex_ante_te'].mean())}); "
      f"equal weight: {pct(s.loc['equal_weighted', 'tracking_error'])}")
print(f"average turnover per rebalance: optimized {pct(s.loc['optimized', 'avg_turnover'], 1)}, "
      f"equal weight {pct(s.loc['equal_weighted', 'avg_turnover'], 1)}")
assert s.loc["optimized", "tracking_error"] < s.loc["equal_weighted", "tracking_error"]
"""),
    md("""
The optimized policy tracks the index with a fraction of the equal-weighted index's TE and
trades less each month: equal weight has to sell every winner and buy every loser back to
1/n, while the optimizer only trades what the rules and the risk model ask for.

## 3. Concentration over time

How concentrated was the (synthetic) cap-weighted index along the whole history — top-10
weight, HHI, effective number of stocks, sector HHI and the MAG7's weight — measured at each
quarter end (`research.concentration_over_time` drifts today's weights back with the returns).
"""),
    code("""
last = history.dates[-1]
sectors = history.assets_at(last)["sector"]
over_time = research.concentration_over_time(
    history.benchmark_weights_at(last), history.returns, sectors, history.groups, freq="QE"
)
show(research.plot_concentration(over_time[["top_10_weight", "effective_n", "sector_hhi", "MAG7"]]), "04_concentration")
over_time.tail(8)
"""),
    md("""
And the policy against the index at each rebalance: the MAG7 stays at its 20 % cap (the
index drifts between rebalances, so the policy's drifted MAG7 weight can creep above it in
between), the top 10 weigh less and the effective number of stocks is higher.
"""),
    code("""
mag7 = list(history.groups["MAG7"])
rows = {}
for date, weights in result.weights.iterrows():
    index_weights = history.benchmark_weights_at(date)
    rows[date] = {
        "MAG7 index": index_weights[mag7].sum(),
        "MAG7 optimized": weights[mag7].sum(),
        "top-10 index": research.top_n_weight(index_weights, 10),
        "top-10 optimized": research.top_n_weight(weights, 10),
        "effective N index": research.effective_n(index_weights),
        "effective N optimized": research.effective_n(weights),
    }
policy_concentration = pd.DataFrame.from_dict(rows, orient="index")
assert (policy_concentration["MAG7 optimized"] <= 0.20 + 1e-6).all()
policy_concentration.iloc[::3]
"""),
]
