"""The market history a backtest walks: the embedded synthetic market, or the job's own files.

``source: embedded`` extends the synthetic market backward (:func:`trimtab.models.load_synthetic_history`);
``source: files`` reads the job's universe and (ragged) returns over years, with the benchmark
from ``data.benchmark.weights`` (point-in-time constituents) when given, else the universe's
``benchmark_weight``/``market_cap`` drifted back (:func:`trimtab.models.load_history`).
"""

from __future__ import annotations

import math

import pandas as pd

from trimtab import models
from trimtab.constraints import JobSpec
from trimtab.models import DataError, MarketHistory

#: Returns window (trading days) used to size the default history when the job's window is None.
DEFAULT_WINDOW_DAYS = 756


def history_for_job(job: JobSpec, start: pd.Timestamp, years: int | None = None) -> MarketHistory:
    """The market history of the job's data source.

    Parameters
    ----------
    job : JobSpec
        The job; its ``data`` section picks the source.
    start : pd.Timestamp
        First day of the backtest (sizes the synthetic history).
    years : int, optional
        Length of the synthetic history in years; with None it is long enough for
        ``start`` plus the risk model's window (and a year of margin). Ignored for files.

    Raises
    ------
    DataError
        Bad files (naming file, asset and date).
    """
    if job.data.source == "files":
        return history_from_job(job)
    if years is None:
        window = job.risk_model.window or DEFAULT_WINDOW_DAYS
        span = (models.SYNTHETIC_AS_OF - start).days / 365.25
        years = max(6, math.ceil(span + window / models.TRADING_DAYS_PER_YEAR) + 1)
    return models.load_synthetic_history(job.data.seed, years)


def history_from_job(job: JobSpec) -> MarketHistory:
    """A :class:`MarketHistory` from a ``source: files`` job (:func:`trimtab.models.load_history`).

    The job's ``universe`` and ``returns`` span the backtest and its risk window; the
    benchmark is ``data.benchmark.weights`` (point-in-time) when given, else the universe's
    weights or caps (also the starting book when the benchmark is an index return series,
    whose returns the backtest then tracks). A ``holdings`` file is not used: a backtest
    starts from the benchmark.

    Raises
    ------
    DataError
        A job that is not ``source: files``, or bad files.
    """
    spec = job.data
    if spec.source != "files":
        raise DataError(f"{job.source}: history_from_job needs a 'source: files' job, got {spec.source!r}")
    assert spec.universe is not None and spec.returns is not None  # enforced by DataSpec
    weights = None if spec.benchmark is None else spec.benchmark.weights  # None for an index return series
    return models.load_history(
        job.resolve(spec.universe),
        job.resolve(spec.returns),
        benchmark_weights=job.resolve(weights) if weights is not None else None,
    )
