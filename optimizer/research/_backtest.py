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

Ragged histories (names listing and delisting) and point-in-time benchmarks: at each
rebalance the universe is the names that trade that day (:meth:`MarketHistory.snapshot`).
A missing return counts as 0 in the accounting, so a position in a name that stopped
trading keeps its last value until the next rebalance, where it is sold: the optimizer sees
the other holdings scaled up to sum to 1 (the proceeds), the sale counts in turnover, and no
cost is charged on it (no rate for a name that no longer trades). The benchmark reference
is then the benchmark itself, day by day (``w_b(t−1) · r_t``), rather than a buy-and-hold;
the equal-weighted index is 1/m of the names that trade and may be held on each date.
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

from .. import (
    InfeasibleError,
    SolverFailedError,
    as_job,
    estimate_index_risk,
    estimate_risk,
    impact_rates,
    linear_rates,
    optimize,
    with_job_groups,
)
from ._backtest_accounting import buy_and_hold, linear_and_impact_cost, rebalance_schedule, simulate_policy
from ._backtest_history import DEFAULT_WINDOW_DAYS, history_for_job, history_from_job
from ._backtest_stats import BacktestResult, period_tracking_error

#: Rebalance frequencies accepted by :func:`backtest`.
REBALANCE_FREQUENCIES = ("monthly", "quarterly")

