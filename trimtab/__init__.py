"""trimtab: the minimum-tracking-error portfolio against a cap-weighted benchmark, with rules as data.

The everyday API, for notebooks and scripts::

    import trimtab
    result = trimtab.optimize("examples/mag7_value_quality.yaml")
    result                      # renders as tables in Jupyter
    trimtab.write_run(result, "out/")

The three layers are subpackages: :mod:`trimtab.models` (market data and risk models),
:mod:`trimtab.constraints` (job files and the constraint catalogue) and
:mod:`trimtab.optimizer` (compile, solve, verify; ``export`` and ``research`` beside it).
Names below are loaded on first use, so ``import trimtab`` costs nothing until you call it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trimtab import _deferred_scipy_stats

# An installed trimtab holds models/, constraints/ and optimizer/ inside this folder (setuptools
# maps them in). In a source checkout they sit beside it, at the repository root; let the
# subpackages be found there too, under this namespace only (no top-level ``models`` appears).
_HERE = Path(__file__).resolve().parent
if not (_HERE / "optimizer").is_dir() and (_HERE.parent / "optimizer" / "__init__.py").is_file():
    __path__.append(str(_HERE.parent))  # noqa: F821 — a package's own __path__

# cvxpy and scikit-learn, when loaded, leave scipy.stats unloaded until something uses it (0.3–0.5 s).
_deferred_scipy_stats.install()

#: Public name → the subpackage that defines it.
_EXPORTS: dict[str, str] = {
    # running a job
    "optimize": "trimtab.optimizer",
    "diagnose": "trimtab.optimizer",
    "prepare": "trimtab.optimizer",
    "PreparedProblem": "trimtab.optimizer",
    "load_market_data": "trimtab.optimizer",
    "estimate_risk": "trimtab.optimizer",
    "write_run": "trimtab.optimizer",
    "read_run": "trimtab.optimizer",
    "TargetPortfolio": "trimtab.optimizer",
    "Diagnostics": "trimtab.optimizer",
    "Diagnosis": "trimtab.optimizer",
    # job files
    "load_job": "trimtab.constraints",
    "loads_job": "trimtab.constraints",
    "JobSpec": "trimtab.constraints",
    # data
    "load_synthetic_sp500": "trimtab.models",
    "load_snapshot": "trimtab.models",
    "MarketSnapshot": "trimtab.models",
    "RiskModel": "trimtab.models",
    # errors (each maps to one exit code of the CLI)
    "TrimtabError": "trimtab.models",
    "DataError": "trimtab.models",
    "SpecError": "trimtab.constraints",
    "InfeasibleError": "trimtab.optimizer",
    "SolverFailedError": "trimtab.optimizer",
    "OutputError": "trimtab.optimizer",
    "ExportError": "trimtab.optimizer",
}
_SUBPACKAGES = ("models", "constraints", "optimizer")

__all__ = sorted([*_EXPORTS, *_SUBPACKAGES])

if TYPE_CHECKING:  # pragma: no cover — for editors and type checkers
    from trimtab.constraints import JobSpec, SpecError, load_job, loads_job
    from trimtab.models import DataError, MarketSnapshot, RiskModel, TrimtabError, load_snapshot, load_synthetic_sp500
    from trimtab.optimizer import (
        Diagnosis,
        Diagnostics,
        ExportError,
        InfeasibleError,
        OutputError,
        PreparedProblem,
        SolverFailedError,
        TargetPortfolio,
        diagnose,
        estimate_risk,
        load_market_data,
        optimize,
        prepare,
        read_run,
        write_run,
    )


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"trimtab.{name}")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'trimtab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
