"""Property: on random universes, every hard constraint of a random feasible spec holds at the optimum.

Specs are feasible by construction: a random reference portfolio ``w*`` is drawn and every
bound is set so that ``w*`` satisfies it with a random margin. Each constraint is then
checked at trimtab's optimum by an independent numpy computation.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trimtab import optimizer
from trimtab.constraints import loads_job

_spec = importlib.util.spec_from_file_location("trimtab_tests_toy_data", Path(__file__).parents[1] / "toy_data.py")
toy_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toy_data)

TOL = 1e-6
KINDS = ("group", "top_n", "sector", "value", "quality", "turnover", "asset", "te", "beta", "restricted")


def _reference_portfolio(rng, snapshot, restricted):
    w = rng.dirichlet(np.full(snapshot.n_assets, 0.7))
    w[snapshot.asset_ids.get_indexer(restricted)] = 0.0
    return w / w.sum()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(
    n=st.integers(12, 45),
    seed=st.integers(0, 10_000),
    kinds=st.sets(st.sampled_from(KINDS), min_size=1, max_size=len(KINDS)),
    margin=st.floats(0.0, 0.05),
)
def test_every_hard_constraint_holds_at_the_optimum(n, seed, kinds, margin):
    snapshot, model = toy_data.make_toy(n=n, k=3, seed=seed)
    rng = np.random.default_rng(seed)
    ids = list(snapshot.asset_ids)
    restricted = ids[-2:]
    w_star = _reference_portfolio(rng, snapshot, restricted if "restricted" in kinds else [])
    wb, w0 = snapshot.benchmark_weights.to_numpy(), snapshot.holdings.to_numpy()
    cov = model.covariance().to_numpy()
    chars = snapshot.characteristics
    sectors = snapshot.sectors.to_numpy()
    top = ids[:3]
    betas = cov @ wb / (wb @ cov @ wb)

    rules, checks = [], []
    if "group" in kinds:
        cap = float(w_star[:5].sum()) + margin
        rules.append({"group_weight": {"group": "TOP5", "max": cap}})
        checks.append(lambda w, cap=cap: w[:5].sum() <= cap + TOL)
    if "top_n" in kinds:
        floor = float(w_star[:3].sum()) - margin
        rules.append({"group_weight": {"assets": top, "min": floor}})
        checks.append(lambda w, floor=floor: w[:3].sum() >= floor - TOL)
    if "sector" in kinds:
        by_sector = {s: float(w_star[sectors == s].sum()) for s in np.unique(sectors)}
        upper = max(by_sector.values()) + margin
        rules.append({"sector_weight": {"max": upper}})
        checks.append(lambda w, u=upper: all(w[sectors == s].sum() <= u + TOL for s in by_sector))
    for factor in ("value", "quality"):
        if factor in kinds:
            x = chars[factor].to_numpy()
            target = float(x @ (w_star - wb)) - margin
            rules.append({"factor_exposure": {"factor": factor, "min": target}})
            checks.append(lambda w, x=x, t=target: x @ (w - wb) >= t - TOL)
    if "turnover" in kinds:
        budget = float(np.abs(w_star - w0).sum()) + margin
        rules.append({"turnover": {"max": min(budget, 2.0)}})
        checks.append(lambda w, b=min(budget, 2.0): np.abs(w - w0).sum() <= b + TOL)
    if "asset" in kinds:
        cap = float(w_star.max()) + margin
        rules.append({"asset_weight": {"max": cap}})
        checks.append(lambda w, c=cap: w.max() <= c + TOL)
    if "te" in kinds:
        a = w_star - wb
        limit = float(np.sqrt(a @ cov @ a)) + margin
        rules.append({"tracking_error": {"max": limit}})
        checks.append(lambda w, lim=limit: np.sqrt((w - wb) @ cov @ (w - wb)) <= lim + TOL)
    if "beta" in kinds:
        beta = float(betas @ w_star)
        rules.append({"beta": {"min": beta - margin - 0.01, "max": beta + margin + 0.01}})
        checks.append(lambda w, b=beta, m=margin: abs(betas @ w - b) <= m + 0.01 + TOL)
    if "restricted" in kinds:
        rules.append({"restricted": {"assets": restricted}})
        checks.append(lambda w: np.abs(w[-2:]).max() <= TOL)

    job = loads_job(yaml.safe_dump({"constraints": rules}))
    result = optimizer.optimize(job, snapshot=snapshot, risk_model=model)
    w = result.weights.to_numpy()
    assert w.min() >= -1e-8 and abs(w.sum() - 1.0) <= 1e-8
    for check in checks:
        assert check(w)
    assert all(r.slack >= -TOL for r in result.diagnostics.constraints)
    # The optimum is no worse than the reference portfolio, which satisfies every rule.
    a_star = w_star - wb
    assert result.diagnostics.tracking_error <= np.sqrt(a_star @ cov @ a_star) + 1e-7
