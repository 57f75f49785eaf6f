"""Figures of a tax-aware backtest: after-tax growth of the two policies and the tax each paid."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._backtest_stats import cumulative_growth
from ._plots import BENCHMARK_COLOR, axes_grid_or_new, percent_axis
from ._tax_backtest_result import POLICIES, TaxBacktestResult

#: Colors of the two policies.
POLICY_COLORS = {"tax_aware": "#2ca02c", "tax_unaware": "#d62728"}


def plot_tax_backtest(result: TaxBacktestResult, axes: Sequence[Axes] | None = None) -> Figure:
    """After-tax growth of 1 for both policies (pre-tax dashed) and, below, the cumulative tax paid.

    Parameters
    ----------
    result : TaxBacktestResult
        A :func:`tax_backtest` result.
    axes : two matplotlib Axes, optional
        Growth panel and tax panel; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        Top: ``cumprod(1 + r)`` of the after-tax returns of ``tax_aware`` and ``tax_unaware``
        (solid), of their pre-tax returns (dashed) and of ``cap_weighted`` (grey); the title
        gives the tax alpha. Bottom: the cumulative net tax each policy paid (fraction of the
        starting NAV, a step at each rebalance; below 0: refunds from harvested losses).
    """
    figure, (top, bottom) = axes_grid_or_new(axes, 2, (10.0, 7.0), sharex=True)
    after, pre = cumulative_growth(result.after_tax), cumulative_growth(result.pre_tax)
    for policy in POLICIES:
        color = POLICY_COLORS[policy]
        top.plot(after.index, after[policy].to_numpy(), color=color, label=f"{policy} after tax")
        top.plot(pre.index, pre[policy].to_numpy(), color=color, linestyle="--", alpha=0.7, label=f"{policy} pre-tax")
    top.plot(pre.index, pre["cap_weighted"].to_numpy(), color=BENCHMARK_COLOR, label="cap_weighted (untaxed)")
    top.set_ylabel("growth of 1")
    top.set_title(f"After-tax growth — tax alpha {result.tax_alpha:+.2%} a year (lots of the unaware run: {result.lot_order})")
    top.legend()
    top.grid(alpha=0.3)
    for policy in POLICIES:
        tax = result.rebalances.loc[policy, "tax"] / result.start_nav
        paid = tax.cumsum().reindex(result.after_tax.index.union(tax.index)).ffill().fillna(0.0)
        bottom.step(paid.index, paid.to_numpy(), where="post", color=POLICY_COLORS[policy], label=policy)
    bottom.axhline(0.0, color="black", linewidth=0.8, linestyle="--")
    percent_axis(bottom.yaxis)
    bottom.set_ylabel("cumulative tax paid (of starting NAV)")
    bottom.set_title("Net tax paid (below 0: refunds from harvested losses)")
    bottom.legend()
    bottom.grid(alpha=0.3)
    return figure

