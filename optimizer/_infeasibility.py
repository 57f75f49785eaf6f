"""A quick explanation of an infeasible job: which constraints conflict, and by how much.

Elastic (phase-one) check: keep the structural constraints (budget, long-only) hard, turn
every other constraint into its soft form (violation ≥ 0) and minimize the total
violation. Constraints that must be violated, and the constraints at their bounds in that
least-violating portfolio, are the conflict. This is a quick check, not a minimal
irreducible set.
"""

from __future__ import annotations

import cvxpy as cp

from constraints import BuildContext, BuiltConstraint

#: Constraints kept hard in the elastic check: without them there is no portfolio at all.
STRUCTURAL_KEYS = ("budget", "long_only")

#: A violation below this (lhs units) counts as none.
VIOLATION_TOLERANCE = 1e-7


def explain_infeasibility(built: tuple[BuiltConstraint, ...], context: BuildContext) -> list[str]:
    """Plain-language lines naming the conflicting constraints (empty if the check fails).

    Parameters
    ----------
    built : tuple of BuiltConstraint
        The compiled constraints, with parameter values already assigned.
    context : BuildContext
        Their context; its weight variable is overwritten by the check.
    """
    structural = [b for b in built if b.spec.key in STRUCTURAL_KEYS]
    elastic = [b for b in built if b.spec.key not in STRUCTURAL_KEYS]
    if not elastic:
        return ["the structural constraints (budget, long-only) alone cannot hold"]
    violations = [b.violation() for b in elastic]
    check = cp.Problem(cp.Minimize(cp.sum(cp.hstack(violations))), [c for b in structural for c in b.constraints])
    try:
        check.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        return []
    if check.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        return ["even with every rule softened, budget and long-only cannot hold"]
    violated, at_bound = [], []
    for b, violation in zip(elastic, violations):
        measured = b.measure()
        where = f" (at {measured.row})" if measured.row and measured.row not in b.spec.label else ""
        if float(violation.value) > VIOLATION_TOLERANCE:
            violated.append(
                f"'{b.spec.label}'{where} cannot hold with the others: the closest feasible value is "
                f"{measured.value:.4g} against the bound {measured.bound:.4g}"
            )
        elif measured.slack <= VIOLATION_TOLERANCE:
            at_bound.append(f"'{b.spec.label}'")
    if not violated:
        return []
    if at_bound:
        violated.append("it conflicts with " + ", ".join(at_bound) + " (at their bounds in that check)")
    return violated
