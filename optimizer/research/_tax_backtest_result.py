"""The result of a tax-aware backtest: pre- and after-tax returns, taxes per rebalance, lots, trades.

Statistics (annualized with 252 trading days, as :mod:`._backtest_stats`):

* ``pre_tax_return`` / ``after_tax_return``: geometric annual return of the portfolio after
  trading costs, and of the after-tax NAV (the portfolio minus the cumulative net tax paid);
* ``tax_drag``: pre-tax minus after-tax annual return (negative when refunds lift the NAV);
* ``tax_alpha``: the tax-aware policy's after-tax annual return minus the tax-unaware one's —
  the difference of their pre-tax returns (their portfolios differ) minus that of their drags;
* ``liquidation_return``: the after-tax annual return had every lot been sold on the last day
  (the tax on the remaining embedded gains paid, losses refunded at their rates);
* ``tax_paid``, ``gains_realized``, ``losses_harvested``: sums over the rebalances, fractions of
  the starting NAV; ``unrealized_gain``: the gains embedded in the lots at the end, fraction of
  the final NAV;
* ``tracking_error``: realized, of the pre-tax daily returns against ``cap_weighted``;
  ``ex_ante_te``: the mean over rebalances of the TE of the weights held after the trade.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trimtab.models import TRADING_DAYS_PER_YEAR

from .. import write_files_atomically
from ._backtest_stats import (
    CSV_FLOAT_FORMAT,
    check_output_dir,
    cumulative_growth,
    max_drawdown,
)

#: The two policies, in column order.
POLICIES = ("tax_aware", "tax_unaware")

#: Columns of :meth:`TaxBacktestResult.summary`, in order.
TAX_SUMMARY_COLUMNS = (
    "pre_tax_return",
    "after_tax_return",
    "liquidation_return",
    "tax_drag",
    "tax_paid",
    "gains_realized",
    "losses_harvested",
    "unrealized_gain",
    "tracking_error",
    "ex_ante_te",
    "avg_turnover",
    "lots_sold",
    "max_drawdown",
)

#: Files written by :meth:`TaxBacktestResult.write`.
TAX_BACKTEST_FILES = ("returns.csv", "rebalances.csv", "lots.csv", "trades.csv", "summary.csv")


@dataclass(frozen=True)
class TaxBacktestResult:
    """A tax-aware backtest: the tax-aware and the tax-unaware policy, each with its own lots.

    Attributes
    ----------
    pre_tax : pd.DataFrame
        Daily simple returns after trading costs, before taxes (fractions), on the trading
        days after the first rebalance: ``tax_aware``, ``tax_unaware``, ``cap_weighted``.
    after_tax : pd.DataFrame
        Daily returns of the after-tax NAV: ``tax_aware``, ``tax_unaware``.
    rebalances : pd.DataFrame
        Indexed by (policy, date): ``nav`` (USD, before the trade), ``tax`` (USD; negative: a
        refund), short/long-term ``gains`` and ``losses``, ``net_realized_gain``,
        ``losses_harvested`` (USD), ``lots_sold``, ``blocked_buys`` / ``blocked_loss_sales``
        (assets the wash-sale look-back blocked), ``wash_sale_method`` and ``wash_sale_gap``
        (tax-aware), ``turnover`` (two-way), ``ex_ante_te``, ``cost`` (USD), ``status``,
        ``solve_seconds``, ``risk_seconds``, ``message``.
    lots : pd.DataFrame
        The lots held at the end, with a ``policy`` column.
    trades : pd.DataFrame
        Every trade, with a ``policy`` column (:data:`TRADE_LOG_COLUMNS` of the ledger).
    weights : dict of str to pd.DataFrame
        Per policy: rebalance dates × asset_id, the weights held after each trade.
    initial_lots : pd.DataFrame
        The lots both policies start from.
    start_nav : float
        Their market value at the first rebalance, USD.
    end_prices : pd.Series
        Prices on the last day (USD per share), for the liquidation value.
    end_date : pd.Timestamp
        The last day.
    rates : (float, float)
        Short- and long-term rates.
    long_term_days : int
        Held longer than this, a lot is long-term.
    lot_order : str
        The tax-unaware policy's lot rule (``fifo`` or ``min_tax``).
    tax_weight : float
        The tax's weight in the tax-aware objective.
    job_name, dataset, rebalance : str
    runtime_seconds, risk_free : float
    """

    pre_tax: pd.DataFrame
    after_tax: pd.DataFrame
    rebalances: pd.DataFrame
    lots: pd.DataFrame
    trades: pd.DataFrame
    weights: dict[str, pd.DataFrame]
    initial_lots: pd.DataFrame
    start_nav: float
    end_prices: pd.Series
    end_date: pd.Timestamp
    rates: tuple[float, float]
    long_term_days: int
    lot_order: str
    tax_weight: float
    job_name: str
    dataset: str
    rebalance: str
    runtime_seconds: float
    risk_free: float = 0.0

    # -- numbers ------------------------------------------------------------------------
    def liquidation_tax(self, policy: str) -> float:
        """The tax (USD) of selling every lot of ``policy`` on the last day, each at its term's rate."""
        lots = self.lots[self.lots["policy"] == policy]
        price = self.end_prices.reindex(lots["asset_id"]).to_numpy(dtype=float)
        gain = lots["shares"].to_numpy(dtype=float) * (price - lots["cost_basis"].to_numpy(dtype=float))
        held = (self.end_date - pd.to_datetime(lots["acquired"])).dt.days.to_numpy()
        short_rate, long_rate = self.rates
        return float(np.where(held > self.long_term_days, long_rate, short_rate) @ gain)

    def market_value(self, policy: str) -> float:
        """Market value of ``policy``'s lots on the last day, USD (the portfolio's NAV)."""
        lots = self.lots[self.lots["policy"] == policy]
        return float(lots["shares"].to_numpy(dtype=float) @ self.end_prices.reindex(lots["asset_id"]).to_numpy(dtype=float))

    def unrealized_gain(self, policy: str) -> float:
        """Gains embedded in ``policy``'s lots on the last day, USD (negative: a net loss)."""
        lots = self.lots[self.lots["policy"] == policy]
        price = self.end_prices.reindex(lots["asset_id"]).to_numpy(dtype=float)
        return float(lots["shares"].to_numpy(dtype=float) @ (price - lots["cost_basis"].to_numpy(dtype=float)))

    def summary(self) -> pd.DataFrame:
        """One row per policy, the columns of :data:`TAX_SUMMARY_COLUMNS` (fractions; ``lots_sold`` a count)."""
        days = TRADING_DAYS_PER_YEAR
        n = len(self.after_tax)
        rows = {}
        for policy in POLICIES:
            per_date = self.rebalances.loc[policy]
            after = self.after_tax[policy]
            final_wealth = self.start_nav * float((1.0 + after).prod())
            final_nav = self.market_value(policy)
            liquidated = final_wealth - self.liquidation_tax(policy)
            active = self.pre_tax[policy] - self.pre_tax["cap_weighted"]
            rows[policy] = {
                "pre_tax_return": _annual(self.pre_tax[policy], days),
                "after_tax_return": _annual(after, days),
                "liquidation_return": (liquidated / self.start_nav) ** (days / n) - 1.0,
                "tax_drag": _annual(self.pre_tax[policy], days) - _annual(after, days),
                "tax_paid": float(per_date["tax"].sum()) / self.start_nav,
                "gains_realized": float((per_date["short_term_gains"] + per_date["long_term_gains"]).sum()) / self.start_nav,
                "losses_harvested": float(per_date["losses_harvested"].sum()) / self.start_nav,
                "unrealized_gain": self.unrealized_gain(policy) / final_nav,
                "tracking_error": float(active.std(ddof=1) * np.sqrt(days)),
                "ex_ante_te": float(per_date["ex_ante_te"].mean()),
                "avg_turnover": float(per_date["turnover"].mean()),
                "lots_sold": int(per_date["lots_sold"].sum()),
                "max_drawdown": max_drawdown(after),
            }
        frame = pd.DataFrame.from_dict(rows, orient="index").loc[:, list(TAX_SUMMARY_COLUMNS)]
        frame.index.name = "policy"
        return frame

    def by_rebalance(self) -> pd.DataFrame:
        """Per (policy, date): tax, net realized gain, losses harvested (fractions of the NAV before the
        trade), lots sold, turnover and ex-ante TE."""
        r = self.rebalances
        return pd.DataFrame(
            {
                "tax": r["tax"] / r["nav"],
                "net_realized_gain": r["net_realized_gain"] / r["nav"],
                "losses_harvested": r["losses_harvested"] / r["nav"],
                "lots_sold": r["lots_sold"],
                "turnover": r["turnover"],
                "ex_ante_te": r["ex_ante_te"],
            }
        )

    @property
    def tax_alpha(self) -> float:
        """After-tax annual return of the tax-aware policy minus the tax-unaware one's (fraction)."""
        return _annual(self.after_tax["tax_aware"], TRADING_DAYS_PER_YEAR) - _annual(
            self.after_tax["tax_unaware"], TRADING_DAYS_PER_YEAR
        )

    def cumulative(self) -> pd.DataFrame:
        """Growth of 1 after tax (``tax_aware``, ``tax_unaware``) and before tax (``… pre-tax``, ``cap_weighted``)."""
        pre = self.pre_tax.rename(columns={p: f"{p} pre-tax" for p in POLICIES})
        return cumulative_growth(pd.concat([self.after_tax, pre], axis=1))

    # -- display ------------------------------------------------------------------------
    def describe(self) -> str:
        """One line: job, data, period, rebalances, the unaware lot rule, tax alpha, runtime."""
        days = self.after_tax.index
        kept = int(self.rebalances["status"].isin(["infeasible", "solver_failed"]).sum())
        return (
            f"{self.job_name} on {self.dataset}: {days[0].date()} to {days[-1].date()}, "
            f"{len(self.rebalances.loc['tax_aware'])} {self.rebalance} rebalances ({kept} kept drifted holdings), "
            f"tax-unaware lots {self.lot_order}; tax alpha {self.tax_alpha:+.2%} a year; {self.runtime_seconds:.1f} s"
        )

    def __repr__(self) -> str:
        return f"TaxBacktestResult({self.describe()})"

    def _repr_html_(self) -> str:
        table = format_tax_summary(self.summary()).to_html(escape=True)
        return f"<p><b>Tax-aware backtest</b> — {html.escape(self.describe())}</p>{table}"

    def write(self, out_dir: str | Path, force: bool = False) -> dict[str, Path]:
        """Write returns.csv, rebalances.csv, lots.csv, trades.csv and summary.csv into ``out_dir`` atomically.

        ``returns.csv`` has the after-tax columns ``tax_aware``, ``tax_unaware`` and the pre-tax
        ones ``tax_aware_pre_tax``, ``tax_unaware_pre_tax``, ``cap_weighted``.

        Raises
        ------
        DataError
            If ``out_dir`` already holds files and ``force`` is False, or cannot be written.
        """
        out_dir = Path(out_dir)
        check_output_dir(out_dir, force)
        pre = self.pre_tax.rename(columns={p: f"{p}_pre_tax" for p in POLICIES})
        frames = {
            "returns.csv": (pd.concat([self.after_tax, pre], axis=1), True),
            "rebalances.csv": (self.rebalances, True),
            "lots.csv": (self.lots.loc[:, ["policy", *[c for c in self.lots.columns if c != "policy"]]], False),
            "trades.csv": (self.trades.loc[:, ["policy", *[c for c in self.trades.columns if c != "policy"]]], False),
            "summary.csv": (self.summary(), True),
        }
        files = {
            name: frame.to_csv(index=index, float_format=CSV_FLOAT_FORMAT, lineterminator="\n", date_format="%Y-%m-%d").encode()
            for name, (frame, index) in frames.items()
        }
        return write_files_atomically(out_dir, files)


def _annual(returns: pd.Series, days: int) -> float:
    return float((1.0 + returns).prod() ** (days / len(returns)) - 1.0)


def format_tax_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as text: percentages for fractions, a count for ``lots_sold``."""
    text = {
        column: [
            "—" if not np.isfinite(v) else (f"{int(v)}" if column == "lots_sold" else f"{v:.2%}")
            for v in summary[column]
        ]
        for column in summary.columns
    }
    return pd.DataFrame(text, index=summary.index)
