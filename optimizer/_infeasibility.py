"""Explain an infeasible job: a small set of constraints that conflict, and what would fix it.

1. Elastic (phase-one) check: keep the structural constraints (budget, long-only) hard,
   soften every other rule (violation ≥ 0) and minimize the total violation. The rules
   that must bend are the prime suspects.
2. Deletion filter: start from all rules (infeasible) and drop each rule whose removal
   keeps the rest infeasible — rules at their bounds in step 1 are tried last, the
   violated ones last of all. What is left is an irreducible conflict: removing any
   member makes the others feasible.
3. For each member, the bound that makes the job feasible: minimize that member's
   violation with every other rule hard; its closest reachable value is the bound needed.

When the compiled problem has holdings-count rules and the convex rules can hold, the
quick count checks of :mod:`._cardinality_bounds` run too (names kept held, per-name caps,
the turnover needed to close names): a conflict they prove is reported with the count rule
and, e.g., the turnover cap, each with the bound it would need. The count rules are not
convex, so "feasible" then means that no quick check found a conflict.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import cvxpy as cp

from trimtab.constraints import STRUCTURAL_KEYS, BuildContext, BuiltConstraint

from ._cardinality_bounds import CountConflict, count_conflict, count_rules

#: A violation below this (lhs units) counts as none.
VIOLATION_TOLERANCE = 1e-7

#: Suggested bounds are rounded outward to this many decimals.
SUGGESTION_DECIMALS = 4


@dataclass(frozen=True)
class ConflictMember:
    """One constraint of an irreducible conflict.

    Attributes
    ----------
    name, kind, sense : str
        The constraint's label, YAML key and sense.
    side : {"upper", "lower", "eq"}
        Which bound is in conflict: a cap, a floor or a target.
    bound : float
        Its current bound (at the row named by ``row``).
    needed : float
        The bound that makes the whole job feasible with every other rule unchanged
        (rounded outward to 4 decimals); NaN when no bound of this rule alone can.
    row : str or None
        The asset or sector of that row, for per-name or per-sector rules.
    """

    name: str
    kind: str
    sense: str
    side: str
    bound: float
    needed: float
    row: str | None


@dataclass(frozen=True)
class Diagnosis:
    """Why a job is infeasible (or that it is not).

    Attributes
    ----------
    feasible : bool
        True when the constraints can all hold.
    conflict : tuple of ConflictMember
        An irreducible set of rules that cannot hold together (with budget and long-only).
    message : str
        The conflict in plain words.
    """

    feasible: bool
    conflict: tuple[ConflictMember, ...] = ()
    message: str = ""

    def to_dict(self) -> dict:
        """JSON-ready form (``diagnosis.json``)."""
        return {
            "feasible": self.feasible,
            "message": self.message,
            "conflict": [{k: _finite(v) for k, v in asdict(m).items()} for m in self.conflict],
        }


def diagnose(
    built: tuple[BuiltConstraint, ...], context: BuildContext, extra: Sequence[cp.Constraint] = ()
) -> Diagnosis:
    """Find an irreducible conflict among ``built`` (parameter values already assigned).

    ``extra`` constraints are kept hard with the structural ones (budget, long-only): the
    tax lots' balance and bounds. The context's weight variable is overwritten.
    """
    structural = [c for b in built if b.spec.key in STRUCTURAL_KEYS for c in b.constraints] + list(extra)
    rules = [b for b in built if b.spec.key not in STRUCTURAL_KEYS and b.spec.soft is None]
    basis = " and ".join(dict.fromkeys(b.spec.key.replace("_", "-") for b in built if b.spec.key in STRUCTURAL_KEYS))
    if not _feasible(structural, []):
        return Diagnosis(False, (), f"{basis} cannot hold together")
    if _feasible(structural, rules):
        conflict = count_conflict(built, context)
        if conflict is not None:
            return count_diagnosis(conflict)
        if count_rules(context) is not None:
            return Diagnosis(
                True, (), "every constraint can hold, and the holdings-count rules pass the quick checks "
                "(names kept held, per-name caps, turnover to close names); only a solve settles them"
            )
        return Diagnosis(True, (), "every constraint can hold")
    suspicion = _suspicion(structural, rules)
    conflict = list(rules)
    for rule in sorted(rules, key=lambda r: suspicion[id(r)]):
        others = [r for r in conflict if r is not rule]
        if not _feasible(structural, others):
            conflict = others
    members = tuple(_needed_bound(structural, rules, member) for member in conflict)
    return Diagnosis(False, members, _plain_words(members, basis))


def count_diagnosis(conflict: CountConflict) -> Diagnosis:
    """The :class:`Diagnosis` of a holdings-count conflict proved by a quick check."""
    members = tuple(
        ConflictMember(r.name, r.kind, r.sense, r.side, r.bound, r.needed, None) for r in conflict.rules
    )
    return Diagnosis(False, members, conflict.message)


def solve_quietly(problem: cp.Problem) -> str:
    """Solve with Clarabel for a yes/no answer; the status (``solver_error`` on a crash)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            problem.solve(solver=cp.CLARABEL)
        except cp.error.SolverError:
            return "solver_error"
    return problem.status


