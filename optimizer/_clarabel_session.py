"""One Clarabel solver kept alive across re-solves of one CVXPY problem, updated only where data changed.

CVXPY stays the modeling layer: :meth:`cvxpy.Problem.get_problem_data` applies the current
parameter values to the compiled (DPP) problem, and :meth:`cvxpy.Problem.unpack_results`
maps Clarabel's answer back to the variables, duals and status. In between, instead of
CVXPY's own hand-off — which rebuilds or overwrites *all* of the solver's data on every
solve — this keeps one ``clarabel.DefaultSolver`` per problem and passes it only the parts
of ``P``, ``q``, ``A``, ``b`` that changed (a frontier changes one entry of ``b``; a new
benchmark changes ``q`` and ``b``; an identical re-solve changes nothing). Clarabel then
refactors only what it must. Before that, CVXPY's application of the parameter values itself
recomputes only the parts of the data whose parameters changed (``_parameter_updates``), and
``P``'s upper triangle is taken again only when ``P`` changed.

A solve that will not be repeated (``constant=True``: :func:`trimtab.optimize`'s one solve)
asks CVXPY to compile with the parameters' current values as constants (``ignore_dpp``), which
CVXPY documents as the faster compile for a problem solved once: at 10,000 names about 0.05 s
instead of 2 s for the first parametric compile (0.3 s for later ones). Its solver is not kept:
the next solve compiles the parametric form and builds its own.
"""

from __future__ import annotations

import time
from typing import Any

import clarabel
import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL, dims_to_solver_cones

from ._parameter_updates import IncrementalParameters
from ._solution_gather import WITH_SOLUTION, SolutionGather


