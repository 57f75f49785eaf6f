"""Holdings-count rules: at most K names, every held name at least m — exact or heuristic.

Both rules are combinatorial. Before anything is solved, quick necessary conditions
(:mod:`._cardinality_bounds`: names other rules keep held, per-name caps, the turnover
needed to close names) prove the common impossible combinations infeasible in
milliseconds. Then one of two methods, each returning weights that pass the same numeric
verification as any other solve, and a proven lower bound on the best objective:

* **exact** — the perspective mixed-integer problem (:mod:`._cardinality_relaxation`)
  solved by SCIP (``pip install 'trimtab[mip]'``, :mod:`._cardinality_exact`); the weights
  on SCIP's names are re-solved with the conic solver; SCIP's dual bound is the bound.
* **heuristic** (:mod:`._cardinality_heuristic`) — solve without the count rules, then in
  rounds close the names the perspective relaxation least wants to hold and re-solve on the
  survivors (with a turnover cap: first round the relaxation to K names). The bound is the
  relaxation with every name open.

``cardinality.time_limit`` bounds the whole solve (:mod:`._cardinality_clock`): SCIP gets
what is left; the heuristic checks it between re-solves and, when one more round would not
fit, finishes at once (keeps the K names it values most, floors them at m, one re-solve).
An answer cut short this way has status ``time_limit`` — never ``optimal`` — with its gap;
without any answer the solve fails naming the limit. The stated gap is an upper bound on how
far the answer can be from the true optimum.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Protocol

import cvxpy as cp
import numpy as np

from trimtab.constraints import BuildContext, BuiltConstraint, CardinalitySpec, SolverSpec, UniverseInfo

from ._cardinality_bounds import count_conflict, register_count_rules, rules_text
from ._cardinality_clock import Deadline
from ._cardinality_exact import solve_exact
from ._cardinality_heuristic import Heuristic
from ._cardinality_relaxation import PerspectiveProblem
from ._errors import InfeasibleError, SolverFailedError
from ._infeasibility import count_diagnosis
from ._objective import OBJECTIVE_SCALE
from ._reports import CardinalityReport
from ._result import TIME_LIMIT_STATUS, Solution
from ._solver_attempts import scip_installed

#: ``method: auto`` solves exactly up to this many names (SCIP installed), heuristically above.
EXACT_AUTO_MAX_ASSETS = 30


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

    Attributes
    ----------
    clock : callable
        Current time in seconds for the time limit (default :func:`time.monotonic`).
    """

    def __init__(self, compiled: ConvexProblem, spec: CardinalitySpec) -> None:
        self.compiled, self.spec = compiled, spec
        ctx = compiled.context
        n = ctx.universe.n_assets
        w = ctx.weights
        self.open = cp.Parameter(n, nonneg=True, name="cardinality.open")
        self.floor = cp.Parameter(n, nonneg=True, name="cardinality.floor")
        self.restricted = cp.Problem(cp.Minimize(compiled.objective), compiled.hard + [w <= self.open, w >= self.floor])
        register_count_rules(ctx, spec)
        self.perspective = PerspectiveProblem(compiled, spec, cp.Parameter(n, nonneg=True, name="cardinality.z_open"))
        self.clock = time.monotonic
        self._bound_cache: dict = {}  # the compiled turnover-bound problem of the quick checks
        self._objective = float("nan")  # objective of the last accepted support solve

    # -- entry point -------------------------------------------------------------------
    def solve(self, solver: SolverSpec) -> tuple[Solution, CardinalityReport]:
        """Weights meeting every rule and the count rules (parameters already assigned).

        Raises
        ------
        InfeasibleError
            A quick check or the relaxation proves the count rules cannot hold with the others.
        SolverFailedError
            No verified portfolio, or none within ``time_limit``.
        """
        deadline = Deadline(self.spec.time_limit, self.clock)
        conflict = count_conflict(self.compiled.built, self.compiled.context, self._bound_cache)
        if conflict is not None:
            message = f"no portfolio satisfies every constraint: {conflict.message}"
            raise InfeasibleError(message, count_diagnosis(conflict))
        method = self._method()
        if method == "exact":
            solution, objective, bound, solves, status, note = self._exact(solver, deadline)
        else:
            n, holdings = self.compiled.universe.n_assets, np.asarray(self.compiled.context.holdings.value, dtype=float)
            solution, objective, bound, solves, status, note = Heuristic(self, solver, deadline).run(n, holdings)
        self._check_count(solution)
        report = self._report(method, solution, objective, bound, solves, status, note)
        if status == TIME_LIMIT_STATUS:
            solution = dataclasses.replace(solution, status=TIME_LIMIT_STATUS)
        return solution, report

    def _method(self) -> str:
        wanted, scip = self.spec.method, scip_installed()
        if wanted == "exact" and not scip:
            raise SolverFailedError(
                "cardinality method 'exact' needs SCIP: pip install 'trimtab[mip]' (or use method: heuristic)"
            )
        if wanted == "auto":
            small = self.compiled.universe.n_assets <= EXACT_AUTO_MAX_ASSETS
            return "exact" if scip and small else "heuristic"
        return wanted

    # -- convex solves on a support ----------------------------------------------------
    def solve_on(
        self, is_open: np.ndarray, floored: np.ndarray, solver: SolverSpec, *, trial: bool = False
    ) -> Solution | None:
        """The verified optimum with closed names at 0 and floored names ≥ m; None if infeasible.

        A ``trial`` support (a heuristic round) is also None when the solver fails on it: a
        support at the edge of feasibility is rejected like an infeasible one.
        """
        self.open.value = is_open.astype(float)
        self.floor.value = np.where(floored & is_open, self.spec.min_weight or 0.0, 0.0)
        solution, infeasible, attempts = self.compiled.solve_verified(self.restricted, solver, frozenset())
        if solution is None and not infeasible and not trial:
            raise SolverFailedError("no solver produced a verified solution on a support: " + " | ".join(attempts))
        if solution is not None:
            self._objective = float(self.restricted.value)
        return solution

    @property
    def objective(self) -> float:
        """Objective of the last accepted support solve, (% TE)² units."""
        return self._objective

    def infeasible_error(self) -> InfeasibleError:
        """The convex rules alone cannot hold: the compiled problem's diagnosis."""
        return self.compiled.infeasible_error()

    def conflict_error(self, held: int | None) -> InfeasibleError:
        """The count rules cannot hold with the others (``held``: names the other rules keep)."""
        return InfeasibleError(_count_conflict(self.spec.max_names, held, self.spec.min_weight or 0.0))

    # -- exact -------------------------------------------------------------------------
    def _exact(self, solver: SolverSpec, deadline: Deadline) -> tuple[Solution, float, float, int, str, str | None]:
        """SCIP's answer; cut short by the time limit, the better of it and the rounded relaxation."""
        rounded = self._rounded_relaxation(solver, deadline)
        try:
            outcome = solve_exact(self.perspective, deadline)
        except SolverFailedError:
            if rounded is None or not deadline.expired():
                raise
            solution, objective, bound = rounded
            note = "SCIP found no portfolio within the time limit: the answer is the rounded relaxation"
            return solution, objective, bound, 0, TIME_LIMIT_STATUS, note
        if outcome is None:
            raise self.conflict_error(None)
        solution = self.solve_on(outcome.held, outcome.held, solver, trial=outcome.stopped)
        if not outcome.stopped:
            if solution is None:
                raise SolverFailedError("the names SCIP chose give no verified portfolio on re-solve")
            return solution, self._objective, outcome.bound, outcome.nodes, "optimal", None
        note = (
            f"SCIP stopped ({outcome.scip_status}; time limit {self.spec.time_limit:g} s) after "
            f"{outcome.nodes} nodes, before proving optimality: the bound is its best so far"
        )
        objective, bound = self._objective, outcome.bound
        if rounded is not None:
            bound = max(bound, rounded[2])
            if solution is None or rounded[1] < objective:
                solution, objective = rounded[0], rounded[1]
                note += "; the rounded relaxation beat SCIP's best portfolio and is the answer"
        if solution is None:
            raise SolverFailedError("the names SCIP chose give no verified portfolio on re-solve")
        return solution, objective, bound, outcome.nodes, TIME_LIMIT_STATUS, note

    def _rounded_relaxation(self, solver: SolverSpec, deadline: Deadline) -> tuple[Solution, float, float] | None:
        """(solution, objective, bound) on the names the relaxation most wants held, each floored at m."""
        relaxed = self.perspective.relax(np.ones(self.compiled.universe.n_assets, bool), deadline.remaining())
        if relaxed is None:
            return None
        if self.spec.max_names is not None:
            keep = np.zeros(len(relaxed.held), bool)
            keep[np.argsort(-relaxed.held, kind="stable")[: self.spec.max_names]] = True
        else:
            keep = relaxed.held >= 0.5
        solution = self.solve_on(keep, keep, solver, trial=True)
        return None if solution is None else (solution, self._objective, relaxed.bound)

    # -- checks and report -------------------------------------------------------------
    def _check_count(self, solution: Solution) -> None:
        w = solution.weights
        held = w > 0
        over = self.spec.max_names is not None and int(held.sum()) > self.spec.max_names
        under = self.spec.min_weight is not None and held.any() and w[held].min() < self.spec.min_weight - 1e-9
        if over or under:
            raise SolverFailedError(
                f"internal error: the holdings-count result holds {int(held.sum())} names, smallest "
                f"{w[held].min():.3g}, against {rules_text(self.spec.max_names, self.spec.min_weight)}"
            )

    def _residual_variance(self) -> float:
        """``κ`` of an index-series benchmark (0 for constituent weights), from the assigned parameters."""
        residual = self.compiled.context.residual_risk.value
        return float(np.sum(np.square(residual))) if residual is not None else 0.0

    def _report(
        self,
        method: str,
        solution: Solution,
        objective: float,
        bound: float,
        solves: int,
        status: str,
        note: str | None,
    ) -> CardinalityReport:
        w = solution.weights
        held = w > 0
        bound = min(bound, objective) if math.isfinite(bound) else bound  # solver round-off above the objective
        gap = objective - bound
        pure_te = self.compiled.other_terms_are_zero
        split = self.perspective.split_diagonal
        if split is not None and method == "heuristic":
            share = f"δ = {split:.3g} (specific vol {math.sqrt(split):.2%})" if split > 0 else "δ = 0"
            split_note = f"full covariance: its smallest eigenvalue {share} used as specific risk"
            note = "; ".join(filter(None, [note, split_note]))
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
            tracking_error_bound=(  # the objective leaves out an index benchmark's constant residual κ
                math.sqrt(max(bound, 0.0) / OBJECTIVE_SCALE + self._residual_variance())
                if pure_te and math.isfinite(bound) else None
            ),
            solves=solves,
            status=status,
            bound_note=note,
        )


def _count_conflict(limit: int | None, held: int | None, floor: float = 0.0) -> str:
    extra = f" (the other rules keep {held} names held)" if held is not None else ""
    return f"no portfolio satisfies {rules_text(limit, floor)} together with the other constraints{extra}"
