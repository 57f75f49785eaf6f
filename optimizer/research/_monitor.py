"""The concentration monitor: the benchmark, a run's target and equal weight side by side.

:func:`monitor` reads a job file, a run directory or nothing (the embedded dataset) and
measures each portfolio's concentration (top-N shares, HHI, effective N, sector HHI, group
weights), the benchmark's concentration over the data's history, and each named group's
return against the rest of the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trimtab import models
from trimtab.models import DataError, MarketSnapshot

from .. import as_job, load_market_data, read_run
from ._concentration import concentration_over_time, concentration_table, equal_weights, relative_performance

#: Files the monitor writes.
CONCENTRATION_CSV = "concentration.csv"
OVER_TIME_CSV = "concentration_over_time.csv"


@dataclass(frozen=True)
class Monitor:
    """Concentration figures of one data set.

    Attributes
    ----------
    snapshot : MarketSnapshot
        The data measured.
    table : pd.DataFrame
        One row per portfolio (``benchmark``, ``target`` when a run was given, ``equal_weight``).
    over_time : pd.DataFrame
        The benchmark drifted back over the data's history, month ends.
    relative : dict of str to pd.Series
        Per named group, the last ``window`` days' ``group``, ``rest`` and ``relative`` return.
    default_dir : Path
        Where the files go unless told: the run directory, the job's ``output.dir``, or ``out/``.
    """

    snapshot: MarketSnapshot
    table: pd.DataFrame
    over_time: pd.DataFrame
    relative: dict[str, pd.Series]
    default_dir: Path

    def files(self) -> dict[str, bytes]:
        """``concentration.csv`` and ``concentration_over_time.csv`` as bytes."""
        return {
            CONCENTRATION_CSV: self.table.to_csv(float_format="%.10g").encode(),
            OVER_TIME_CSV: self.over_time.to_csv(float_format="%.10g").encode(),
        }


def monitor(source: Path | None, *, window: int = 252, top: int = 10) -> Monitor:
    """Measure concentration for a job file, a run directory or (``None``) the embedded data.

    Parameters
    ----------
    source : path, optional
        A job file or a run directory written by ``trimtab optimize``.
    window : int
        Trading days of returns for the return shares.
    top : int
        How many of the largest names count as the top.

    Raises
    ------
    OutputError, SpecError, DataError
        Unreadable run or job; the run's weights do not match its job's data.
    """
    snapshot, portfolios, default_dir = monitor_inputs(source)
    args = (snapshot.returns, snapshot.sectors, snapshot.groups)
    table = concentration_table(portfolios, *args, top_n=top, window=window)
    over_time = concentration_over_time(snapshot.benchmark_weights, *args, top_n=top)
    relative = {
        g: relative_performance(snapshot.benchmark_weights, snapshot.returns, members, window=window).iloc[-1]
        for g, members in snapshot.groups.items()
    }
    return Monitor(snapshot, table, over_time, relative, default_dir)


def monitor_inputs(source: Path | None) -> tuple[MarketSnapshot, dict[str, pd.Series], Path]:
    """(snapshot, portfolios, default output directory) for a job file, a run directory or nothing.

    Portfolios: ``benchmark``, ``target`` (a run directory's weights) and ``equal_weight``.

    Raises
    ------
    OutputError, SpecError, DataError
        Unreadable run or job; the run's weights do not match its job's data.
    """
    target = None
    if source is None:
        snapshot, out_dir = models.load_synthetic_sp500(), Path("out")
    elif source.is_dir():
        run = read_run(source)
        snapshot, out_dir = load_market_data(run.job()), source
        if pd.Timestamp(snapshot.as_of) != run.as_of:
            raise DataError(f"{source}: the run is as of {run.as_of.date()}, its job's data of {snapshot.as_of.date()}")
        ids = snapshot.asset_ids
        unknown = run.weights.index.difference(ids)
        if len(unknown):
            raise DataError(f"{source}: target weights for asset(s) not in the data: {list(unknown[:10])}")
        target = run.weights.reindex(ids, fill_value=0.0).rename("target")
    else:
        job = as_job(source)
        snapshot = load_market_data(job)
        out_dir = job.resolve(job.output.dir) if job.output.dir else Path("out")
    portfolios = {"benchmark": snapshot.benchmark_weights}
    if target is not None:
        portfolios["target"] = target
    portfolios["equal_weight"] = equal_weights(snapshot.asset_ids)
    return snapshot, portfolios, out_dir
