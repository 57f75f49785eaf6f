"""Bounds that are either absolute or relative to the benchmark.

In YAML a bound is a number (``0.05``) or an expression of the benchmark's own value:
``benchmark + 0.02``, ``benchmark - 0.05``, ``benchmark * 1.5`` (``benchmark_weight`` is
accepted as a synonym of ``benchmark``). For a per-name bound, "benchmark" is the name's
benchmark weight; for a group or sector, the group's or sector's benchmark weight.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, PlainSerializer

from ._numbers import NOT_FINITE

_RELATIVE = re.compile(
    r"^\s*(?:benchmark|benchmark_weight)\s*(?:(?P<op>[-+*×])\s*(?P<num>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?))?\s*$"
)


@dataclass(frozen=True)
class Bound:
    """A bound on a weight-like quantity (fraction of NAV).

    Parameters
    ----------
    kind : {"absolute", "plus", "times"}
        ``absolute``: the bound is ``value``; ``plus``: benchmark + ``value`` (value may be
        negative); ``times``: benchmark × ``value``.
    value : float
        The number in the bound.
    """

    kind: Literal["absolute", "plus", "times"]
    value: float

    @property
    def is_relative(self) -> bool:
        """True when the bound depends on the benchmark."""
        return self.kind != "absolute"

    def resolve(self, benchmark: np.ndarray | float) -> np.ndarray:
        """The bound's numeric value given the benchmark's value(s)."""
        benchmark = np.asarray(benchmark, dtype=float)
        if self.kind == "absolute":
            return np.full(benchmark.shape, self.value)
        if self.kind == "plus":
            return benchmark + self.value
        return benchmark * self.value

    def __str__(self) -> str:
        if self.kind == "absolute":
            return f"{self.value:g}"
        if self.kind == "plus":
            sign = "+" if self.value >= 0 else "-"
            return f"benchmark {sign} {abs(self.value):g}"
        return f"benchmark * {self.value:g}"


def parse_bound(raw: Any) -> Bound:
    """Parse a YAML bound: a number or ``benchmark ± x`` / ``benchmark * k``.

    Raises
    ------
    ValueError
        With the accepted forms, when ``raw`` is neither.
    """
    if isinstance(raw, Bound):
        return raw
    if isinstance(raw, bool):
        raise ValueError("a bound must be a number or 'benchmark + x', got a boolean")
    if isinstance(raw, (int, float)):
        try:
            value = float(raw)
        except OverflowError:  # an int beyond float range
            value = math.inf
        return Bound("absolute", _finite(value, raw))
    if isinstance(raw, str):
        match = _RELATIVE.match(raw)
        if match:
            op, num = match.group("op"), match.group("num")
            if op is None:
                return Bound("plus", 0.0)
            value = _finite(float(num), raw)
            if op in "*×":
                return Bound("times", value)
            return Bound("plus", value if op == "+" else -value)
        try:
            value = float(raw)
        except ValueError:
            pass
        else:
            return Bound("absolute", _finite(value, raw))
    raise ValueError(
        f"invalid bound {raw!r}: use a number (0.05) or 'benchmark + 0.02', 'benchmark - 0.05', 'benchmark * 1.5'"
    )


def _finite(value: float, raw: Any) -> float:
    if not math.isfinite(value):
        shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:37] + "..."
        raise ValueError(f"a bound must be finite, got {shown}; {NOT_FINITE}")
    return value


def bounds_contradict(lower: Bound, upper: Bound) -> bool:
    """True when ``lower`` is above ``upper`` whatever the benchmark's value: no weight meets both.

    Only bounds of one kind are compared: ``0.10`` against ``0.05``; ``benchmark + 0.02``
    against ``benchmark - 0.01`` (the benchmark cancels); ``benchmark * 1.5`` against
    ``benchmark * 0.5`` (benchmark weights are ≥ 0, so they contradict wherever the
    benchmark weight is positive, and meet at 0 where it is 0).

    Bounds of mixed kinds are left to the solver: whether they conflict depends on the
    benchmark weight of each name, group or sector on the day, which the job file does not
    know. ``min: 0.01`` with ``max: benchmark - 0.02`` conflicts on the rows whose benchmark
    weight is below 0.03 and on no other; ``min: benchmark * 0.5`` with ``max: 0.05`` only
    on rows above 0.10. The same file may be feasible on one date and not on the next: that
    is a fact about the data, reported as an infeasible job with a diagnosis (exit 3), not
    an invalid file.
    """
    if lower.kind != upper.kind:
        return False
    return lower.value > upper.value


#: Pydantic field type for a bound: parsed from YAML, serialized back to the same text.
BoundField = Annotated[
    Bound,
    BeforeValidator(parse_bound),
    PlainSerializer(lambda b: b.value if b.kind == "absolute" else str(b), return_type=Any),
]
