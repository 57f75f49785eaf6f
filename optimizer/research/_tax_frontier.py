"""TE against the realized-gain budget: the frontier sweep on a ``realized_gain`` rule.

The budget caps the net (or short-, or long-term) gain the rebalance realizes, a fraction of
NAV; a negative budget asks for net losses. By default the tax's weight in the objective is
set to 0, so each point is the minimum TE under the budget alone and the frontier is
monotone: a tighter budget never lowers TE (its feasible set is a subset). The wash-sale
either/or stays; when it needs the heuristic, a point is within its stated gap of the optimum.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from trimtab.constraints import JobSpec, RealizedGain, SpecError, TaxSpec
from trimtab.models import MarketSnapshot, RiskModel

from .. import as_job
from ._frontier import Frontier, sweep
from ._frontier_rules import check_bounds, rule_to_sweep

#: Default budgets (fractions of NAV, loosest first): from 2 % of NAV in net gains to 12 % in net losses.
DEFAULT_GAIN_BUDGETS = (0.02, 0.01, 0.0, -0.02, -0.04, -0.06, -0.08, -0.10, -0.12)


def gain_budget_frontier(
    job: JobSpec | str | Path,
    bounds: Iterable[float] | None = None,
    *,
    kind: str = "net",
    tax_weight: float | None = 0.0,
    snapshot: MarketSnapshot | None = None,
    risk_model: RiskModel | None = None,
) -> Frontier:
    """TE against the budget on the realized gain (fraction of NAV; negative: net losses asked for).

    Parameters
    ----------
    job : JobSpec or path
        The job; a job without a ``taxes`` section gets one (default rates; the embedded data's
        synthetic lots), a job without a ``realized_gain`` rule of ``kind`` gets one.
    bounds : iterable of float, optional
        Budgets in fractions of NAV; default :data:`DEFAULT_GAIN_BUDGETS`. A budget the lots
        cannot meet is an infeasible point.
    kind : {"net", "short", "long"}
        Which realized gain the budget caps.
    tax_weight : float or None
        The tax's weight in the objective at every point; 0 (default) makes each point the
        minimum TE under the budget, None keeps the job's.
    snapshot, risk_model : optional
        Data and risk model to use instead of the job's.

    Returns
    -------
    Frontier
        ``bound`` in fractions of NAV; ``value`` the realized gain of the lots sold.

    Raises
    ------
    SpecError
        A bad kind, several ``realized_gain`` rules of ``kind``, or one in USD.
    """
    job = as_job(job)
    if kind not in ("net", "short", "long"):
        raise SpecError(f"unknown realized gain kind {kind!r}", choices=("net", "short", "long"))
    budgets = check_bounds(DEFAULT_GAIN_BUDGETS if bounds is None else bounds)
    taxes = job.taxes if job.taxes is not None else TaxSpec()
    if tax_weight is not None:
        taxes = taxes.model_copy(update={"weight": float(tax_weight)})
    job = dataclasses.replace(job, taxes=taxes)
    matches = [i for i, c in enumerate(job.constraints) if isinstance(c, RealizedGain) and c.kind == kind]
    several = f"several realized_gain rules of kind {kind!r}"
    job, index = rule_to_sweep(job, matches, several, lambda: RealizedGain(max=max(budgets), kind=kind))
    if matches and job.constraints[index].units != "fraction":
        raise SpecError("the realized_gain rule is in USD; sweep it with frontier() in its units", file=job.source)
    return sweep(job, index, budgets, "max", snapshot, risk_model)
