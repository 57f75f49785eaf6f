"""Constraints on weights: budget, long-only, per-name, group and sector bounds."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import cvxpy as cp
import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ._base import Constraint
from ._bounds import BoundField
from ._context import BuildContext
from ._data_view import DataView, UniverseInfo
from ._errors import SpecError
from ._shapes import BenchmarkBounded, constraint_type


@constraint_type
class Budget(Constraint):
    """Fully invested: weights sum to 1 (added by default)."""

    key: ClassVar[str] = "budget"
    structural: ClassVar[bool] = True

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return cp.sum(ctx.weights)

    def upper(self, ctx: BuildContext) -> cp.Expression:
        return cp.Constant(1.0)

    @property
    def is_equality(self) -> bool:
        return True

    def describe(self) -> str:
        return "sum of weights == 1"


@constraint_type
class Cash(Constraint):
    """Cash weight ``1 − Σw`` within ``[min, max]`` (fractions of NAV); replaces the budget.

    Cash is riskless and outside the benchmark, so holding it is an active underweight of
    the whole index: it costs tracking error like any other bet. Cash is never negative
    (no borrowing): ``min`` is at least 0.

    Parameters
    ----------
    min : float
        Least cash weight, fraction of NAV (default 0).
    max : float
        Most cash weight, fraction of NAV.
    """

    key: ClassVar[str] = "cash"
    structural: ClassVar[bool] = True

    min: Annotated[float, Field(ge=0, le=1)] = 0.0
    max: Annotated[float, Field(ge=0, le=1)]

    @model_validator(mode="after")
    def _ordered(self) -> Cash:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return 1.0 - cp.sum(ctx.weights)

    def lower(self, ctx: BuildContext) -> cp.Parameter:
        return ctx.parameter("lower", (), lambda d: self.min, nonneg=True)

    def upper(self, ctx: BuildContext) -> cp.Parameter:
        return ctx.parameter("upper", (), lambda d: self.max, nonneg=True)

    @property
    def is_equality(self) -> bool:
        return self.min == self.max

    def describe(self) -> str:
        if self.min == self.max:
            return f"cash == {self.max:g}"
        return f"cash >= {self.min:g} and cash <= {self.max:g}" if self.min > 0 else f"cash <= {self.max:g}"


@constraint_type
class LongOnly(Constraint):
    """No short positions: every weight ≥ 0 (added by default)."""

    key: ClassVar[str] = "long_only"
    structural: ClassVar[bool] = True

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return ctx.weights

    def lower(self, ctx: BuildContext) -> cp.Expression:
        return cp.Constant(np.zeros(ctx.universe.n_assets))

    def row_labels(self, universe: UniverseInfo) -> tuple[str, ...]:
        return universe.asset_ids

    def describe(self) -> str:
        return "every weight >= 0"


@constraint_type
class AssetWeight(BenchmarkBounded):
    """Per-name weight bounds, absolute (``0.05``) or relative (``benchmark + 0.02``).

    Parameters
    ----------
    min, max : bound, optional
        Lower/upper bound on each name's weight, fraction of NAV.
    assets : list of str, optional
        The names the bound applies to; all names when omitted.
    """

    key: ClassVar[str] = "asset_weight"

    min: BoundField | None = None
    max: BoundField | None = None
    assets: list[str] | None = None

    @property
    def subject(self) -> str:
        """``every name``, or how many names the rule lists."""
        return "every name" if self.assets is None else f"{len(self.assets)} listed names"

    def _ids(self, universe: UniverseInfo) -> tuple[str, ...]:
        return tuple(self.assets) if self.assets is not None else universe.asset_ids

    def _rows(self, universe: UniverseInfo) -> int:
        return len(self._ids(universe))

    def _positions(self, universe: UniverseInfo) -> np.ndarray:
        return universe.positions(self._ids(universe), field_path="assets")

    def _benchmark_values(self, data: DataView) -> np.ndarray:
        return data.benchmark[self._positions(data.universe)]

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        if self.assets is None:
            return ctx.weights
        return ctx.weights[self._positions(ctx.universe)]

    def check(self, universe: UniverseInfo) -> None:
        self._positions(universe)

    def row_labels(self, universe: UniverseInfo) -> tuple[str, ...]:
        return self._ids(universe)

    def describe(self) -> str:
        who = "each name" if self.assets is None else f"each of {len(self.assets)} names"
        return self._range_text(f"{who} weight")


@constraint_type
class GroupWeight(BenchmarkBounded):
    """Bounds on the aggregate weight of a named group of assets.

    Exactly one of ``group`` (a named group such as ``MAG7``), ``assets`` (a list of
    asset ids), ``top_n_by_cap`` (the N largest by market cap), ``min_market_cap``
    (every name with cap ≥ the threshold, USD) or ``column`` with ``equals`` (every name
    whose universe column has that value, e.g. an industry) defines the members.

    Parameters
    ----------
    min, max : bound, optional
        Bounds on the group's total weight (fraction of NAV), absolute or relative to the
        group's benchmark weight (``benchmark - 0.05``).
    """

    key: ClassVar[str] = "group_weight"
    qualified_by_subject: ClassVar[bool] = True

    group: str | None = None
    assets: list[str] | None = None
    top_n_by_cap: Annotated[int, Field(ge=1)] | None = None
    min_market_cap: Annotated[float, Field(gt=0)] | None = None
    column: str | None = None
    equals: str | float | None = None
    min: BoundField | None = None
    max: BoundField | None = None

    @model_validator(mode="after")
    def _one_membership_rule(self) -> GroupWeight:
        rules = ("group", "assets", "top_n_by_cap", "min_market_cap", "column")
        given = [f for f in rules if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(repr(r) for r in rules)}" + (f" (got {given})" if given else ""))
        if (self.column is None) != (self.equals is None):
            raise ValueError("'column' and 'equals' go together")
        return self

    @property
    def subject(self) -> str:
        """The group's name for reports."""
        if self.group is not None:
            return self.group
        if self.assets is not None:
            return f"{len(self.assets)} listed names"
        if self.top_n_by_cap is not None:
            return f"top {self.top_n_by_cap} by cap"
        if self.column is not None:
            return f"{self.column} = {self.equals}"
        return f"cap >= {self.min_market_cap:.3g}"

    def members(self, data: DataView) -> tuple[str, ...]:
        """The asset ids in the group for this data."""
        snapshot = data.snapshot
        if self.group is not None:
            return snapshot.groups[self.group]
        if self.assets is not None:
            return tuple(self.assets)
        if self.column is not None:
            values = snapshot.assets[self.column]
            return tuple(values.index[values.astype(str) == str(self.equals)])
        caps = snapshot.market_caps
        if self.top_n_by_cap is not None:
            order = pd.DataFrame({"cap": caps, "id": caps.index}).sort_values(["cap", "id"], ascending=[False, True])
            return tuple(order["id"].iloc[: self.top_n_by_cap])
        return tuple(caps.index[caps.to_numpy() >= self.min_market_cap])

    def defined_group(self, data: DataView) -> tuple[str, ...] | None:
        """The members, unless the group is a named group of the data (reported already)."""
        return None if self.group is not None else self.members(data)

    def _rows(self, universe: UniverseInfo) -> int:
        return 1

    def _benchmark_values(self, data: DataView) -> np.ndarray:
        return np.array([data.group_mask(self.members(data)) @ data.benchmark])

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        mask = ctx.parameter("mask", (ctx.universe.n_assets,), lambda d: d.group_mask(self.members(d)), nonneg=True)
        return cp.reshape(mask @ ctx.weights, (1,), order="C")

    def check(self, universe: UniverseInfo) -> None:
        if self.group is not None:
            universe.require(self.group, universe.groups, what="group", field_path="group")
        if self.assets is not None:
            universe.positions(tuple(self.assets), field_path="assets")
        if self.column is not None:
            universe.require(self.column, universe.asset_columns, what="universe column", field_path="column")
        if self.top_n_by_cap is not None and self.top_n_by_cap > universe.n_assets:
            raise SpecError(
                f"top_n_by_cap={self.top_n_by_cap} exceeds the universe size {universe.n_assets}",
                path="top_n_by_cap",
            )

    def row_labels(self, universe: UniverseInfo) -> tuple[str, ...]:
        return (self.subject,)

    def describe(self) -> str:
        return self._range_text(f"{self.subject} weight")


