"""Clarabel's answer put on a CVXPY problem's variables and duals by a recorded gather, skipping CVXPY's inversion.

After a solve, CVXPY maps the solver's primal ``x`` and dual ``z`` back through every reduction
of its chain (``Chain.invert``: the solver's, the matrix stuffing's, the cone canonicalization's…)
and then evaluates the objective expression. For the problems trimtab compiles, that whole map
only *copies* entries: each value of a variable or a constraint's dual is one entry of
``[x, z]``, perhaps negated. Walking the chain costs ~0.6 ms of a 500-name re-solve, as much as
everything else trimtab does around Clarabel.

:meth:`SolutionGather.record` learns the map once per compiled problem, from CVXPY itself: it
inverts a probe answer whose entries are their own (1-based) positions, so each output entry
names its source and sign, then inverts a random answer and keeps the map only if gathering
reproduces CVXPY's inversion of it exactly (bit for bit: a copy or a negation is exact). A variable
with an attribute (``nonneg``: the tax lots' sales and buys) is, as CVXPY recovers it, projected
onto its attribute after the copy (``Leaf.project``, CVXPY's own function). A chain that does
anything else (sums, scales, a cone's dual split into parts) is not recorded, and its solves keep
CVXPY's own unpacking. :meth:`SolutionGather.unpack` then sets what
``Problem.unpack_results`` sets — the variables' values, the constraints' duals, ``value``
(the objective evaluated, as CVXPY does), ``status``, ``solution`` and ``solver_stats`` — for an
answer with a solution (``optimal``, ``optimal_inaccurate``); any other status is left to CVXPY.

Written against (and tested with) CVXPY 1.9's ``Problem`` (``_value``, ``_status``, ``_solution``,
``_solver_stats``: the attributes its own ``unpack`` sets).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
from cvxpy import settings as s
from cvxpy.interface.matrix_utilities import scalar_value
from cvxpy.problems.problem import SolverStats
from cvxpy.reductions.cvx_attr2constr import CvxAttr2Constr
from cvxpy.reductions.solution import Solution
from cvxpy.reductions.solvers.conic_solvers.clarabel_conif import CLARABEL

from trimtab.constraints import ExpressionValue

#: Statuses whose answer carries a solution the gather can put in place.
WITH_SOLUTION = (s.OPTIMAL, s.OPTIMAL_INACCURATE)


@dataclass(frozen=True)
class _Source:
    """Where one value comes from: positions in ``[x, z]`` (shaped as the value) and signs (None: all +)."""

    positions: np.ndarray
    signs: np.ndarray | None
    scalar: bool

    def take(self, xz: np.ndarray) -> Any:
        values = xz[self.positions]  # a 0-d position gives a scalar
        if self.signs is not None:
            values = values * self.signs
        return values if self.scalar else np.asarray(values)


class SolutionGather:
    """The map from Clarabel's ``[x, z]`` to one compiled problem's variables and duals.

    Parameters
    ----------
    program : cvxpy ParamConeProg
        The compiled problem the map was learnt on (``problem._cache.param_prog``); the map holds
        only while the problem keeps that compiled form.
    objective : cvxpy.Expression
        The expression the problem minimizes (its value is the problem's ``value``).
    primal : list of (cvxpy.Variable, _Source, bool)
        Each variable of the problem, where its value comes from in ``[x, z]``, and whether CVXPY
        projects it onto its attributes (``Variable.project``) after the copy.
    dual : list of (cvxpy.Constraint, _Source)
        Each constraint with a dual and where that comes from.
    """

    def __init__(
        self,
        program: Any,
        objective: cp.Expression,
        primal: list[tuple[Any, _Source, bool]],
        dual: list[tuple[Any, _Source]],
    ) -> None:
        self.program = program
        self.primal = primal
        self.dual = dual
        #: Reads the objective's value (what CVXPY's ``objective.value`` gives) after each gathered answer.
        self._objective = ExpressionValue(objective)

    @classmethod
    def record(cls, problem: cp.Problem, chain: Any, inverse: list, sizes: tuple[int, int]) -> SolutionGather | None:
        """Learn the map from CVXPY's own inversion (``chain``, ``inverse`` of the solve just made); None if not a gather.

        ``sizes``: the lengths of Clarabel's ``x`` and ``z``.
        """
        program = getattr(problem._cache, "param_prog", None)
        n = sizes[0] + sizes[1]
        if program is None or n == 0:
            return None
        try:
            labelled = chain.invert(_Probe(np.arange(1.0, n + 1.0), sizes), inverse)
            rng = np.random.default_rng(n)
            random_xz = rng.standard_normal(n)
            checked = chain.invert(_Probe(random_xz, sizes), inverse)
        except Exception:  # a chain that cannot invert a probe: CVXPY keeps unpacking it
            return None
        if labelled.status not in WITH_SOLUTION or checked.status not in WITH_SOLUTION:
            return None
        sources: tuple[list, list] = ([], [])
        wanted = (problem.variables(), problem.constraints)
        found = ((labelled.primal_vars, checked.primal_vars), (labelled.dual_vars, checked.dual_vars))
        projected = _projected_variables(chain, inverse)
        for kind, items in enumerate(wanted):
            named, random = found[kind]
            for item in items:
                if item.id not in named:
                    if kind == 0:
                        return None  # a variable CVXPY gives no value: not a plain gather
                    continue  # a constraint without a dual (CVXPY leaves it too)
                # a projected variable's probe labels are positive: a nonneg one keeps them (else: not recorded)
                source, project = _source(named[item.id], n), kind == 0 and item.id in projected
                if source is None:
                    return None
                try:
                    value = item.project(source.take(random_xz)) if project else source.take(random_xz)
                except (TypeError, ValueError):  # no projection of this kind of variable
                    return None
                if not _same(value, random.get(item.id)):
                    return None
                sources[kind].append((item, source, project) if kind == 0 else (item, source))
        return cls(program, problem.objective.args[0], *sources)

    def unpack(self, problem: cp.Problem, answer: Any, options: dict[str, Any], offset: float) -> bool:
        """Set the answer on ``problem`` as ``Problem.unpack_results`` would; False (nothing set) when CVXPY must.

        ``answer``: Clarabel's answer with ``x`` and ``z`` as arrays; ``options``: the solve's
        options (``accept_unknown`` changes a status); ``offset``: the objective's constant.
        """
        if getattr(problem._cache, "param_prog", None) is not self.program or answer.x is None or answer.z is None:
            return False
        status = _status(answer, options)
        if status not in WITH_SOLUTION:
            return False
        xz = np.concatenate([answer.x, answer.z])
        primal, dual = {}, {}
        for variable, source, project in self.primal:
            value = source.take(xz)
            primal[variable.id] = value = variable.project(value) if project else value
            variable.save_value(value)
        for constraint, source in self.dual:
            dual[constraint.id] = value = source.take(xz)
            constraint.save_dual_value(value)
        attr = {s.SOLVE_TIME: answer.solve_time, s.NUM_ITERS: answer.iterations}
        value = self._objective()  # as CVXPY: the objective evaluated (``objective.value``), not the solver's figure
        problem._value = None if value is None else scalar_value(value)
        problem._status = status
        problem._solution = Solution(status, answer.obj_val + offset, primal, dual, attr)
        problem._solver_stats = SolverStats.from_dict(attr, cp.CLARABEL)
        if status == s.OPTIMAL_INACCURATE:  # CVXPY's own warning, for callers that act on it
            warnings.warn("Solution may be inaccurate. Try another solver, adjusting the solver settings, "
                          "or solve with verbose=True for more information.", stacklevel=2)
        return True


def _projected_variables(chain: Any, inverse: list) -> set[int]:
    """Ids of the variables with attributes or bounds, which ``CvxAttr2Constr.invert`` recovers.

    Most it projects onto their attributes (``Variable.project``: ``nonneg`` clips at 0); one stored
    otherwise (diagonal, symmetric, sparse) is no copy, and the check on a random answer in
    :meth:`SolutionGather.record` then finds no gather for it.
    """
    ids: set[int] = set()
    for reduction, data in zip(chain.reductions, inverse):
        if isinstance(reduction, CvxAttr2Constr) and data:  # data: (id → new variable, id → variable, constraints)
            # without an attribute or bounds the projection is a copy (``np.real``): left out
            ids.update(i for i, v in data[1].items() if v.num_attributes or v.bounds is not None)
    return ids


def _status(answer: Any, options: dict[str, Any]) -> str:
    """CVXPY's status for Clarabel's answer, as ``CLARABEL.invert`` maps it."""
    status_map = CLARABEL.STATUS_MAP
    if CLARABEL.ACCEPT_UNKNOWN in options and str(answer.status) == "InsufficientProgress":
        return s.OPTIMAL_INACCURATE
    return status_map.get(str(answer.status), s.SOLVER_ERROR)


def _source(labelled: Any, n: int) -> _Source | None:
    """Read a value inverted from the position probe: each entry ±(its 1-based source); None if not so."""
    scalar = not isinstance(labelled, np.ndarray)
    try:
        values = np.asarray(labelled, dtype=float)
    except (TypeError, ValueError):  # a list of parts (a cone's dual): not one gather
        return None
    magnitude = np.abs(values)
    if not np.all((magnitude >= 1) & (magnitude <= n) & (magnitude == np.round(magnitude))):
        return None
    negative = values < 0
    signs = np.where(negative, -1.0, 1.0) if negative.any() else None
    return _Source(magnitude.astype(np.intp) - 1, signs, scalar and values.ndim == 0)


def _same(gathered: Any, inverted: Any) -> bool:
    """The gathered value equals CVXPY's inversion exactly, in shape and kind."""
    if inverted is None or isinstance(gathered, np.ndarray) != isinstance(inverted, np.ndarray):
        return False
    try:
        expected = np.asarray(inverted, dtype=float)
    except (TypeError, ValueError):
        return False
    return np.shape(gathered) == expected.shape and np.array_equal(gathered, expected)


class _Probe:
    """A stand-in Clarabel answer whose ``x`` and ``z`` are given (status ``Solved``)."""

    status = "Solved"
    obj_val = 0.0
    solve_time = 0.0
    iterations = 0

    def __init__(self, xz: np.ndarray, sizes: tuple[int, int]) -> None:
        self.x, self.z = xz[: sizes[0]].copy(), xz[sizes[0]:].copy()
