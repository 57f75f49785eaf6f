"""Market data, characteristics and risk models: the inputs of a trimtab optimization.

Imports only numpy, pandas and scikit-learn; nothing here knows about constraints or
the optimizer.
"""

from ._characteristics import (
    COMPOSITES,
    QUALITY_DESCRIPTORS,
    VALUE_DESCRIPTORS,
    build_characteristics,
    composite_score,
    standardize,
    winsorize,
)
from ._errors import DataError, TrimtabError
from ._risk_model import TRADING_DAYS_PER_YEAR, RiskModel
from ._snapshot import MarketSnapshot

__all__ = [
    "COMPOSITES",
    "QUALITY_DESCRIPTORS",
    "TRADING_DAYS_PER_YEAR",
    "VALUE_DESCRIPTORS",
    "DataError",
    "MarketSnapshot",
    "RiskModel",
    "TrimtabError",
    "build_characteristics",
    "composite_score",
    "standardize",
    "winsorize",
]
