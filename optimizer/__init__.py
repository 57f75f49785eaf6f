"""Compile, solve and verify the minimum-tracking-error problem; report and write results.

This is the core floor: it imports :mod:`trimtab.constraints` and :mod:`trimtab.models` and
nothing above it. :mod:`trimtab.optimizer.export` (orders, FIX) and
:mod:`trimtab.optimizer.research` (frontiers, backtests, plots, reports) are built on the
public names below; :mod:`trimtab.optimizer.cli` sits on top of all three.

Names are loaded on first use (PEP 562): ``import trimtab.optimizer`` imports neither CVXPY
nor pandas, so ``trimtab --help`` starts in a blink; ``trimtab.optimizer.optimize`` (or
``from trimtab.optimizer import optimize``) imports the module that defines it.

Notebook use::

    import trimtab
    result = trimtab.optimize("examples/mag7_value_quality.yaml")
    result            # renders as tables in Jupyter
    result.to_frame() # per-asset weights

    prepared = trimtab.prepare("examples/mag7_value_quality.yaml")   # compile once …
    prepared.solve({"constraints[2].upper": 0.15})                    # … re-solve with a new bound
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name → the module that defines it (relative names are this package's own modules).
_EXPORTS: dict[str, str] = {
    # errors (re-exported from the floors below, so one import reaches every error class)
    "DataError": "trimtab.models",
    "TrimtabError": "trimtab.models",
    "SpecError": "trimtab.constraints",
    "ExportError": "._errors",
    "InfeasibleError": "._errors",
    "OutputError": "._errors",
    "SolverFailedError": "._errors",
    # CSV/terminal cell safety
    "FORMULA_TRIGGERS": "._cells",
    "neutralize_frame": "._cells",
    "neutralize_text": "._cells",
    "restore_text": "._cells",
    # the compiled problem
    "OBJECTIVE_SCALE": "._compiled",
    "ROUNDING_TOLERANCE": "._compiled",
    "VERIFY_TOLERANCE": "._compiled",
    "CompiledProblem": "._compiled",
    "compiled_problem": "._compile_cache",
    "impact_rates": "._costs",
    "linear_rates": "._costs",
    "ConflictMember": "._infeasibility",
    "Diagnosis": "._infeasibility",
    # inputs
    "as_job": "._inputs",
    "estimate_index_risk": "._inputs",
    "estimate_risk": "._inputs",
    "load_market_data": "._inputs",
    "with_job_groups": "._inputs",
    # writing files
    "directory_lock": "._output",
    "refuse_to_overwrite": "._output",
    "write_files_atomically": "._output",
    "write_new_files": "._output",
    # prepared problems and results
    "HELD_THRESHOLD": "._prepared",
    "PreparedProblem": "._prepared",
    "job_input_files": "._prepared",
    "prepare": "._prepared",
    "TIME_LIMIT_STATUS": "._result",
    "CardinalityReport": "._reports",
    "ConstraintReport": "._reports",
    "Diagnostics": "._result",
    "Solution": "._result",
    "TargetPortfolio": "._result",
    "diagnose": "._run",
    "optimize": "._run",
    "RunTarget": "._run_dir",
    "read_run": "._run_dir",
    "render_summary_json": "._run_dir",
    "render_targets_csv": "._run_dir",
    "write_run": "._run_dir",
    # taxes
    "LOTS_SOLD_FILE": "._run_dir",
    "render_lots_sold_csv": "._run_dir",
    "LOTS_SOLD_COLUMNS": "._tax_report",
    "TaxReport": "._tax_report",
    "WashSaleReport": "._tax_report",
    "rule_sales": "._tax_report",
    "tax_report": "._tax_report",
    "job_lot_book": "._tax_inputs",
    "load_tax_lots": "._tax_inputs",
    "EXACT_AUTO_MAX_ASSETS": "._taxes",
    "WASH_TOLERANCE": "._wash_sales",
    "TaxLayer": "._taxes",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover — for editors and type checkers; never run
    from trimtab.constraints import SpecError
    from trimtab.models import DataError, TrimtabError

    from ._cells import FORMULA_TRIGGERS, neutralize_frame, neutralize_text, restore_text
    from ._compile_cache import compiled_problem
    from ._compiled import OBJECTIVE_SCALE, ROUNDING_TOLERANCE, VERIFY_TOLERANCE, CompiledProblem
    from ._costs import impact_rates, linear_rates
    from ._errors import ExportError, InfeasibleError, OutputError, SolverFailedError
    from ._infeasibility import ConflictMember, Diagnosis
    from ._inputs import as_job, estimate_index_risk, estimate_risk, load_market_data, with_job_groups
    from ._output import directory_lock, refuse_to_overwrite, write_files_atomically, write_new_files
    from ._prepared import HELD_THRESHOLD, PreparedProblem, job_input_files, prepare
    from ._reports import CardinalityReport, ConstraintReport
    from ._result import TIME_LIMIT_STATUS, Diagnostics, Solution, TargetPortfolio
    from ._run import diagnose, optimize
    from ._run_dir import (
        LOTS_SOLD_FILE, RunTarget, read_run, render_lots_sold_csv, render_summary_json, render_targets_csv, write_run,
    )
    from ._tax_inputs import job_lot_book, load_tax_lots
    from ._tax_report import LOTS_SOLD_COLUMNS, TaxReport, WashSaleReport, rule_sales, tax_report
    from ._taxes import EXACT_AUTO_MAX_ASSETS, TaxLayer
    from ._wash_sales import WASH_TOLERANCE


def __getattr__(name: str) -> Any:
    """Import the module that defines the public ``name`` on first use, and keep the value."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
