"""The same-rebalance wash-sale either/or: exact (SCIP) or relax-and-fix, with a proven bound.

For each asset i, either its loss lots are not sold or it is not bought. Both methods end
with a convex re-solve on fixed choices (``TaxLayer.fix``), so the answer passes the same
numeric verification as any solve, and both state a proven lower bound:

* **exact** — the mixed-integer problem (``TaxLayer.mip``: ``loss salesᵢ ≤ capᵢ·zᵢ``,
  ``bᵢ ≤ 1 − zᵢ``, z binary) solved by SCIP within what is left of ``taxes.time_limit``;
  the bound is SCIP's dual bound (never below the relaxation's). Stopped by the time
  limit, the answer is SCIP's best so far, status ``time_limit``; should SCIP find nothing,
  relax-and-fix answers instead.
* **heuristic** (:class:`RelaxAndFix`) — from the convex relaxation's answer, fix each asset
  in conflict (sold at a loss *and* bought) to one side and re-solve, until no asset is in
  conflict. The side is chosen three ways — by a score (per asset, the better of the two
  sides judged against the weight the relaxation gives it, a miss priced at its specific
  variance: see :meth:`RelaxAndFix._harvest`), or every conflict kept (no harvest), or
  every conflict harvested (no buy) — and the best answer is kept. Then free flips: an
  asset kept from being bought that sells no loss lot may be bought instead (and vice
  versa) — the previous answer stays feasible, so the objective never rises — while that
  improves the objective; then single flips: each fixed asset (up to
  :data:`MAX_SINGLE_FLIPS`, largest trades first, until :data:`MAX_FLIPS_WITHOUT_GAIN` in a
  row gained nothing) tried on its other side, kept when better. Fixing only adds fixes, so
  it can only raise the objective: a policy or a flip stops at the first re-solve that does
  not beat the best answer so far (exact pruning: the answer is the one without it). The bound
  is the relaxation's optimum (with the turnover cuts, ``_taxes``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

import cvxpy as cp
import numpy as np

from trimtab.constraints import LotTerms, SolverSpec, TaxSpec

from ._cardinality_clock import Deadline
from ._errors import InfeasibleError, SolverFailedError
from ._objective import OBJECTIVE_SCALE
from ._result import Solution, TIME_LIMIT_STATUS

#: A loss sale or a buy above this (fraction of NAV) counts for the wash-sale either/or.
WASH_TOLERANCE = 1e-9

#: SCIP gets at least this many seconds, even when the budget is nearly spent.
MIN_SCIP_SECONDS = 0.01

#: Fixing rounds of one policy before it finishes at once (every asset with loss lots fixed).
MAX_ROUNDS = 50

#: Free-flip improvement rounds.
MAX_FLIP_ROUNDS = 10

#: Single-asset flips tried after the free flips (each a re-solve), time permitting.
MAX_SINGLE_FLIPS = 30

#: Single flips stop after this many in a row that did not improve the objective.
MAX_FLIPS_WITHOUT_GAIN = 10

#: A round starts only when this many re-solves as long as the longest so far still fit.
RESERVE_SOLVES = 2.0

#: The side-choosing policies, in the order they are tried.
POLICIES = ("score", "keep", "harvest")


class TaxLayer(Protocol):
    """What the either/or needs of the tax layer (``_taxes.TaxLayer``)."""

    compiled: Any
    spec: TaxSpec
    terms: LotTerms

    @property
    def problem(self) -> cp.Problem: ...

    def conflicts(self, sales: np.ndarray, buys: np.ndarray) -> np.ndarray: ...

    def loss_sales(self, sales: np.ndarray) -> np.ndarray: ...

    @property
    def has_loss_lots(self) -> np.ndarray: ...

    def fix(self, no_buy: np.ndarray, no_loss_sale: np.ndarray) -> None: ...

    def mip(self) -> tuple[cp.Problem, cp.Variable]: ...


@dataclass(frozen=True)
class Outcome:
    """An answer meeting the either/or.

    Attributes
    ----------
    solution : Solution
        Verified weights (with lot sales and buys).
    objective, bound : float
        Its objective and a proven lower bound, (% TE)² units.
    no_buy, no_loss_sale : np.ndarray of bool
        The assets fixed to each side (n,).
    solves : int
        Convex re-solves, or SCIP nodes.
    status : str
        ``optimal``, ``heuristic`` or ``time_limit``.
    note : str or None
        What limited the answer.
    """

    solution: Solution
    objective: float
    bound: float
    no_buy: np.ndarray
    no_loss_sale: np.ndarray
    solves: int
    status: str
    note: str | None = None


class RelaxAndFix:
    """One run of the relax-and-fix heuristic (see the module docstring)."""

    def __init__(self, layer: TaxLayer, solver: SolverSpec, deadline: Deadline) -> None:
        self.layer, self.solver, self.deadline = layer, solver, deadline
        self.trial_solver = solver.model_copy(update={"fallback": []})
        self.n = layer.terms.n_assets
        self.solves = 0
        self.cut_short = False

    def _solve(self, no_buy: np.ndarray, no_loss: np.ndarray) -> tuple[Solution | None, float]:
        self.layer.fix(no_buy, no_loss)
        done = self.deadline.step()
        problem = self.layer.problem
        solution, _, _ = self.layer.compiled.solve_verified(problem, self.trial_solver, frozenset())
        done()
        self.solves += 1
        return solution, (float(problem.value) if solution is not None else math.inf)

    def run(self, relaxed: Solution, bound: float) -> Outcome:
        """The best answer of the policies, improved by free flips; bound: the relaxation's optimum."""
        best: tuple[Solution, float, np.ndarray, np.ndarray] | None = None
        for policy in POLICIES:
            if best is not None and not self.deadline.room_for(RESERVE_SOLVES + 1):
                self.cut_short = True
                break
            cutoff = best[1] if best is not None else math.inf
            found = self._settle(relaxed, math.inf, np.zeros(self.n, bool), np.zeros(self.n, bool), policy, cutoff)
            if found is not None and (best is None or found[1] < best[1]):
                best = found
        if best is None:
            raise InfeasibleError(
                "no portfolio meets every rule and the wash-sale rule (an asset sold at a loss is not bought in the "
                "same rebalance): fixing each asset to one side always broke a rule"
            )
        best = self._flips(best)
        best = self._single_flips(best)
        self.layer.fix(best[2], best[3])
        status = TIME_LIMIT_STATUS if self.cut_short else "heuristic"
        note = "taxes.time_limit cut the search short" if self.cut_short else None
        solution, objective, no_buy, no_loss = best
        return Outcome(solution, objective, bound, no_buy, no_loss, self.solves, status, note)

    def _settle(
        self,
        start: Solution,
        objective: float,
        no_buy: np.ndarray,
        no_loss: np.ndarray,
        policy: str,
        cutoff: float = math.inf,
    ) -> tuple[Solution, float, np.ndarray, np.ndarray] | None:
        """Fix the assets in conflict round by round until none is; None if a fix breaks a rule both ways,
        or once the objective reaches ``cutoff``.

        ``start`` is the answer with the fixes ``no_buy``/``no_loss`` so far, ``objective`` its objective.
        Each round only adds fixes, so the objective never falls: a round at or above ``cutoff`` (the
        best answer so far) cannot lead to a better one, and the search stops there.
        """
        layer = self.layer
        solution = start
        assert start.lot_sales is not None and start.buys is not None
        conflicts = layer.conflicts(start.lot_sales, start.buys)
        rounds = 0
        while conflicts.any():
            rounds += 1
            if rounds > MAX_ROUNDS or not self.deadline.room_for(RESERVE_SOLVES):
                # finish at once: every asset with loss lots not yet fixed keeps them (no new conflict can arise)
                self.cut_short = self.cut_short or rounds <= MAX_ROUNDS
                conflicts = layer.has_loss_lots & ~no_buy & ~no_loss
                harvest = np.zeros(self.n, bool)
            else:
                harvest = self._harvest(policy, solution, conflicts)
            trial_buy, trial_loss = no_buy | (conflicts & harvest), no_loss | (conflicts & ~harvest)
            found, value = self._solve(trial_buy, trial_loss)
            if found is None:  # the other side for this round's assets
                trial_buy, trial_loss = no_buy | (conflicts & ~harvest), no_loss | (conflicts & harvest)
                found, value = self._solve(trial_buy, trial_loss)
                if found is None:
                    return None
            no_buy, no_loss, solution, objective = trial_buy, trial_loss, found, value
            if objective >= cutoff - 1e-9 * max(1.0, abs(cutoff)):
                return None
            assert solution.lot_sales is not None and solution.buys is not None
            conflicts = layer.conflicts(solution.lot_sales, solution.buys)
        return solution, objective, no_buy, no_loss

    def _harvest(self, policy: str, solution: Solution, conflicts: np.ndarray) -> np.ndarray:
        """True where an asset in conflict should be sold at a loss and not bought (n,).

        The score compares, per asset, the best of each side against the weight ``r`` the
        relaxation gives it, with ``c = 1e4·s²`` (its specific variance, in objective units)
        pricing a miss of ``r``: harvesting ``h`` of its loss lots (no buy) is worth
        ``max_h v·h − c·(w₀ − h − r)²`` with ``v`` the tax saved per unit; keeping them is
        worth 0 when ``r ≥ w₀`` (buy up to ``r``), else ``max_t −u·t − c·(w₀ − t − r)²`` with
        ``u`` the tax per unit of its cheapest gain lot (sell down towards ``r``).
        """
        if policy != "score":
            return np.full(self.n, policy == "harvest")
        terms = self.layer.terms
        assert solution.lot_sales is not None and solution.buys is not None
        scale = OBJECTIVE_SCALE * self.layer.spec.weight
        per_sale = np.asarray(terms.tax_per_sale.value, dtype=float)
        is_loss = np.asarray(terms.is_loss.value, dtype=float) > 0
        capacity = np.asarray(terms.sellable.value, dtype=float) * is_loss
        holdings = np.asarray(self.layer.compiled.context.holdings.value, dtype=float)
        target = solution.weights
        specific = self.layer.compiled.context.parameters.get("risk.specific_vol")
        c = OBJECTIVE_SCALE * np.square(np.asarray(specific.value, dtype=float)) if specific is not None else np.zeros(self.n)
        c = np.maximum(c, 1e-12)
        harvest = np.zeros(self.n, bool)
        for i in np.flatnonzero(conflicts):
            lots = terms.positions == i
            cap = float(capacity[lots].sum())
            v = scale * float(-(per_sale[lots] * capacity[lots]).sum()) / cap if cap > 0 else 0.0
            miss = holdings[i] - target[i]
            h = min(max(miss + v / (2 * c[i]), 0.0), cap)
            value_harvest = v * h - c[i] * (miss - h) ** 2
            if miss <= 0:
                value_keep = 0.0
            else:
                gains = per_sale[lots & ~is_loss]
                u = scale * float(gains.min()) if gains.size else math.inf
                t = min(max(miss - u / (2 * c[i]), 0.0), miss) if math.isfinite(u) else 0.0
                value_keep = -(u * t if t > 0 else 0.0) - c[i] * (miss - t) ** 2
            harvest[i] = value_harvest > value_keep
        return harvest

    def _flips(self, best: tuple[Solution, float, np.ndarray, np.ndarray]) -> tuple[Solution, float, np.ndarray, np.ndarray]:
        layer, tolerance = self.layer, WASH_TOLERANCE
        for _ in range(MAX_FLIP_ROUNDS):
            if not self.deadline.room_for(RESERVE_SOLVES):
                self.cut_short = True
                break
            solution, objective, no_buy, no_loss = best
            assert solution.lot_sales is not None and solution.buys is not None
            loss = layer.loss_sales(solution.lot_sales)
            to_buy = no_buy & (loss <= tolerance)  # kept from buying, harvesting nothing: may buy instead
            to_harvest = no_loss & (solution.buys <= tolerance) & layer.has_loss_lots
            if not (to_buy.any() or to_harvest.any()):
                break
            trial_buy, trial_loss = (no_buy & ~to_buy) | to_harvest, (no_loss & ~to_harvest) | to_buy
            found, value = self._solve(trial_buy, trial_loss)
            if found is None or value >= objective - 1e-9 * max(1.0, abs(objective)):
                break  # settling could only raise it further
            settled = self._settle(found, value, trial_buy, trial_loss, "score", objective)
            if settled is None or settled[1] >= objective - 1e-9 * max(1.0, abs(objective)):
                break
            best = settled
        return best

    def _single_flips(
        self, best: tuple[Solution, float, np.ndarray, np.ndarray]
    ) -> tuple[Solution, float, np.ndarray, np.ndarray]:
        """Move one fixed asset at a time to its other side (largest loss sale or buy first); keep improvements."""
        _, _, no_buy, no_loss = best
        solution = best[0]
        assert solution.lot_sales is not None and solution.buys is not None
        size = np.where(no_buy, self.layer.loss_sales(solution.lot_sales), solution.buys)
        fixed = np.flatnonzero((no_buy | no_loss) & self.layer.has_loss_lots)
        misses = 0
        for i in fixed[np.argsort(-size[fixed], kind="stable")][:MAX_SINGLE_FLIPS]:
            if not self.deadline.room_for(RESERVE_SOLVES):
                self.cut_short = True
                break
            _, objective, no_buy, no_loss = best
            trial_buy, trial_loss = no_buy.copy(), no_loss.copy()
            trial_buy[i], trial_loss[i] = not no_buy[i], not no_loss[i]
            found, value = self._solve(trial_buy, trial_loss)
            # settling only adds fixes (a smaller feasible set), so it never goes below ``value``
            settled = None
            if found is not None and value < objective - 1e-9 * max(1.0, abs(objective)):
                settled = self._settle(found, value, trial_buy, trial_loss, "score", objective)
            if settled is not None and settled[1] < objective - 1e-9 * max(1.0, abs(objective)):
                best, misses = settled, 0
            else:
                misses += 1
                if misses >= MAX_FLIPS_WITHOUT_GAIN:
                    break
        return best


