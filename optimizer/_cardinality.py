"""Holdings-count rules: at most K names, every held name at least m — exact or heuristic.

Both rules are combinatorial. Two methods, each returning weights that pass the same
numeric verification as any other solve, and a proven lower bound on the best objective:

* **exact** — a mixed-integer problem solved by SCIP (``pip install 'trimtab[mip]'``):
  one binary ``zᵢ`` per name, ``wᵢ ≤ zᵢ``, ``Σz ≤ K``, ``wᵢ ≥ m·zᵢ``, and the specific
  part of active risk in *perspective* form, ``(sᵢwᵢ − sᵢbᵢzᵢ)²/zᵢ + (sᵢbᵢ)²(1 − zᵢ)``,
  which equals ``sᵢ²(wᵢ − bᵢ)²`` at every integer point but gives a far tighter continuous
  relaxation (Frangioni & Gentile 2006). SCIP picks the names; the weights on those names
  are then re-solved with the conic solver (so they meet the 1e-6 verification) and SCIP's
  dual bound is the lower bound (its gap is 0 unless ``time_limit`` stopped it).
* **heuristic** — solve without the count rules, then in rounds close the smallest held
  names (half the excess over K per round, at least one) and re-solve on the survivors;
  then names below m are closed (under m/2) or floored at m, and re-solved. A name whose
  closing makes the job infeasible (a must-hold, a no-trade) is kept. The lower bound is
  the perspective relaxation (``z`` continuous in [0, 1]); the gap is objective − bound.

The stated gap is an upper bound on how far the answer can be from the true optimum.
"""

from __future__ import annotations

import math
import warnings
from typing import Protocol

import cvxpy as cp
import numpy as np

from trimtab.constraints import BuildContext, BuiltConstraint, CardinalitySpec, SolverSpec, UniverseInfo

from ._errors import InfeasibleError, SolverFailedError
from ._objective import OBJECTIVE_SCALE
from ._result import CardinalityReport, Solution

#: ``method: auto`` solves exactly up to this many names (SCIP installed), heuristically above.
EXACT_AUTO_MAX_ASSETS = 30

#: Each heuristic round closes this fraction of the names held over the limit (at least one).
DROP_FRACTION = 0.5

#: The heuristic gives up after this many re-solves.
MAX_ROUNDS = 200


class ConvexProblem(Protocol):
    """What the holdings-count layer needs of the compiled convex problem (a ``CompiledProblem``)."""

    universe: UniverseInfo
    context: BuildContext
    built: tuple[BuiltConstraint, ...]
    objective: cp.Expression
    other_terms: cp.Expression
    other_terms_are_zero: bool
    hard: list[cp.Constraint]

    def solve_verified(
        self, problem: cp.Problem, solver: SolverSpec, relaxed: frozenset[int]
    ) -> tuple[Solution | None, bool, list[str]]: ...

    def infeasible_error(self) -> InfeasibleError: ...


