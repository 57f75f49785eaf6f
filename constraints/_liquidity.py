"""Liquidity constraints: trade and position sizes as a fraction of average daily volume.

A weight ``w`` of a portfolio worth ``nav`` USD is ``w·nav / (price·adv)`` days of volume.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import cvxpy as cp
from pydantic import Field

from ._context import BuildContext
from ._shapes import AdvCapped, constraint_type

PositiveFraction = Annotated[float, Field(gt=0)]
PositiveUSD = Annotated[float, Field(gt=0)]


@constraint_type
class MaxTradeAdv(AdvCapped):
    """Each name's trade ``|w − w₀|·nav`` is at most ``max`` × its daily dollar volume.

    Parameters
    ----------
    max : float
        Fraction of average daily volume (0.10 = 10 % of a day's volume).
    nav : float
        Portfolio value, USD.
    """

    key: ClassVar[str] = "max_trade_adv"

    max: PositiveFraction
    nav: PositiveUSD

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return cp.abs(ctx.trades)

    def describe(self) -> str:
        return f"each trade <= {self.max:g} x ADV (NAV {self.nav:.3g} USD)"


@constraint_type
class MaxPositionAdv(AdvCapped):
    """Each position ``w·nav`` is at most ``max`` × the name's daily dollar volume.

    Parameters
    ----------
    max : float
        Days of volume (1.0 = one day's volume; 3 = three days to liquidate at 100 %).
    nav : float
        Portfolio value, USD.
    """

    key: ClassVar[str] = "max_position_adv"

    max: PositiveFraction
    nav: PositiveUSD

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return ctx.weights

    def describe(self) -> str:
        return f"each position <= {self.max:g} x ADV (NAV {self.nav:.3g} USD)"
