"""The shapes constraint types share, and the decorator that makes a class a constraint type.

A concrete type is ``@constraint_type`` on a subclass of :class:`Constraint` or of one of
these shapes, stating its ``key`` and its fields; the shape supplies the bounds and text:

- :class:`BenchmarkBounded`: ``min``/``max`` bounds per row that may be benchmark-relative
  (asset, group and sector weights);
- :class:`ScalarRange`: a scalar between plain-number ``min``/``max``, or equal to a ``target``;
- :class:`Capped`: a scalar under a plain-number, non-negative ``max``;
- :class:`AdvCapped`: a per-name cap ``max × price × adv / nav`` (the ADV limits);
- :class:`AssetList`: a rule on the weights of listed names (``assets``).

The shapes are not constraint types themselves: they have no ``key`` and are not registered.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

import cvxpy as cp
import numpy as np
from pydantic import ConfigDict, model_validator
from pydantic.dataclasses import dataclass

from ._base import Constraint
from ._bounds import Bound, bounds_contradict
from ._context import BuildContext
from ._data_view import DataView, UniverseInfo

ConstraintClass = TypeVar("ConstraintClass", bound=type[Constraint])

_frozen_strict = dataclass(frozen=True, kw_only=True, config=ConfigDict(extra="forbid", allow_inf_nan=False))


def constraint_type(cls: ConstraintClass) -> ConstraintClass:
    """Make ``cls`` a constraint type: a frozen, keyword-only pydantic dataclass rejecting unknown fields.

    Raises
    ------
    TypeError
        When ``cls`` does not state its own YAML ``key``.
    """
    if not vars(cls).get("key"):
        raise TypeError(f"{cls.__name__} must state its YAML key (key: ClassVar[str] = ...)")
    return _frozen_strict(cls)


class BenchmarkBounded(Constraint):
    """Mixin for constraints with ``min``/``max`` bounds that may be benchmark-relative.

    Subclasses define ``min``/``max`` fields and ``_benchmark_values(data)``, the benchmark's
    own value of ``lhs`` (per row), from which relative bounds are resolved.
    """

    min: Bound | None
    max: Bound | None

    def _rows(self, universe: UniverseInfo) -> int:
        raise NotImplementedError

    def _benchmark_values(self, data: DataView) -> np.ndarray:
        raise NotImplementedError

    def _bound(self, ctx: BuildContext, which: str, bound: Bound | None) -> cp.Parameter | None:
        if bound is None:
            return None
        rows = self._rows(ctx.universe)
        return ctx.parameter(which, (rows,), lambda d: bound.resolve(self._benchmark_values(d)))

    def lower(self, ctx: BuildContext) -> cp.Parameter | None:
        return self._bound(ctx, "lower", self.min)

    def upper(self, ctx: BuildContext) -> cp.Parameter | None:
        return self._bound(ctx, "upper", self.max)

    def _range_text(self, quantity: str) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"{quantity} >= {self.min}")
        if self.max is not None:
            parts.append(f"{quantity} <= {self.max}")
        return " and ".join(parts)

    @model_validator(mode="after")
    def _needs_a_bound(self) -> BenchmarkBounded:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        if self.min is not None and self.max is not None and bounds_contradict(self.min, self.max):
            where = " wherever the benchmark weight is positive" if self.min.kind == "times" else ""
            raise ValueError(f"min ({self.min}) is above max ({self.max}){where}: no weight meets both")
        return self


class ScalarRange(Constraint):
    """A scalar quantity between plain-number bounds ``min``/``max`` (or equal to a ``target``).

    Subclasses name the quantity in :meth:`_quantity` (for :meth:`describe`); those with a
    ``target`` field override :meth:`_target`.
    """

    min: float | None
    max: float | None
    #: Message when no bound is given.
    _missing_bounds: ClassVar[str] = "give 'min', 'max' or both"

    def _quantity(self) -> str:
        raise NotImplementedError

    def _target(self) -> float | None:
        return None

    @model_validator(mode="after")
    def _bounds_given(self) -> ScalarRange:
        target = self._target()
        if target is not None and (self.min is not None or self.max is not None):
            raise ValueError("give either 'target' or 'min'/'max', not both")
        if target is None and self.min is None and self.max is None:
            raise ValueError(self._missing_bounds)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self

    def lower(self, ctx: BuildContext) -> cp.Parameter | None:
        value = self._target() if self._target() is not None else self.min
        return None if value is None else ctx.parameter("lower", (), lambda d: value)

    def upper(self, ctx: BuildContext) -> cp.Parameter | None:
        value = self._target() if self._target() is not None else self.max
        return None if value is None else ctx.parameter("upper", (), lambda d: value)

    @property
    def is_equality(self) -> bool:
        return self._target() is not None

    def describe(self) -> str:
        quantity, target = self._quantity(), self._target()
        if target is not None:
            return f"{quantity} == {target:g}"
        parts = [f"{quantity} >= {self.min:g}"] if self.min is not None else []
        parts += [f"{quantity} <= {self.max:g}"] if self.max is not None else []
        return " and ".join(parts)


class Capped(Constraint):
    """A scalar quantity capped by a plain-number, non-negative ``max``."""

    max: float

    def upper(self, ctx: BuildContext) -> cp.Parameter:
        return ctx.parameter("upper", (), lambda d: self.max, nonneg=True)


class AdvCapped(Constraint):
    """Per-name cap ``max × price × adv / nav`` on a weight-like quantity.

    A weight ``w`` of a portfolio worth ``nav`` USD is ``w·nav / (price·adv)`` days of volume.
    """

    max: float
    nav: float

    def upper(self, ctx: BuildContext) -> cp.Parameter:
        n = ctx.universe.n_assets
        return ctx.parameter("upper", (n,), lambda d: self.max * d.liquidity(self.key) / self.nav, nonneg=True)

    def row_labels(self, universe: UniverseInfo) -> tuple[str, ...]:
        return universe.asset_ids


class AssetList(Constraint):
    """A rule on the weight of each listed name (``assets``), one row per name."""

    assets: list[str]

    @property
    def subject(self) -> str:
        """How many names the rule lists (``2 listed names``)."""
        return f"{len(self.assets)} listed names"

    def _positions(self, universe: UniverseInfo) -> np.ndarray:
        return universe.positions(tuple(self.assets), field_path="assets")

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return ctx.weights[self._positions(ctx.universe)]

    def check(self, universe: UniverseInfo) -> None:
        self._positions(universe)

    def row_labels(self, universe: UniverseInfo) -> tuple[str, ...]:
        return tuple(self.assets)
