"""Cells of notebook 02 (mag7 cap frontier)."""

from __future__ import annotations

from .common import JOB_TEMPLATE, SETUP, code, md

MAG7_FRONTIER = [
    md("""
# 02 · What does each point of MAG7 cap cost?

**The question.** The Magnificent 7 are about a third of the (synthetic) index. Capping them
is a decision about tracking error: every point of weight taken from them must go to names
that move differently. How much TE does each extra point of cap cost, and where does the
cost start to rise fast?

**The method.** A *frontier*: sweep the cap from the benchmark's own MAG7 weight (the cap
costs nothing) down to 5 %, and solve for the minimum TE at each bound. The problem is
compiled once and re-solved through a CVXPY parameter, so a sweep takes a fraction of a
second per point. A bound that no portfolio can meet is **marked as infeasible**, not an
error — and we ask the optimizer why.
"""),
    code(SETUP),
    code(JOB_TEMPLATE),
    md("""
## 1. The default job, with its 30 % turnover budget

The data and risk model are loaded once and shared by every sweep below.
"""),
    code("""
job = trimtab.load_job(ROOT / "examples" / "mag7_value_quality.yaml")
data = trimtab.load_market_data(job)
risk_model = trimtab.estimate_risk(job, data)
mag7 = list(data.groups["MAG7"])
benchmark_mag7 = data.benchmark_weights[mag7].sum()
print(f"benchmark MAG7 weight: {pct(benchmark_mag7)}")

with_turnover = research.mag7_cap_frontier(job, snapshot=data, risk_model=risk_model)
with_turnover
"""),
    md("""
Below 17.5 % the points are infeasible. Why? `trimtab.diagnose` finds the smallest set of
rules that cannot hold together and, for each, the bound that would make the job feasible:
starting from the current holdings, a 30 % two-way turnover budget cannot move enough weight
out of the mega-caps.
"""),
    code("""
first_bad = with_turnover.points.loc[~with_turnover.points["feasible"], "bound"].max()
tight = job_from_rules("tight_cap", f'''
  - group_weight: {{group: MAG7, max: {first_bad}}}
  - factor_exposure: {{factor: value, min: 0.25}}
  - factor_exposure: {{factor: quality, min: 0.25}}
  - turnover: {{max: 0.30, kind: two_way}}
  - asset_weight: {{max: benchmark + 0.02}}''')
diagnosis = trimtab.diagnose(tight, snapshot=data, risk_model=risk_model)
assert not diagnosis.feasible
print(diagnosis.message)
pd.DataFrame(diagnosis.to_dict()["conflict"])
"""),
    md("""
## 2. The same job without the turnover budget

For a new mandate (or a patient transition) drop the turnover rule: the frontier now runs
all the way to 5 %. The rules are YAML text; the other rules are unchanged.
"""),
    code("""
no_turnover = job_from_rules("mag7_value_quality_no_turnover", '''
  - group_weight: {group: MAG7, max: 0.20}
  - factor_exposure: {factor: value, min: 0.25}
  - factor_exposure: {factor: quality, min: 0.25}
  - asset_weight: {max: benchmark + 0.02}''')
free = research.mag7_cap_frontier(no_turnover, snapshot=data, risk_model=risk_model)
assert free.points["feasible"].all()
# a tighter cap can only cost TE: the frontier is non-increasing as the cap loosens
te = free.points.sort_values("bound")["tracking_error"].to_numpy()
assert np.all(np.diff(te) <= 1e-6)
free.points[["bound", "tracking_error", "marginal_te", "active_share", "turnover", "MAG7_weight"]]
"""),
    code("""
figure = research.plot_frontier(
    {"30 % turnover budget": with_turnover.points, "no turnover budget": free.points},
    xlabel="MAG7 cap (fraction of NAV)", title="Minimum tracking error vs MAG7 cap",
)
figure.axes[0].axvline(benchmark_mag7, color="grey", linestyle=":", linewidth=1)
show(figure, "02_mag7_cap_frontier")
"""),
    md("""
Read the curve from right to left: at the benchmark's weight the cap is free (the TE left is
what the value/quality tilts cost); each step down costs more than the one before — the
frontier is convex. Red × marks bounds no portfolio can meet under the turnover budget.

## 3. The marginal cost around 20 %

Two ways to read it: the finite difference between neighbouring points, and the shadow
price of the cap at the solution (`marginal_te`, the change in TE per unit of cap; × 0.01 ×
10 000 gives basis points of TE per percentage point of cap).
"""),
    code("""
caps = np.round(np.arange(0.25, 0.1749, -0.01), 4)
rows = {}
for label, this_job in [("30 % turnover budget", job), ("no turnover budget", no_turnover)]:
    fine = research.mag7_cap_frontier(this_job, caps, snapshot=data, risk_model=risk_model).points.set_index("bound")
    feasible = fine[fine["feasible"]]
    te = feasible["tracking_error"]
    rows[label] = {
        "TE at 22 %": te.get(0.22, np.nan),
        "TE at 20 %": te.get(0.20, np.nan),
        "TE at 18 %": te.get(0.18, np.nan),
        "bp of TE per pt, 22 → 20 %": (te.get(0.20) - te.get(0.22)) / 2 * 1e4,
        "bp of TE per pt, 20 → 18 %": (te.get(0.18) - te.get(0.20)) / 2 * 1e4,
        "shadow price at 20 % (bp per pt)": -feasible.loc[0.20, "marginal_te"] * 100,
    }
marginal = pd.DataFrame(rows).T
marginal
"""),
    code("""
for label, row in marginal.iterrows():
    print(f"{label}: at a 20 % cap one more point of cap costs about {row['shadow price at 20 % (bp per pt)']:.1f} bp "
          f"of TE (finite differences: {row['bp of TE per pt, 22 → 20 %']:.1f} bp from 22 → 20 %, "
          f"{row['bp of TE per pt, 20 → 18 %']:.1f} bp from 20 → 18 %)")
"""),
    md("""
**What the numbers mean.** Without a turnover budget, cutting the MAG7 from 22 % to 20 %
costs about 6 bp of TE per point, and the price keeps rising as the cap tightens. Under the
30 % turnover budget the same cap is much dearer (the budget is spent on the cap *and* the
tilts), and below ~17.5 % it cannot be met in one rebalance at all: a cap below that needs
either more turnover or several rebalances (see notebook 04).
"""),
]
