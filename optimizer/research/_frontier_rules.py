"""Finding and shaping the rule a frontier sweeps: the strings that name a rule, the one rule a
string names, a rule added when the job has none, a side bound given to a rule that has none,
and the bounds checked."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from trimtab.constraints import Constraint, JobSpec, SpecError

#: The sides a frontier sweeps: a rule's ``max`` is its upper bound, ``min`` its lower.
SIDES = {"max": "upper", "min": "lower"}


def constraint_handles(constraint: Constraint) -> tuple[str, ...]:
    """The strings that name a rule in :func:`frontier`: name, description, key, key:subject."""
    names = [constraint.name] if constraint.name else []
    names += [constraint.describe(), constraint.key]
    if constraint.qualified_by_subject:
        names.append(f"{constraint.key}:{constraint.subject}")
    return tuple(dict.fromkeys(names))


def find_constraint(job: JobSpec, constraint: str) -> int:
    """Position in ``job.constraints`` of the one rule ``constraint`` names.

    Raises
    ------
    SpecError
        No rule or several rules match; the message lists the handles to choose from.
    """
    matches = [i for i, c in enumerate(job.constraints) if constraint in constraint_handles(c)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise SpecError(f"no constraint {constraint!r} in the job", file=job.source, choices=handles(job))
    raise SpecError(f"{constraint!r} names {len(matches)} constraints", file=job.source, choices=handles(job, matches))


def rule_title(constraint: Constraint) -> str:
    """The rule's ``name``, else its description without bounds (``MAG7 weight``)."""
    return constraint.name or re.split(r" (?:<=|>=|==) ", constraint.describe())[0]


def handles(job: JobSpec, positions: Sequence[int] | None = None) -> tuple[str, ...]:
    """Handles that name exactly one of the rules at ``positions`` (all rules by default)."""
    positions = range(len(job.constraints)) if positions is None else positions
    counts: dict[str, int] = {}
    for c in job.constraints:
        for h in constraint_handles(c):
            counts[h] = counts.get(h, 0) + 1
    unique = [h for i in positions for h in constraint_handles(job.constraints[i]) if counts[h] == 1]
    return tuple(dict.fromkeys(unique))


def rule_to_sweep(
    job: JobSpec, matches: Sequence[int], several: str, new_rule: Callable[[], Constraint]
) -> tuple[JobSpec, int]:
    """``(job, position)`` of the one rule at ``matches``, or, when there is none, the job with ``new_rule()`` appended.

    Raises
    ------
    SpecError
        ``several`` (with the handles that name each) when ``matches`` holds more than one rule.
    """
    if len(matches) > 1:
        raise SpecError(several, choices=handles(job, matches))
    if matches:
        return job, matches[0]
    return dataclasses.replace(job, constraints=(*job.constraints, new_rule())), len(job.constraints)


def with_side(job: JobSpec, index: int, side: str, bound: float) -> JobSpec:
    """The job with rule ``index`` given a ``side`` bound, if it has none (so it compiles one)."""
    rule = job.constraints[index]
    if getattr(rule, "target", None) is not None:
        raise SpecError(f"{rule.label!r} has a target; sweep a rule with min/max", file=job.source)
    if not hasattr(rule, side):
        raise SpecError(f"{rule.label!r} has no {side!r} bound to sweep", file=job.source, choices=_sides(rule))
    if getattr(rule, side) is not None:
        return job
    try:
        replaced = dataclasses.replace(rule, **{side: bound})
    except ValueError as err:
        raise SpecError(f"cannot give {rule.label!r} a {side} of {bound:g}: {err}", file=job.source) from None
    constraints = list(job.constraints)
    constraints[index] = replaced
    return dataclasses.replace(job, constraints=tuple(constraints))


def _sides(rule: Constraint) -> tuple[str, ...]:
    return tuple(s for s in SIDES if hasattr(rule, s))


def check_bounds(bounds: Iterable[float]) -> list[float]:
    """The bounds as floats; SpecError when there are none or one is not finite."""
    values = [float(b) for b in bounds]
    if not values:
        raise SpecError("a frontier needs at least one bound")
    if not all(np.isfinite(values)):
        raise SpecError(f"frontier bounds must be finite, got {values}")
    return values
