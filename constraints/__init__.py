"""Job files and the constraint catalogue: every rule is data.

A job file (YAML) becomes a frozen :class:`JobSpec`; each constraint in it is a small
frozen dataclass listed in :data:`CONSTRAINT_CLASSES`, and :data:`CONSTRAINT_TYPES` maps
each class's YAML key to it. Constraints build CVXPY expressions from a
:class:`BuildContext` whose parameters are filled from a :class:`DataView` (snapshot +
risk model), so new data re-solves without recompiling.

Job files are read strictly (``_yaml_loader``): duplicate keys, NaN and infinities are
errors, and :data:`MAX_FILE_BYTES`, :data:`MAX_YAML_ALIASES`, :data:`MAX_YAML_VALUES`,
:data:`MAX_NESTING_DEPTH` and :data:`MAX_EXTENDS` bound what one file may hold.
"""

from ._base import BINDING_TOLERANCE, BuiltConstraint, Constraint, Measurement, Soft
from ._bounds import Bound, parse_bound
from ._context import BuildContext
from ._data_view import DataView, UniverseInfo
from ._documents import MAX_EXTENDS
from ._errors import SpecError
from ._expression_value import ExpressionValue
from ._job import JobSpec, load_job, loads_job
from ._liquidity import MaxPositionAdv, MaxTradeAdv
from ._lists import MustHold, NoBuy, NoTrade, Restricted
from ._lot_terms import GAIN_KINDS, LotTerms, lot_rates
from ._registry import (
    CONSTRAINT_CLASSES,
    CONSTRAINT_TYPES,
    DEFAULT_CONSTRAINT_KEYS,
    STRUCTURAL_KEYS,
    constraint_fields,
    constraint_from_params,
    constraint_to_yaml,
)
from ._risk_and_trading import Beta, FactorExposure, TotalRisk, TrackingError, Turnover
from ._sections import (
    RISK_MODEL_METHODS,
    BenchmarkSpec,
    CardinalitySpec,
    CostSpec,
    DataSpec,
    ImpactSpec,
    OutputSpec,
    RiskModelSpec,
    SolverSpec,
    TaxSpec,
)
from ._taxes import TAX_RULE_KEYS, HarvestedLoss, RealizedGain
from ._weights import AssetWeight, Budget, Cash, GroupWeight, LongOnly, SectorWeight
from ._yaml_loader import MAX_FILE_BYTES, MAX_NESTING_DEPTH, MAX_YAML_ALIASES, MAX_YAML_VALUES

__all__ = [
    "BINDING_TOLERANCE",
    "CONSTRAINT_CLASSES",
    "CONSTRAINT_TYPES",
    "DEFAULT_CONSTRAINT_KEYS",
    "MAX_EXTENDS",
    "MAX_FILE_BYTES",
    "MAX_NESTING_DEPTH",
    "MAX_YAML_ALIASES",
    "MAX_YAML_VALUES",
    "RISK_MODEL_METHODS",
    "STRUCTURAL_KEYS",
    "GAIN_KINDS",
    "TAX_RULE_KEYS",
    "HarvestedLoss",
    "LotTerms",
    "RealizedGain",
    "TaxSpec",
    "lot_rates",
    "AssetWeight",
    "Beta",
    "BenchmarkSpec",
    "Bound",
    "Budget",
    "Cash",
    "BuildContext",
    "BuiltConstraint",
    "Constraint",
    "CardinalitySpec",
    "CostSpec",
    "DataSpec",
    "DataView",
    "ExpressionValue",
    "FactorExposure",
    "GroupWeight",
    "ImpactSpec",
    "JobSpec",
    "LongOnly",
    "MaxPositionAdv",
    "MaxTradeAdv",
    "Measurement",
    "MustHold",
    "NoBuy",
    "NoTrade",
    "OutputSpec",
    "RiskModelSpec",
    "Restricted",
    "SectorWeight",
    "Soft",
    "SolverSpec",
    "SpecError",
    "TotalRisk",
    "TrackingError",
    "Turnover",
    "UniverseInfo",
    "constraint_fields",
    "constraint_from_params",
    "constraint_to_yaml",
    "load_job",
    "loads_job",
    "parse_bound",
]
