"""A tax-aware backtest: one account's tax lots carried through time, tax-aware against tax-unaware.

Two policies start from the same lots on the first rebalance date and re-solve the same job
at each rebalance (the last trading day of each month or quarter) on the data known then —
the risk model refitted on the trailing window, the benchmark, caps and characteristics of
the date, the holdings those of the policy's own lots at the day's prices:

* **tax_aware** solves the job with its ``taxes`` section and the current lots: the tax bill
  is in the objective and the lots sold are the optimizer's (specific identification); the
  wash-sale look-back sees the policy's own trades log (a buy, or a sale at a loss, within
  ``wash_sale_days``) and the lots bought within the window;
* **tax_unaware** solves the same job without its ``taxes`` section (and without its
  ``realized_gain`` / ``harvested_loss`` rules); its net sells are taken from the lots by a
  rule — ``fifo`` (oldest first, the broker default when no lot is named) or ``min_tax``
  (cheapest in tax first, about highest basis first) — and a loss on a lot of an asset
  bought within the window is disallowed (counts 0).

Each rebalance sells the chosen shares of each lot (a lot sold whole leaves the book) and
buys each asset as one new lot at the day's price (:class:`LotLedger`); the trade is
cash-neutral and the portfolio stays fully invested at its target.

**Taxes and NAV (the assumption).** Realized gains are taxed at their term's rate on the
trade date — short-term below ``long_term_days`` held, long-term above — and a net loss
refunds at its rate, as in the optimizer's model (as if it offset gains elsewhere in the
year; carry-forwards and the $3,000 limit are not modeled). The tax is settled in cash
outside the invested portfolio: the **after-tax NAV** is the portfolio's value minus the
cumulative net tax paid (a cash account at 0 %), booked, like trading costs, in the first
daily return after the trade. The **pre-tax** return is the portfolio's, after trading costs
(the job's ``costs``, settled the same way). The **tax alpha** is the tax-aware policy's
annualized after-tax return minus the tax-unaware one's. Harvesting losses lowers the basis
of what is held, so part of it is deferral: :meth:`TaxBacktestResult.summary` also gives the
*liquidation* return — after paying the tax on every lot as if all were sold on the last day.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trimtab import models
from trimtab.constraints import TAX_RULE_KEYS, DataView, JobSpec, TaxSpec, lot_rates
from trimtab.models import DataError, MarketHistory, TaxLots

from .. import (
    InfeasibleError,
    SolverFailedError,
    as_job,
    estimate_index_risk,
    estimate_risk,
    impact_rates,
    linear_rates,
    load_tax_lots,
    optimize,
    prepare,
    rule_sales,
    tax_report,
)
from ._backtest import _schedule, cap_weighted_returns, check_backtest_window
from ._backtest_accounting import linear_and_impact_cost, simulate_policy
from ._backtest_history import history_for_job
from ._lot_ledger import LotLedger
from ._tax_backtest_result import POLICIES, TaxBacktestResult

#: Lot rules for the tax-unaware policy's sells.
LOT_ORDERS = ("fifo", "min_tax")

#: Trades smaller than this (fraction of NAV) are not made: solver dust.
TRADE_DUST = 1e-9


def tax_backtest(
    job: JobSpec | str | Path,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    rebalance: str = "quarterly",
    *,
    history: MarketHistory | None = None,
    lots: TaxLots | None = None,
    lot_order: str = "fifo",
    years: int | None = None,
    risk_free: float = 0.0,
) -> TaxBacktestResult:
    """Backtest a job tax-aware against tax-unaware, carrying each policy's tax lots through time.

    Parameters
    ----------
    job : JobSpec or path
        The job; its ``taxes`` section gives the rates, ``weight``, wash-sale window and
        either/or method (a job without one gets the defaults: 37 % / 20 %, 365 days, 30 days,
        weight 1). Its ``data`` section picks the history unless ``history`` is given.
    start, end : date or "YYYY-MM-DD"
        Window of the backtest (rebalances on the last trading day of each period in it).
    rebalance : {"monthly", "quarterly"}
        Rebalance frequency.
    history : MarketHistory, optional
        Market history to walk; default: the job's (:func:`history_for_job`). Every name must
        trade on every day of the window (no ragged histories yet).
    lots : TaxLots, optional
        The lots held at the close of the first rebalance date (both policies start from them;
        their market value is the starting NAV). Default: the job's ``taxes.lots`` file, else
        the synthetic lots of the benchmark on that date (NAV ``taxes.nav``, default $1bn;
        :func:`trimtab.models.synthetic_lots`).
    lot_order : {"fifo", "min_tax"}
        How the tax-unaware policy picks the lots it sells.
    years : int, optional
        Length of the default synthetic history (years).
    risk_free : float
        Annual risk-free rate (fraction) for the Sharpe ratios.

    Returns
    -------
    TaxBacktestResult
        Daily pre- and after-tax returns, one row per rebalance and policy (tax, gains,
        losses, lots sold, turnover, TE), the lots held and the trades logs.

    Raises
    ------
    DataError
        Bad dates or window, a ragged history, a job with a cash rule, lots that do not fit
        the history.
    """
    started = time.perf_counter()
    job = as_job(job)
    start_day, end_day = check_backtest_window(job, start, end, rebalance)
    if lot_order not in LOT_ORDERS:
        raise DataError(f"lot_order must be one of {list(LOT_ORDERS)}, got {lot_order!r}")
    taxed = job if job.taxes is not None else dataclasses.replace(job, taxes=TaxSpec())
    spec = taxed.taxes
    assert spec is not None
    if history is None:
        history = history_for_job(job, start_day, years)
    window = job.risk_model.window
    schedule = _schedule(history, start_day, end_day, rebalance, window)
    first, last = schedule[0], history.dates[history.position(end_day)]
    returns = history.returns.loc[first:last]
    if returns.isna().to_numpy().any():
        raise DataError(
            f"{history.dataset}: the tax-aware backtest needs every name to trade on every day from "
            f"{first.date()} to {last.date()} (ragged histories are not supported yet)"
        )
    history.characteristics_on(schedule)
    start_lots = lots if lots is not None else load_tax_lots(taxed, history.snapshot(first, window))
    ledger = LotLedger.from_tax_lots(start_lots)
    price = history.assets_at(first)["price"]
    initial = ledger.weights(price)
    nav = ledger.value(price)
    # the lots checked against the first date (assets known, dates not after it, prices positive)
    models.lot_book(start_lots, history.snapshot(first, window, holdings=initial), nav=nav,
                    long_term_days=spec.long_term_days, wash_sale_days=spec.wash_sale_days)

    context = _Context(
        history=history,
        window=window,
        aware_job=dataclasses.replace(taxed, taxes=spec.model_copy(update={"nav": None})),
        unaware_job=dataclasses.replace(
            job, taxes=None, constraints=tuple(c for c in job.constraints if c.key not in TAX_RULE_KEYS)
        ),
        spec=spec,
        lot_order=lot_order,
    )
    paths, policies = {}, {}
    with models.blas_threads(models.small_problem_threads(window or len(history.dates), len(history.asset_ids))):
        for name in POLICIES:
            policy = _Policy(name, context, ledger)
            paths[name] = simulate_policy(returns, schedule, initial.to_numpy(), policy.target, name=name)
            policies[name] = policy
    benchmark = cap_weighted_returns(job, history, returns)

    pre_tax, after_tax, rows, lots_held, trades, weights = {}, {}, [], [], [], {}
    for name, policy in policies.items():
        path = paths[name]
        growth = nav * (1.0 + path.returns).cumprod()
        charges = pd.DataFrame.from_dict(policy.rows, orient="index")
        pre_tax[name] = _net_returns(growth, nav, charges["cost"], name)
        after_tax[name] = _net_returns(growth, nav, charges["cost"] + charges["tax"], name)
        charges["turnover"] = path.turnover
        rows.append(charges.assign(policy=name))
        lots_held.append(policy.ledger.lots.assign(policy=name))
        trades.append(policy.ledger.trades.assign(policy=name))
        weights[name] = path.targets
    pre_tax["cap_weighted"] = benchmark
    rebalances = pd.concat(rows).rename_axis("date").reset_index().set_index(["policy", "date"])
    final_price = history.assets_at(last)["price"]
    return TaxBacktestResult(
        pre_tax=pd.DataFrame(pre_tax).rename_axis("date"),
        after_tax=pd.DataFrame(after_tax).rename_axis("date"),
        rebalances=rebalances,
        lots=pd.concat(lots_held, ignore_index=True),
        trades=pd.concat(trades, ignore_index=True),
        weights=weights,
        initial_lots=ledger.lots,
        start_nav=nav,
        end_prices=final_price,
        end_date=last,
        rates=(spec.short_term_rate, spec.long_term_rate),
        long_term_days=spec.long_term_days,
        lot_order=lot_order,
        tax_weight=spec.weight,
        job_name=job.name or Path(job.source).stem,
        dataset=history.dataset,
        rebalance=rebalance,
        runtime_seconds=time.perf_counter() - started,
        risk_free=risk_free,
    )


def _net_returns(growth: pd.Series, nav: float, paid: pd.Series, name: str) -> pd.Series:
    """Daily returns of ``value − cumulative paid`` (USD paid at a rebalance's close, booked the day after)."""
    paid_before = paid.reindex(growth.index.union(paid.index)).fillna(0.0).cumsum().shift(1).fillna(0.0)
    wealth = growth - paid_before.reindex(growth.index).to_numpy()
    previous = np.concatenate([[nav], wealth.to_numpy()[:-1]])
    return pd.Series(wealth.to_numpy() / previous - 1.0, index=growth.index, name=name)


@dataclass(frozen=True)
class _Context:
    """What both policies share: the history, the two jobs, the tax spec, one risk model per date."""

    history: MarketHistory
    window: int | None
    aware_job: JobSpec
    unaware_job: JobSpec
    spec: TaxSpec
    lot_order: str
    risk: dict = field(default_factory=dict)

    def snapshot_and_risk(self, date: pd.Timestamp, holdings: pd.Series):
        snapshot = self.history.snapshot(date, self.window, holdings=holdings)
        if date not in self.risk:
            started = time.perf_counter()
            risk_model = estimate_risk(self.aware_job, snapshot)
            self.risk[date] = (risk_model, estimate_index_risk(self.aware_job, snapshot, risk_model),
                               time.perf_counter() - started)
        return snapshot, self.risk[date]


class _Policy:
    """One policy's ledger and per-rebalance records; :meth:`target` is its ``simulate_policy`` rule."""

    def __init__(self, name: str, context: _Context, ledger: LotLedger) -> None:
        self.name, self.context, self.ledger = name, context, ledger
        self.rows: dict[pd.Timestamp, dict[str, object]] = {}

    def target(self, date: pd.Timestamp, drifted: np.ndarray) -> np.ndarray | None:
        ctx, spec = self.context, self.context.spec
        price = ctx.history.assets_at(date)["price"]
        nav = self.ledger.value(price)
        holdings = self.ledger.weights(price)
        assert np.allclose(holdings.to_numpy(), drifted, atol=1e-7), "the lots and the drifted weights disagree"
        snapshot, (risk_model, index_risk, risk_seconds) = ctx.snapshot_and_risk(date, holdings)
        lots = self.ledger.tax_lots(date, spec.wash_sale_days)
        row: dict[str, object] = {"nav": nav, "risk_seconds": risk_seconds, "message": ""}
        started = time.perf_counter()
        try:
            if self.name == "tax_aware":
                prepared = prepare(ctx.aware_job, snapshot=snapshot, risk_model=risk_model, lots=lots)
                target = prepared.solve()
                book, report = prepared.data.lots, target.diagnostics.taxes
                weights = target.weights.to_numpy(dtype=float)
            else:
                target = optimize(ctx.unaware_job, snapshot=snapshot, risk_model=risk_model)
                book = models.lot_book(lots, snapshot, nav=nav, long_term_days=spec.long_term_days,
                                       wash_sale_days=spec.wash_sale_days)
                w0 = holdings.to_numpy()
                weights = target.weights.to_numpy(dtype=float)
                weights = np.where(np.abs(weights - w0) < TRADE_DUST, w0, weights)
                sales = rule_sales(book, spec, w0, weights, ctx.lot_order)
                report = tax_report(book, spec, sales, lot_choice=ctx.lot_order, disallowed=book.loss_sale_blocked)
        except (InfeasibleError, SolverFailedError) as error:
            status = "infeasible" if isinstance(error, InfeasibleError) else "solver_failed"
            row.update(_empty_row(), status=status, solve_seconds=math.nan, message=str(error).splitlines()[0][:300])
            self.rows[date] = row
            return None
        assert book is not None and report is not None
        d = target.diagnostics
        executed = self._trade(date, price, holdings.to_numpy(), weights, book, report)
        data = DataView(snapshot, risk_model, index_risk)
        cost = 0.0
        if ctx.aware_job.costs is not None:
            cost = nav * linear_and_impact_cost(
                linear_rates(data, ctx.aware_job.costs), impact_rates(data, ctx.aware_job.costs), executed - holdings.to_numpy()
            )
        wash = report.wash_sale
        row.update(
            status=d.status,
            solve_seconds=time.perf_counter() - started,
            ex_ante_te=math.sqrt(sum(data.tracking_variance(executed))),
            tax=report.tax,
            short_term_gains=report.short_term_gains,
            short_term_losses=report.short_term_losses,
            long_term_gains=report.long_term_gains,
            long_term_losses=report.long_term_losses,
            net_realized_gain=report.net_gain,
            losses_harvested=report.losses_harvested,
            lots_sold=len(report.lots_sold),
            blocked_buys=len(report.blocked_buys),
            blocked_loss_sales=len(report.blocked_loss_sales),
            wash_sale_method=wash.method if wash is not None else "",
            wash_sale_gap=wash.gap if wash is not None else 0.0,
            cost=cost,
        )
        self.rows[date] = row
        return executed

    def _trade(self, date, price: pd.Series, holdings: np.ndarray, weights: np.ndarray, book, report) -> np.ndarray:
        """Apply the lot sales of ``report`` and the buys that reach ``weights``; the executed weights."""
        ids = price.index
        sales = np.asarray(report.sales, dtype=float)  # fractions of NAV per lot of the book (dust removed)
        sold = sales > 0
        fraction = np.divide(sales, book.weights, out=np.zeros_like(sales), where=book.weights > 0)
        sold_shares = pd.Series(book.shares[sold] * np.minimum(fraction[sold], 1.0), index=np.asarray(book.lot_ids)[sold])
        gain = book.shares * np.minimum(fraction, 1.0) * (book.price - book.cost_basis)
        gain = np.where(book.loss_sale_blocked & (gain < 0), 0.0, gain)  # a disallowed loss counts 0
        rates = lot_rates(book, self.context.spec)
        lot_index = pd.Index(book.lot_ids)
        per_asset = book.per_asset(sales)  # the snapshot's universe: the history's names, in its order
        assert len(per_asset) == len(ids)
        buys = np.maximum(weights - (holdings - per_asset), 0.0)
        buys[buys < TRADE_DUST] = 0.0
        if buys.sum() > 0:
            buys *= per_asset.sum() / buys.sum()  # cash-neutral: the sales pay for the buys
        nav = float(self.ledger.value(price))
        bought = pd.Series(buys * nav / price.to_numpy(dtype=float), index=ids)[buys > 0]
        self.ledger = self.ledger.after(
            date, sold_shares, bought, price,
            realized_gain=pd.Series(gain, index=lot_index)[sold],
            rate=pd.Series(rates, index=lot_index)[sold],
            term=pd.Series(np.where(book.long_term, "long", "short"), index=lot_index)[sold],
        )
        return self.ledger.weights(price).to_numpy()


def _empty_row() -> dict[str, object]:
    zeros = ("tax", "short_term_gains", "short_term_losses", "long_term_gains", "long_term_losses",
             "net_realized_gain", "losses_harvested", "cost", "wash_sale_gap")
    return {**{k: 0.0 for k in zeros}, "lots_sold": 0, "blocked_buys": 0, "blocked_loss_sales": 0,
            "wash_sale_method": "", "ex_ante_te": math.nan}
