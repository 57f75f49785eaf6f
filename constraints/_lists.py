"""Constraints on listed names: restricted (must be 0), must-hold, no-trade, no-buy."""

from __future__ import annotations

from typing import Annotated, ClassVar

import cvxpy as cp
import numpy as np
from pydantic import Field

from ._context import BuildContext
from ._shapes import AssetList, constraint_type


@constraint_type
class Restricted(AssetList):
    """Exclusions: each listed name's weight is 0 (sold if held)."""

    key: ClassVar[str] = "restricted"

    assets: Annotated[list[str], Field(min_length=1)]

    def upper(self, ctx: BuildContext) -> cp.Expression:
        return cp.Constant(np.zeros(len(self.assets)))

    @property
    def is_equality(self) -> bool:
        return True

    def describe(self) -> str:
        return f"{len(self.assets)} restricted names == 0"


@constraint_type
class MustHold(AssetList):
    """Each listed name is held with at least ``min`` (fraction of NAV, default 1 bp)."""

    key: ClassVar[str] = "must_hold"

    assets: Annotated[list[str], Field(min_length=1)]
    min: Annotated[float, Field(gt=0, le=1)] = 1e-4

    def lower(self, ctx: BuildContext) -> cp.Parameter:
        return ctx.parameter("lower", (len(self.assets),), lambda d: np.full(len(self.assets), self.min), nonneg=True)

    def describe(self) -> str:
        return f"{len(self.assets)} must-hold names >= {self.min:g}"


@constraint_type
class NoTrade(AssetList):
    """Each listed name keeps its current weight (no trade)."""

    key: ClassVar[str] = "no_trade"

    assets: Annotated[list[str], Field(min_length=1)]

    def upper(self, ctx: BuildContext) -> cp.Expression:
        return ctx.holdings[self._positions(ctx.universe)]

    @property
    def is_equality(self) -> bool:
        return True

    def describe(self) -> str:
        return f"{len(self.assets)} no-trade names == current weight"


@constraint_type
class NoBuy(AssetList):
    """Each listed name may be sold or kept, not bought: weight ≤ its current weight.

    trimtab adds one itself for the names whose return history is too short to estimate
    their risk (``short_history`` in the run summary).
    """

    key: ClassVar[str] = "no_buy"

    assets: Annotated[list[str], Field(min_length=1)]

    def upper(self, ctx: BuildContext) -> cp.Expression:
        return ctx.holdings[self._positions(ctx.universe)]

    def describe(self) -> str:
        return f"{len(self.assets)} no-buy names <= current weight"
