"""Re-checking a job's hard constraints on a rounded portfolio (whole lots, some cash left)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from trimtab.constraints import TAX_RULE_KEYS, DataView, JobSpec
from trimtab.models import MarketSnapshot, RiskModel, TaxLots

from .. import CompiledProblem, PreparedProblem, prepare

#: Rules not re-checked after rounding: lots leave a little cash, so Σw = 1 cannot hold exactly
#: (the cash left is reported instead, and never negative). Rules on tax lots are measured on
#: the lots the orders sell (:meth:`PortfolioCheck.lot_violations`), not on weights.
NOT_RECHECKED = ("budget", *TAX_RULE_KEYS)


@dataclass(frozen=True)
class Violation:
    """A hard rule the rounded portfolio breaks.

    Attributes
    ----------
    name : str
        The rule's label (``MAG7 weight <= 0.2``), with the row for per-name/sector rules.
    amount : float
        By how much, in the rule's units (> 0).
    direction : np.ndarray
        (n,) d(violation)/dw: selling names with a positive entry reduces the violation.
    """

    name: str
    amount: float
    direction: np.ndarray


@dataclass(frozen=True)
class _BookView(DataView):
    """The job's data with the desk's actual book as current holdings (weights may leave cash)."""

    book: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def holdings(self) -> np.ndarray:
        return self.book


class PortfolioCheck:
    """A job's rules and risk model, to measure any weights against (parameters assigned).

    The job's data and risk model are prepared on first use, so inputs an export rejects
    (missing prices, bad holdings) fail before the risk model is estimated.

    Parameters
    ----------
    job : JobSpec or path
        The job that produced the target.
    snapshot, risk_model : optional
        Data to use instead of the job's own (as in :func:`trimtab.optimize`).
    lots : TaxLots, optional
        Tax lots to use instead of the job's own (a job with a ``taxes`` section).
    """

    def __init__(
        self,
        job: JobSpec | str | Path,
        snapshot: MarketSnapshot | None = None,
        risk_model: RiskModel | None = None,
        lots: TaxLots | None = None,
    ) -> None:
        self._inputs = (job, snapshot, risk_model, lots)

    @cached_property
    def _prepared(self) -> PreparedProblem:
        job, snapshot, risk_model, lots = self._inputs
        prepared = prepare(job, snapshot=snapshot, risk_model=risk_model, lots=lots)
        prepared.assign()
        return prepared

    @property
    def problem(self) -> CompiledProblem:
        """The job's compiled problem, parameters assigned."""
        return self._prepared.problem

    @property
    def data(self) -> DataView:
        """The job's snapshot and risk model."""
        return self._prepared.data

    @cached_property
    def asset_ids(self) -> tuple[str, ...]:
        """The universe, in the weight vector's order."""
        return tuple(self.data.snapshot.asset_ids)

    def use_book(self, current_weights: np.ndarray) -> None:
        """Measure holdings-relative rules (turnover, no-trade, trade size) against the desk's actual book."""
        view = _BookView(
            self.data.snapshot, self.data.risk_model, self.data.index_risk, lots=self.data.lots,
            book=np.asarray(current_weights, dtype=float),
        )
        self.problem.context.assign(view)

    def tracking_error(self, weights: np.ndarray) -> float:
        """Annualized ex-ante TE of ``weights`` (fraction)."""
        factor, specific = self.data.tracking_variance(weights)
        return float(np.sqrt(factor + specific))

    def violations(self, weights: np.ndarray, tolerance: float) -> list[Violation]:
        """Every hard rule (but the budget) broken by more than ``tolerance``, worst first."""
        context = self.problem.context
        context.weights.value = np.asarray(weights, dtype=float)
        found = []
        for built in self.problem.built:
            if built.spec.soft is not None or built.spec.key in NOT_RECHECKED:
                continue
            measured = built.measure()
            if measured.slack >= -tolerance:
                continue
            gradient = built.lhs.grad[context.weights]
            column = np.zeros(len(self.asset_ids))
            if gradient is not None:
                dense = gradient.toarray() if hasattr(gradient, "toarray") else np.asarray(gradient)
                column = dense.reshape(len(self.asset_ids), -1)[:, measured.position]
            sign = 1.0 if measured.side == "upper" or (measured.side == "eq" and measured.value > measured.bound) else -1.0
            where = f" [{measured.row}]" if measured.row else ""
            found.append(Violation(f"{built.spec.label}{where}", -measured.slack, sign * column))
        return sorted(found, key=lambda v: -v.amount)

    def lot_violations(self, fraction_sold: pd.Series, tolerance: float) -> list[Violation]:
        """The job's lot rules (``realized_gain``, ``harvested_loss``) broken by more than ``tolerance``.

        Parameters
        ----------
        fraction_sold : pd.Series
            Fraction of each lot's shares sold, by ``lot_id`` (lots absent: not sold); each
            lot's sale is that fraction of its weight in the job's lot book (fractions of NAV).

        Raises
        ------
        ExportError
            A lot the job's lot book does not have (the lots are not the run's).
        """
        from .. import ExportError

        book, terms = self.data.lots, self.problem.context.lots
        rules = [b for b in self.problem.built if b.spec.key in TAX_RULE_KEYS and b.spec.soft is None]
        if book is None or terms is None or not rules:
            return []
        position = pd.Series(np.arange(book.n_lots), index=pd.Index(book.lot_ids))
        unknown = fraction_sold.index.difference(position.index)
        if len(unknown):
            raise ExportError(f"lot {unknown[0]!r} is not among the job's lots ({book.source}): the rules on lots "
                              "cannot be re-checked; export with the run's lots; nothing was written")
        sales = np.zeros(book.n_lots)
        sales[position[fraction_sold.index].to_numpy()] = fraction_sold.to_numpy(float)
        terms.sales.value = sales * book.weights
        found = []
        for built in rules:
            measured = built.measure()
            if measured.slack < -tolerance:
                found.append(Violation(built.spec.label, -measured.slack, np.zeros(len(self.asset_ids))))
        return sorted(found, key=lambda v: -v.amount)
