"""Compile, solve and verify the minimum-tracking-error problem; report and write results.

Notebook use::

    import optimizer
    result = optimizer.optimize("examples/mag7_value_quality.yaml")
    result            # renders as tables in Jupyter
    result.to_frame() # per-asset weights
"""

from constraints import SpecError
from models import DataError, TrimtabError

from ._compiled import OBJECTIVE_SCALE, VERIFY_TOLERANCE, CompiledProblem, Solution, compiled_problem
from ._errors import ExportError, InfeasibleError, SolverFailedError
from ._infeasibility import ConflictMember, Diagnosis
from ._output import render_summary_json, render_targets_csv, write_run
from ._result import ConstraintReport, Diagnostics, TargetPortfolio
from ._run import diagnose, estimate_risk, load_market_data, optimize

__all__ = [
    "OBJECTIVE_SCALE",
    "VERIFY_TOLERANCE",
    "CompiledProblem",
    "ConflictMember",
    "ConstraintReport",
    "DataError",
    "ExportError",
    "Diagnosis",
    "Diagnostics",
    "InfeasibleError",
    "Solution",
    "SolverFailedError",
    "SpecError",
    "TargetPortfolio",
    "TrimtabError",
    "compiled_problem",
    "diagnose",
    "estimate_risk",
    "load_market_data",
    "optimize",
    "render_summary_json",
    "render_targets_csv",
    "write_run",
]
