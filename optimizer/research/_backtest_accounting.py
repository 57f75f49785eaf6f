"""Backtest accounting: hold, drift, rebalance, charge costs — pure functions of arrays.

Conventions (every policy, every day ``t``):

* weights ``w`` are fractions of NAV; ``1 − Σw`` (if any) is cash earning 0;
* the day's gross return is ``w_{t−1} · r_t`` and the weights drift with returns:
  ``w_t = w_{t−1} ∘ (1 + r_t) / (1 + w_{t−1} · r_t)``;
* a rebalance happens at the close of its date, after that day's drift: the policy moves
  from the drifted weights to its target; turnover is ``Σ |target − drifted|`` (two-way,
  fraction of NAV); the trade costs ``c`` (fraction of NAV), paid at that close;
* the cost is booked in the return of the first day the new weights are held:
  ``1 + r_net = (1 − c)(1 + w · r)`` — the NAV falls by ``c`` at the rebalance. This also
  books the first rebalance's cost, whose date precedes the first daily return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trimtab.models import DataError

#: ``target_at(date, drifted) -> target`` (fractions of NAV), or None to keep the drifted weights.
TargetRule = Callable[[pd.Timestamp, np.ndarray], "np.ndarray | None"]

#: ``cost_of(date, drifted, target) -> cost`` (fraction of NAV).
CostRule = Callable[[pd.Timestamp, np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class PolicyPath:
    """One policy simulated through a backtest.

    Attributes
    ----------
    returns : pd.Series
        Daily simple returns net of costs (fractions), on the trading days after the first
        rebalance.
    turnover : pd.Series
        Two-way turnover at each rebalance date, ``Σ |target − drifted|`` (fraction of NAV).
    cost : pd.Series
        Trading cost of each rebalance (fraction of NAV).
    pre_trade : pd.DataFrame
        Rebalance dates × assets: the drifted weights just before each rebalance.
    targets : pd.DataFrame
        Rebalance dates × assets: the weights held just after each rebalance.
    """

    returns: pd.Series
    turnover: pd.Series
    cost: pd.Series
    pre_trade: pd.DataFrame
    targets: pd.DataFrame


def drift(weights: np.ndarray, day_returns: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights after one day of returns, and the day's portfolio return.

    Parameters
    ----------
    weights : np.ndarray
        Weights at the previous close (fractions of NAV; any remainder is cash at 0).
    day_returns : np.ndarray
        The day's simple returns of the assets (fractions).

    Returns
    -------
    drifted : np.ndarray
        ``w ∘ (1 + r) / (1 + w · r)`` (fractions of the new NAV).
    portfolio_return : float
        ``w · r`` (fraction).
    """
    gross = float(weights @ day_returns)
    return weights * (1.0 + day_returns) / (1.0 + gross), gross


def simulate_policy(
    returns: pd.DataFrame,
    rebalance_dates: Sequence[pd.Timestamp],
    initial: np.ndarray,
    target_at: TargetRule,
    cost_of: CostRule | None = None,
    *,
    name: str = "policy",
) -> PolicyPath:
    """Run one policy from the first rebalance date to the last date of ``returns``.

    Parameters
    ----------
    returns : pd.DataFrame
        Daily simple returns (fractions), dates × assets, starting on (or before) the first
        rebalance date; the backtest ends on its last date.
    rebalance_dates : sequence of Timestamp
        Sorted dates of ``returns.index``; the first is where the policy starts.
    initial : np.ndarray
        Weights held at the close of the first rebalance date, before its trade.
    target_at : callable
        ``target_at(date, drifted)`` → target weights, or None to keep ``drifted`` (no trade).
    cost_of : callable, optional
        ``cost_of(date, drifted, target)`` → cost (fraction of NAV); no costs when None.
    name : str
        Name of the returned series.

    Returns
    -------
    PolicyPath
        Daily net returns, and turnover, cost, pre-trade and target weights per rebalance.
    """
    dates = returns.index
    positions = dates.get_indexer(pd.DatetimeIndex(rebalance_dates))
    if len(positions) == 0 or np.any(positions < 0) or np.any(np.diff(positions) <= 0):
        raise DataError("rebalance dates must be distinct trading days of the returns, sorted")
    values = returns.to_numpy(dtype=float)
    first = int(positions[0])
    weights = np.asarray(initial, dtype=float).copy()
    daily = np.empty(len(dates) - first - 1)
    pre_trade, targets, turnover, costs = [], [], [], []
    pending_cost = 0.0
    rebalance_at = set(positions.tolist())
    for i in range(first, len(dates)):
        if i > first:
            weights, gross = drift(weights, values[i])
            daily[i - first - 1] = (1.0 - pending_cost) * (1.0 + gross) - 1.0
            pending_cost = 0.0
        if i not in rebalance_at:
            continue
        date = dates[i]
        chosen = target_at(date, weights.copy())
        target = weights.copy() if chosen is None else np.asarray(chosen, dtype=float)
        cost = float(cost_of(date, weights, target)) if cost_of is not None else 0.0
        pre_trade.append(weights)
        targets.append(target)
        turnover.append(float(np.abs(target - weights).sum()))
        costs.append(cost)
        pending_cost = cost
        weights = target.copy()
    when = dates[positions]
    return PolicyPath(
        returns=pd.Series(daily, index=dates[first + 1 :], name=name),
        turnover=pd.Series(turnover, index=when, name="turnover"),
        cost=pd.Series(costs, index=when, name="cost"),
        pre_trade=pd.DataFrame(pre_trade, index=when, columns=returns.columns),
        targets=pd.DataFrame(targets, index=when, columns=returns.columns),
    )


def buy_and_hold(returns: pd.DataFrame, start: pd.Timestamp, weights: np.ndarray, *, name: str) -> PolicyPath:
    """A portfolio bought at the close of ``start`` and never traded (no cost)."""
    return simulate_policy(returns, [start], weights, lambda date, drifted: None, name=name)


def linear_and_impact_cost(linear_rates: np.ndarray, impact_rates: np.ndarray, trade: np.ndarray) -> float:
    """``Σ c_i |t_i| + Σ k_i |t_i|^{3/2}`` (fraction of NAV) for a trade ``t`` (fractions of NAV)."""
    traded = np.abs(np.asarray(trade, dtype=float))
    return float(linear_rates @ traded + impact_rates @ traded**1.5)


def rebalance_schedule(
    dates: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp, frequency: str
) -> pd.DatetimeIndex:
    """Last trading day of each month or quarter of ``dates`` within ``[start, end]``.

    The last trading day of the window is not a rebalance (no return would follow the
    trade). Periods are calendar months (``"monthly"``) or quarters (``"quarterly"``).

    Raises
    ------
    DataError
        Unknown frequency, or no rebalance date in the window.
    """
    periods = {"monthly": "M", "quarterly": "Q"}
    if frequency not in periods:
        raise DataError(f"rebalance must be 'monthly' or 'quarterly', got {frequency!r}")
    window = dates[(dates >= start) & (dates <= end)]
    if len(window) < 2:
        raise DataError(f"fewer than two trading days between {start.date()} and {end.date()}")
    labels = dates.to_period(periods[frequency])
    period_ends = pd.Series(dates, index=dates).groupby(labels).max()
    schedule = pd.DatetimeIndex(period_ends.to_numpy())
    schedule = schedule[(schedule >= start) & (schedule < window[-1])]
    if len(schedule) == 0:
        raise DataError(
            f"no {frequency} rebalance date (last trading day of a "
            f"{'month' if frequency == 'monthly' else 'quarter'}) between {start.date()} and {end.date()}"
        )
    return schedule.rename("date")