@constraint_type
class SectorWeight(BenchmarkBounded):
    """Bounds on each sector's weight, absolute or active (``benchmark ± x``).

    Parameters
    ----------
    sectors : "all" or list of str
        The sectors bounded (GICS names as in the data); ``all`` by default.
    min, max : bound, optional
        Bounds on each listed sector's total weight, fraction of NAV.
    """

    key: ClassVar[str] = "sector_weight"

    sectors: Literal["all"] | list[str] = "all"
    min: BoundField | None = None
    max: BoundField | None = None

    @property
    def subject(self) -> str:
        """``every sector``, or the listed sectors (``Energy, Utilities``)."""
        return "every sector" if self.sectors == "all" else ", ".join(self.sectors)

    def _names(self, universe: UniverseInfo) -> tuple[str, ...]:
        return universe.sectors if self.sectors == "all" else tuple(self.sectors)

    def _rows(self, universe: UniverseInfo) -> int:
        return len(self._names(universe))

    def _benchmark_values(self, data: DataView) -> np.ndarray:
        return data.sector_matrix(self._names(data.universe)) @ data.benchmark

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        names = self._names(ctx.universe)
        matrix = ctx.parameter(
            "sector_matrix", (len(names), ctx.universe.n_assets), lambda d: d.sector_matrix(names), nonneg=True
        )
        return matrix @ ctx.weights

    def check(self, universe: UniverseInfo) -> None:
        if self.sectors != "all":
            for i, name in enumerate(self.sectors):
                universe.require(name, universe.sectors, what="sector", field_path=f"sectors[{i}]")

    def row_labels(self, universe: UniverseInfo) -> tuple[str, ...]:
        return self._names(universe)

    def describe(self) -> str:
        which = "each sector" if self.sectors == "all" else ", ".join(self.sectors)
        return self._range_text(f"{which} weight")

