"""Research workflow: backtests, frontiers, concentration monitoring, plots and HTML reports.

Everything here is built on the core's public API (``trimtab.optimizer``: ``prepare``,
``optimize``, ``read_run`` …) and ``trimtab.models``; nothing in the core imports this package,
and it does not import :mod:`trimtab.optimizer.export`.

Names are loaded on first use (PEP 562), so a frontier or a backtest does not import
matplotlib until a figure is drawn.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name → (this package's module that defines it, its name there).
_EXPORTS: dict[str, tuple[str, str]] = {
    "FRONTIER_SIDES": ("._frontier_rules", "SIDES"),
    "Frontier": ("._frontier", "Frontier"),
    "frontier": ("._frontier", "frontier"),
    "mag7_cap_frontier": ("._frontier", "mag7_cap_frontier"),
    "tilt_frontier": ("._frontier", "tilt_frontier"),
    "turnover_frontier": ("._frontier", "turnover_frontier"),
    "concentration_over_time": ("._concentration", "concentration_over_time"),
    "concentration_table": ("._concentration", "concentration_table"),
    "drifted_weights": ("._concentration", "drifted_weights"),
    "effective_n": ("._concentration", "effective_n"),
    "equal_weights": ("._concentration", "equal_weights"),
    "group_weight": ("._concentration", "group_weight"),
    "group_weight_over_time": ("._concentration", "group_weight_over_time"),
    "hhi": ("._concentration", "hhi"),
    "relative_performance": ("._concentration", "relative_performance"),
    "return_contributions": ("._concentration", "return_contributions"),
    "sector_hhi": ("._concentration", "sector_hhi"),
    "sector_weights": ("._concentration", "sector_weights"),
    "top_n_return_share": ("._concentration", "top_n_return_share"),
    "top_n_weight": ("._concentration", "top_n_weight"),
    "CONCENTRATION_CSV": ("._monitor", "CONCENTRATION_CSV"),
    "OVER_TIME_CSV": ("._monitor", "OVER_TIME_CSV"),
    "Monitor": ("._monitor", "Monitor"),
    "monitor": ("._monitor", "monitor"),
    "plot_active_weights": ("._plots_portfolio", "plot_active_weights"),
    "plot_sector_weights": ("._plots_portfolio", "plot_sector_weights"),
    "plot_backtest": ("._plots_research", "plot_backtest"),
    "plot_concentration": ("._plots_research", "plot_concentration"),
    "plot_frontier": ("._plots_research", "plot_frontier"),
    "RiskDecomposition": ("._risk_decomposition", "RiskDecomposition"),
    "plot_risk_decomposition": ("._risk_decomposition", "plot_risk_decomposition"),
    "risk_decomposition": ("._risk_decomposition", "risk_decomposition"),
    "REPORT_FILE": ("._report", "REPORT_FILE"),
    "render_report": ("._report", "render_report"),
    "write_report": ("._report", "write_report"),
    "REBALANCE_FREQUENCIES": ("._backtest", "REBALANCE_FREQUENCIES"),
    "as_date": ("._backtest", "as_date"),
    "backtest": ("._backtest", "backtest"),
    "history_for_job": ("._backtest", "history_for_job"),
    "history_from_job": ("._backtest", "history_from_job"),
    "BacktestResult": ("._backtest_stats", "BacktestResult"),
    "DEFAULT_GAIN_BUDGETS": ("._tax_frontier", "DEFAULT_GAIN_BUDGETS"),
    "gain_budget_frontier": ("._tax_frontier", "gain_budget_frontier"),
    "LOT_ORDERS": ("._tax_backtest", "LOT_ORDERS"),
    "tax_backtest": ("._tax_backtest", "tax_backtest"),
    "TAX_BACKTEST_FILES": ("._tax_backtest_result", "TAX_BACKTEST_FILES"),
    "TaxBacktestResult": ("._tax_backtest_result", "TaxBacktestResult"),
    "format_tax_summary": ("._tax_backtest_result", "format_tax_summary"),
    "LotLedger": ("._lot_ledger", "LotLedger"),
    "TRADE_LOG_COLUMNS": ("._lot_ledger", "TRADE_LOG_COLUMNS"),
    "plot_tax_backtest": ("._plots_tax", "plot_tax_backtest"),
    "check_output_dir": ("._backtest_stats", "check_output_dir"),
    "format_summary": ("._backtest_stats", "format_summary"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the module that defines the public ``name`` on first use, and keep the value."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(module, __name__), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
