"""Compile, solve and verify the minimum-tracking-error problem; report and write results.

This is the core floor: it imports :mod:`trimtab.constraints` and :mod:`trimtab.models` and
nothing above it. :mod:`trimtab.optimizer.export` (orders, FIX) and
:mod:`trimtab.optimizer.research` (frontiers, backtests, plots, reports) are built on the
public names below; :mod:`trimtab.optimizer.cli` sits on top of all three.

Notebook use::

    import trimtab
    result = trimtab.optimize("examples/mag7_value_quality.yaml")
    result            # renders as tables in Jupyter
    result.to_frame() # per-asset weights

    prepared = trimtab.prepare("examples/mag7_value_quality.yaml")   # compile once …
    prepared.solve({"constraints[2].upper": 0.15})                    # … re-solve with a new bound
"""

from trimtab.constraints import SpecError
from trimtab.models import DataError, TrimtabError

from ._cells import FORMULA_TRIGGERS, neutralize_frame, neutralize_text, restore_text
from ._compiled import OBJECTIVE_SCALE, ROUNDING_TOLERANCE, VERIFY_TOLERANCE, CompiledProblem, compiled_problem
from ._costs import impact_rates, linear_rates
from ._errors import ExportError, InfeasibleError, OutputError, SolverFailedError
from ._infeasibility import ConflictMember, Diagnosis
from ._inputs import as_job, estimate_index_risk, estimate_risk, load_market_data, with_job_groups
from ._output import directory_lock, refuse_to_overwrite, write_files_atomically, write_new_files
from ._prepared import HELD_THRESHOLD, PreparedProblem, job_input_files, prepare
from ._result import TIME_LIMIT_STATUS, CardinalityReport, ConstraintReport, Diagnostics, Solution, TargetPortfolio
from ._run import diagnose, optimize
from ._run_dir import RunTarget, read_run, render_summary_json, render_targets_csv, write_run

__all__ = [
    "FORMULA_TRIGGERS",
    "HELD_THRESHOLD",
    "OBJECTIVE_SCALE",
    "ROUNDING_TOLERANCE",
    "TIME_LIMIT_STATUS",
    "VERIFY_TOLERANCE",
    "CardinalityReport",
    "CompiledProblem",
    "ConflictMember",
    "ConstraintReport",
    "DataError",
    "Diagnosis",
    "Diagnostics",
    "ExportError",
    "InfeasibleError",
    "OutputError",
    "PreparedProblem",
    "RunTarget",
    "Solution",
    "SolverFailedError",
    "SpecError",
    "TargetPortfolio",
    "TrimtabError",
    "as_job",
    "compiled_problem",
    "diagnose",
    "directory_lock",
    "estimate_index_risk",
    "estimate_risk",
    "impact_rates",
    "job_input_files",
    "linear_rates",
    "load_market_data",
    "neutralize_frame",
    "neutralize_text",
    "optimize",
    "prepare",
    "read_run",
    "refuse_to_overwrite",
    "render_summary_json",
    "render_targets_csv",
    "restore_text",
    "with_job_groups",
    "write_files_atomically",
    "write_new_files",
    "write_run",
]
