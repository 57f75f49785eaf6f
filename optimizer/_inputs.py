"""A job's inputs: the job file, its market data (checked against the job) and its risk model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
