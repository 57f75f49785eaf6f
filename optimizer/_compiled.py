"""One CVXPY problem per universe shape and constraint spec, re-solved through parameters.

Objective: minimize ex-ante active variance in factor form,
``‖Lᵀ Bᵀ (w − w_b)‖² + ‖s ∘ (w − w_b)‖²`` — never an n×n matrix — or, from 4,000 names when
it minimizes nothing else, the tracking error itself (a cone, see ``_objective``). After every
solve the weights are checked numerically against every constraint; the solver's status alone
is not trusted.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping

import cvxpy as cp
import numpy as np

from trimtab.constraints import (
    BuildContext,
    BuiltConstraint,
    CardinalitySpec,
    Constraint,
    CostSpec,
    DataView,
    ExpressionValue,
    LotTerms,
    SolverSpec,
    TaxSpec,
    UniverseInfo,
)

from ._cardinality import HoldingsCount
from ._clarabel_session import ClarabelSession
from ._costs import build_costs
from ._errors import InfeasibleError, SolverFailedError
from ._infeasibility import Diagnosis, diagnose
from ._objective import (
    CONSTANT_COMPILE_MIN_ASSETS,
    OBJECTIVE_SCALE,
    dual_to_variance,
    minimizes_tracking_error,
    risk_objective,
    soft_penalties,
)
from ._relaxation import plan_relaxation
from ._reports import ConstraintReport
from ._result import Solution
from ._solver_attempts import solver_attempts
from ._taxes import TaxLayer

#: A constraint violated by more than this (in its own units) after the solve is a failure.
VERIFY_TOLERANCE = 1e-6

#: Default slack a hard rule may lose when target weights are rounded to whole lots (its units:
#: 1 bp of weight, 0.0001 σ, 0.01 % TE). The target sits on its binding rules, so whole lots
#: always move it by a fraction of a lot; an export repairs or refuses anything worse.
ROUNDING_TOLERANCE = 1e-4

#: Weights with |w| below this (fractions of NAV) are solver dust: set to 0, then re-normalized
#: (to 1 when fully invested; to the solver's invested total when the job holds cash).
DUST = 1e-9

_INFEASIBLE = {cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE}
_SOLVED = {cp.OPTIMAL, cp.OPTIMAL_INACCURATE}


class CompiledProblem:
    """The minimum-tracking-error problem for one universe shape and one constraint list.

    Parameters
    ----------
    universe : UniverseInfo
        Asset ids, sectors, groups and characteristics that fix the shape.
    n_factors : int
        Number of risk-model factors ``k``.
    constraints : tuple of Constraint
        Every constraint, defaults included (see ``JobSpec.effective_constraints``).
    costs : CostSpec, optional
        Trading costs added to the objective.
    cardinality : CardinalitySpec, optional
        Holdings-count rules (max names, min holding), met exactly or heuristically.
    dense_covariance : np.ndarray, optional
        For a full-covariance risk model (no specific risk: sample, Ledoit-Wolf, OAS, EWMA),
        the annualized covariance ``Σ`` (n×n). The objective is then the quadratic
        ``(w − a)ᵀ Σ (w − a)`` on the weights themselves (``a`` the benchmark, or an index's
        implied weights), not the factor form with a dense n×n root: the solver's KKT system
        has no auxiliary variables and no dense constraint block, about twice as fast to
        factor. ``Σ`` is data, not a parameter, so such a problem is compiled per covariance.
    taxes : TaxSpec, optional
        Tax-aware rebalancing (with ``lot_structure``): per-lot sales, the tax in the
        objective, the wash-sale rules (see ``_taxes``).
    lot_structure : tuple of int, optional
        Each tax lot's asset position (``LotBook.structure``): the problem is compiled per lot set.
    """

    def __init__(
        self,
        universe: UniverseInfo,
        n_factors: int,
        constraints: tuple[Constraint, ...],
        costs: CostSpec | None = None,
        cardinality: CardinalitySpec | None = None,
        dense_covariance: np.ndarray | None = None,
        taxes: TaxSpec | None = None,
        lot_structure: tuple[int, ...] | None = None,
    ) -> None:
        started = time.perf_counter()
        self.universe = universe
        self.context = BuildContext(universe, n_factors)
        if taxes is not None:  # the lot variables come first: tax rules are measured on them
            LotTerms(self.context, lot_structure or (), taxes)
        self.built: tuple[BuiltConstraint, ...] = tuple(c.build(self.context, i) for i, c in enumerate(constraints))
        #: Weights sum to 1 (a budget rule), rather than to 1 − cash.
        self.fully_invested = any(b.spec.key == "budget" for b in self.built)
        #: Soft-rule penalties and trading costs: the objective beyond active variance.
        self.other_terms = soft_penalties(self.context, self.built)
        #: Hard constraints of the problem (rules not soft, the cost model's, the tax lots', the definitions).
        self.hard: list[cp.Constraint] = [c for b in self.built if b.spec.soft is None for c in b.constraints]
        #: Constraints that define auxiliary variables (the cost model's trades): never relaxed, part of
        #: every problem with this objective.
        self.definitions: list[cp.Constraint] = []
        if costs is not None:
            # minimize (γ/2)·TE² + cost  ⇔  minimize TE² + (2/γ)·cost, in (% TE)² units.
            terms = build_costs(self.context, costs)
            self.other_terms = self.other_terms + OBJECTIVE_SCALE * (2.0 / costs.risk_aversion) * terms.total
            self.definitions += list(terms.constraints)
            self.hard += list(terms.constraints)
        #: The tax lots: the tax in the objective, lot constraints, the wash-sale either/or.
        self.taxes = TaxLayer(self, taxes) if taxes is not None else None
        if self.taxes is not None:
            self.other_terms = self.other_terms + self.taxes.objective_term
            self.hard += self.taxes.constraints
        #: True when the objective is active variance alone (no soft rules, no costs, no taxes).
        self.other_terms_are_zero = costs is None and taxes is None and all(b.spec.soft is None for b in self.built)
        #: The objective is the quadratic on a dense n×n covariance (Clarabel factors it with ``faer``).
        self.full_covariance = dense_covariance is not None
        #: Every solve minimizes the tracking error itself (a cone, compiled with constant data), not its
        #: square: a large universe whose objective is tracking error alone (see ``_objective``).
        self.cone_objective = minimizes_tracking_error(
            universe.n_assets, other_terms=not self.other_terms_are_zero, dense=self.full_covariance,
            cardinality=cardinality is not None,
        )
        self.objective = risk_objective(self.context, dense_covariance=dense_covariance) + self.other_terms
        #: The parametric (DPP) problem, compiled once and re-solved.
        self.problem = cp.Problem(cp.Minimize(self.objective), self.hard)
        self._cone: cp.Problem | None = None
        #: Reads the tracking error after each solve (the expression itself is built at the first).
        self._tracking_error_value: ExpressionValue | None = None
        #: A large problem with a cone in its rules compiles with constant data at every solve (see the constant).
        self.compile_per_solve = universe.n_assets >= CONSTANT_COMPILE_MIN_ASSETS and not self.problem.is_qp()
        #: The CVXPY problem of the last solve (``problem``, the one-shot cone, or a relaxed or holdings-count variant).
        self.solved: cp.Problem = self.problem
        self._sessions: dict[int, ClarabelSession] = {}
        self.holdings_count = HoldingsCount(self, cardinality) if cardinality is not None else None
        self.build_seconds = time.perf_counter() - started

    def solve(
        self,
        data: DataView,
        solver: SolverSpec,
        *,
        allow_relaxation: bool = False,
        overrides: Mapping[str, np.ndarray | float] | None = None,
        one_shot: bool = False,
    ) -> Solution:
        """Assign the data's parameter values, solve, verify every constraint numerically.

        Parameters
        ----------
        data : DataView
            Snapshot and risk model.
        solver : SolverSpec
            Solver and fallbacks.
        allow_relaxation : bool
            When the hard rules conflict, relax rules with a ``priority`` (lowest first, as
            little as needed) instead of failing.
        overrides : mapping of str to array, optional
            Values for named parameters (``"constraints[3].upper"``) set after the data's:
            a frontier sweeps one bound this way without recompiling. The checks use them.
        one_shot : bool
            No re-solve will follow: the first solve of this compiled problem compiles with the
            parameters' values as constants (CVXPY's ``ignore_dpp``; much faster at large
            universes, see ``_clarabel_session``). Once the problem has been solved, a one-shot
            solve compiles the parametric form like any other: ``optimize()`` called again on the
            same shape (a backtest's rebalances, accounts one by one) is a re-solve.

        Raises
        ------
        InfeasibleError
            When the constraints cannot all hold (and relaxation is off or does not help).
        SolverFailedError
            When every solver fails or returns weights that violate a constraint.
        """
        started = time.perf_counter()
        self.context.assign(data)
        self._override(overrides or {})
        if self.holdings_count is not None:
            solution, report = self.holdings_count.solve(solver)
            return dataclasses.replace(solution, seconds=time.perf_counter() - started, cardinality=report)
        if self.taxes is not None:
            return dataclasses.replace(self.taxes.solve(solver), seconds=time.perf_counter() - started)
        session = self.session(self.problem)
        first_solve = session.parametric_solves + session.constant_solves == 0
        constant = self.compile_per_solve or self.cone_objective or (one_shot and first_solve)
        problem = self.cone_problem() if self.cone_objective else self.problem
        if not constant and self.session(problem).parametric_solves == 0:
            self._require_dpp()  # only the parametric compile needs DPP (checked once: ~1 ms at 500 names)
        solution, infeasible, attempts = self.solve_verified(problem, solver, frozenset(), constant=constant)
        if solution is None and infeasible and allow_relaxation:
            plan = plan_relaxation(self.built)
            if plan is not None:
                hard = [c for b in self.built if b.spec.soft is None and b.index not in plan.relaxed for c in b.constraints]
                relaxed = cp.Problem(cp.Minimize(self.objective), hard + self.definitions + list(plan.caps))
                # a new problem at each solve: its parametric compile would never be reused (2 s at 10,000 names)
                solution, infeasible, more = self.solve_verified(relaxed, solver, plan.relaxed, constant=True)
                attempts += [f"relaxed priority {', '.join(map(str, plan.levels))}: {a}" for a in more]
        if solution is not None:
            return dataclasses.replace(solution, seconds=time.perf_counter() - started, attempts=tuple(attempts))
        if infeasible:
            raise self.infeasible_error()
        raise SolverFailedError("no solver produced a verified solution: " + " | ".join(attempts))

    def _require_dpp(self) -> None:
        """Raise when the parametric problem is not DPP (a rule built wrongly: a bug, not a user error)."""
        if not self.problem.is_dcp(dpp=True):
            bad = [b.spec.label for b in self.built if not b.dpp_ok()]
            raise SolverFailedError(f"internal error: problem is not DPP (constraints: {bad})")

    def cone_problem(self) -> cp.Problem:
        """The problem minimizing ``√S·TE`` (a cone) under the same rules, compiled with constant data at each solve.

        Its parametric form is not an option: CVXPY's DPP compile of a second-order cone needs
        memory ∝ variables × parameter entries (31 GiB at 10,000 names). The constant compile costs
        less than the quadratic's extra iterations: at 10,000 names a re-solve of the parametric
        ``TE²`` took 4.2 s (40 iterations) against 1.6 s for the cone compiled and solved (29).
        """
        if self._cone is None:
            self._cone = cp.Problem(cp.Minimize(risk_objective(self.context, cone=True)), self.hard)
        return self._cone

    def _override(self, overrides: Mapping[str, np.ndarray | float]) -> None:
        parameters = self.context.parameters
        for name, value in overrides.items():
            if name not in parameters:
                raise ValueError(f"no parameter {name!r} in the compiled problem")
            parameters[name].value = np.asarray(value, dtype=float).reshape(parameters[name].shape)

    def solve_verified(
        self, problem: cp.Problem, solver: SolverSpec, relaxed: frozenset[int], *, constant: bool = False
    ) -> tuple[Solution | None, bool, list[str]]:
        """Try each solver on ``problem``; (verified solution or None, infeasible?, attempts).

        A verified ``optimal_inaccurate`` answer is kept unless a later attempt of the same
        solver is ``optimal``; fallback solvers are tried only when there is no verified answer.
        ``constant``: Clarabel's attempts compile with constant data (a solve not repeated).
        """
        attempts: list[str] = []
        inaccurate: Solution | None = None
        taxes, quadratic = self.taxes is not None, self.session(problem).quadratic
        attempts_for = solver_attempts(solver, equilibrate_first=taxes, quadratic=quadratic, dense=self.full_covariance)
        for name, options in attempts_for:
            if inaccurate is not None and name != inaccurate.solver:
                break  # a verified answer from the primary solver beats a slow fallback
            try:
                with warnings.catch_warnings():
                    # "Solution may be inaccurate": we verify every constraint ourselves below.
                    warnings.simplefilter("ignore", UserWarning)
                    # Overflow while cvxpy unpacks a diverged iterate: the status says so, checked below.
                    warnings.simplefilter("ignore", RuntimeWarning)
                    self.run_solver(problem, name, options, constant=constant)
            except cp.error.SolverError as err:
                attempts.append(f"{name}: failed ({str(err).splitlines()[0][:120]})")
                continue
            status = problem.status
            if status in _INFEASIBLE:
                attempts.append(f"{name}: {status}")
                return None, True, attempts
            if status not in _SOLVED or self.context.weights.value is None:
                attempts.append(f"{name}: {status}")
                continue
            weights = _remove_dust(np.asarray(self.context.weights.value, dtype=float), self.fully_invested)
            reports, violated = self._verify(weights, relaxed, cone=problem is self._cone)
            if violated:
                attempts.append(f"{name}: {status} but violates " + "; ".join(violated))
                continue
            attempts.append(f"{name}: {status}")
            lots = self.taxes.solution_values() if self.taxes is not None else {}  # lot sales and buys
            solution = Solution(weights, status, name, 0.0, tuple(attempts), reports, **lots)
            if status == cp.OPTIMAL:
                return solution, False, attempts
            inaccurate = inaccurate or solution
        return inaccurate, False, attempts

    def run_solver(
        self, problem: cp.Problem, name: str, options: Mapping[str, float | int | bool], *, constant: bool = False
    ) -> None:
        """One solver call on ``problem`` (status and values set on it): Clarabel through its kept
        session (data updated only where it changed; ``constant``: compiled with constant data
        and not kept), any other solver through CVXPY."""
        self.solved = problem
        if name == "CLARABEL":
            self.session(problem).solve(dict(options), constant=constant)
        else:
            problem.solve(solver=name, **options)

    def session(self, problem: cp.Problem) -> ClarabelSession:
        """The Clarabel solver kept for ``problem`` (this problem, a relaxed or a holdings-count variant)."""
        key = id(problem)
        if key not in self._sessions or self._sessions[key].problem is not problem:
            self._sessions[key] = ClarabelSession(problem)
        return self._sessions[key]

    def diagnose(self, data: DataView) -> Diagnosis:
        """Why the constraints cannot all hold for ``data`` (or that they can)."""
        self.context.assign(data)
        return diagnose(self.built, self.context, self._structural())

    def _structural(self) -> list[cp.Constraint]:
        """Constraints no rule relaxes, besides budget/long-only: the tax lots' balance and bounds."""
        if self.taxes is None:
            return []
        self.taxes.terms.reset_fixes()
        return self.taxes.constraints

    def infeasible_error(self) -> InfeasibleError:
        """An :class:`InfeasibleError` carrying the diagnosis (parameters already assigned)."""
        diagnosis = diagnose(self.built, self.context, self._structural())
        if diagnosis.feasible:
            return InfeasibleError(
                "the solver reported the job infeasible, but a feasibility check finds a portfolio; "
                "try another solver (solver: {name: SCS})",
                diagnosis,
            )
        return InfeasibleError(f"no portfolio satisfies every constraint: {diagnosis.message}", diagnosis)

    def _tracking_error(self) -> float | None:
        """The tracking error of the weights' current value (annualized, fraction); None without a value."""
        if self._tracking_error_value is None:
            self._tracking_error_value = ExpressionValue(self.context.tracking_error)
        return self._tracking_error_value()

    def _verify(
        self, weights: np.ndarray, relaxed: frozenset[int] = frozenset(), *, cone: bool = False
    ) -> tuple[tuple[ConstraintReport, ...], list[str]]:
        """Measure every constraint on ``weights``; list the violated hard ones (not soft, not relaxed).

        ``cone``: the duals are those of the cone objective ``√S·TE`` (converted to ``∂TE²/∂bound``).
        """
        self.context.weights.save_value(weights)  # a float vector of the variable's shape (no re-validation)
        tracking_error = float(self._tracking_error())
        reports, violated = [], []
        for built in self.built:
            measured = built.measure()
            enforced = built.spec.soft is None and built.index not in relaxed
            dual = dual_to_variance(built.dual(measured), tracking_error, cone=cone) if enforced else float("nan")
            reports.append(
                ConstraintReport.from_measurement(built, measured, dual, tracking_error, relaxed=built.index in relaxed)
            )
            if enforced and measured.slack < -VERIFY_TOLERANCE:
                where = f" at {measured.row}" if measured.row else ""
                violated.append(f"{built.label}{where} by {-measured.slack:.3g}")
        if self.taxes is not None:
            violated += self.taxes.violations(weights)
        return tuple(reports), violated


def _remove_dust(weights: np.ndarray, fully_invested: bool) -> np.ndarray:
    cleaned = np.where(np.abs(weights) < DUST, 0.0, weights)
    total, invested = cleaned.sum(), 1.0 if fully_invested else weights.sum()
    return cleaned * (invested / total) if total > 0 else cleaned
