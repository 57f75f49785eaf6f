"""The constraint catalogue: one tuple of classes, and the maps derived from it.

Each type states its YAML ``key`` once, on its class; :data:`CONSTRAINT_TYPES` is derived
from :data:`CONSTRAINT_CLASSES` (``{c.key: c for c in CLASSES}``, as cvxpy derives its
canonicalizer maps), and so are :data:`STRUCTURAL_KEYS` (the classes' ``structural`` flag).

Adding a constraint type = its class (``@constraint_type`` on :class:`Constraint` or a shape
from ``_shapes``), its registry entry (the class in :data:`CONSTRAINT_CLASSES`), its example
in the generic test ``tests/constraints/test_every_constraint.py``, and its README row. Tests
fail when any of the four is missing.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ._base import Constraint
from ._liquidity import MaxPositionAdv, MaxTradeAdv
from ._lists import MustHold, NoBuy, NoTrade, Restricted
from ._risk_and_trading import Beta, FactorExposure, TotalRisk, TrackingError, Turnover
from ._taxes import HarvestedLoss, RealizedGain
from ._weights import AssetWeight, Budget, Cash, GroupWeight, LongOnly, SectorWeight

#: Every constraint type, in the order choices are listed in messages.
CONSTRAINT_CLASSES: tuple[type[Constraint], ...] = (
    Budget,
    LongOnly,
    Cash,
    AssetWeight,
    GroupWeight,
    SectorWeight,
    FactorExposure,
    Turnover,
    TrackingError,
    TotalRisk,
    Beta,
    Restricted,
    MustHold,
    NoTrade,
    NoBuy,
    MaxTradeAdv,
    MaxPositionAdv,
    RealizedGain,
    HarvestedLoss,
)

#: YAML key → constraint class.
CONSTRAINT_TYPES: dict[str, type[Constraint]] = {c.key: c for c in CONSTRAINT_CLASSES}

#: Constraints that may be neither soft nor relaxed: without them there is no portfolio.
STRUCTURAL_KEYS: tuple[str, ...] = tuple(c.key for c in CONSTRAINT_CLASSES if c.structural)

#: Constraints every job has unless it states them itself.
DEFAULT_CONSTRAINT_KEYS: tuple[str, ...] = (Budget.key, LongOnly.key)

#: A stated constraint that takes the place of a default one (cash is ``1 − Σw``: no budget).
REPLACES_DEFAULT: dict[str, str] = {Cash.key: Budget.key}


def constraint_fields(key: str) -> tuple[str, ...]:
    """The YAML fields a constraint type accepts."""
    cls = CONSTRAINT_TYPES[key]
    return tuple(cls.__pydantic_fields__)  # type: ignore[attr-defined]


def constraint_from_params(key: str, params: dict[str, Any] | None) -> Constraint:
    """Validate ``params`` for constraint type ``key`` (raises pydantic ``ValidationError``)."""
    cls = CONSTRAINT_TYPES[key]
    return TypeAdapter(cls).validate_python(params or {})


def constraint_to_yaml(constraint: Constraint) -> dict[str, Any]:
    """The YAML mapping ``{key: {field: value}}`` that loads back to an equal constraint."""
    params = TypeAdapter(type(constraint)).dump_python(constraint, mode="json", exclude_none=True)
    return {constraint.key: params}
