"""The objective's risk term and its units, shared by the compiled problem and the holdings-count solver.

The risk term is ``S·TE²`` (``S`` = :data:`OBJECTIVE_SCALE`, so it reads in (% TE)²), or, when
nothing else is minimized and the universe is large, ``√S·TE`` itself — a second-order cone;
soft rules add their penalties.
"""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np

from trimtab.constraints import BuildContext, BuiltConstraint

#: Objective = this × active variance, so it reads in (% TE)²: keeps solver tolerances meaningful.
OBJECTIVE_SCALE = 1e4

#: From this many assets every solve of a problem minimizing tracking error alone minimizes ``TE``
#: (a cone, compiled with constant data at each solve) rather than ``TE²`` (a quadratic, whose
#: parametric form is compiled once and re-solved). Clarabel's time on the default rules (synthetic
#: markets; min and median of 5 cold solves), cone ÷ quadratic, with the quadratic's first attempt
#: without iterative refinement (``_solver_attempts``) — the cone needs refinement to end
#: ``optimal``: 1.0 / 1.1 at 2,000 names, 1.22 / 1.27 at 3,000, 0.95 / 0.89 at 4,000, 1.07 / 0.89 at
#: 5,000, 0.34 at 10,000. A re-solve (a bound moved), the cone compiled again ÷ the quadratic's
#: parametric form: 1.08 / 1.10 at 4,000, 1.16 / 0.96 at 5,000, 0.74 / 0.61 at 6,000, 0.34 / 0.35 at
#: 10,000 (1.5 against 4.4 s). Below 4,000 the two are even or the quadratic wins, and its answer is
#: the more accurate (worst rule violation ~1e-10 against the cone's ~5e-9); from about there the
#: cone's cheaper iterations win. Same portfolio to the solver's tolerance: TE ~1e-10.
CONE_OBJECTIVE_MIN_ASSETS = 4000

#: From this many assets a problem with a cone among its rules (a TE or risk cap, market impact)
#: compiles with constant data at every solve: CVXPY's parametric compile of a cone needs memory ∝
#: variables × parameter entries (8.9 GiB and 20 s at 3,000 names with a TE cap).
CONSTANT_COMPILE_MIN_ASSETS = 1500


def minimizes_tracking_error(n_assets: int, *, other_terms: bool, dense: bool, cardinality: bool) -> bool:
    """True when every solve minimizes ``√S·TE`` (a cone) rather than ``S·TE²``.

    Only when tracking error is all that is minimized: soft-rule penalties, costs and taxes are
    traded against ``TE²`` (what ``risk_aversion`` and penalties are stated in), a holdings-count
    solve bounds ``TE²``, and a full covariance keeps its quadratic on ``Σ``; and only from
    :data:`CONE_OBJECTIVE_MIN_ASSETS` names.
    """
    return not (other_terms or dense or cardinality) and n_assets >= CONE_OBJECTIVE_MIN_ASSETS


def risk_objective(
    context: BuildContext, *, cone: bool = False, dense_covariance: np.ndarray | None = None
) -> cp.Expression:
    """The objective's risk term.

    ``S·(‖Lᵀ Bᵀ a‖² + ‖s ∘ a‖²)`` in factor form (``a = w − w_b``); ``cone``: ``√S·‖(Lᵀ Bᵀ a,
    s ∘ a, √κ)‖₂``; with a full covariance ``Σ`` (n×n, annualized), ``S·(w − a)ᵀ Σ (w − a)`` with
    ``a`` the risk anchor (benchmark or an index's implied weights) as a parameter.
    """
    if dense_covariance is not None:
        anchor = context.parameter("risk.anchor", (context.universe.n_assets,), lambda d: d.risk_anchor)
        return OBJECTIVE_SCALE * cp.quad_form(context.weights - anchor, cp.psd_wrap(dense_covariance))
    if cone:
        return math.sqrt(OBJECTIVE_SCALE) * context.tracking_error
    return OBJECTIVE_SCALE * context.active_variance


def soft_penalties(context: BuildContext, built: tuple[BuiltConstraint, ...]) -> cp.Expression:
    """Σ penalty × violation beyond the dead-band, over the soft constraints ((% TE)² units)."""
    terms = []
    for b in built:
        soft = b.spec.soft
        if soft is None:
            continue
        with context.scope(f"constraints[{b.index}].soft"):
            deadband = context.parameter("deadband", (), lambda d, v=soft.deadband: v, nonneg=True)
        terms.append(soft.penalty * b.violation(deadband))
    return cp.sum(cp.hstack(terms)) if terms else cp.Constant(0.0)


def dual_to_variance(dual: float, tracking_error: float, *, cone: bool) -> float:
    """A constraint's dual as ``∂TE²/∂bound`` (annualized TE² per unit of bound).

    Duals are derivatives of the objective: of ``S·TE²``, or of ``√S·TE`` where ``∂TE² = 2·TE·∂TE``.

    Parameters
    ----------
    dual : float
        The solver's dual value (objective units per unit of bound).
    tracking_error : float
        The solution's annualized tracking error (fraction), the benchmark's residual included.
    cone : bool
        Whether the objective was the cone ``√S·TE``.
    """
    if cone:
        return dual * 2.0 * tracking_error / math.sqrt(OBJECTIVE_SCALE)
    return dual / OBJECTIVE_SCALE
