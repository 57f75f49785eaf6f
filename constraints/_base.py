"""Base class of every constraint: subclasses state ``lhs``, ``lower``, ``upper``; the rest is derived.

A constraint is a small frozen dataclass whose fields are its YAML parameters. It says
what is constrained (``lhs(ctx)``, a CVXPY expression, scalar or one row per asset/sector)
and its bounds (``lower(ctx)``/``upper(ctx)``, parameters or constants, or ``None``). From
those the base class derives the hard CVXPY constraints, the soft (penalized) form and,
after a solve, the numeric value, bound, slack, dual and binding flag of the constraint.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, ClassVar, Literal

import cvxpy as cp
import numpy as np
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from ._context import BuildContext
from ._data_view import DataView, UniverseInfo
from ._expression_value import ExpressionValue

Sense = Literal["<=", ">=", "==", "range"]

#: A constraint whose slack is at most this (in its own units) is reported as binding.
BINDING_TOLERANCE = 1e-6


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid", allow_inf_nan=False))
class Soft:
    """How a soft constraint is penalized instead of enforced.

    Parameters
    ----------
    penalty : float
        Cost per unit of violation, in the objective's units, (% TE)²: with ``penalty: 100``
        a violation of 0.01 costs as much as raising TE from 2 % to √5 ≈ 2.24 %.
    deadband : float
        Violations up to this (the constraint's units) cost nothing: ``min: 0.25`` with
        ``deadband: 0.05`` is free down to 0.20 (``value active 0.25 ± 0.05``).
    """

    penalty: Annotated[float, Field(gt=0)]
    deadband: Annotated[float, Field(ge=0)] = 0.0


@dataclass(frozen=True, kw_only=True)
class Constraint:
    """A rule on the portfolio. Subclasses are pydantic dataclasses registered by ``key``.

    Parameters
    ----------
    name : str, optional
        A label for reports; defaults to :meth:`describe`.
    soft : Soft, optional
        Penalize violations in the objective instead of enforcing the rule.
    priority : int, optional
        Makes a hard rule relaxable when the job allows relaxation: on an infeasible job,
        rules are relaxed from the lowest priority up, each as little as needed. Rules
        without a priority are never relaxed.
    """

    #: The YAML key, stated once by each constraint type (``group_weight``).
    key: ClassVar[str] = ""
    #: True for rules that may be neither soft nor relaxed: without them there is no portfolio.
    structural: ClassVar[bool] = False
    #: True when rules of this type are told apart by their :attr:`subject`, so that
    #: ``key:subject`` names one in a job (``group_weight:MAG7``, ``factor_exposure:value``).
    qualified_by_subject: ClassVar[bool] = False

    name: str | None = None
    soft: Soft | None = None
    priority: int | None = None

    def __post_init__(self) -> None:
        if self.soft is not None and self.priority is not None:
            raise ValueError("a constraint is either soft or has a priority, not both")
        if self.structural and (self.soft is not None or self.priority is not None):
            raise ValueError(f"{self.key} is structural: it can be neither soft nor relaxed")

    # -- what subclasses state ---------------------------------------------------------
    def lhs(self, ctx: BuildContext) -> cp.Expression:
        """The constrained quantity (scalar, or a vector with one row per label)."""
        raise NotImplementedError

    def lower(self, ctx: BuildContext) -> cp.Expression | None:
        """Lower bound, broadcast to ``lhs``'s shape, or ``None``."""
        return None

    def upper(self, ctx: BuildContext) -> cp.Expression | None:
        """Upper bound, broadcast to ``lhs``'s shape, or ``None``."""
        return None

    @property
    def is_equality(self) -> bool:
        """True when lower and upper are the same target (``lhs == target``)."""
        return False

    def row_labels(self, universe: UniverseInfo) -> tuple[str, ...] | None:
        """Names of ``lhs``'s rows (assets, sectors) when it is a vector."""
        return None

    def check(self, universe: UniverseInfo) -> None:
        """Raise :class:`SpecError` when a name in the spec is not in the universe."""

    def describe(self) -> str:
        """One line a portfolio manager reads, e.g. ``MAG7 weight <= 0.2``."""
        return self.key

    @property
    def subject(self) -> str:
        """What the rule is about, in a few words: the group (``MAG7``), the factor (``value``).

        Defaults to the :attr:`key` (``turnover``, ``tracking_error``).
        """
        return self.key

    def defined_group(self, data: DataView) -> tuple[str, ...] | None:
        """Asset ids of a group the rule defines itself, reported beside the data's named groups.

        ``None`` (the default) when the rule defines no group of its own: rules on no group,
        and rules on a named group of the data, which the data's groups already report.
        """
        return None

    # -- derived -----------------------------------------------------------------------
    @property
    def label(self) -> str:
        """The user's name, or the description."""
        return self.name or self.describe()

    def build(self, ctx: BuildContext, index: int) -> BuiltConstraint:
        """Create expressions and hard CVXPY constraints, parameters scoped ``constraints[index]``."""
        with ctx.scope(f"constraints[{index}]"):
            lhs = self.lhs(ctx)
            lower = self.lower(ctx)
            upper = self.upper(ctx)
        if lower is None and upper is None:
            raise ValueError(f"{self.key}: a constraint needs a lower or an upper bound")
        hard: dict[str, cp.Constraint] = {}
        if self.is_equality:
            hard["eq"] = lhs == upper
        else:
            if upper is not None:
                hard["upper"] = lhs <= upper
            if lower is not None:
                hard["lower"] = lhs >= lower
        return BuiltConstraint(
            index=index,
            spec=self,
            lhs=lhs,
            lower=lower,
            upper=upper,
            hard=hard,
            labels=self.row_labels(ctx.universe),
        )


@dataclass(frozen=True)
class Measurement:
    """A constraint evaluated numerically on given weights (the tightest row and side).

    Attributes
    ----------
    value : float
        The constrained quantity at the tightest row.
    bound : float
        The bound it is compared with.
    slack : float
        Distance to the bound, ≥ 0 when satisfied, negative when violated (lhs units).
    side : {"upper", "lower", "eq"}
        Which bound is tightest.
    row : str or None
        The asset or sector of the tightest row, for vector constraints.
    """

    value: float
    bound: float
    slack: float
    side: str
    row: str | None
    position: int


@dataclass
class BuiltConstraint:
    """A constraint compiled into a context: its expressions and hard CVXPY constraints."""

    index: int
    spec: Constraint
    lhs: cp.Expression
    lower: cp.Expression | None
    upper: cp.Expression | None
    hard: dict[str, cp.Constraint]
    labels: tuple[str, ...] | None

    @property
    def sense(self) -> Sense:
        """``<=``, ``>=``, ``==`` or ``range`` (both bounds)."""
        if "eq" in self.hard:
            return "=="
        if self.lower is not None and self.upper is not None:
            return "range"
        return "<=" if self.upper is not None else ">="

    @property
    def constraints(self) -> list[cp.Constraint]:
        """The hard CVXPY constraints."""
        return list(self.hard.values())

    def violation(self, deadband: cp.Expression | float = 0.0) -> cp.Expression:
        """Soft form: total violation ``Σ pos(lhs − upper − d) + Σ pos(lower − d − lhs)`` (lhs units).

        For an equality it is ``Σ pos(|lhs − target| − d)``; ``d`` is the dead-band.
        """
        if "eq" in self.hard:
            return cp.sum(cp.pos(cp.abs(self.lhs - self.upper) - deadband))
        terms = []
        if self.upper is not None:
            terms.append(cp.sum(cp.pos(self.lhs - self.upper - deadband)))
        if self.lower is not None:
            terms.append(cp.sum(cp.pos(self.lower - deadband - self.lhs)))
        return cp.sum(cp.hstack(terms)) if len(terms) > 1 else terms[0]

    def measure(self) -> Measurement:
        """Evaluate numerically on the variables' current values (independent of the solver).

        Without values (after an infeasible solve) the value and slack are NaN.
        """
        read_lhs, read_upper, read_lower = self._readers
        raw = read_lhs()
        value = _rows(raw) if raw is not None else np.full(self.lhs.shape or (1,), np.nan)
        equality = "eq" in self.hard
        best: Measurement | None = None
        for read, side in ((read_upper, "eq" if equality else "upper"), (None if equality else read_lower, "lower")):
            if read is None:
                continue
            bound = _rows(read())  # one entry, or one per row of the value (numpy broadcasts the one)
            if side == "eq":
                slack = -np.abs(value - bound)
            else:
                slack = bound - value if side == "upper" else value - bound
            i = int(np.argmin(slack))
            if best is None or slack[i] < best.slack:
                row = self.labels[i] if self.labels is not None else None
                at = bound[i] if bound.size > 1 else bound[0]
                best = Measurement(float(value[i]), float(at), float(slack[i]), side, row, i)
        assert best is not None
        return best

    @cached_property
    def label(self) -> str:
        """The rule's label (its user's name, or its description), read once."""
        return self.spec.label

    @cached_property
    def _readers(self) -> tuple[ExpressionValue, ExpressionValue | None, ExpressionValue | None]:
        """What :meth:`measure` reads after each solve: the values of ``lhs``, ``upper``, ``lower``."""
        return (
            ExpressionValue(self.lhs),
            None if self.upper is None else ExpressionValue(self.upper),
            None if self.lower is None else ExpressionValue(self.lower),
        )

    def dual(self, measurement: Measurement) -> float:
        """Dual value (shadow price, objective units per lhs unit) of the measured row and side."""
        constraint = self.hard.get(measurement.side)
        if constraint is None or constraint.dual_value is None:
            return float("nan")
        dual = np.atleast_1d(np.asarray(constraint.dual_value, dtype=float))
        return float(dual[measurement.position] if dual.size > 1 else dual[0])

    def dpp_ok(self) -> bool:
        """True when every hard constraint is DCP under the DPP ruleset."""
        return all(c.is_dcp(dpp=True) for c in self.hard.values())


def _rows(raw: object) -> np.ndarray:
    """A value as a float array of at least one dimension (a scalar becomes one row)."""
    value = np.asarray(raw, dtype=float)
    return value.reshape(1) if value.ndim == 0 else value
