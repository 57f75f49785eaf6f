"""Backtest a job: re-solve at each rebalance on the data known then, from drifted holdings.

At each rebalance date (the last trading day of each month or quarter) the job's risk model
is refitted on the trailing window, the job is solved on that date's snapshot (benchmark,
caps and characteristics of the date; holdings = the policy's drifted weights) through the
cached compiled problem — compiled once, re-solved through its parameters — and the job's
trading costs are charged. Two reference policies run alongside on the same days: the
cap-weighted benchmark (bought at the first rebalance and held: it drifts like the index)
and the equal-weighted index (reset to 1/n of the names the job may hold at each rebalance,
charged the same cost model). All three start from the benchmark's weights at the close of
the first rebalance date. Accounting conventions: :mod:`._backtest_accounting`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trimtab import models
from trimtab.constraints import DataView, JobSpec, Restricted
from trimtab.models import DataError, MarketHistory

from .. import InfeasibleError, SolverFailedError, as_job, estimate_risk, impact_rates, linear_rates, optimize, with_job_groups
from ._backtest_accounting import buy_and_hold, linear_and_impact_cost, rebalance_schedule, simulate_policy
from ._backtest_stats import BacktestResult, period_tracking_error

#: Rebalance frequencies accepted by :func:`backtest`.
REBALANCE_FREQUENCIES = ("monthly", "quarterly")

#: Returns window (trading days) used to size the default history when the job's window is None.
DEFAULT_WINDOW_DAYS = 756

__all__ = ["REBALANCE_FREQUENCIES", "BacktestResult", "backtest", "history_for_job"]


def backtest(
    job: JobSpec | str | Path,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    rebalance: str = "monthly",
    *,
    history: MarketHistory | None = None,
    risk_free: float = 0.0,
    years: int | None = None,
) -> BacktestResult:
    """Backtest a job against the cap-weighted and the equal-weighted index.

    Parameters
    ----------
    job : JobSpec or path
        The job (constraints, risk model, costs); its ``data`` section picks the history
        unless ``history`` is given.
    start, end : date or "YYYY-MM-DD"
        Window of the backtest; rebalances on the last trading day of each period in it,
        daily returns from the day after the first rebalance to ``end``.
    rebalance : {"monthly", "quarterly"}
        Rebalance frequency.
    history : MarketHistory, optional
        Market history to walk (e.g. real data); default: :func:`history_for_job`.
    risk_free : float
        Annual risk-free rate (fraction) for the Sharpe ratios.
    years : int, optional
        Length of the default synthetic history (years); enough for ``start`` and the risk
        model's window when None.

    Returns
    -------
    BacktestResult
        Daily net returns of the three policies, one row per rebalance, the target
        weights and :meth:`BacktestResult.summary`.

    Raises
    ------
    DataError
        Bad dates, a window that does not fit the history (naming the date), a data source
        without a history, a job with a cash rule, or bad market data.
    SpecError
        The job names an asset, group, sector or characteristic the history lacks.
    """
    started = time.perf_counter()
    job = as_job(job)
    if any(c.key == "cash" for c in job.constraints):
        raise DataError(f"{job.source}: backtest supports fully invested jobs only (remove the cash rule)")
    if rebalance not in REBALANCE_FREQUENCIES:
        raise DataError(f"rebalance must be one of {list(REBALANCE_FREQUENCIES)}, got {rebalance!r}")
    start_day, end_day = as_date(start, "start"), as_date(end, "end")
    if start_day >= end_day:
        raise DataError(f"start {start_day.date()} must be before end {end_day.date()}")
    if history is None:
        history = history_for_job(job, start_day, years)
    window = job.risk_model.window
    schedule = _schedule(history, start_day, end_day, rebalance, window)
    first, last = schedule[0], history.dates[history.position(end_day)]
    returns = history.returns.loc[first:last]
    benchmark = history.benchmark_weights_at(first).to_numpy()
    with_job_groups(job, history.snapshot(first, window))  # names checked before any solve

    rows: dict[pd.Timestamp, dict[str, object]] = {}
    cost_rates: dict[pd.Timestamp, tuple[np.ndarray, np.ndarray]] = {}

    def optimized_target(date: pd.Timestamp, drifted: np.ndarray) -> np.ndarray | None:
        snapshot = history.snapshot(date, window, holdings=pd.Series(drifted, index=history.asset_ids))
        risk_started = time.perf_counter()
        risk_model = estimate_risk(job, snapshot)
        risk_seconds = time.perf_counter() - risk_started
        data = DataView(snapshot, risk_model)
        if job.costs is not None:
            cost_rates[date] = (linear_rates(data, job.costs), impact_rates(data, job.costs))
        row: dict[str, object] = {"risk_seconds": risk_seconds, "message": ""}
        try:
            target = optimize(job, snapshot=snapshot, risk_model=risk_model)
        except (InfeasibleError, SolverFailedError) as error:
            status = "infeasible" if isinstance(error, InfeasibleError) else "solver_failed"
            active = drifted - data.benchmark
            row.update(status=status, solve_seconds=math.nan, ex_ante_te=risk_model.volatility(active))
            row["message"] = str(error).splitlines()[0][:300]
            rows[date] = row
            return None
        d = target.diagnostics
        row.update(status=d.status, solve_seconds=d.solve_seconds, ex_ante_te=d.tracking_error)
        rows[date] = row
        return target.weights.to_numpy()

    def job_cost(date: pd.Timestamp, drifted: np.ndarray, target: np.ndarray) -> float:
        if job.costs is None:
            return 0.0
        return linear_and_impact_cost(*cost_rates[date], target - drifted)

    optimized = simulate_policy(returns, schedule, benchmark, optimized_target, job_cost, name="optimized")
    equal = job_equal_weights(job, history.asset_ids)
    equal_weighted = simulate_policy(
        returns, schedule, benchmark, lambda date, drifted: equal, job_cost, name="equal_weighted"
    )
    cap_weighted = buy_and_hold(returns, first, benchmark, name="cap_weighted")

    daily = pd.concat([optimized.returns, cap_weighted.returns, equal_weighted.returns], axis=1)
    daily.index.name = "date"
    records = pd.DataFrame.from_dict(rows, orient="index")
    rebalances = pd.DataFrame(
        {
            "turnover": optimized.turnover,
            "cost": optimized.cost,
            "ex_ante_te": records["ex_ante_te"].astype(float),
            "realized_te": period_tracking_error(daily["optimized"], daily["cap_weighted"], schedule),
            "status": records["status"],
            "solve_seconds": records["solve_seconds"].astype(float),
            "risk_seconds": records["risk_seconds"].astype(float),
            "eq_turnover": equal_weighted.turnover,
            "eq_cost": equal_weighted.cost,
            "message": records["message"],
        },
        index=schedule,
    )
    rebalances.index.name = "date"
    weights = optimized.targets.copy()
    weights.index.name, weights.columns.name = "date", "asset_id"
    return BacktestResult(
        returns=daily,
        rebalances=rebalances,
        weights=weights,
        job_name=job.name or Path(job.source).stem,
        dataset=history.dataset,
        rebalance=rebalance,
        runtime_seconds=time.perf_counter() - started,
        risk_free=risk_free,
    )


def history_for_job(job: JobSpec, start: pd.Timestamp, years: int | None = None) -> MarketHistory:
    """The market history of the job's data source: the embedded synthetic market, extended back.

    With ``years`` None the history is long enough for ``start`` plus the risk model's
    window (and a year of margin).

    Raises
    ------
    DataError
        For ``source: files``: one snapshot is not a history (pass ``history=`` instead).
    """
    if job.data.source != "embedded":
        raise DataError(
            f"{job.source}: data source {job.data.source!r} is a single snapshot, not a history; "
            "backtest the embedded data, or from Python pass history=models.MarketHistory(...)"
        )
    if years is None:
        window = job.risk_model.window or DEFAULT_WINDOW_DAYS
        span = (models.SYNTHETIC_AS_OF - start).days / 365.25
        years = max(6, math.ceil(span + window / models.TRADING_DAYS_PER_YEAR) + 1)
    return models.load_synthetic_history(job.data.seed, years)


def job_equal_weights(job: JobSpec, asset_ids: pd.Index) -> np.ndarray:
    """1/m on each of the m names the job may hold (not in a ``restricted`` list), 0 elsewhere."""
    restricted = {a for c in job.constraints if isinstance(c, Restricted) for a in c.assets}
    eligible = ~asset_ids.isin(sorted(restricted))
    return eligible / eligible.sum()


def as_date(value: str | pd.Timestamp, name: str) -> pd.Timestamp:
    """A day from ``"YYYY-MM-DD"`` or a timestamp; DataError naming ``name`` and the text otherwise."""
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None
    if day is pd.NaT or pd.isna(day):
        raise DataError(f"{name}: {value!r} is not a date (YYYY-MM-DD)")
    return day.normalize()


def _schedule(
    history: MarketHistory, start: pd.Timestamp, end: pd.Timestamp, rebalance: str, window: int | None
) -> pd.DatetimeIndex:
    """Rebalance dates, after checking the window fits the history at the first one."""
    dates = history.dates
    if end > dates[-1] or start < dates[0]:
        raise DataError(
            f"backtest from {start.date()} to {end.date()} is outside the history "
            f"{history.dataset} ({dates[0].date()} to {dates[-1].date()})"
        )
    schedule = rebalance_schedule(dates, start, end, rebalance)
    first = schedule[0]
    available = history.position(first) + 1
    if window is not None and available < window:
        raise DataError(
            f"the first rebalance {first.date()} has {available} trading days of history "
            f"(from {dates[0].date()}); the risk model's {window}-day window does not fit: "
            "start later or use a longer history (--years)"
        )
    return schedule
