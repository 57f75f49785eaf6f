"""Research workflow: backtests, frontiers, concentration monitoring, plots and HTML reports.

Everything here is built on the core's public API (``trimtab.optimizer``: ``prepare``,
``optimize``, ``read_run`` …) and ``trimtab.models``; nothing in the core imports this package,
and it does not import :mod:`trimtab.optimizer.export`.
"""

from ._frontier import SIDES as FRONTIER_SIDES
from ._frontier import Frontier, frontier, mag7_cap_frontier, tilt_frontier, turnover_frontier
from ._concentration import (
    concentration_over_time,
    concentration_table,
    drifted_weights,
    effective_n,
    equal_weights,
    group_weight,
    group_weight_over_time,
    hhi,
    relative_performance,
    return_contributions,
    sector_hhi,
    sector_weights,
    top_n_return_share,
    top_n_weight,
)

from ._monitor import CONCENTRATION_CSV, OVER_TIME_CSV, Monitor, monitor
from ._plots_portfolio import plot_active_weights, plot_sector_weights
from ._plots_research import plot_backtest, plot_concentration, plot_frontier
from ._risk_decomposition import RiskDecomposition, plot_risk_decomposition, risk_decomposition
from ._report import REPORT_FILE, render_report, write_report
from ._backtest import REBALANCE_FREQUENCIES, as_date, backtest, history_for_job, history_from_job
from ._backtest_stats import BacktestResult, check_output_dir, format_summary

__all__: list[str] = [
    "RiskDecomposition",
    "plot_active_weights",
    "plot_backtest",
    "plot_concentration",
    "plot_frontier",
    "plot_risk_decomposition",
    "plot_sector_weights",
    "risk_decomposition",
    "render_report",
    "write_report",
]
__all__ += [
    "CONCENTRATION_CSV",
    "FRONTIER_SIDES",
    "OVER_TIME_CSV",
    "REBALANCE_FREQUENCIES",
    "REPORT_FILE",
    "BacktestResult",
    "Monitor",
    "as_date",
    "backtest",
    "history_for_job",
    "history_from_job",
    "check_output_dir",
    "format_summary",
    "monitor",
]
__all__ += [
    "Frontier",
    "frontier",
    "mag7_cap_frontier",
    "tilt_frontier",
    "turnover_frontier",
    "concentration_over_time",
    "concentration_table",
    "drifted_weights",
    "effective_n",
    "equal_weights",
    "group_weight",
    "group_weight_over_time",
    "hhi",
    "relative_performance",
    "return_contributions",
    "sector_hhi",
    "sector_weights",
    "top_n_return_share",
    "top_n_weight",
]
