"""The heuristic holdings-count method, within the time limit.

1. Solve without the count rules.
2. With ``max_names`` and a hard turnover cap, first *relax and round*: keep the K names the
   perspective relaxation most wants to hold, then the K largest current holdings (the
   cheapest to close around), each floored at m; the best verified answer is kept. Closing
   names one batch at a time rarely works there: every closing spends turnover the others
   need, so rounds stall one name at a time.
3. Otherwise (or when no rounding verifies), in rounds close the names the relaxation least
   wants to hold (half the excess over K per round, at least one) and re-solve on the
   survivors; then names below m are closed (under m/2) or floored at m, and re-solved. A
   name whose closing makes the job infeasible (a must-hold, a no-trade) is kept.

A round starts only when it and one more re-solve fit in the time left; otherwise the run
finishes at once: keep the K names valued most, floor them at m, one re-solve — status
``time_limit`` with its gap, or a clear failure. The bound is the relaxation with every name
open.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from trimtab.constraints import CardinalitySpec, SolverSpec

from ._cardinality_bounds import rules_text, turnover_caps, weight_bounds
from ._cardinality_clock import Deadline
from ._cardinality_relaxation import PerspectiveProblem, Relaxed
from ._errors import InfeasibleError, SolverFailedError
from ._result import Solution, TIME_LIMIT_STATUS

#: Each round closes this fraction of the names held over the limit (at least one).
DROP_FRACTION = 0.5

#: The heuristic finishes at once (one last re-solve) after this many re-solves.
MAX_ROUNDS = 200

#: A round starts only when this many rounds as long as the longest so far still fit in the
#: time limit: the round itself and the finishing re-solve.
RESERVE_ROUNDS = 2.0

#: The bound counts as no tighter than the job without count rules within this relative margin.
VACUOUS_MARGIN = 1e-6

VACUOUS_NOTE = (
    "the bound is no tighter than the optimum without the holdings-count rules (the risk model has little "
    "or no specific risk for the perspective relaxation to use): the gap is valid but proves little"
)


class SupportSolver(Protocol):
    """What the heuristic needs of :class:`HoldingsCount`."""

    spec: CardinalitySpec
    perspective: PerspectiveProblem

    @property
    def objective(self) -> float: ...

    def solve_on(
        self, is_open: np.ndarray, floored: np.ndarray, solver: SolverSpec, *, trial: bool = False
    ) -> Solution | None: ...

    def infeasible_error(self) -> InfeasibleError: ...

    def conflict_error(self, held: int | None) -> InfeasibleError: ...


class Heuristic:
    """One run of the heuristic (see the module docstring).

    Parameters
    ----------
    count : SupportSolver
        Solves the convex problem on a support.
    solver : SolverSpec
        The job's solver; rounds try its primary solver only (a support it cannot solve is
        rejected, not retried slowly).
    deadline : Deadline
        The time budget.
    """

    def __init__(self, count: SupportSolver, solver: SolverSpec, deadline: Deadline) -> None:
        self.count, self.solver, self.deadline = count, solver, deadline
        self.limit = count.spec.max_names
        self.floor = count.spec.min_weight or 0.0
        self.trial_solver = solver.model_copy(update={"fallback": []})
        compiled = count.perspective.compiled
        #: Names a rule keeps above 0 (must-hold, held no-trade names): the finish keeps them first.
        self.forced_held = weight_bounds(compiled.built, compiled.context)[0] > 0
        self.solves = 0
        self._relaxed: dict[bytes, Relaxed | None] = {}

    def relax(self, is_open: np.ndarray) -> Relaxed | None:
        """The perspective relaxation on the open names (cached per support)."""
        key = is_open.tobytes()
        if key not in self._relaxed:
            self._relaxed[key] = self.count.perspective.relax(is_open, self.deadline.remaining())
        return self._relaxed[key]

    def score(self, is_open: np.ndarray) -> np.ndarray | None:
        """``z`` of the relaxation: how much each name wants to be held."""
        relaxed = self.relax(is_open)
        return None if relaxed is None else relaxed.held

    def _solve(self, is_open: np.ndarray, floored: np.ndarray, *, trial: bool) -> tuple[Solution | None, float]:
        done = self.deadline.step()
        solution = self.count.solve_on(is_open, floored, self.trial_solver if trial else self.solver, trial=trial)
        done()
        self.solves += 1
        return solution, self.count.objective

    def run(self, n: int, holdings: np.ndarray) -> tuple[Solution, float, float, int, str, str | None]:
        """(solution, its objective, bound, re-solves, status, bound note)."""
        solution, unrestricted = self._solve(np.ones(n, bool), np.zeros(n, bool), trial=False)
        if solution is None:
            raise self.count.infeasible_error()
        objective, status, binding = unrestricted, "heuristic", not self._meets_count(solution.weights)
        if binding:
            self.relax(np.ones(n, bool))  # the bound, and the first round's ranking
            rounded = self._round(solution, holdings) if self._rounding_first() else None
            if rounded is not None:
                solution, objective = rounded
                if self.deadline.expired():  # an answer, but the search (and its bound) was cut short
                    status = TIME_LIMIT_STATUS
            else:
                solution, objective, status = self._rounds(solution, n)
        relaxed = self.relax(np.ones(n, bool))
        bound = relaxed.bound if relaxed is not None else float("nan")
        vacuous = binding and math.isfinite(bound) and bound <= unrestricted * (1 + VACUOUS_MARGIN) + 1e-12
        return solution, objective, bound, self.solves, status, VACUOUS_NOTE if vacuous else None

    # -- relax and round ---------------------------------------------------------------
    def _rounding_first(self) -> bool:
        return self.limit is not None and bool(turnover_caps(self.count.perspective.compiled.built))

    def _round(self, solution: Solution, holdings: np.ndarray) -> tuple[Solution, float] | None:
        """The best verified answer on the top-K names by ``z``, then by current holding."""
        n = len(holdings)
        score = self.score(np.ones(n, bool))
        orders = [] if score is None else [np.lexsort((solution.weights, score))[::-1]]
        orders.append(np.argsort(-holdings, kind="stable"))
        best: tuple[Solution, float] | None = None
        for order in orders:
            if best is not None and not self.deadline.room_for(1.0):
                break
            keep = np.zeros(n, bool)
            keep[order[: self.limit]] = True
            attempt, objective = self._solve(keep, keep, trial=True)
            if attempt is not None and (best is None or objective < best[1]):
                best = (attempt, objective)
        return best

    # -- rounds ------------------------------------------------------------------------
    def _rounds(self, solution: Solution, n: int) -> tuple[Solution, float, str]:
        count, floor = self.count, self.floor
        limit = self.limit if self.limit is not None else n
        is_open, floored, kept = np.ones(n, bool), np.zeros(n, bool), np.zeros(n, bool)
        objective, drop, floor_only = count.objective, 0, False
        while True:
            w = solution.weights
            held = w > 0
            excess = int(held.sum()) - limit
            small = held & ~floored & (w < floor - 1e-12) if floor > 0 else np.zeros(n, bool)
            if excess <= 0 and not small.any():
                return solution, objective, "heuristic"
            if self.solves >= MAX_ROUNDS or not self.deadline.room_for(RESERVE_ROUNDS):
                status = "heuristic" if self.solves >= MAX_ROUNDS else TIME_LIMIT_STATUS
                solution, objective = self._finish(solution, is_open, kept, status)
                return solution, objective, status
            trial_floored = floored
            if excess > 0:  # close the smallest names
                candidates = np.flatnonzero(held & ~kept)
                if not len(candidates):
                    raise count.conflict_error(int(held.sum()))
                score = self.score(is_open)
                score = w if score is None else score
                order = candidates[np.lexsort((w[candidates], score[candidates]))]
                drop = drop or max(1, math.ceil(excess * DROP_FRACTION))
                closing = order[: min(drop, len(order))]
            else:  # names under m: close the tiny ones, floor the rest at m
                score = self.score(is_open)
                tiny = w < floor / 2 if score is None else score < 0.5
                closing = np.array([], int) if floor_only else np.flatnonzero(small & tiny & ~kept)
                trial_floored = floored | small
                trial_floored[closing] = False
            trial_open = is_open.copy()
            trial_open[closing] = False
            attempt, trial_objective = self._solve(trial_open, trial_floored, trial=True)
            if attempt is not None:
                is_open, floored, solution, objective = trial_open, trial_floored, attempt, trial_objective
                drop, floor_only = 0, False
            elif excess <= 0 and not floor_only:
                floor_only = True  # closing the tiny names broke a rule: floor them all instead
            elif len(closing) > 1:
                drop = len(closing) // 2  # closed too many at once: try fewer
            elif len(closing) == 1:
                kept[closing] = True  # closing this name breaks another rule: keep it
                drop = 0
            else:
                raise count.conflict_error(int(held.sum()))

    def _finish(self, solution: Solution, is_open: np.ndarray, kept: np.ndarray, why: str) -> tuple[Solution, float]:
        """One last re-solve on the names valued most, every one floored at m: an answer or a clear failure."""
        w = solution.weights
        held = w > 0
        keep = held & ((w >= self.floor / 2) | kept)
        limit = self.limit if self.limit is not None else len(w)
        if int(keep.sum()) > limit:
            relaxed = self._relaxed.get(is_open.tobytes())
            forced = kept | (self.forced_held & held)
            first, others = np.flatnonzero(keep & forced), np.flatnonzero(keep & ~forced)
            if relaxed is not None:
                others = others[np.lexsort((-w[others], -relaxed.held[others]))]
            else:
                others = others[np.argsort(-w[others], kind="stable")]
            keep = np.zeros_like(keep)
            keep[first] = True
            keep[others[: max(limit - len(first), 0)]] = True
        attempt, objective = self._solve(keep, keep, trial=False)
        if attempt is None:
            spec = self.count.spec
            reason = (
                f"the holdings-count time limit ({spec.time_limit:g} s) ran out"
                if why == "time_limit"
                else f"the heuristic reached {MAX_ROUNDS} re-solves"
            )
            raise SolverFailedError(
                f"{reason} with {int(held.sum())} names still held, and keeping the {int(keep.sum())} it values "
                f"most breaks another rule: no verified portfolio meets {rules_text(spec.max_names, spec.min_weight)}; "
                "raise cardinality.time_limit, or loosen max_names or the rules that tie names (turnover, no-trade)"
            )
        return attempt, objective

    def _meets_count(self, w: np.ndarray) -> bool:
        held = w > 0
        if self.limit is not None and int(held.sum()) > self.limit:
            return False
        return not (self.floor > 0 and bool((w[held] < self.floor - 1e-12).any()))
