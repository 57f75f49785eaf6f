"""The same problem handed to PyPortfolioOpt, for cross-checks (tests) and speed comparisons (bench/).

PyPortfolioOpt gets the dense covariance ``B F Bᵀ + D`` and
``objective_functions.ex_ante_tracking_error``; each trimtab constraint is translated into
an ``add_constraint`` lambda with its bounds resolved against the same benchmark.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
from pypfopt import EfficientFrontier, objective_functions

from trimtab.constraints import DataView, JobSpec
from trimtab.models import MarketSnapshot, RiskModel


def dense_covariance(model: RiskModel) -> np.ndarray:
    """``B F Bᵀ + diag(s²)`` built from the model's parts (annualized)."""
    b, f, s = model.exposures, model.factor_covariance().to_numpy(), model.specific_vol
    return b @ f @ b.T + np.diag(s**2)


def _translate(constraint, data: DataView):
    """``add_constraint`` lambdas for one trimtab constraint (bounds resolved numerically)."""
    s, wb, w0 = data.snapshot, data.benchmark, data.holdings
    key = constraint.key
    if key in ("budget", "long_only"):
        return []  # weight_bounds=(0, 1) and convex_objective's sum-to-one
    if key == "turnover":
        scale = 1.0 if constraint.kind == "two_way" else 0.5
        return [lambda w: scale * cp.norm1(w - w0) <= constraint.max]
    if key == "factor_exposure":
        x = s.characteristics[constraint.factor].to_numpy()
        lo = constraint.target if constraint.target is not None else constraint.min
        hi = constraint.target if constraint.target is not None else constraint.max
        out = []
        if lo is not None:
            out.append(lambda w: x @ (w - wb) >= lo)
        if hi is not None:
            out.append(lambda w: x @ (w - wb) <= hi)
        return out
    if key == "tracking_error":
        cov = dense_covariance(data.risk_model)
        return [lambda w: cp.quad_form(w - wb, cov) <= constraint.max**2]
    if key == "group_weight":
        rows = data.group_mask(constraint.members(data))[None, :]
    elif key == "sector_weight":
        names = s.sectors.sort_values().unique() if constraint.sectors == "all" else constraint.sectors
        rows = data.sector_matrix(tuple(names))
    elif key == "asset_weight":
        ids = list(constraint.assets) if constraint.assets is not None else list(s.asset_ids)
        rows = np.eye(s.n_assets)[s.asset_ids.get_indexer(ids)]
    else:
        raise NotImplementedError(f"no PyPortfolioOpt translation for {key!r}")
    out = []
    if constraint.min is not None:
        lo = constraint.min.resolve(rows @ wb)
        out.append(lambda w: rows @ w >= lo)
    if constraint.max is not None:
        hi = constraint.max.resolve(rows @ wb)
        out.append(lambda w: rows @ w <= hi)
    return out


def solve_with_pypfopt(job: JobSpec, snapshot: MarketSnapshot, model: RiskModel, solver: str = "CLARABEL") -> np.ndarray:
    """Weights (n,) from PyPortfolioOpt on the identical problem."""
    model = model.reindexed(snapshot.asset_ids)
    data = DataView(snapshot, model)
    cov = dense_covariance(model)
    frontier = EfficientFrontier(None, cov, weight_bounds=(0, 1), solver=solver)
    for constraint in job.constraints:
        for rule in _translate(constraint, data):
            frontier.add_constraint(rule)
    frontier.convex_objective(objective_functions.ex_ante_tracking_error, cov_matrix=cov, benchmark_weights=data.benchmark)
    return np.asarray(frontier.weights, dtype=float)
