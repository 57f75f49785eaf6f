"""What a tax-aware solve realized: gains and losses by term, the tax, the lots sold, wash sales.

:class:`TaxReport` is plain data (USD and fractions of NAV) built from a lot book, the
rates and the weight sold from each lot; :class:`WashSaleReport` says how the
same-rebalance wash-sale rule was met (not needed, exact or heuristic, with the gap to a
proven bound). ``summary.json`` carries :meth:`TaxReport.summary`; ``lots_sold.csv`` is
:meth:`TaxReport.lots_sold`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from trimtab.constraints import TaxSpec, lot_rates
from trimtab.models import LotBook

#: Columns of ``lots_sold.csv``.
LOTS_SOLD_COLUMNS = ("lot_id", "asset_id", "shares", "gain", "term")

#: Sales below this weight (fraction of NAV) are solver dust: not sold. Within it of a whole
#: lot, the whole lot is sold.
SALE_DUST = 1e-9


@dataclass(frozen=True)
class WashSaleReport:
    """How the same-rebalance wash-sale rule (an asset sold at a loss is not bought) was met.

    Attributes
    ----------
    method : str
        ``relaxation`` (the convex problem already met it: exact, no either/or needed),
        ``exact`` (SCIP) or ``heuristic`` (relax-and-fix).
    status : str
        ``optimal`` (relaxation, or SCIP closed the gap), ``heuristic`` or ``time_limit``.
    conflicts : int
        Assets the convex relaxation both sold at a loss and bought.
    no_buy, no_loss_sale : int
        Assets the answer keeps from being bought / from being sold at a loss.
    objective, bound, gap : float
        Objective at the answer, a proven lower bound on any portfolio meeting the rule
        (the relaxation, or SCIP's dual bound), and their difference; (% TE)² units
        (1e4 × (TE² + weight × tax)).
    relative_gap : float
        ``gap / |objective|`` (0 when the objective is 0).
    solves : int
        Convex re-solves (heuristic) or SCIP nodes (exact).
    note : str or None
        What limited the answer, when something did.
    """

    method: str
    status: str
    conflicts: int
    no_buy: int
    no_loss_sale: int
    objective: float
    bound: float
    gap: float
    relative_gap: float
    solves: int
    note: str | None = None


@dataclass(frozen=True)
class TaxReport:
    """Realized gains, losses and tax of one rebalance, and the lots it sells.

    Attributes
    ----------
    nav : float
        Net asset value, USD.
    short_term_gains, short_term_losses, long_term_gains, long_term_losses : float
        Realized gains and losses by term, USD (losses as positive amounts).
    tax : float
        ``Σ rate × gain`` over the lots sold, USD (losses at their term's rate; negative
        when the losses save more than the gains cost).
    sales : np.ndarray
        Weight sold from each lot of the book, fraction of NAV (L,).
    lots_sold : pd.DataFrame
        One row per lot sold (sorted by asset_id, lot_id): ``lot_id, asset_id, shares,
        gain`` (USD) and ``term`` (``short``/``long``).
    blocked_buys, blocked_loss_sales : tuple of str
        Assets the wash-sale look-back keeps from being bought (sold at a loss recently) and
        from being sold at a loss (bought recently).
    short_term_rate, long_term_rate, weight : float
        The rates and the tax's weight in the objective.
    lot_choice : str
        ``optimized`` (lots chosen by the optimizer) or the rule that chose them for given
        weights (``min_tax``, ``fifo``).
    wash_sale : WashSaleReport or None
        How the same-rebalance rule was met (None for lots chosen by a rule).
    source : str
        Where the lots come from.
    """

    nav: float
    short_term_gains: float
    short_term_losses: float
    long_term_gains: float
    long_term_losses: float
    tax: float
    sales: np.ndarray
    lots_sold: pd.DataFrame
    blocked_buys: tuple[str, ...]
    blocked_loss_sales: tuple[str, ...]
    short_term_rate: float
    long_term_rate: float
    weight: float
    lot_choice: str = "optimized"
    wash_sale: WashSaleReport | None = None
    source: str = ""

    @property
    def net_gain(self) -> float:
        """Net realized gain, USD (negative: a net loss)."""
        return self.short_term_gains + self.long_term_gains - self.short_term_losses - self.long_term_losses

    @property
    def losses_harvested(self) -> float:
        """Losses realized, USD (≥ 0)."""
        return self.short_term_losses + self.long_term_losses

    @property
    def tax_fraction(self) -> float:
        """The tax as a fraction of NAV."""
        return self.tax / self.nav

    def summary(self) -> dict[str, Any]:
        """The ``taxes`` block of ``summary.json``: amounts in USD and in percent of NAV."""

        def amount(usd: float) -> dict[str, float]:
            return {"usd": round(usd, 2), "percent_of_nav": 100.0 * usd / self.nav}

        return {
            "nav": self.nav,
            "lots_source": self.source,
            "lot_choice": self.lot_choice,
            "rates": {"short_term": self.short_term_rate, "long_term": self.long_term_rate},
            "weight": self.weight,
            "short_term": {"gains": amount(self.short_term_gains), "losses": amount(self.short_term_losses)},
            "long_term": {"gains": amount(self.long_term_gains), "losses": amount(self.long_term_losses)},
            "net_realized_gain": amount(self.net_gain),
            "tax": amount(self.tax),
            "losses_harvested": amount(self.losses_harvested),
            "lots_sold": int(len(self.lots_sold)),
            "wash_sales": {
                "blocked_buys": list(self.blocked_buys),
                "blocked_loss_sales": list(self.blocked_loss_sales),
                "either_or": (
                    {k: _json_number(v) for k, v in asdict(self.wash_sale).items()} if self.wash_sale is not None else None
                ),
            },
        }

    def line(self) -> str:
        """One line for the terminal: tax, gains, losses harvested, lots sold."""
        return (
            f"{_usd(self.tax)} ({self.tax_fraction:+.3%} of NAV) on net gains of {_usd(self.net_gain)}; "
            f"losses harvested {_usd(self.losses_harvested)}; {len(self.lots_sold)} lots sold"
        )


def clean_sales(book: LotBook, sales: np.ndarray) -> np.ndarray:
    """Sales (L,) with dust removed: below :data:`SALE_DUST` → 0, within it of the lot → the lot."""
    x = np.clip(np.asarray(sales, dtype=float), 0.0, book.weights)
    x[x < SALE_DUST] = 0.0
    whole = book.weights - x < SALE_DUST
    x[whole & (x > 0)] = book.weights[whole & (x > 0)]
    return x


def tax_report(
    book: LotBook,
    spec: TaxSpec,
    sales: np.ndarray,
    *,
    wash_sale: WashSaleReport | None = None,
    lot_choice: str = "optimized",
    disallowed: np.ndarray | None = None,
) -> TaxReport:
    """The report of selling ``sales`` (fractions of NAV, per lot of ``book``).

    Parameters
    ----------
    disallowed : np.ndarray of bool, optional
        Lots whose loss the wash-sale rule disallows (their realized gain counts as 0); only
        a lot rule may sell such lots, the optimizer never does.
    """
    x = clean_sales(book, sales)
    gain = book.gain_ratio * x * book.nav  # USD
    if disallowed is not None:
        gain = np.where(disallowed & (gain < 0), 0.0, gain)
    short, long_ = ~book.long_term, book.long_term
    rates = lot_rates(book, spec)
    sold = np.flatnonzero(x > 0)
    order = sorted(sold, key=lambda l: (book.assets[l], book.lot_ids[l]))
    frame = pd.DataFrame(
        {
            "lot_id": [book.lot_ids[l] for l in order],
            "asset_id": [book.assets[l] for l in order],
            "shares": [float(x[l] * book.nav / book.price[l]) for l in order],
            "gain": [float(gain[l]) for l in order],
            "term": ["long" if book.long_term[l] else "short" for l in order],
        },
        columns=list(LOTS_SOLD_COLUMNS),
    )
    return TaxReport(
        nav=book.nav,
        short_term_gains=float(np.maximum(gain, 0) @ short),
        short_term_losses=float(np.maximum(-gain, 0) @ short),
        long_term_gains=float(np.maximum(gain, 0) @ long_),
        long_term_losses=float(np.maximum(-gain, 0) @ long_),
        tax=float(rates @ gain),
        sales=x,
        lots_sold=frame,
        blocked_buys=book.sold_at_loss_recently,
        blocked_loss_sales=book.bought_recently,
        short_term_rate=spec.short_term_rate,
        long_term_rate=spec.long_term_rate,
        weight=spec.weight,
        lot_choice=lot_choice,
        wash_sale=wash_sale,
        source=book.source,
    )


def rule_sales(book: LotBook, spec: TaxSpec, holdings: np.ndarray, weights: np.ndarray, order: str) -> np.ndarray:
    """Sales per lot (L,) that a lot rule picks for the net sells ``holdings − weights`` (fractions of NAV).

    ``min_tax`` sells each asset's lots cheapest in tax first (specific identification for
    given weights: the least tax any lot choice pays for these trades, when no loss lot is
    wash-blocked); ``fifo`` oldest first. Wash-blocked loss lots go last either way.
    """
    if order not in ("min_tax", "fifo"):
        raise ValueError(f"unknown lot order {order!r}; choose min_tax or fifo")
    need = np.maximum(np.asarray(holdings, float) - np.asarray(weights, float), 0.0)
    rates = lot_rates(book, spec)
    key = rates * book.gain_ratio if order == "min_tax" else book.acquired.astype("int64").astype(float)
    sales = np.zeros(book.n_lots)
    for i in np.flatnonzero(need > 0):
        lots = np.flatnonzero(book.positions == i)
        ranked = sorted(lots, key=lambda l: (bool(book.loss_sale_blocked[l]), key[l], book.lot_ids[l]))
        left = need[i]
        for l in ranked:
            take = min(book.weights[l], left)
            sales[l], left = take, left - take
            if left <= 0:
                break
    return sales


def _usd(amount: float) -> str:
    """``$1,234`` or ``−$1,234`` (whole dollars)."""
    return f"{'−' if amount < -0.5 else ''}${abs(amount):,.0f}"


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
