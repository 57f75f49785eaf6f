"""Priority relaxation: when the hard rules cannot all hold, bend the least important first.

Rules with a ``priority`` are relaxable; rules without one never bend. With relaxable
levels ``p1 < p2 < …``, find the smallest ``k`` such that the job is feasible once levels
``p1…pk`` may bend. Then, lexicographically from the most important relaxable level down
to the least, minimize that level's total violation (in each rule's own units) with the
earlier levels' violations capped at their minimum. The final minimum-TE solve keeps those
caps, so every relaxed level bends exactly as little as needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp

from trimtab.constraints import BuiltConstraint

from ._infeasibility import solve_quietly

#: Slack added to each level's minimal violation so the capped problem stays feasible.
CAP_TOLERANCE = 1e-7


@dataclass(frozen=True)
class RelaxationPlan:
    """What may bend, and by how much in total per priority level.

    Attributes
    ----------
    relaxed : frozenset of int
        Indices (``BuiltConstraint.index``) of the rules that are not enforced as hard.
    caps : tuple of cp.Constraint
        Per level: total violation ≤ its lexicographic minimum.
    levels : tuple of int
        The priority levels that bend, least important first.
    """

    relaxed: frozenset[int]
    caps: tuple[cp.Constraint, ...]
    levels: tuple[int, ...]


def _solved(problem: cp.Problem) -> bool:
    return solve_quietly(problem) in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


def plan_relaxation(built: tuple[BuiltConstraint, ...]) -> RelaxationPlan | None:
    """The least relaxation by priority that makes the rules feasible, or None if none does."""
    enforced = [b for b in built if b.spec.soft is None]
    levels = sorted({b.spec.priority for b in enforced if b.spec.priority is not None})
    for k in range(1, len(levels) + 1):
        bending = set(levels[:k])
        relaxable = [b for b in enforced if b.spec.priority in bending]
        fixed = [c for b in enforced if b.spec.priority not in bending for c in b.constraints]
        if not _solved(cp.Problem(cp.Minimize(0), fixed)):
            continue
        caps: list[cp.Constraint] = []
        for level in sorted(bending, reverse=True):  # most important relaxable level first
            total = cp.sum(cp.hstack([b.violation() for b in relaxable if b.spec.priority == level]))
            if not _solved(cp.Problem(cp.Minimize(total), fixed + caps)):
                return None
            minimum = max(float(total.value), 0.0)
            caps.append(total <= minimum * (1 + 1e-6) + CAP_TOLERANCE)
        return RelaxationPlan(frozenset(b.index for b in relaxable), tuple(caps), tuple(levels[:k]))
    return None
