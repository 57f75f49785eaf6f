"""The exact holdings-count method: the perspective mixed-integer problem solved by SCIP.

SCIP picks the names within what is left of ``cardinality.time_limit``; the caller re-solves
the weights on those names with the conic solver (so they meet the 1e-6 verification).
SCIP's dual bound is the lower bound. Stopped by the time limit, the names are SCIP's best
so far and the outcome says so (never ``optimal``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ._cardinality_clock import Deadline
from ._cardinality_relaxation import PerspectiveProblem
from ._errors import SolverFailedError

#: SCIP gets at least this many seconds, even when the budget is nearly spent.
MIN_SCIP_SECONDS = 0.01


@dataclass(frozen=True)
class ExactOutcome:
    """What SCIP found.

    Attributes
    ----------
    held : np.ndarray of bool
        The names of SCIP's best portfolio (n,).
    bound : float
        SCIP's proven lower bound on the objective, (% TE)² units.
    nodes : int
        Branch-and-bound nodes.
    stopped : bool
        True when a limit (the time limit: trimtab sets no other) stopped SCIP before it
        proved optimality.
    scip_status : str
        SCIP's own status (``optimal``, ``timelimit``, …).
    """

    held: np.ndarray
    bound: float
    nodes: int
    stopped: bool
    scip_status: str


def solve_exact(perspective: PerspectiveProblem, deadline: Deadline) -> ExactOutcome | None:
    """Solve the mixed-integer problem with SCIP; None when SCIP proves it infeasible.

    Raises
    ------
    SolverFailedError
        SCIP fails, or stops at the time limit without any portfolio.
    """
    problem, z = perspective.problem(boolean=True)
    seconds = max(deadline.remaining(), MIN_SCIP_SECONDS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            problem.solve(solver="SCIP", scip_params={"limits/time": seconds})
        except cp.error.SolverError as err:
            if deadline.expired():
                raise _no_portfolio_in_time(perspective) from None
            raise SolverFailedError(
                f"SCIP could not solve the holdings-count problem ({str(err).splitlines()[0][:120]}); "
                "market-impact costs need method: heuristic"
            ) from None
    model = problem.solver_stats.extra_stats["model"] if problem.solver_stats is not None else None
    scip_status = model.getStatus() if model is not None else problem.status
    if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        return None
    if scip_status == "timelimit" and z.value is None:
        raise _no_portfolio_in_time(perspective)
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or z.value is None:
        raise SolverFailedError(f"SCIP returned {problem.status} ({scip_status}) on the holdings-count problem")
    offset = float(problem.objective.value) - model.getPrimalbound()  # constants cvxpy moved out
    bound = float(model.getDualbound()) + offset
    held = np.asarray(z.value) > 0.5
    return ExactOutcome(held, bound, int(model.getNNodes()), scip_status != "optimal", str(scip_status))


def _no_portfolio_in_time(perspective: PerspectiveProblem) -> SolverFailedError:
    return SolverFailedError(
        f"the holdings-count time limit ({perspective.spec.time_limit:g} s) ran out before SCIP found any "
        "portfolio; raise cardinality.time_limit or use method: heuristic"
    )
