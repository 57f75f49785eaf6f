"""The objective's risk term and its units, shared by the compiled problem and the holdings-count solver.

The risk term is ``S·TE²`` (``S`` = :data:`OBJECTIVE_SCALE`, so it reads in (% TE)²), or, when
nothing else is minimized and the universe is large, ``√S·TE`` itself — a second-order cone.
"""

from __future__ import annotations

import math

import cvxpy as cp

from trimtab.constraints import BuildContext

#: Objective = this × active variance, so it reads in (% TE)²: keeps solver tolerances meaningful.
OBJECTIVE_SCALE = 1e4

#: From this many assets a problem minimizing tracking error alone minimizes ``TE`` (a cone) rather
#: than ``TE²`` (a quadratic): Clarabel's iterations on the cone are cheaper (no auxiliary variable
#: per factor and asset), which wins from about 1,500 names — Clarabel's time on the default rules,
#: cone ÷ quadratic: 1.07 at 500 names, 1.2 at 1,000, 0.7 at 2,000, 0.65 at 3,000, 0.26 at 10,000
#: (`bench/bench_speed.py` era measurements; the quadratic needs fewer iterations on small
#: problems). Same portfolio either way: TE equal to ~1e-11.
CONE_OBJECTIVE_MIN_ASSETS = 1500


def minimizes_tracking_error(n_assets: int, *, other_terms: bool, dense: bool, cardinality: bool) -> bool:
    """True when the objective is ``√S·TE`` (a cone) rather than ``S·TE²``.

    Only when tracking error is all that is minimized: soft-rule penalties, costs and taxes are
    traded against ``TE²`` (what ``risk_aversion`` and penalties are stated in), a holdings-count
    solve bounds ``TE²``, and a full covariance keeps its quadratic on ``Σ``; and only from
    :data:`CONE_OBJECTIVE_MIN_ASSETS` names.
    """
    return not (other_terms or dense or cardinality) and n_assets >= CONE_OBJECTIVE_MIN_ASSETS


def risk_objective(context: BuildContext, *, minimizes_tracking_error: bool) -> cp.Expression:
    """``√S·‖(Lᵀ Bᵀ a, s ∘ a, √κ)‖₂`` (the cone) or ``S·(‖Lᵀ Bᵀ a‖² + ‖s ∘ a‖²)``, in factor form."""
    if minimizes_tracking_error:
        return math.sqrt(OBJECTIVE_SCALE) * context.tracking_error
    return OBJECTIVE_SCALE * context.active_variance


def dual_to_variance(tracking_error: float, *, minimizes_tracking_error: bool) -> float:
    """Factor turning a constraint's dual into ``∂TE²/∂bound`` (annualized TE² per unit of bound).

    Duals are derivatives of the objective: of ``S·TE²``, or of ``√S·TE`` where ``∂TE² = 2·TE·∂TE``.

    Parameters
    ----------
    tracking_error : float
        The solution's annualized tracking error (fraction), the benchmark's residual included.
    minimizes_tracking_error : bool
        Whether the objective was the cone ``√S·TE``.
    """
    if minimizes_tracking_error:
        return 2.0 * tracking_error / math.sqrt(OBJECTIVE_SCALE)
    return 1.0 / OBJECTIVE_SCALE
