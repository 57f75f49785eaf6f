"""Research workflow: backtests, frontiers, concentration monitoring, plots and HTML reports.

Everything here is built on the public core (``optimizer.optimize``, ``models``); nothing in
``optimizer``'s core imports this package.
"""

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

from ._plots_portfolio import plot_active_weights, plot_risk_decomposition, plot_sector_weights
from ._plots_research import plot_backtest, plot_concentration, plot_frontier
from ._risk_decomposition import RiskDecomposition, risk_decomposition
from ._report import render_report, write_report
from ._backtest import BacktestResult, backtest

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
__all__ += ["BacktestResult", "backtest"]
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
