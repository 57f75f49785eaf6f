"""The core path: job → data → risk model → compiled problem → verified target portfolio."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import models
from constraints import DataView, GroupWeight, JobSpec, UniverseInfo, load_job
from models import DataError, MarketSnapshot, RiskModel

from ._compiled import CompiledProblem, Solution, compiled_problem
from ._costs import expected_costs
from ._infeasibility import Diagnosis
from ._result import Diagnostics, TargetPortfolio

#: A name counts as held above this weight (fraction of NAV).
HELD_THRESHOLD = 1e-6


def as_job(job: JobSpec | str | Path) -> JobSpec:
    """A :class:`JobSpec` from a spec or a job-file path."""
    return job if isinstance(job, JobSpec) else load_job(job)


def load_market_data(job: JobSpec) -> MarketSnapshot:
    """The job's market data, with the job's named groups added, checked against the spec.

    Raises
    ------
    DataError
        Data files missing or malformed.
    SpecError
        A group, sector, asset or characteristic named in the job is not in the data.
    """
    spec = job.data
    if spec.source == "embedded":
        snapshot = models.load_synthetic_sp500(seed=spec.seed)
    else:
        assert spec.universe is not None and spec.returns is not None  # enforced by DataSpec
        snapshot = models.load_snapshot(
            job.resolve(spec.universe),
            job.resolve(spec.returns),
            job.resolve(spec.holdings) if spec.holdings else None,
        )
    return with_job_groups(job, snapshot)


def with_job_groups(job: JobSpec, snapshot: MarketSnapshot) -> MarketSnapshot:
    """Check the job's names against ``snapshot`` and add the job's named groups to it.

    Raises
    ------
    SpecError
        A group, sector, asset or characteristic named in the job is not in the data.
    """
    groups = job.data.groups
    job.check_universe(UniverseInfo.from_data(snapshot, extra_groups=tuple(groups)))
    if not groups:
        return snapshot
    return dataclasses.replace(snapshot, groups={**snapshot.groups, **{k: tuple(v) for k, v in groups.items()}})


def estimate_risk(job: JobSpec, snapshot: MarketSnapshot) -> RiskModel:
    """Fit the job's risk model on the trailing window of the snapshot's returns."""
    spec = job.risk_model
    styles = tuple(spec.styles) if spec.styles is not None else None
    try:
        if spec.method == "vendor":
            assert spec.exposures and spec.factor_covariance and spec.specific_risk  # enforced by RiskModelSpec
            vendor = models.load_vendor_risk_model(
                job.resolve(spec.exposures), job.resolve(spec.factor_covariance), job.resolve(spec.specific_risk),
                units=spec.units,
            )
            return vendor.reindexed(snapshot.asset_ids)
        return models.estimate_risk_model(snapshot, spec.method, window=spec.window, styles=styles, **spec.params)
    except DataError as err:
        raise DataError(f"{job.source}: risk_model ({spec.method}): {err}") from None


def optimize(
    job: JobSpec | str | Path,
    *,
    snapshot: MarketSnapshot | None = None,
    risk_model: RiskModel | None = None,
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

    Returns
    -------
    TargetPortfolio
        Verified weights and diagnostics.

    Raises
    ------
    SpecError, DataError, InfeasibleError, SolverFailedError
        Each naming what failed.
    """
    prepared = _prepare(job, snapshot, risk_model)
    solution = prepared.problem.solve(prepared.data, prepared.job.solver, allow_relaxation=prepared.job.allow_relaxation)
    return _target_portfolio(prepared, solution)


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
    prepared = _prepare(job, snapshot, risk_model)
    return prepared.problem.diagnose(prepared.data)


@dataclass(frozen=True)
class _Prepared:
    job: JobSpec
    data: DataView
    problem: CompiledProblem
    build_seconds: float
    risk_seconds: float


def _prepare(job: JobSpec | str | Path, snapshot: MarketSnapshot | None, risk_model: RiskModel | None) -> _Prepared:
    """Job, data, risk model and the compiled problem, timed."""
    job = as_job(job)
    snapshot = load_market_data(job) if snapshot is None else with_job_groups(job, snapshot)
    risk_seconds = 0.0
    if risk_model is None:
        started = time.perf_counter()
        risk_model = estimate_risk(job, snapshot)
        risk_seconds = time.perf_counter() - started
    risk_model = risk_model.reindexed(snapshot.asset_ids)
    started = time.perf_counter()
    universe = UniverseInfo.from_data(snapshot, risk_model)
    job.check_universe(universe)  # names only a risk model knows (factor_exposure on style:size)
    problem = compiled_problem(universe, risk_model.n_factors, job.effective_constraints, job.costs, job.cardinality)
    build_seconds = time.perf_counter() - started
    return _Prepared(job, DataView(snapshot, risk_model), problem, build_seconds, risk_seconds)


def _target_portfolio(prepared: _Prepared, solution: Solution) -> TargetPortfolio:
    job, data = prepared.job, prepared.data
    build_seconds, risk_seconds = prepared.build_seconds, prepared.risk_seconds
    snapshot, risk_model = data.snapshot, data.risk_model
    ids = snapshot.asset_ids
    w = solution.weights
    wb, w0 = data.benchmark, data.holdings
    active = w - wb
    factor_var, specific_var = risk_model.variance_split(active)
    sectors = pd.DataFrame(
        {
            "target": pd.Series(w, index=ids).groupby(snapshot.sectors).sum(),
            "benchmark": pd.Series(wb, index=ids).groupby(snapshot.sectors).sum(),
        }
    ).sort_index()
    sectors["active"] = sectors["target"] - sectors["benchmark"]
    groups = {name: data.group_mask(members) for name, members in snapshot.groups.items()}
    for constraint in job.constraints:
        if isinstance(constraint, GroupWeight) and constraint.group is None:
            groups[constraint.subject] = data.group_mask(constraint.members(data))
    chars = snapshot.characteristics.to_numpy(dtype=float)
    diagnostics = Diagnostics(
        status=solution.status,
        solver=solution.solver,
        solve_seconds=solution.seconds,
        build_seconds=build_seconds,
        risk_model_seconds=risk_seconds,
        tracking_error=float(np.sqrt(factor_var + specific_var)),
        factor_tracking_error=float(np.sqrt(factor_var)),
        specific_tracking_error=float(np.sqrt(specific_var)),
        active_share=float(0.5 * np.abs(active).sum()),
        turnover=float(np.abs(w - w0).sum()),
        names_held=int((w > HELD_THRESHOLD).sum()),
        groups={name: {"target": float(mask @ w), "benchmark": float(mask @ wb)} for name, mask in groups.items()},
        sectors=sectors,
        active_exposures=dict(zip(snapshot.characteristics.columns, (chars.T @ active).tolist())),
        constraints=solution.reports,
        attempts=solution.attempts,
        costs=expected_costs(data, job.costs, w) if job.costs is not None else None,
        cash=float(1.0 - w.sum()) if not prepared.problem.fully_invested else 0.0,
        cardinality=solution.cardinality,
    )
    return TargetPortfolio(
        weights=pd.Series(w, index=ids, name="target_weight"),
        benchmark=pd.Series(wb, index=ids, name="benchmark_weight"),
        holdings=pd.Series(w0, index=ids, name="current_weight"),
        sectors=snapshot.sectors,
        as_of=pd.Timestamp(snapshot.as_of),
        dataset=snapshot.dataset,
        job_name=job.name,
        job_sha256=job.sha256,
        risk_model=risk_model.name,
        diagnostics=diagnostics,
        job_source=str(Path(job.source).resolve()) if Path(job.source).is_file() else "",
    )
