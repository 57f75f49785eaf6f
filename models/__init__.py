"""Market data, characteristics and risk models: the inputs of a trimtab optimization.

Imports only numpy, pandas, scikit-learn, scipy and threadpoolctl; nothing here knows
about constraints or the optimizer.
"""

from ._benchmark_risk import BenchmarkRisk, benchmark_risk_from_weights, estimate_benchmark_risk, load_index_returns
from ._characteristics import (
    COMPOSITES,
    QUALITY_DESCRIPTORS,
    VALUE_DESCRIPTORS,
    build_characteristics,
    composite_score,
    standardize,
    winsorize,
)
from ._covariance import (
    EWMACovariance,
    LedoitWolfCovariance,
    OASCovariance,
    SampleCovariance,
    ewma_covariance,
    ewma_weights,
    risk_model_from_covariance,
)
from ._errors import DataError, TrimtabError
from ._estimate import estimate_risk_model
from ._factor_models import FundamentalFactorModel, StatisticalFactorModel, cross_sectional_regression
from ._history import MarketHistory
from ._history_files import load_history
from ._benchmark_weights import PointInTimeWeights, load_benchmark_weights
from ._synthetic_history import SYNTHETIC_HISTORY_NAME, load_synthetic_history
from ._methods import RISK_MODEL_ESTIMATORS, RISK_MODEL_REGISTRY, RiskModelMethod, WindowShape
from ._loaders import load_snapshot, prices_to_returns
from ._tables import read_table
from ._risk_model import TRADING_DAYS_PER_YEAR, RiskModel
from ._snapshot import MarketSnapshot
from ._synthetic import SYNTHETIC_AS_OF, SYNTHETIC_DATASET_NAME, load_synthetic_sp500
from ._threads import blas_threads, small_problem_threads
from ._validation import in_index, only_strings
from ._vendor import load_vendor_risk_model
from ._lots import LOT_COLUMNS, TRADE_COLUMNS, TaxLots, read_tax_lots
from ._lot_book import SHARE_TOLERANCE, LotBook, lot_book
from ._synthetic_lots import SYNTHETIC_LOTS_NAV, synthetic_lots

__all__ = [
    "LOT_COLUMNS",
    "TRADE_COLUMNS",
    "SHARE_TOLERANCE",
    "SYNTHETIC_LOTS_NAV",
    "LotBook",
    "TaxLots",
    "lot_book",
    "read_tax_lots",
    "synthetic_lots",
    "BenchmarkRisk",
    "benchmark_risk_from_weights",
    "estimate_benchmark_risk",
    "ewma_weights",
    "load_index_returns",
    "read_table",
    "in_index",
    "only_strings",
    "blas_threads",
    "small_problem_threads",
    "COMPOSITES",
    "RISK_MODEL_ESTIMATORS",
    "RISK_MODEL_REGISTRY",
    "RiskModelMethod",
    "WindowShape",
    "SYNTHETIC_AS_OF",
    "SYNTHETIC_DATASET_NAME",
    "SYNTHETIC_HISTORY_NAME",
    "MarketHistory",
    "PointInTimeWeights",
    "load_benchmark_weights",
    "load_history",
    "load_synthetic_history",
    "EWMACovariance",
    "FundamentalFactorModel",
    "LedoitWolfCovariance",
    "OASCovariance",
    "SampleCovariance",
    "StatisticalFactorModel",
    "cross_sectional_regression",
    "estimate_risk_model",
    "ewma_covariance",
    "load_snapshot",
    "load_synthetic_sp500",
    "load_vendor_risk_model",
    "prices_to_returns",
    "risk_model_from_covariance",
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
