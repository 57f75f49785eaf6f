"""The one registry mapping YAML keys to constraint classes (like cvxpy's ``CANON_METHODS``).

Adding a constraint = one class + one line here + its row in the README reference table;
the generic test in ``tests/constraints/test_every_constraint.py`` then covers it.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ._base import Constraint
from ._liquidity import MaxPositionAdv, MaxTradeAdv
from ._lists import MustHold, NoTrade, Restricted
from ._risk_and_trading import Beta, FactorExposure, TotalRisk, TrackingError, Turnover
from ._weights import AssetWeight, Budget, Cash, GroupWeight, LongOnly, SectorWeight

CONSTRAINT_TYPES: dict[str, type[Constraint]] = {
    "budget": Budget,
    "long_only": LongOnly,
    "cash": Cash,
    "asset_weight": AssetWeight,
    "group_weight": GroupWeight,
    "sector_weight": SectorWeight,
    "factor_exposure": FactorExposure,
    "turnover": Turnover,
    "tracking_error": TrackingError,
    "total_risk": TotalRisk,
    "beta": Beta,
    "restricted": Restricted,
    "must_hold": MustHold,
    "no_trade": NoTrade,
    "max_trade_adv": MaxTradeAdv,
    "max_position_adv": MaxPositionAdv,
}

#: Constraints every job has unless it states them itself.
DEFAULT_CONSTRAINT_KEYS: tuple[str, ...] = ("budget", "long_only")

#: A stated constraint that takes the place of a default one (cash is ``1 − Σw``: no budget).
REPLACES_DEFAULT: dict[str, str] = {"cash": "budget"}


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
