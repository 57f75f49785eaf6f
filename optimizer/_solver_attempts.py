"""The settings each solver is tried with, in order, until one answer is ``optimal`` and verified."""

from __future__ import annotations

from trimtab.constraints import SolverSpec

_TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
_CLARABEL_DEFAULT = {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8}

#: Settings tried, in order, for each solver named in the job (tight tolerances: results are
#: cross-checked against peers to 1e-6). Clarabel first runs without Ruiz equilibration —
#: on these well-scaled problems (objective in (% TE)², weights O(1)) it needs half the
#: iterations (17 vs 35 on the default job, same optimum to 1e-10) — then with
#: equilibration, then at Clarabel's default tolerances (power cones from market impact
#: rarely reach 1e-10), until an attempt is ``optimal``. Every attempt states every setting:
#: cvxpy re-uses the cached Clarabel instance and merges new options over its old settings.
#: A problem with tax lots is not well scaled (a sale variable per lot, the tax per unit of
#: weight next to (% TE)²): the first attempt ends ``optimal_inaccurate`` there, so it starts
#: with equilibration (the default taxed job: one solve of 0.1 s instead of two of 0.25 s).
SOLVER_ATTEMPTS: dict[str, tuple[dict[str, float | int | bool], ...]] = {
    "CLARABEL": (
        {**_TIGHT, "equilibrate_enable": False},
        {**_TIGHT, "equilibrate_enable": True},
        {**_CLARABEL_DEFAULT, "equilibrate_enable": False},
    ),
    "SCS": ({"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 200_000},),
}


def solver_attempts(solver: SolverSpec, *, equilibrate_first: bool = False) -> list[tuple[str, dict[str, float | int | bool]]]:
    """(solver name, options) in the order they are tried (Clarabel's equilibrated attempt first if asked)."""
    names = [solver.name.upper(), *(name.upper() for name in solver.fallback)]
    found = []
    for name in names:
        tries = list(SOLVER_ATTEMPTS.get(name, ({},)))
        if equilibrate_first:  # within this solver's attempts only; stable, so the rest keep their order
            tries.sort(key=lambda options: not options.get("equilibrate_enable", False))
        found += [(name, dict(options)) for options in tries]
    return found
