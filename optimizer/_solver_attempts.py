"""The settings each solver is tried with, in order, until one answer is ``optimal`` and verified."""

from __future__ import annotations

import cvxpy as cp
from cvxpy.reductions.solvers.defines import SOLVER_MAP_CONIC

from trimtab.constraints import SolverSpec

_TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
_CLARABEL_DEFAULT = {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8}

#: Settings tried, in order, for each solver named in the job (tight tolerances: results are
#: cross-checked against peers to 1e-6). Clarabel first runs without Ruiz equilibration —
#: on these well-scaled problems (objective in (% TE)², weights O(1)) it needs half the
#: iterations (17 vs 35 on the default job, same optimum to 1e-10) — then with
#: equilibration, then at Clarabel's default tolerances (market impact's power cones now and
#: then stop short of 1e-10), until an attempt is ``optimal``. Every attempt states every setting:
#: cvxpy re-uses the cached Clarabel instance and merges new options over its old settings.
#: A problem with tax lots is not well scaled (a sale variable per lot, the tax per unit of
#: weight next to (% TE)²): the first attempt ends ``optimal_inaccurate`` there, so it starts
#: with equilibration (the default taxed job: one solve of 0.1 s instead of two of 0.25 s).
#: See :func:`solver_attempts` for the attempt a quadratic program starts with, and the dense case.
SOLVER_ATTEMPTS: dict[str, tuple[dict[str, float | int | bool], ...]] = {
    "CLARABEL": (
        {**_TIGHT, "equilibrate_enable": False},
        {**_TIGHT, "equilibrate_enable": True},
        {**_CLARABEL_DEFAULT, "equilibrate_enable": False},
    ),
    "SCS": ({"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000},),
}


#: Clarabel's first attempt on a quadratic program (no cone): the same tolerances without iterative
#: refinement of each Newton step. Clarabel's termination test measures the iterate's own residuals,
#: so an ``optimal`` answer meets the 1e-10 tolerances either way; refinement only sharpens the
#: search directions, and on these problems costs as much as the rest of an iteration (Clarabel's
#: time 28 → 17 ms on the default job, 0.42 → 0.22 s at 3,000 names; same iterations, optimum equal
#: to 5e-11). Where it matters (an ``optimal_inaccurate`` end), the attempts after it refine.
#: Not for cones: without refinement the 3,000-name TE cone ends ``optimal_inaccurate``.
QUADRATIC_FIRST: dict[str, float | int | bool] = {**_TIGHT, "equilibrate_enable": False, "iterative_refinement_enable": False}

#: The same first attempt for a quadratic program with tax lots, equilibrated (lots make it badly scaled,
#: see :data:`SOLVER_ATTEMPTS`): on the default taxed job the same 45 iterations and answer as the
#: refined attempt, Clarabel 0.28 → 0.13 s; the one-year quarterly tax backtest 15.4 → 9.5 s, its
#: tables unchanged. A problem with tax lots and a cone among its rules keeps refining.
TAXED_QUADRATIC_FIRST: dict[str, float | int | bool] = {**QUADRATIC_FIRST, "equilibrate_enable": True}

#: Clarabel's supernodal ``faer`` factorization, for a dense covariance (an n×n block in the KKT
#: system): 2.2× faster than QDLDL there (0.55 → 0.25 s at 500 names, with ``QUADRATIC_FIRST``),
#: slightly slower on the sparse factor form.
DENSE_LINEAR_ALGEBRA: dict[str, float | int | bool | str] = {"direct_solve_method": "faer"}


def solver_attempts(
    solver: SolverSpec, *, equilibrate_first: bool = False, quadratic: bool = False, dense: bool = False
) -> list[tuple[str, dict[str, float | int | bool | str]]]:
    """(solver name, options) in the order they are tried.

    Parameters
    ----------
    solver : SolverSpec
        The job's solver and fallbacks.
    equilibrate_first : bool
        Clarabel's equilibrated attempts first (a problem with tax lots).
    quadratic : bool
        The problem is a quadratic program: Clarabel starts with :data:`QUADRATIC_FIRST`
        (:data:`TAXED_QUADRATIC_FIRST` with ``equilibrate_first``).
    dense : bool
        The objective holds a dense n×n covariance: every Clarabel attempt uses :data:`DENSE_LINEAR_ALGEBRA`.
    """
    names = [solver.name.upper(), *(name.upper() for name in solver.fallback)]
    found = []
    for name in names:
        tries = list(SOLVER_ATTEMPTS.get(name, ({},)))
        if equilibrate_first:  # within this solver's attempts only; stable, so the rest keep their order
            tries.sort(key=lambda options: not options.get("equilibrate_enable", False))
        if quadratic and name == "CLARABEL":  # tax lots: equilibrated, and unrefined too (see TAXED_QUADRATIC_FIRST)
            tries.insert(0, TAXED_QUADRATIC_FIRST if equilibrate_first else QUADRATIC_FIRST)
        if dense and name == "CLARABEL":
            tries = [{**options, **DENSE_LINEAR_ALGEBRA} for options in tries]
        found += [(name, dict(options)) for options in tries]
    return found


def scip_installed() -> bool:
    """Whether CVXPY can call SCIP (``pyscipopt`` imports), asked of SCIP's own CVXPY interface.

    The same answer as ``"SCIP" in cvxpy.installed_solvers()``, without that call's probe of every
    solver CVXPY knows (~1–2 ms, at every solve with tax lots or a holdings count; this: < 1 µs).
    """
    return SOLVER_MAP_CONIC[cp.SCIP].is_installed()
