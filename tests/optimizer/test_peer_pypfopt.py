"""Cross-check against PyPortfolioOpt: identical problem, same optimum.

PyPortfolioOpt solves ``min (w−w_b)ᵀ Σ (w−w_b)`` on the dense ``Σ = B F Bᵀ + D`` with each
rule added via ``add_constraint`` (see ``tests/peers.py``); trimtab solves the factor form.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from trimtab import optimizer
from trimtab.constraints import loads_job

_spec = importlib.util.spec_from_file_location("trimtab_tests_peers", Path(__file__).parents[1] / "peers.py")
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)

TOY_JOBS = {
    "group-tilt-turnover": """
constraints:
  - group_weight: {group: TOP5, max: benchmark - 0.05}
  - factor_exposure: {factor: value, min: 0.2}
  - factor_exposure: {factor: quality, min: 0.1}
  - turnover: {max: 0.5}
  - asset_weight: {max: benchmark + 0.02}
""",
    "sectors-and-top-n": """
constraints:
  - group_weight: {top_n_by_cap: 3, max: 0.15}
  - sector_weight: {min: benchmark - 0.02, max: benchmark + 0.02}
  - factor_exposure: {factor: value, target: 0.3}
""",
    "te-cap-and-one-way-turnover": """
constraints:
  - factor_exposure: {factor: quality, min: 0.4}
  - tracking_error: {max: 0.05}
  - turnover: {max: 0.2, kind: one_way}
""",
}


def _te(weights, benchmark, cov):
    a = weights - benchmark
    return float(np.sqrt(a @ cov @ a))


@pytest.mark.parametrize("name", sorted(TOY_JOBS))
def test_same_optimum_as_pypfopt_on_toy_problems(toy, name):
    snapshot, model = toy
    job = loads_job(TOY_JOBS[name])
    ours = optimizer.optimize(job, snapshot=snapshot, risk_model=model)
    theirs = peers.solve_with_pypfopt(job, snapshot, model)
    cov = peers.dense_covariance(model)
    wb = snapshot.benchmark_weights.to_numpy()
    assert ours.diagnostics.tracking_error == pytest.approx(_te(theirs, wb, cov), abs=1e-6)
    assert np.abs(ours.weights.to_numpy() - theirs).max() < 1e-4
