"""Backtest results and their performance statistics (annualized with 252 trading days).

* annual return: geometric, ``(Π(1 + r))^{252/N} − 1``;
* volatility: ``std(r, ddof=1) · √252``;
* Sharpe: ``mean(r − r_f) / std(r − r_f) · √252`` with the daily risk-free rate
  ``(1 + rf)^{1/252} − 1`` from the annual ``rf``;
* max drawdown: the worst fall of the NAV from its running peak (≤ 0, fraction), the
  NAV starting at 1 before the first day;
* tracking error: ``std(r − r_b, ddof=1) · √252``; information ratio: the annualized mean
  active return ``252 · mean(r − r_b)`` over the tracking error (NaN when TE is 0).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trimtab.models import TRADING_DAYS_PER_YEAR, DataError

from .. import write_files_atomically

#: Policies of a backtest, in column order.
POLICIES = ("optimized", "cap_weighted", "equal_weighted")

#: Files written by :meth:`BacktestResult.write`.
BACKTEST_FILES = ("returns.csv", "rebalances.csv", "weights.csv", "summary.csv")

#: Float format of the CSV files (deterministic bytes for identical results).
CSV_FLOAT_FORMAT = "%.12g"

#: Columns of :func:`performance_summary`, in order.
SUMMARY_COLUMNS = (
    "annual_return",
    "volatility",
    "sharpe",
    "max_drawdown",
    "tracking_error",
    "information_ratio",
    "avg_turnover",
    "avg_cost",
)


def cumulative_growth(returns: pd.DataFrame) -> pd.DataFrame:
    """Growth of 1 invested before the first day: ``Π_{s ≤ t}(1 + r_s)`` per column (daily simple returns)."""
    return (1.0 + returns.astype(float)).cumprod()


def max_drawdown(returns: pd.Series) -> float:
    """Worst peak-to-trough fall of the NAV (≤ 0, fraction), starting from a NAV of 1."""
    wealth = pd.concat([pd.Series([1.0]), (1.0 + returns).cumprod()], ignore_index=True)
    return float((wealth / wealth.cummax() - 1.0).min())


def performance_summary(
    returns: pd.DataFrame,
    turnover: pd.DataFrame,
    cost: pd.DataFrame,
    *,
    benchmark: str = "cap_weighted",
    risk_free: float = 0.0,
) -> pd.DataFrame:
    """One row per policy (column of ``returns``), the columns of :data:`SUMMARY_COLUMNS`.

    Parameters
    ----------
    returns : pd.DataFrame
        Daily simple returns net of costs (fractions), one column per policy.
    turnover, cost : pd.DataFrame
        Per rebalance (rows) and policy (columns): two-way turnover and cost, fractions of
        NAV; a policy absent here has 0 (e.g. the buy-and-hold benchmark).
    benchmark : str
        Column the tracking error and information ratio are measured against.
    risk_free : float
        Annual risk-free rate (fraction) for the Sharpe ratio.

    Returns
    -------
    pd.DataFrame
        Fractions (returns, volatility, drawdown, TE, turnover and cost per rebalance) and
        ratios (Sharpe, IR), indexed by policy.
    """
    days = TRADING_DAYS_PER_YEAR
    n = len(returns)
    daily_risk_free = (1.0 + risk_free) ** (1.0 / days) - 1.0
    rows = {}
    for policy in returns.columns:
        r = returns[policy]
        excess = r - daily_risk_free
        active = r - returns[benchmark]
        te = float(active.std(ddof=1) * np.sqrt(days))
        rows[policy] = {
            "annual_return": float((1.0 + r).prod() ** (days / n) - 1.0),
            "volatility": float(r.std(ddof=1) * np.sqrt(days)),
            "sharpe": float(excess.mean() / excess.std(ddof=1) * np.sqrt(days)),
            "max_drawdown": max_drawdown(r),
            "tracking_error": te,
            "information_ratio": float(active.mean() * days / te) if te > 0 else float("nan"),
            "avg_turnover": float(turnover[policy].mean()) if policy in turnover else 0.0,
            "avg_cost": float(cost[policy].mean()) if policy in cost else 0.0,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index").loc[:, list(SUMMARY_COLUMNS)]
    frame.index.name = "policy"
    return frame


def period_tracking_error(
    returns: pd.Series, benchmark: pd.Series, rebalance_dates: pd.DatetimeIndex
) -> pd.Series:
    """Realized tracking error over each holding period (annualized fraction), by rebalance date.

    A period runs from the day after a rebalance to the next rebalance date (the last one
    to the end). NaN for a period of fewer than two days.
    """
    active = returns - benchmark
    # Day d is held with the weights of the last rebalance strictly before d.
    period = rebalance_dates.searchsorted(active.index, side="left") - 1
    realized = active.groupby(rebalance_dates[period]).std(ddof=1) * np.sqrt(TRADING_DAYS_PER_YEAR)
    return realized.reindex(rebalance_dates).rename("realized_te")


@dataclass(frozen=True)
class BacktestResult:
    """A backtest of one job against the cap-weighted and the equal-weighted index.

    Attributes
    ----------
    returns : pd.DataFrame
        Daily simple returns net of costs (fractions) on the trading days after the first
        rebalance; columns ``optimized``, ``cap_weighted``, ``equal_weighted``.
    rebalances : pd.DataFrame
        One row per rebalance date: ``turnover`` (two-way, fraction of NAV), ``cost``
        (fraction of NAV), ``ex_ante_te`` (annualized fraction, of the weights held after
        the rebalance under that date's risk model), ``realized_te`` (annualized fraction,
        over the following holding period), ``status`` (solver status, or ``infeasible`` /
        ``solver_failed`` when the drifted holdings were kept), ``solve_seconds``,
        ``risk_seconds`` (risk-model refit), ``eq_turnover`` and ``eq_cost`` (the
        equal-weighted index's), ``message`` (why a date was not solved).
    weights : pd.DataFrame
        Rebalance dates × asset_id: the optimized weights held after each rebalance.
    job_name, dataset, rebalance : str
        What was backtested, on which data, how often.
    runtime_seconds : float
        Wall-clock time of the backtest.
    risk_free : float
        Annual risk-free rate (fraction) used by the Sharpe ratios.
    """

    returns: pd.DataFrame
    rebalances: pd.DataFrame
    weights: pd.DataFrame
    job_name: str
    dataset: str
    rebalance: str
    runtime_seconds: float
    risk_free: float = 0.0

    def summary(self) -> pd.DataFrame:
        """Rows ``optimized``, ``cap_weighted``, ``equal_weighted``; the columns of :data:`SUMMARY_COLUMNS`.

        TE and IR are against ``cap_weighted``; turnover and cost are averages per
        rebalance (fractions of NAV; the cap-weighted index never trades).
        """
        r = self.rebalances
        turnover = pd.DataFrame({"optimized": r["turnover"], "equal_weighted": r["eq_turnover"]})
        cost = pd.DataFrame({"optimized": r["cost"], "equal_weighted": r["eq_cost"]})
        return performance_summary(self.returns, turnover, cost, risk_free=self.risk_free)

    def cumulative(self) -> pd.DataFrame:
        """Growth of 1 per policy, invested at the close of the first rebalance."""
        return cumulative_growth(self.returns)

    @property
    def n_infeasible(self) -> int:
        """Rebalance dates where no target was found and the drifted holdings were kept."""
        return int(self.rebalances["status"].isin(["infeasible", "solver_failed"]).sum())

    def describe(self) -> str:
        """One line: job, data, period, rebalances, infeasible dates, runtime."""
        days = self.returns.index
        return (
            f"{self.job_name} on {self.dataset}: {days[0].date()} to {days[-1].date()}, "
            f"{len(self.rebalances)} {self.rebalance} rebalances ({self.n_infeasible} kept drifted holdings), "
            f"{self.runtime_seconds:.1f} s"
        )

    def __repr__(self) -> str:
        return f"BacktestResult({self.describe()})"

    def _repr_html_(self) -> str:
        table = format_summary(self.summary()).to_html(escape=True)
        return f"<p><b>Backtest</b> — {html.escape(self.describe())}</p>{table}"

    def write(self, out_dir: str | Path, force: bool = False) -> dict[str, Path]:
        """Write returns.csv, rebalances.csv, weights.csv and summary.csv into ``out_dir`` atomically.

        Raises
        ------
        DataError
            If ``out_dir`` already holds files and ``force`` is False, or cannot be written.
        """
        out_dir = Path(out_dir)
        check_output_dir(out_dir, force)
        frames = {
            "returns.csv": self.returns,
            "rebalances.csv": self.rebalances,
            "weights.csv": self.weights,
            "summary.csv": self.summary(),
        }
        files = {
            name: frame.to_csv(float_format=CSV_FLOAT_FORMAT, lineterminator="\n", date_format="%Y-%m-%d").encode()
            for name, frame in frames.items()
        }
        return write_files_atomically(out_dir, files)


def check_output_dir(out_dir: Path, force: bool) -> None:
    """Refuse an existing, non-empty output directory unless ``force``."""
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise DataError(f"output directory {out_dir} is not empty; use --force (force=True) to overwrite its files")


def format_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as text: percentages for fractions, basis points for costs, two decimals for ratios."""
    ratios = {"sharpe", "information_ratio"}

    def cell(column: str, v: float) -> str:
        if not np.isfinite(v):
            return "—"
        if column in ratios:
            return f"{v:.2f}"
        return f"{v * 1e4:.1f} bp" if column == "avg_cost" else f"{v:.2%}"

    text = {column: [cell(column, v) for v in summary[column]] for column in summary.columns}
    return pd.DataFrame(text, index=summary.index)