def solve_exact(layer: TaxLayer, solver: SolverSpec, deadline: Deadline, relaxation_bound: float) -> Outcome:
    """SCIP's choice of sides, re-solved with the conic solver; SCIP's dual bound as the bound.

    Raises
    ------
    InfeasibleError
        SCIP proves no portfolio meets every rule and the either/or.
    SolverFailedError
        The re-solve on SCIP's choice fails verification.
    """
    problem, z = layer.mip()
    layer.terms.reset_fixes()
    seconds = max(deadline.remaining(), MIN_SCIP_SECONDS)
    failure = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            problem.solve(solver="SCIP", scip_params={"limits/time": seconds})
        except cp.error.SolverError as err:
            failure = str(err).splitlines()[0][:120]
    if failure is None and problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise InfeasibleError(
            "no portfolio meets every rule and the wash-sale rule (an asset sold at a loss is not bought in the same "
            "rebalance): SCIP proves the combination infeasible"
        )
    model = problem.solver_stats.extra_stats["model"] if failure is None and problem.solver_stats is not None else None
    if failure is not None or z.value is None or model is None:
        heuristic = RelaxAndFix(layer, solver, deadline)
        layer.terms.reset_fixes()
        relaxed, _, _ = layer.compiled.solve_verified(layer.problem, solver, frozenset())
        if relaxed is None:
            raise SolverFailedError(f"SCIP failed on the wash-sale problem ({failure or problem.status}) and so did the relaxation")
        outcome = heuristic.run(relaxed, relaxation_bound)
        note = f"SCIP found no answer ({failure or problem.status}); relax-and-fix answered"
        return Outcome(outcome.solution, outcome.objective, outcome.bound, outcome.no_buy, outcome.no_loss_sale,
                       outcome.solves, TIME_LIMIT_STATUS if deadline.expired() else "heuristic", note)
    scip_status = str(model.getStatus())
    offset = float(problem.objective.value) - model.getPrimalbound()  # constants cvxpy moved out
    bound = max(float(model.getDualbound()) + offset, relaxation_bound)
    harvest = np.asarray(z.value) > 0.5
    has_loss = layer.has_loss_lots
    no_buy, no_loss = harvest & has_loss, ~harvest & has_loss
    layer.fix(no_buy, no_loss)
    solution, _, attempts = layer.compiled.solve_verified(layer.problem, solver, frozenset())
    if solution is None:
        raise SolverFailedError("the sides SCIP chose give no verified portfolio on re-solve: " + " | ".join(attempts))
    objective = float(layer.problem.value)
    stopped = scip_status != "optimal"
    note = (
        f"SCIP stopped ({scip_status}; time limit {layer.spec.time_limit:g} s) after {int(model.getNNodes())} nodes: "
        "the bound is its best so far" if stopped else None
    )
    return Outcome(solution, objective, bound, no_buy, no_loss, int(model.getNNodes()),
                   TIME_LIMIT_STATUS if stopped else "optimal", note)