def _feasible(structural: list[cp.Constraint], rules: list[BuiltConstraint]) -> bool:
    hard = structural + [c for r in rules for c in r.constraints]
    return solve_quietly(cp.Problem(cp.Minimize(0), hard)) in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


def _suspicion(structural: list[cp.Constraint], rules: list[BuiltConstraint]) -> dict[int, int]:
    """0 = slack in the elastic solution (drop first), 1 = at its bound, 2 = violated (keep)."""
    violations = [r.violation() for r in rules]
    problem = cp.Problem(cp.Minimize(cp.sum(cp.hstack(violations))), structural)
    if solve_quietly(problem) not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        return {id(r): 0 for r in rules}
    score = {}
    for rule, violation in zip(rules, violations):
        if float(violation.value) > VIOLATION_TOLERANCE:
            score[id(rule)] = 2
        else:
            score[id(rule)] = 1 if rule.measure().slack <= VIOLATION_TOLERANCE else 0
    return score


def _needed_bound(structural: list[cp.Constraint], rules: list[BuiltConstraint], member: BuiltConstraint) -> ConflictMember:
    """The bound of ``member`` every other rule of the job allows: its least violation with them hard.

    ``needed`` is NaN when no bound of ``member`` alone makes the job feasible (the other
    rules conflict among themselves too).
    """
    others = [c for r in rules if r is not member for c in r.constraints]
    status = solve_quietly(cp.Problem(cp.Minimize(member.violation()), structural + others))
    measured = member.measure()
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        return ConflictMember(
            member.spec.label, member.spec.key, member.sense, measured.side, measured.bound, float("nan"), measured.row
        )
    current = measured.bound
    scale = 10**SUGGESTION_DECIMALS
    if measured.side == "upper" or (measured.side == "eq" and measured.value > current):
        needed = math.ceil(measured.value * scale) / scale
    else:
        needed = math.floor(measured.value * scale) / scale
    return ConflictMember(member.spec.label, member.spec.key, member.sense, measured.side, current, needed, measured.row)


_ACTIONS = {"upper": "raise the cap of", "lower": "lower the floor of", "eq": "move the target of"}


def _plain_words(members: tuple[ConflictMember, ...], basis: str) -> str:
    names = [f"'{m.name}'" for m in members]
    together = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "cannot hold" if len(members) == 1 else "conflict"
    fixes = []
    for m in members:
        where = f" at {m.row}" if m.row and m.row not in m.name else ""
        if math.isfinite(m.needed):
            fixes.append(f"{_ACTIONS[m.side]} '{m.name}'{where} from {m.bound:.4g} to {m.needed:.4g}")
    if not fixes:
        return f"{together} {verb} (with {basis}); other rules conflict too, so no single bound fixes the job"
    lead = "Any one of these fixes the job" if len(fixes) == len(members) else "These fix the job on their own"
    return f"{together} {verb} (with {basis}). {lead}: " + "; or ".join(fixes)


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value
