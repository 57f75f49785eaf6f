"""Rules on the tax lots sold: a realized-gain budget and a loss-harvesting floor.

Both need the job's ``taxes`` section (the lots they are measured on, see
:mod:`._lot_terms`). Their quantities are linear in the per-lot sales, so they are exact
convex rules, measured after every solve like any other. Values are fractions of NAV; with
``units: usd`` the bound is written in US dollars and divided by the account's NAV (the
taxes section's ``nav``, else the lots' market value), so reports and frontiers still read
in fractions of NAV.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import cvxpy as cp
from pydantic import Field

from ._base import Constraint
from ._context import BuildContext
from ._data_view import DataView
from ._lot_terms import book_of, lot_terms
from ._shapes import constraint_type

Units = Literal["fraction", "usd"]


def _in_fractions(value: float, units: str, data: DataView) -> float:
    """A bound as a fraction of NAV (``usd`` bounds divided by the book's NAV)."""
    return value / book_of(data).nav if units == "usd" else value


def _amount(value: float, units: str) -> str:
    return f"${value:,.0f}" if units == "usd" else f"{value:g}"


@constraint_type
class RealizedGain(Constraint):
    """Realized gain of the lots sold, ``Σ g_l x_l`` over the lots of ``kind``, at most ``max``.

    ``g_l = 1 − basis / price`` per unit of weight sold; losses count negative, so ``net``
    is gains minus losses, and a negative ``max`` asks for net losses of at least ``−max``.

    Parameters
    ----------
    max : float
        The budget: fraction of NAV (0.005 = 0.5 %), or USD with ``units: usd``.
    kind : {"net", "short", "long"}
        All lots, short-term lots only, or long-term lots only.
    units : {"fraction", "usd"}
        Units of ``max``.
    """

    key: ClassVar[str] = "realized_gain"
    qualified_by_subject: ClassVar[bool] = True

    max: float
    kind: Literal["net", "short", "long"] = "net"
    units: Units = "fraction"

    @property
    def subject(self) -> str:
        """The kind of gain (``net``, ``short``, ``long``)."""
        return self.kind

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return lot_terms(ctx, self.key).realized(self.kind)

    def upper(self, ctx: BuildContext) -> cp.Parameter:
        return ctx.parameter("upper", (), lambda d: _in_fractions(self.max, self.units, d))

    def describe(self) -> str:
        term = {"net": "net", "short": "short-term", "long": "long-term"}[self.kind]
        return f"realized {term} gain <= {_amount(self.max, self.units)}"


@constraint_type
class HarvestedLoss(Constraint):
    """Losses harvested, ``Σ max(−g_l, 0) x_l`` over every lot sold, at least ``min``.

    Parameters
    ----------
    min : float
        The floor: fraction of NAV, or USD with ``units: usd`` (≥ 0).
    units : {"fraction", "usd"}
        Units of ``min``.
    """

    key: ClassVar[str] = "harvested_loss"

    min: Annotated[float, Field(ge=0)]
    units: Units = "fraction"

    def lhs(self, ctx: BuildContext) -> cp.Expression:
        return lot_terms(ctx, self.key).harvested_loss

    def lower(self, ctx: BuildContext) -> cp.Parameter:
        return ctx.parameter("lower", (), lambda d: _in_fractions(self.min, self.units, d), nonneg=True)

    def describe(self) -> str:
        return f"harvested losses >= {_amount(self.min, self.units)}"


#: The rule types measured on tax lots (a job with one needs a ``taxes`` section).
TAX_RULE_CLASSES: tuple[type[Constraint], ...] = (RealizedGain, HarvestedLoss)

#: Their YAML keys.
TAX_RULE_KEYS: tuple[str, ...] = tuple(c.key for c in TAX_RULE_CLASSES)
