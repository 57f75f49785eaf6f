"""The everyday entry points: a job end to end (:func:`optimize`) or its feasibility (:func:`diagnose`).

Both chain :func:`prepare` (job → data → risk model → compiled problem) and one solve or
check; keep the :class:`PreparedProblem` yourself to re-solve without recompiling.
"""

from __future__ import annotations

from pathlib import Path

from trimtab.constraints import JobSpec
from trimtab.models import MarketSnapshot, RiskModel, TaxLots

from ._infeasibility import Diagnosis
from ._prepared import prepare
from ._result import TargetPortfolio


def optimize(
    job: JobSpec | str | Path,
    *,
    snapshot: MarketSnapshot | None = None,
    risk_model: RiskModel | None = None,
    lots: TaxLots | None = None,
) -> TargetPortfolio:
    """Run a job end to end: the minimum-tracking-error portfolio that obeys every rule.

    Parameters
    ----------
    job : JobSpec or path
        A job spec, or the path of a YAML job file.
    snapshot : MarketSnapshot, optional
        Market data to use instead of the job's ``data`` section.
    risk_model : RiskModel, optional
        Risk model to use instead of estimating the job's ``risk_model``.
    lots : TaxLots, optional
        Tax lots to use instead of the job's ``taxes`` files (or synthetic lots).

    Returns
    -------
    TargetPortfolio
        Verified weights and diagnostics.

    Raises
    ------
    SpecError, DataError, InfeasibleError, SolverFailedError
        Each naming what failed.
    """
    return prepare(job, snapshot=snapshot, risk_model=risk_model, lots=lots).solve(one_shot=True)


def diagnose(
    job: JobSpec | str | Path,
    *,
    snapshot: MarketSnapshot | None = None,
    risk_model: RiskModel | None = None,
) -> Diagnosis:
    """Check whether a job's constraints can all hold; if not, name an irreducible conflict.

    Parameters are those of :func:`optimize`. Returns a :class:`Diagnosis` whose
    ``conflict`` lists the rules that cannot hold together and, for each, the bound that
    would make the job feasible with every other rule unchanged.
    """
    return prepare(job, snapshot=snapshot, risk_model=risk_model).diagnose()