__all__ = ["DEFAULT_WINDOW_DAYS", "REBALANCE_FREQUENCIES", "BacktestResult", "backtest", "history_for_job", "history_from_job"]


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
    start_day, end_day = check_backtest_window(job, start, end, rebalance)
    if history is None:
        history = history_for_job(job, start_day, years)
    window = job.risk_model.window
    schedule = _schedule(history, start_day, end_day, rebalance, window)
    first, last = schedule[0], history.dates[history.position(end_day)]
    returns = history.returns.loc[first:last]
    ragged = bool(returns.isna().to_numpy().any())
    if ragged:
        returns = returns.fillna(0.0)  # a name that does not trade earns 0 (see the module docstring)
    benchmark = history.benchmark_weights_at(first).to_numpy()
    history.characteristics_on(schedule)  # every rebalance's characteristics in one pass; snapshots reuse them
    with_job_groups(job, history.snapshot(first, window))  # names checked before any solve

    rows: dict[pd.Timestamp, dict[str, object]] = {}
    cost_rates: dict[pd.Timestamp, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def optimized_target(date: pd.Timestamp, drifted: np.ndarray) -> np.ndarray | None:
        trading = history.trading_at(date).to_numpy()
        held = drifted if trading.all() else _sell_what_stopped_trading(drifted, trading)
        snapshot = history.snapshot(date, window, holdings=pd.Series(held[trading], index=history.asset_ids[trading]))
        risk_started = time.perf_counter()
        risk_model = estimate_risk(job, snapshot)
        index_risk = estimate_index_risk(job, snapshot, risk_model)
        risk_seconds = time.perf_counter() - risk_started
        data = DataView(snapshot, risk_model, index_risk)
        positions = history.asset_ids.get_indexer(snapshot.asset_ids)
        if job.costs is not None:
            cost_rates[date] = (positions, linear_rates(data, job.costs), impact_rates(data, job.costs))
        row: dict[str, object] = {"risk_seconds": risk_seconds, "message": ""}
        try:
            target = optimize(job, snapshot=snapshot, risk_model=risk_model)
        except (InfeasibleError, SolverFailedError) as error:
            status = "infeasible" if isinstance(error, InfeasibleError) else "solver_failed"
            row.update(status=status, solve_seconds=math.nan, ex_ante_te=math.sqrt(sum(data.tracking_variance(held[positions]))))
            row["message"] = str(error).splitlines()[0][:300]
            rows[date] = row
            return None
        d = target.diagnostics
        row.update(status=d.status, solve_seconds=d.solve_seconds, ex_ante_te=d.tracking_error)
        rows[date] = row
        full = np.zeros(len(history.asset_ids))
        full[positions] = target.weights.reindex(snapshot.asset_ids).to_numpy()
        return full

    def job_cost(date: pd.Timestamp, drifted: np.ndarray, target: np.ndarray) -> float:
        if job.costs is None:
            return 0.0
        positions, linear, impact = cost_rates[date]
        return linear_and_impact_cost(linear, impact, (target - drifted)[positions])

    # The loop's algebra is small (one rebalance's window and universe): one BLAS thread, so
    # BLAS's threads do not contend with each other or with other work on the cores.
    with models.blas_threads(models.small_problem_threads(window or len(history.dates), len(history.asset_ids))):
        optimized = simulate_policy(returns, schedule, benchmark, optimized_target, job_cost, name="optimized")
        equal_at = _equal_weights_by_date(job, history, ragged)
        equal_weighted = simulate_policy(
            returns, schedule, benchmark, lambda date, drifted: equal_at(date), job_cost, name="equal_weighted"
        )
    cap_weighted = cap_weighted_returns(job, history, returns, ragged=ragged)

    daily = pd.concat([optimized.returns, cap_weighted, equal_weighted.returns], axis=1)
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


def job_equal_weights(job: JobSpec, asset_ids: pd.Index, trading: np.ndarray | None = None) -> np.ndarray:
    """1/m on each of the m names the job may hold (not in a ``restricted`` list; trading, if given), 0 elsewhere."""
    restricted = {a for c in job.constraints if isinstance(c, Restricted) for a in c.assets}
    eligible = ~asset_ids.isin(sorted(restricted))
    if trading is not None:
        eligible &= trading
    return eligible / eligible.sum()


def _equal_weights_by_date(job: JobSpec, history: MarketHistory, ragged: bool):  # noqa: ANN202
    """``date -> weights`` of the equal-weighted index: fixed, or over the names trading on the date."""
    if not ragged:
        fixed = job_equal_weights(job, history.asset_ids)
        return lambda date: fixed
    return lambda date: job_equal_weights(job, history.asset_ids, history.trading_at(date).to_numpy())


def _sell_what_stopped_trading(drifted: np.ndarray, trading: np.ndarray) -> np.ndarray:
    """Drifted weights with positions in names that no longer trade sold at their last value, pro rata."""
    kept = np.where(trading, drifted, 0.0)
    total = kept.sum()
    if not total > 0:
        raise DataError("every name the portfolio holds has stopped trading; nothing is left to rebalance from")
    return kept * (drifted.sum() / total)


def cap_weighted_returns(job: JobSpec, history: MarketHistory, returns: pd.DataFrame, *, ragged: bool = False) -> pd.Series:
    """The reference column ``cap_weighted`` over ``returns``' days (its first day the first rebalance).

    The index the job tracks when its benchmark is a return series; the benchmark itself day
    by day when names list and delist (``ragged``) or its weights are point-in-time; else the
    first day's benchmark weights bought and held.
    """
    if job.data.benchmark is not None and job.data.benchmark.form == "returns":
        return _index_returns(job, returns.index[1:])
    if ragged or history.point_in_time_benchmark is not None:
        return _benchmark_returns(history, returns, name="cap_weighted")
    first = returns.index[0]
    return buy_and_hold(returns, first, history.benchmark_weights_at(first).to_numpy(), name="cap_weighted").returns


def _index_returns(job: JobSpec, days: pd.DatetimeIndex) -> pd.Series:
    """The daily returns of the index a job tracks (``data.benchmark.returns``) on ``days``.

    Raises
    ------
    DataError
        The index file has no return on some of the days (naming them).
    """
    spec = job.data.benchmark
    assert spec is not None and spec.returns is not None and spec.column is not None
    path = job.resolve(spec.returns)
    index = models.load_index_returns(path, spec.column).reindex(days)
    missing = days[index.isna().to_numpy()]
    if len(missing):
        shown = ", ".join(d.date().isoformat() for d in missing[:5])
        raise DataError(f"benchmark returns file {path}: no {spec.column!r} return on {len(missing)} backtest day(s), e.g. {shown}")
    return index.rename("cap_weighted")


def _benchmark_returns(history: MarketHistory, returns: pd.DataFrame, *, name: str) -> pd.Series:
    """Daily returns of the benchmark itself: ``w_b(t−1) · r_t`` (a missing return counting as 0)."""
    values = returns.to_numpy(dtype=float)
    days = returns.index
    daily = np.fromiter(
        (history.benchmark_weights_at(days[i]).to_numpy() @ values[i + 1] for i in range(len(days) - 1)),
        dtype=float, count=len(days) - 1,
    )
    return pd.Series(daily, index=days[1:], name=name)


def check_backtest_window(
    job: JobSpec, start: str | pd.Timestamp, end: str | pd.Timestamp, rebalance: str
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` as days, after the checks every backtest makes of its arguments.

    Raises
    ------
    DataError
        A job with a cash rule, an unknown ``rebalance``, bad dates or ``start`` not before ``end``.
    """
    if any(c.key == "cash" for c in job.constraints):
        raise DataError(f"{job.source}: backtest supports fully invested jobs only (remove the cash rule)")
    if rebalance not in REBALANCE_FREQUENCIES:
        raise DataError(f"rebalance must be one of {list(REBALANCE_FREQUENCIES)}, got {rebalance!r}")
    start_day, end_day = as_date(start, "start"), as_date(end, "end")
    if start_day >= end_day:
        raise DataError(f"start {start_day.date()} must be before end {end_day.date()}")
    return start_day, end_day


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
