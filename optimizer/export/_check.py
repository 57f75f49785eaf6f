"""Re-checking a job's hard constraints on a rounded portfolio (whole lots, some cash left)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from trimtab.constraints import DataView, JobSpec
from trimtab.models import MarketSnapshot, RiskModel

from .. import CompiledProblem, PreparedProblem, prepare

#: Rules not re-checked after rounding: lots leave a little cash, so Σw = 1 cannot hold exactly
#: (the cash left is reported instead, and never negative).
NOT_RECHECKED = ("budget",)


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
    """

    def __init__(
        self, job: JobSpec | str | Path, snapshot: MarketSnapshot | None = None, risk_model: RiskModel | None = None
    ) -> None:
        self._inputs = (job, snapshot, risk_model)

    @cached_property
    def _prepared(self) -> PreparedProblem:
        job, snapshot, risk_model = self._inputs
        prepared = prepare(job, snapshot=snapshot, risk_model=risk_model)
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
            self.data.snapshot, self.data.risk_model, self.data.index_risk, book=np.asarray(current_weights, dtype=float)
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