class HoldingsCount:
    """The holdings-count machinery attached to one :class:`CompiledProblem`.

    Built with the problem (its parameters are assigned with the others); re-used across
    solves. ``open``/``floor`` restrict the convex problem to a support: ``wᵢ ≤ openᵢ``
    (0 closes a name) and ``wᵢ ≥ floorᵢ`` (``m`` floors a held name).
    """

    def __init__(self, compiled: ConvexProblem, spec: CardinalitySpec) -> None:
        self.compiled, self.spec = compiled, spec
        ctx = compiled.context
        n = ctx.universe.n_assets
        w = ctx.weights
        self.open = cp.Parameter(n, nonneg=True, name="cardinality.open")
        self.floor = cp.Parameter(n, nonneg=True, name="cardinality.floor")
        self.restricted = cp.Problem(cp.Minimize(compiled.objective), compiled.hard + [w <= self.open, w >= self.floor])
        with ctx.scope("cardinality"):
            self._specific_benchmark_sq = ctx.parameter(
                "specific_benchmark_sq", (n,), lambda d: (d.risk_model.specific_vol * d.benchmark) ** 2, nonneg=True
            )
        self._perspective: dict[bool, tuple[cp.Problem, cp.Variable]] = {}
        self._objective = float("nan")  # objective of the last accepted support solve

    # -- entry point -------------------------------------------------------------------
    def solve(self, solver: SolverSpec) -> tuple[Solution, CardinalityReport]:
        """Weights meeting every rule and the count rules (parameters already assigned)."""
        method = self._method()
        if method == "exact":
            solution, bound, solves, status = self._exact(solver)
        else:
            solution, solves = self._heuristic(solver)
            bound, status = self._relaxation_bound(), "heuristic"
        return solution, self._report(method, solution, bound, solves, status)

    def _method(self) -> str:
        wanted, scip = self.spec.method, "SCIP" in cp.installed_solvers()
        if wanted == "exact" and not scip:
            raise SolverFailedError(
                "cardinality method 'exact' needs SCIP: pip install 'trimtab[mip]' (or use method: heuristic)"
            )
        if wanted == "auto":
            small = self.compiled.universe.n_assets <= EXACT_AUTO_MAX_ASSETS
            return "exact" if scip and small else "heuristic"
        return wanted

    # -- convex solves on a support ----------------------------------------------------
    def _solve_on(self, is_open: np.ndarray, floored: np.ndarray, solver: SolverSpec) -> Solution | None:
        """The verified optimum with closed names at 0 and floored names ≥ m; None if infeasible."""
        self.open.value = is_open.astype(float)
        self.floor.value = np.where(floored & is_open, self.spec.min_weight or 0.0, 0.0)
        solution, infeasible, attempts = self.compiled.solve_verified(self.restricted, solver, frozenset())
        if solution is None and not infeasible:
            raise SolverFailedError("no solver produced a verified solution on a support: " + " | ".join(attempts))
        if solution is not None:
            self._objective = float(self.restricted.value)
        return solution

    def _heuristic(self, solver: SolverSpec) -> tuple[Solution, int]:
        n = self.compiled.universe.n_assets
        limit, floor = self.spec.max_names or n, self.spec.min_weight or 0.0
        is_open, floored, kept = np.ones(n, bool), np.zeros(n, bool), np.zeros(n, bool)
        solution = self._solve_on(is_open, floored, solver)
        if solution is None:
            raise self.compiled.infeasible_error()
        solves, drop, floor_only = 1, 0, False
        while solves < MAX_ROUNDS:
            w = solution.weights
            held = w > 0
            excess = int(held.sum()) - limit
            small = held & ~floored & (w < floor - 1e-12) if floor > 0 else np.zeros(n, bool)
            trial_floored = floored
            if excess > 0:  # close the smallest names
                candidates = np.flatnonzero(held & ~kept)
                if not len(candidates):
                    raise InfeasibleError(_count_conflict(limit, int(held.sum())))
                score = self._relaxed_selection(is_open)
                score = w if score is None else score
                order = candidates[np.lexsort((w[candidates], score[candidates]))]
                drop = drop or max(1, math.ceil(excess * DROP_FRACTION))
                closing = order[: min(drop, len(order))]
            elif small.any():  # names under m: close the tiny ones, floor the rest at m
                score = self._relaxed_selection(is_open)
                tiny = w < floor / 2 if score is None else score < 0.5
                closing = np.array([], int) if floor_only else np.flatnonzero(small & tiny & ~kept)
                trial_floored = floored | small
                trial_floored[closing] = False
            else:
                return solution, solves
            trial_open = is_open.copy()
            trial_open[closing] = False
            attempt = self._solve_on(trial_open, trial_floored, solver)
            solves += 1
            if attempt is not None:
                is_open, floored, solution, drop, floor_only = trial_open, trial_floored, attempt, 0, False
            elif excess <= 0 and not floor_only:
                floor_only = True  # closing the tiny names broke a rule: floor them all instead
            elif len(closing) > 1:
                drop = len(closing) // 2  # closed too many at once: try fewer
            elif len(closing) == 1:
                kept[closing] = True  # closing this name breaks another rule: keep it
                drop = 0
            else:
                raise InfeasibleError(_count_conflict(limit, int(held.sum()), floor))
        raise SolverFailedError(f"cardinality heuristic did not settle in {MAX_ROUNDS} re-solves")

    # -- exact (SCIP) and bounds -------------------------------------------------------
    def _perspective_problem(self, boolean: bool) -> tuple[cp.Problem, cp.Variable]:
        """The count rules with the perspective specific-risk term; ``z`` binary or in [0, 1]."""
        if boolean not in self._perspective:
            ctx, compiled = self.compiled.context, self.compiled
            n, w = ctx.universe.n_assets, ctx.weights
            z = cp.Variable(n, boolean=boolean, name="held")
            t = cp.Variable(n, nonneg=True, name="specific_epigraph")
            factor, _ = ctx.active_risk_terms
            scaled_w, specific_benchmark = ctx.specific_terms
            # In objective units (t = OBJECTIVE_SCALE × the specific term) so the cones are well scaled.
            gap = math.sqrt(OBJECTIVE_SCALE) * (scaled_w - cp.multiply(specific_benchmark, z))
            rules = [cp.SOC(t + z, cp.vstack([2 * gap, t - z]), axis=0), w <= z]  # gap² ≤ t·z
            if not boolean:
                rules += [z >= 0, z <= self.open]  # open = 1 everywhere for the bound
            if self.spec.max_names is not None:
                rules.append(cp.sum(z) <= self.spec.max_names)
            if self.spec.min_weight is not None:
                rules.append(w >= self.spec.min_weight * z)
            risk = OBJECTIVE_SCALE * (cp.sum_squares(factor) + self._specific_benchmark_sq @ (1 - z)) + cp.sum(t)
            objective = risk + compiled.other_terms
            self._perspective[boolean] = (cp.Problem(cp.Minimize(objective), compiled.hard + rules), z)
        return self._perspective[boolean]

    def _relaxed_selection(self, is_open: np.ndarray) -> np.ndarray | None:
        """``z`` of the perspective relaxation on the open names: how much each name wants to be held."""
        problem, z = self._perspective_problem(boolean=False)
        self.open.value = is_open.astype(float)
        return np.asarray(z.value, dtype=float) if _solve_convex(problem) else None

    def _relaxation_bound(self) -> float:
        """The perspective relaxation's optimum (a lower bound); NaN if it cannot be solved."""
        problem, _ = self._perspective_problem(boolean=False)
        self.open.value = np.ones(self.compiled.universe.n_assets)
        return float(problem.value) if _solve_convex(problem) else float("nan")

    def _exact(self, solver: SolverSpec) -> tuple[Solution, float, int, str]:
        problem, z = self._perspective_problem(boolean=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                problem.solve(solver="SCIP", scip_params={"limits/time": self.spec.time_limit})
            except cp.error.SolverError as err:
                raise SolverFailedError(
                    f"SCIP could not solve the holdings-count problem ({str(err).splitlines()[0][:120]}); "
                    "market-impact costs need method: heuristic"
                ) from None
        if problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            raise InfeasibleError(_count_conflict(self.spec.max_names, None, self.spec.min_weight or 0.0))
        if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or z.value is None:
            raise SolverFailedError(f"SCIP returned {problem.status} on the holdings-count problem")
        model = problem.solver_stats.extra_stats["model"]
        offset = float(problem.objective.value) - model.getPrimalbound()  # constants cvxpy moved out
        bound = model.getDualbound() + offset
        held = np.asarray(z.value) > 0.5
        solution = self._solve_on(held, held, solver)
        if solution is None:
            raise SolverFailedError("the names SCIP chose give no verified portfolio on re-solve")
        status = "optimal" if model.getStatus() == "optimal" else "time limit"
        return solution, float(bound), int(model.getNNodes()), status

    def _report(self, method: str, solution: Solution, bound: float, solves: int, status: str) -> CardinalityReport:
        w = solution.weights
        held = w > 0
        objective = self._objective
        bound = min(bound, objective) if math.isfinite(bound) else bound  # solver round-off above the objective
        gap = objective - bound
        pure_te = self.compiled.other_terms_are_zero
        return CardinalityReport(
            method=method,
            max_names=self.spec.max_names,
            min_weight=self.spec.min_weight,
            names_held=int(held.sum()),
            smallest_weight=float(w[held].min()) if held.any() else 0.0,
            objective=objective,
            bound=bound,
            gap=gap,
            relative_gap=gap / objective if objective > 0 else 0.0,
            tracking_error_bound=math.sqrt(max(bound, 0.0) / OBJECTIVE_SCALE) if pure_te and math.isfinite(bound) else None,
            solves=solves,
            status=status,
        )


#: Clarabel settings for the perspective relaxation, tried in order until one is ``optimal``
#: (each states every setting: cvxpy merges options into the cached solver). Its rotated
#: cones rarely reach 1e-10, so default tolerances, with Ruiz equilibration first.
RELAXATION_ATTEMPTS: tuple[dict[str, float | bool], ...] = (
    {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8, "equilibrate_enable": True},
    {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8, "equilibrate_enable": False},
)


def _solve_convex(problem: cp.Problem) -> bool:
    """Solve with :data:`RELAXATION_ATTEMPTS` until one is ``optimal``."""
    for options in RELAXATION_ATTEMPTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                problem.solve(solver=cp.CLARABEL, **options)
            except cp.error.SolverError:
                continue
        if problem.status == cp.OPTIMAL:
            return True
    return False


def _count_conflict(limit: int | None, held: int | None, floor: float = 0.0) -> str:
    rules = []
    if limit is not None:
        rules.append(f"at most {limit} names")
    if floor:
        rules.append(f"every held name >= {floor:g}")
    text = " and ".join(rules) or "the holdings-count rules"
    extra = f" (the other rules keep {held} names held)" if held is not None else ""
    return f"no portfolio satisfies {text} together with the other constraints{extra}"
