"""A job's inputs: the job file, its market data (checked against the job) and its risk model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from trimtab import models
from trimtab.constraints import JobSpec, UniverseInfo, load_job
from trimtab.models import DataError, MarketSnapshot, RiskModel


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
        weights = spec.benchmark.weights if spec.benchmark is not None else None
        snapshot = models.load_snapshot(
            job.resolve(spec.universe),
            job.resolve(spec.returns),
            job.resolve(spec.holdings) if spec.holdings else None,
            benchmark_weights=job.resolve(weights) if weights else None,
            window=job.risk_model.window,  # "short history" is judged on the risk model's window
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


def estimate_index_risk(job: JobSpec, snapshot: MarketSnapshot, risk_model: RiskModel) -> models.BenchmarkRisk | None:
    """The benchmark's ``(x, y, κ)`` when the job tracks an index return series (``data.benchmark.returns``).

    The index is regressed on the risk model's own window of the snapshot's returns, with
    the estimator's observation weights (EWMA's halflife) and centering (``assume_centered``),
    so the tracking error is estimated consistently with the model (see
    :mod:`trimtab.models` ``_benchmark_risk``). ``None`` for constituent weights.

    Raises
    ------
    DataError
        The index file is unreadable, or misses dates of the window (naming file and dates).
    """
    spec = job.data.benchmark
    if spec is None or spec.form != "returns":
        return None
    assert spec.returns is not None and spec.column is not None  # enforced by BenchmarkSpec
    path = job.resolve(spec.returns)
    window = job.risk_model.window
    returns = snapshot.returns if window is None else snapshot.returns.iloc[-window:]
    weights, centered, cross_section = None, False, None
    if job.risk_model.method != "vendor":
        settings = models.RISK_MODEL_REGISTRY[job.risk_model.method].make_estimator(dict(job.risk_model.params)).get_params()
        if settings.get("halflife") is not None:  # EWMA: the same weights of the dates as the covariance
            weights = models.ewma_weights(len(returns), float(settings["halflife"]))
        centered = bool(settings.get("assume_centered", False))
        if "n_factors" in settings:  # PCA: its factors are plain projections
            cross_section = np.ones(len(returns.columns))
        elif "regression_weights" in settings:  # fundamental: its own cross-sectional weights
            caps = snapshot.market_caps.reindex(returns.columns).to_numpy(dtype=float)
            cross_section = {"sqrt_cap": np.sqrt(caps), "cap": caps}.get(settings["regression_weights"], np.ones_like(caps))
    index = models.load_index_returns(path, spec.column)
    try:
        risk = models.estimate_benchmark_risk(
            risk_model.reindexed(returns.columns), returns, index, observation_weights=weights,
            assume_centered=centered, cross_section_weights=cross_section,
            source=f"benchmark returns file {path}, column {spec.column!r}",
        )
    except DataError as err:
        raise DataError(f"{job.source}: data.benchmark: {err}") from None
    return risk.reindexed(tuple(snapshot.asset_ids))
