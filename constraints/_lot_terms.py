"""Tax lots in a problem: per-lot sale variables, buys per asset, and their DPP parameters.

With lots, the weights are no longer free: ``w = w₀ − S x + b`` where ``x`` (L,) are the
sales from each lot and ``b`` (n,) the buys, both fractions of NAV, and ``S`` (n × L) the
constant asset × lot incidence (so a problem is compiled per lot set). A sale from lot ``l``
realizes ``g_l · x_l`` of NAV (``g = 1 − basis / price``), taxed at its term's rate, so
realized gains and the tax bill are linear in ``x`` and exact. Everything that changes with
the data — lot weights, gains, rates, wash-sale masks — is a parameter computed from
``DataView.lots``; a new date re-assigns them without recompiling (same lot set).

Long-only follows (``x ≤ lot weight``, ``b ≥ 0``). Rules on the lots
(:mod:`._taxes`) read :attr:`LotTerms.realized` and :attr:`LotTerms.harvested_loss`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from trimtab.models import DataError, LotBook

from ._context import BuildContext
from ._data_view import DataView
from ._errors import SpecError
from ._sections import TaxSpec

#: Parameter-name prefix of the lot terms (``taxes.gain``).
SCOPE = "taxes"

#: Kinds of realized gain a rule may bound.
GAIN_KINDS = ("net", "short", "long")


def book_of(data: DataView) -> LotBook:
    """The data's lot book; DataError when the data have none (a job with taxes needs lots)."""
    if data.lots is None:
        raise DataError("this problem has tax lots but the data carry none (prepare the job with its taxes section)")
    return data.lots


def lot_rates(book: LotBook, spec: TaxSpec) -> np.ndarray:
    """Each lot's tax rate (L,): long-term or short-term, fractions."""
    return np.where(book.long_term, spec.long_term_rate, spec.short_term_rate)


class LotTerms:
    """The lot variables, parameters and balance constraints of one compiled problem.

    Parameters
    ----------
    ctx : BuildContext
        The problem's context; the terms attach themselves as ``ctx.lots``.
    structure : sequence of int
        Each lot's asset position (``LotBook.structure``): fixes ``S``.
    spec : TaxSpec
        Rates and the tax weight.

    Attributes
    ----------
    sales : cp.Variable
        ``x`` (L,): weight sold from each lot, fraction of NAV.
    buys : cp.Variable
        ``b`` (n,): weight bought of each asset, fraction of NAV.
    incidence : scipy.sparse matrix
        ``S`` (n × L).
    constraints : list of cp.Constraint
        ``w = w₀ − S x + b``, ``0 ≤ x ≤ sellable`` (0 for wash-blocked loss lots),
        ``0 ≤ b ≤ 1`` (0 for wash-blocked assets), and the either/or fixes ``x ≤ lot_open``,
        ``b ≤ buy_open`` (0 closes, set by the optimizer; 1 by default).
    """

    def __init__(self, ctx: BuildContext, structure: Sequence[int], spec: TaxSpec) -> None:
        n, positions = ctx.universe.n_assets, np.asarray(structure, dtype=int)
        L = len(positions)
        if L == 0:
            raise DataError("the tax lots are empty: nothing is held")
        self.spec, self.positions, self.n_assets, self.n_lots = spec, positions, n, L
        self.incidence = sp.csr_matrix((np.ones(L), (positions, np.arange(L))), shape=(n, L))
        with ctx.scope(SCOPE):
            p = ctx.parameter
            self.lot_weight = p("lot_weight", (L,), lambda d: book_of(d).weights, nonneg=True)
            self.sellable = p(
                "sellable", (L,), lambda d: np.where(book_of(d).loss_sale_blocked, 0.0, book_of(d).weights), nonneg=True
            )
            self.gain = {
                "net": p("gain", (L,), lambda d: book_of(d).gain_ratio),
                "short": p("gain_short", (L,), lambda d: np.where(book_of(d).long_term, 0.0, book_of(d).gain_ratio)),
                "long": p("gain_long", (L,), lambda d: np.where(book_of(d).long_term, book_of(d).gain_ratio, 0.0)),
            }
            self.loss = p("loss", (L,), lambda d: np.maximum(-book_of(d).gain_ratio, 0.0), nonneg=True)
            self.is_loss = p("is_loss", (L,), lambda d: book_of(d).is_loss.astype(float), nonneg=True)
            self.loss_capacity = p(
                "loss_capacity", (n,), lambda d: book_of(d).per_asset(book_of(d).weights * book_of(d).is_loss), nonneg=True
            )
            self.tax_per_sale = p("tax_per_sale", (L,), lambda d: lot_rates(book_of(d), spec) * book_of(d).gain_ratio)
            self.buy_cap = p("buy_cap", (n,), lambda d: 1.0 - book_of(d).buy_blocked.astype(float), nonneg=True)
        self.sales = cp.Variable(L, nonneg=True, name="lot_sales")
        self.buys = cp.Variable(n, nonneg=True, name="buys")
        #: Either/or fixes set by the optimizer, not by the data: 0 closes a lot's sales / an
        #: asset's buys, 1 leaves them open (a weight never exceeds 1).
        self.lot_open = cp.Parameter(L, nonneg=True, name=f"{SCOPE}.lot_open", value=np.ones(L))
        self.buy_open = cp.Parameter(n, nonneg=True, name=f"{SCOPE}.buy_open", value=np.ones(n))
        self.constraints: list[cp.Constraint] = [
            ctx.weights == ctx.holdings - self.incidence @ self.sales + self.buys,
            self.sales <= self.sellable,
            self.buys <= self.buy_cap,
            self.sales <= self.lot_open,
            self.buys <= self.buy_open,
        ]
        ctx.lots = self

    def realized(self, kind: str = "net") -> cp.Expression:
        """Realized gain of ``kind`` (``net``, ``short``, ``long``), fraction of NAV (losses negative)."""
        return self.gain[kind] @ self.sales

    @property
    def harvested_loss(self) -> cp.Expression:
        """Losses realized, fraction of NAV (≥ 0)."""
        return self.loss @ self.sales

    @property
    def tax(self) -> cp.Expression:
        """Tax on the sales, fraction of NAV (negative when losses save more than gains cost)."""
        return self.tax_per_sale @ self.sales

    @property
    def loss_sales(self) -> cp.Expression:
        """Weight sold from loss lots, per asset (n,)."""
        return self.incidence @ cp.multiply(self.is_loss, self.sales)

    def reset_fixes(self) -> None:
        """Allow every sale and buy the data allow (no either/or fix)."""
        self.lot_open.value = np.ones(self.n_lots)
        self.buy_open.value = np.ones(self.n_assets)


def lot_terms(ctx: BuildContext, key: str) -> LotTerms:
    """The context's lot terms, for a rule of type ``key``; an error when the problem has none."""
    terms = ctx.lots
    if not isinstance(terms, LotTerms):
        raise SpecError(f"{key!r} needs a 'taxes' section: the problem has no tax lots")
    return terms