class ClarabelSession:
    """Solve one :class:`cvxpy.Problem` with Clarabel again and again, keeping the solver.

    Parameters
    ----------
    problem : cvxpy.Problem
        A DPP problem whose parameters change between solves (shape and sparsity fixed).

    Attributes
    ----------
    builds, updates, constant_solves : int
        Solvers built from scratch, data updates made, and solves compiled with constant data
        (for tests and benchmarks).
    quadratic : bool
        The problem is a quadratic program (no cone): Clarabel's first attempt differs (``_solver_attempts``).
    clarabel_seconds : float
        Wall-clock seconds of Clarabel's own calls in the last solve, for benchmarks: building the
        solver (its setup) or updating its data, ``solve()``, and reading the solution vectors.
        Clarabel's reported ``solve_time`` counts the setup of the solver's first build at every
        later solve too (its timer is not reset by ``update``): ~4.5 ms at 500 names, so a re-solve's
        reported time exceeds the work done (19 ms reported for a 14.5 ms ``solve()`` call).
    """

    def __init__(self, problem: cp.Problem) -> None:
        self.problem = problem
        self.quadratic = problem.is_qp()
        self.builds = 0
        self.updates = 0
        self.constant_solves = 0
        self.clarabel_seconds = 0.0
        self._solver: Any = None
        self._data: tuple[sp.csc_array, np.ndarray, sp.csc_array, np.ndarray] | None = None
        self._options: dict[str, Any] | None = None
        self._P_source: Any = None
        self._P: sp.csc_array | None = None
        #: The compiled problem's parameter application, recomputing only what changed (None: CVXPY's own).
        self.parameters: IncrementalParameters | None = None
        #: The map from Clarabel's answer to the variables and duals (None: CVXPY's unpacking).
        self.gather: SolutionGather | None = None
        #: Solves whose answer was put in place by the gather; Clarabel's answer of the last solve.
        self.gathered = 0
        self.last_answer: Any = None
        # CVXPY's compiled form of the last parametric solve: its chain, cache key and program
        self._chain: Any = None
        self._key: Any = None
        self._program: Any = None
        self._gather_tried: Any = None
        self._A_source: Any = None
        self._A: sp.csc_array | None = None

    def solve(self, options: dict[str, Any], *, constant: bool = False) -> None:
        """Solve with Clarabel ``options``; the problem's status, variables and duals are set as by ``solve()``.

        ``constant``: compile with the parameters' values as constants (a solve not repeated).

        Raises
        ------
        cvxpy.error.SolverError
            When Clarabel fails (as ``cvxpy.Problem.solve`` would raise it).
        """
        kept = not constant and self._compiled_form_kept(options)
        if kept:  # CVXPY's compiled form, its parameters applied; no walk through its chain
            P, q, A, b, offset = self._kept_data()
            chain = inverse = None
            dims = self._program.cone_dims
        else:
            data, chain, inverse = self.problem.get_problem_data(
                cp.CLARABEL, solver_opts=dict(options), ignore_dpp=constant
            )
            if not constant:  # the next solve recomputes only the parts of the data whose parameters changed
                self.parameters = IncrementalParameters.install(getattr(self.problem._cache, "param_prog", None))
                self._chain, self._key = chain, self.problem._cache.key
                self._program = getattr(self.problem._cache, "param_prog", None)
            P = self._upper_triangle(data.get("P"), data["c"].size)
            q, A, b = np.asarray(data["c"], dtype=float), data["A"].tocsc(), np.asarray(data["b"], dtype=float)
            self._A_source, offset, dims = None, 0.0, data["dims"]
        settings = CLARABEL.parse_solver_opts(False, dict(options))
        # Some settings (equilibration, the linear solver) are fixed once a solver exists.
        changes = None if constant or options != self._options else self._changes(P, q, A, b)
        started = time.perf_counter()
        if changes is None:
            solver = clarabel.DefaultSolver(P, q, A, b, dims_to_solver_cones(dims), settings)
            if constant:
                self.constant_solves += 1
            else:
                self.builds += 1
        else:
            solver = self._solver
            solver.update(**changes, settings=settings)
            self.updates += 1
        # a constant compile's solver is not kept: the next solve compiles the parametric form
        self._solver, self._data, self._options = (None, None, None) if constant else (solver, (P, q, A, b), dict(options))
        try:
            answer = _ClarabelAnswer(solver.solve())
        except Exception as err:  # a Clarabel panic: report as cvxpy does
            self._solver, self._data = None, None
            raise cp.error.SolverError(f"Clarabel failed: {err}") from None
        self.clarabel_seconds = time.perf_counter() - started
        self.last_answer = answer
        if kept and self.gather is not None and self.gather.unpack(self.problem, answer, options, offset):
            self.gathered += 1
            return
        if chain is None:  # an answer the gather leaves to CVXPY (no solution): its chain and inverse data
            _, chain, inverse = self.problem.get_problem_data(cp.CLARABEL, solver_opts=dict(options))
        self.problem.unpack_results(answer, chain, inverse)
        if not constant and self._gather_tried is not self._program and self.problem.status in WITH_SOLUTION:
            self._gather_tried = self._program
            sizes = (len(answer.x), len(answer.z)) if answer.x is not None and answer.z is not None else (0, 0)
            self.gather = SolutionGather.record(self.problem, chain, inverse, sizes)

    def _compiled_form_kept(self, options: dict[str, Any]) -> bool:
        """Whether CVXPY's compiled form of the last parametric solve still stands and its solver is kept."""
        cache = self.problem._cache
        return (
            self._solver is not None
            and options == self._options
            and self._program is not None
            and getattr(cache, "param_prog", None) is self._program
            and cache.key == self._key
        )

    def _kept_data(self) -> tuple[sp.csc_array, np.ndarray, sp.csc_array, np.ndarray, float]:
        """``(P, q, A, b, offset)`` of the current parameter values, as ``get_problem_data`` gives them to Clarabel.

        What CVXPY does on a re-solve of a compiled problem (``Problem.get_problem_data``, then
        ``ConicSolver.apply``): each reduction updates its own parameters, the parameters are
        applied, and ``A`` is negated (here only when it changed: the negation of the same ``A``
        is kept).
        """
        program = self._program
        for reduction in self._chain.reductions:
            reduction.update_parameters(self.problem)
        if program.P is None:
            q, offset, A, b = program.apply_parameters()
            P = self._upper_triangle(None, q.size)
        else:
            source, q, offset, A, b = program.apply_parameters(quad_obj=True)
            P = self._upper_triangle(source, q.size)
        if A is not self._A_source:
            self._A_source, self._A = A, (-A).tocsc()
        return P, np.asarray(q, dtype=float), self._A, np.asarray(b, dtype=float), offset

    def _upper_triangle(self, source: Any, size: int) -> sp.csc_array:
        """Clarabel's ``P`` (upper triangle, CSC) of CVXPY's ``source``; the last one again for the same matrix."""
        if source is None:
            return sp.csc_array((size, size))
        if source is not self._P_source:
            self._P_source, self._P = source, sp.triu(source).tocsc()
        return self._P

    @property
    def parametric_solves(self) -> int:
        """Solves of the parametric (DPP) form so far."""
        return self.builds + self.updates

    def _changes(self, P: sp.csc_array, q: np.ndarray, A: sp.csc_array, b: np.ndarray) -> dict[str, Any] | None:
        """The data to pass to ``update`` (possibly none), or None when a new solver is needed."""
        if self._solver is None or self._data is None or not self._solver.is_data_update_allowed():
            return None
        P0, q0, A0, b0 = self._data
        if not ((P is P0 or _same_pattern(P, P0)) and (A is A0 or _same_pattern(A, A0)) and q.shape == q0.shape and b.shape == b0.shape):
            return None
        changes: dict[str, Any] = {}
        if P is not P0 and not np.array_equal(P.data, P0.data):
            changes["P"] = P
        if not np.array_equal(q, q0):
            changes["q"] = q
        if A is not A0 and not np.array_equal(A.data, A0.data):
            changes["A"] = A
        if not np.array_equal(b, b0):
            changes["b"] = b
        return changes


def _same_pattern(new: sp.csc_array, old: sp.csc_array) -> bool:
    return (
        new.shape == old.shape
        and np.array_equal(new.indptr, old.indptr)
        and np.array_equal(new.indices, old.indices)
    )


class _ClarabelAnswer:
    """Clarabel's solution with its vectors read once, as arrays, for CVXPY's unpacking.

    Each read of ``x`` or ``z`` on Clarabel's own object builds a new Python list (80 µs for
    2,500 duals), and CVXPY reads and slices them several times; everything else is Clarabel's.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        x, z = raw.x, raw.z  # one list each
        self.x = None if x is None else np.asarray(x, dtype=float)
        self.z = None if z is None else np.asarray(z, dtype=float)

    def __getattr__(self, name: str) -> Any:  # status, obj_val, solve_time, iterations, s, ...
        return getattr(self.raw, name)

