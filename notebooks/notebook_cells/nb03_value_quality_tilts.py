"""Cells of notebook 03 (value quality tilts)."""

from __future__ import annotations

from .common import JOB_TEMPLATE, SETUP, code, md

TILTS = [
    md("""
# 03 · Value and quality tilts: what they cost and what they do to sectors

**The question.** The default job asks for an active exposure of at least +0.25 σ to value
and to quality (σ: cross-sectional standard deviations of the composite scores, measured so
the index's own exposure is 0). How does the TE grow as the tilt gets stronger, from 0 to
1 σ, and what does a tilt do to the sector mix?

Every portfolio here keeps the MAG7 cap at 20 % and the per-name limit of benchmark + 2 %;
there is no turnover budget (a fresh portfolio), so the frontiers measure the tilt itself.
"""),
    code(SETUP),
    code(JOB_TEMPLATE),
    code("""
CAP_RULES = '''
  - group_weight: {group: MAG7, max: 0.20}
  - asset_weight: {max: benchmark + 0.02}'''
cap_only = job_from_rules("mag7_cap_only", CAP_RULES)
cap_and_quality = job_from_rules("mag7_cap_quality", CAP_RULES + '''
  - factor_exposure: {factor: quality, min: 0.25}''')
data = trimtab.load_market_data(cap_only)
risk_model = trimtab.estimate_risk(cap_only, data)
mag7 = list(data.groups["MAG7"])
"""),
    md("""
## 1. Tilt frontiers

`research.tilt_frontier` adds (or re-bounds) a `factor_exposure` rule and sweeps its minimum:
value alone, quality alone, and value while quality stays ≥ +0.25 σ.
"""),
    code("""
targets = np.round(np.linspace(0.0, 1.0, 11), 2)
frontiers = {
    "value": research.tilt_frontier(cap_only, "value", targets, snapshot=data, risk_model=risk_model),
    "quality": research.tilt_frontier(cap_only, "quality", targets, snapshot=data, risk_model=risk_model),
    "value, quality ≥ 0.25 σ": research.tilt_frontier(cap_and_quality, "value", targets, snapshot=data, risk_model=risk_model),
}
te = pd.DataFrame({name: f.points.set_index("bound")["tracking_error"] for name, f in frontiers.items()})
te.index.name = "minimum active exposure (σ)"
for name in te:  # a stronger tilt can only cost TE
    assert np.all(np.diff(te[name].dropna().to_numpy()) >= -1e-6), name
formatted(te, "{:.2%}")
"""),
    code("""
show(
    research.plot_frontier(
        {name: f.points for name, f in frontiers.items()},
        xlabel="minimum active exposure (σ)", title="Minimum tracking error vs tilt (MAG7 ≤ 20 %)",
    ),
    "03_tilt_frontiers",
)
"""),
    md("""
With the MAG7 cap alone the TE is about 1.15 %. The first 0.1–0.2 σ of tilt is cheap (the
cap already pushes weight into cheaper names); beyond that TE grows almost linearly, roughly
0.35–0.5 percentage points per extra 0.1 σ. Asking for quality ≥ 0.25 σ as well shifts the
value curve up by the cost of the quality tilt.

## 2. How a tilt moves the sector weights

Each frontier keeps its weights (`Frontier.weights`, one column per point). Active sector
weights at 0, 0.5 and 1 σ:
"""),
    code("""
def active_sectors(frontier, bounds=(0.0, 0.5, 1.0)):
    points = frontier.points.reset_index(drop=True)
    columns = {}
    for bound in bounds:
        position = int(np.argmin(np.abs(points["bound"].to_numpy() - bound)))
        weights = frontier.weights[position]
        columns[f"{bound:g} σ"] = research.sector_weights(weights, data.sectors) - research.sector_weights(
            data.benchmark_weights, data.sectors
        )
    return pd.DataFrame(columns)


sector_tilts = pd.concat({name: active_sectors(frontiers[name]) for name in ("value", "quality")}, axis=1)
for name in ("value", "quality"):
    shift = sector_tilts[(name, "1 σ")] - sector_tilts[(name, "0 σ")]
    print(f"{name} 0 → 1 σ buys {', '.join(shift.nlargest(3).index)}; sells {', '.join(shift.nsmallest(3).index)}")
formatted(sector_tilts, "{:+.1%}")
"""),
    md("""
In this dataset a value tilt buys Financials, Utilities and Energy and sells Technology;
a quality tilt buys Staples and Industrials and sells Communication Services, Financials,
Real Estate and Utilities. The optimizer does not target sectors at all — the moves come from
where cheap (or profitable) names sit, limited by how much TE they add.

## 3. Four portfolios side by side

The cap alone, each tilt at +0.5 σ, and both together.
"""),
    code("""
portfolios = {
    "MAG7 cap": cap_only,
    "+ value 0.5 σ": job_from_rules("value", CAP_RULES + "\\n  - factor_exposure: {factor: value, min: 0.5}"),
    "+ quality 0.5 σ": job_from_rules("quality", CAP_RULES + "\\n  - factor_exposure: {factor: quality, min: 0.5}"),
    "+ both 0.5 σ": job_from_rules(
        "both",
        CAP_RULES + "\\n  - factor_exposure: {factor: value, min: 0.5}\\n  - factor_exposure: {factor: quality, min: 0.5}",
    ),
}
results = {name: trimtab.optimize(j, snapshot=data, risk_model=risk_model) for name, j in portfolios.items()}
comparison = pd.DataFrame(
    {
        name: {
            "tracking error": r.diagnostics.tracking_error,
            "active share": r.diagnostics.active_share,
            "MAG7 weight": r.weights[mag7].sum(),
            "value (σ)": r.diagnostics.active_exposures["value"],
            "quality (σ)": r.diagnostics.active_exposures["quality"],
            "size (σ)": r.diagnostics.active_exposures["size"],
            "names held": r.diagnostics.names_held,
        }
        for name, r in results.items()
    }
).T
for r in results.values():
    assert r.weights[mag7].sum() <= 0.20 + 1e-7
assert (comparison["size (σ)"] < 0).all()
formatted(comparison, {"tracking error": "{:.2%}", "active share": "{:.1%}", "MAG7 weight": "{:.1%}",
                       "value (σ)": "{:+.2f}", "quality (σ)": "{:+.2f}", "size (σ)": "{:+.2f}", "names held": "{:.0f}"})
"""),
    code("""
sectors = pd.DataFrame({name: research.sector_weights(r.weights, data.sectors) for name, r in results.items()})
sectors.insert(0, "benchmark", research.sector_weights(data.benchmark_weights, data.sectors))
formatted(sectors, "{:.1%}")
"""),
    code("""
from matplotlib.figure import Figure

active = sectors.drop(columns="benchmark").sub(sectors["benchmark"], axis=0)
figure = Figure(figsize=(10, 5.5), layout="constrained")
ax = figure.subplots()
height = 0.8 / active.shape[1]
for i, name in enumerate(active.columns):
    ax.barh(np.arange(len(active)) + i * height, active[name], height=height, label=name)
ax.set_yticks(np.arange(len(active)) + 0.4 - height / 2, active.index)
ax.invert_yaxis()
ax.axvline(0, color="black", linewidth=0.8)
ax.xaxis.set_major_formatter(lambda x, _: f"{x:+.0%}")
ax.set_xlabel("active sector weight (target − benchmark)")
ax.set_title("Active sector weights, MAG7 ≤ 20 %")
ax.legend()
show(figure, "03_active_sectors")
show(research.plot_sector_weights(results["+ both 0.5 σ"]), "03_sector_weights_both")
"""),
    md("""
**Reading the table.** Both tilts together at +0.5 σ cost more TE than either alone — they
pull in different directions across sectors, so the optimizer cannot meet both with the
same names — but less than the sum of the two (TE adds up in variance, not in points). Each
tilt also concentrates the portfolio in fewer names, and every portfolio is short size
(cheaper and more profitable names are smaller than the mega-caps), which the risk model
charges for. In the default job the tilts are +0.25 σ, where each costs a few
tenths of a percent of TE; and under its 30 % turnover budget a value tilt beyond ~0.4 σ is
not reachable in one rebalance (try `research.tilt_frontier` on
`examples/mag7_value_quality.yaml`: the points beyond are marked infeasible).
"""),
]
