"""Tax lots in the compiled problem: the tax bill in the objective, numeric checks, and the
same-rebalance wash-sale rule.

The lot variables, parameters and balance ``w = w₀ − S x + b`` live in the build context
(``constraints.LotTerms``); here the tax joins the objective, exactly and in its units:
``1e4 × (TE² + weight × tax)`` — (% TE)² like every objective of trimtab, the tax a fraction
of NAV — and every solve is checked numerically on the lots too (balance, lot sizes, the
wash-sale look-back masks).

An asset sold at a loss must not be bought in the same rebalance: for each asset, either its
loss lots are not sold or it is not bought. The convex problem without this either/or is a
relaxation — a weak one when a turnover cap binds, since selling a loss lot and buying it
back moves no weight and so costs no turnover. With a hard ``turnover`` rule the layer adds
valid cuts (:meth:`TaxLayer.problem`): with ``dᵢ ≥ (w₀ᵢ − wᵢ)⁺``, each asset's loss sales are
at most ``dᵢ`` (an asset sold at a loss is not bought, so its weight falls by at least its
loss sales) and two-way turnover is ``2·Σd + Σw − Σw₀``; every portfolio meeting the
either/or meets them, so the relaxation stays a relaxation and prices a harvest in
turnover as the real trade does. When its answer meets the rule (no asset both sold at a
loss and bought beyond :data:`WASH_TOLERANCE`), it is the exact optimum. Otherwise (:mod:`._wash_sales`) the rule is
met exactly by SCIP (``method: exact``; ``auto`` for up to :data:`EXACT_AUTO_MAX_ASSETS`
assets when SCIP is installed) or by relax-and-fix (``heuristic``), with the relaxation's
optimum as a proven lower bound and the gap stated; ``taxes.time_limit`` bounds the layer and
an answer cut short has status ``time_limit``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Protocol

import cvxpy as cp
import numpy as np

from trimtab.constraints import BuildContext, BuiltConstraint, LotTerms, SolverSpec, TaxSpec

from ._cardinality_clock import Deadline
from ._errors import InfeasibleError, SolverFailedError
from ._objective import OBJECTIVE_SCALE
from ._result import TIME_LIMIT_STATUS, Solution
from ._solver_attempts import scip_installed
from ._tax_report import WashSaleReport
from ._wash_sales import WASH_TOLERANCE, RelaxAndFix, solve_exact

#: Balance and bounds of the lot variables are checked to this (fraction of NAV).
LOT_CHECK_TOLERANCE = 1e-6

#: ``method: auto`` meets the either/or exactly (SCIP) up to this many assets, heuristically above.
EXACT_AUTO_MAX_ASSETS = 30


class ConvexProblem(Protocol):
    """What the tax layer needs of the compiled problem (a ``CompiledProblem``)."""

    context: BuildContext
    built: tuple[BuiltConstraint, ...]
    problem: cp.Problem
    objective: cp.Expression
    hard: list[cp.Constraint]

    def solve_verified(
        self, problem: cp.Problem, solver: SolverSpec, relaxed: frozenset[int]
    ) -> tuple[Solution | None, bool, list[str]]: ...

    def infeasible_error(self) -> InfeasibleError: ...


class TaxLayer:
    """The tax lots of one compiled problem: objective term, checks, and the either/or solve.

    Parameters
    ----------
    compiled : ConvexProblem
        The compiled problem whose context has the lot terms attached.
    spec : TaxSpec
        Rates, weight, method and time limit.

    Attributes
    ----------
    objective_term : cp.Expression
        ``1e4 × weight × tax`` ((% TE)² units).
    clock : callable
        Current time in seconds, for the time limit (default :func:`time.monotonic`).
    """

    def __init__(self, compiled: ConvexProblem, spec: TaxSpec) -> None:
        terms = compiled.context.lots
        assert isinstance(terms, LotTerms)
        self.compiled, self.spec, self.terms = compiled, spec, terms
        self.objective_term = OBJECTIVE_SCALE * spec.weight * terms.tax
        self.clock = time.monotonic
        self._mip: tuple[cp.Problem, cp.Variable] | None = None
        self._problem: cp.Problem | None = None

    @property
    def constraints(self) -> list[cp.Constraint]:
        """The lot constraints (balance, lot sizes, look-back masks, either/or fixes)."""
        return self.terms.constraints

    def cuts(self) -> list[cp.Constraint]:
        """Valid inequalities of the either/or that price a loss harvest in turnover (see the module docstring)."""
        ctx, terms = self.compiled.context, self.terms
        caps = [
            (b, 2.0 if getattr(b.spec, "kind", "two_way") == "one_way" else 1.0)
            for b in self.compiled.built
            if b.spec.key == "turnover" and b.spec.soft is None and b.upper is not None
        ]
        if not caps:
            return []
        sold = cp.Variable(terms.n_assets, nonneg=True, name="net_sold")
        rules = [sold >= -ctx.trades, terms.loss_sales <= sold]
        rules += [2 * cp.sum(sold) + cp.sum(ctx.weights) - cp.sum(ctx.holdings) <= factor * b.upper for b, factor in caps]
        return rules

    @property
    def problem(self) -> cp.Problem:
        """The problem every tax-aware solve uses: the compiled problem with :meth:`cuts` (if any)."""
        if self._problem is None:
            cuts = self.cuts()
            compiled = self.compiled
            self._problem = cp.Problem(cp.Minimize(compiled.objective), compiled.hard + cuts) if cuts else compiled.problem
        return self._problem

    # -- values after a solve ----------------------------------------------------------
    def sales(self) -> np.ndarray:
        """Weight sold from each lot (L,), as the last solve left it."""
        value = self.terms.sales.value
        return np.zeros(self.terms.n_lots) if value is None else np.asarray(value, dtype=float).copy()

    def buys(self) -> np.ndarray:
        """Weight bought of each asset (n,), as the last solve left it."""
        value = self.terms.buys.value
        return np.zeros(self.terms.n_assets) if value is None else np.asarray(value, dtype=float).copy()

    def solution_values(self) -> dict[str, np.ndarray]:
        """``lot_sales`` and ``buys`` of the last solve, for a :class:`Solution`."""
        return {"lot_sales": self.sales(), "buys": self.buys()}

    def loss_sales(self, sales: np.ndarray) -> np.ndarray:
        """Weight sold from loss lots, per asset (n,)."""
        is_loss = np.asarray(self.terms.is_loss.value, dtype=float)
        return np.bincount(self.terms.positions, weights=sales * is_loss, minlength=self.terms.n_assets)

    def conflicts(self, sales: np.ndarray, buys: np.ndarray) -> np.ndarray:
        """Assets both sold at a loss and bought beyond :data:`WASH_TOLERANCE` (n,)."""
        return (self.loss_sales(sales) > WASH_TOLERANCE) & (buys > WASH_TOLERANCE)

    @property
    def has_loss_lots(self) -> np.ndarray:
        """Assets with a loss lot that may be sold (n,)."""
        sellable = np.asarray(self.terms.sellable.value, dtype=float) * np.asarray(self.terms.is_loss.value, dtype=float)
        return np.bincount(self.terms.positions, weights=sellable, minlength=self.terms.n_assets) > 0

    # -- checks ------------------------------------------------------------------------
    def violations(self, weights: np.ndarray) -> list[str]:
        """What the lot variables of the last solve break, numerically (empty when nothing)."""
        terms, tol = self.terms, LOT_CHECK_TOLERANCE
        if terms.sales.value is None or terms.buys.value is None:
            return ["tax lots: the solver returned no lot sales"]
        x, b = self.sales(), self.buys()
        ids = self.compiled.context.universe.asset_ids
        holdings = np.asarray(self.compiled.context.holdings.value, dtype=float)
        residual = weights - (holdings - terms.incidence @ x + b)
        found = []
        worst = int(np.argmax(np.abs(residual)))
        if abs(residual[worst]) > tol:
            found.append(f"tax lots: weight ≠ holding − lot sales + buys at {ids[worst]} by {abs(residual[worst]):.3g}")
        over = x - np.minimum(np.asarray(terms.sellable.value), np.asarray(terms.lot_open.value))
        if x.min() < -tol or over.max() > tol:
            l = int(np.argmax(np.maximum(over, -x)))
            found.append(f"tax lots: sale from lot {l} ({ids[terms.positions[l]]}) outside [0, its sellable weight]")
        over = b - np.minimum(np.asarray(terms.buy_cap.value), np.asarray(terms.buy_open.value))
        if b.min() < -tol or over.max() > tol:
            i = int(np.argmax(np.maximum(over, -b)))
            found.append(f"tax lots: buy of {ids[i]} outside [0, its cap] (wash-sale look-back or either/or)")
        return found

    def either_or_violations(self, sales: np.ndarray, buys: np.ndarray) -> list[str]:
        """Assets both sold at a loss and bought (the same-rebalance wash-sale rule)."""
        ids = self.compiled.context.universe.asset_ids
        loss = self.loss_sales(sales)
        return [
            f"{ids[i]} sold at a loss ({loss[i]:.3g} of NAV) and bought ({buys[i]:.3g})"
            for i in np.flatnonzero(self.conflicts(sales, buys))
        ]

    # -- the either/or -----------------------------------------------------------------
    def fix(self, no_buy: np.ndarray, no_loss_sale: np.ndarray) -> None:
        """Close the buys of ``no_buy`` assets and the loss lots of ``no_loss_sale`` assets (n,)."""
        terms = self.terms
        terms.buy_open.value = np.where(no_buy, 0.0, 1.0)
        is_loss = np.asarray(terms.is_loss.value, dtype=float) > 0
        terms.lot_open.value = np.where(is_loss & no_loss_sale[terms.positions], 0.0, 1.0)

    def mip(self) -> tuple[cp.Problem, cp.Variable]:
        """The mixed-integer problem: ``zᵢ = 1`` lets asset i be sold at a loss and not bought.

        ``loss salesᵢ ≤ loss capacityᵢ · zᵢ`` and ``bᵢ ≤ 1 − zᵢ`` (a weight never exceeds 1).
        """
        if self._mip is None:
            terms = self.terms
            z = cp.Variable(terms.n_assets, boolean=True, name="harvest")
            rules = [terms.loss_sales <= cp.multiply(terms.loss_capacity, z), terms.buys <= 1 - z]
            self._mip = (cp.Problem(cp.Minimize(self.compiled.objective), self.problem.constraints + rules), z)
        return self._mip

    def method(self) -> str:
        """``exact`` or ``heuristic``: the job's method, ``auto`` resolved."""
        wanted, scip = self.spec.method, scip_installed()
        if wanted == "exact" and not scip:
            raise SolverFailedError("taxes method 'exact' needs SCIP: pip install 'trimtab[mip]' (or use method: heuristic)")
        if wanted == "auto":
            return "exact" if scip and self.terms.n_assets <= EXACT_AUTO_MAX_ASSETS else "heuristic"
        return wanted

    def solve(self, solver: SolverSpec) -> Solution:
        """The verified optimum with the lots (parameters already assigned), the either/or met.

        Raises
        ------
        InfeasibleError
            The rules cannot hold with the lots (or with the wash-sale rule).
        SolverFailedError
            No verified portfolio (within ``time_limit`` for the either/or).
        """
        deadline = Deadline(self.spec.time_limit, self.clock)
        self.terms.reset_fixes()
        relaxed, infeasible, attempts = self.compiled.solve_verified(self.problem, solver, frozenset())
        if relaxed is None:
            if infeasible:
                raise self.compiled.infeasible_error()
            raise SolverFailedError("no solver produced a verified solution: " + " | ".join(attempts))
        bound = float(self.problem.value)
        assert relaxed.lot_sales is not None and relaxed.buys is not None
        conflicts = self.conflicts(relaxed.lot_sales, relaxed.buys)
        if not conflicts.any():
            report = WashSaleReport("relaxation", "optimal", 0, 0, 0, bound, bound, 0.0, 0.0, 1)
            return dataclasses.replace(relaxed, wash_sales=report)
        method = self.method()
        if method == "exact":
            outcome = solve_exact(self, solver, deadline, bound)
        else:
            outcome = RelaxAndFix(self, solver, deadline).run(relaxed, bound)
        solution = outcome.solution
        assert solution.lot_sales is not None and solution.buys is not None
        broken = self.either_or_violations(solution.lot_sales, solution.buys)
        if broken:
            raise SolverFailedError("internal error: the wash-sale rule is broken: " + "; ".join(broken[:5]))
        gap = max(outcome.objective - outcome.bound, 0.0)
        report = WashSaleReport(
            method=method,
            status=outcome.status,
            conflicts=int(conflicts.sum()),
            no_buy=int(outcome.no_buy.sum()),
            no_loss_sale=int(outcome.no_loss_sale.sum()),
            objective=outcome.objective,
            bound=min(outcome.bound, outcome.objective),
            gap=gap,
            relative_gap=gap / abs(outcome.objective) if outcome.objective else 0.0,
            solves=outcome.solves,
            note=outcome.note,
        )
        status = TIME_LIMIT_STATUS if outcome.status == TIME_LIMIT_STATUS else solution.status
        return dataclasses.replace(solution, status=status, wash_sales=report)
