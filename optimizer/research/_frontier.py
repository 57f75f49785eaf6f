"""Frontiers: tracking error as one rule's bound is swept, re-solved through CVXPY parameters.

The job is compiled once; each point sets the swept bound's parameter
(``constraints[i].upper`` or ``.lower``) and re-solves, and every point is verified like
any solve (every constraint re-checked numerically on the weights). A bound no portfolio
can meet is recorded as an infeasible point (TE NaN) and the sweep goes on. Points are
solved with relaxation off, whatever the job says: a frontier measures the rule as stated.

Failure paths are cheap: points are solved loosest bound first; once a bound is proven infeasible
(diagnosed by the core), every tighter bound is too (its feasible set is a subset), so it is
neither solved nor diagnosed: its ``message`` reuses that conflict with its own bound, and
:meth:`Frontier.diagnose` gives any point's full diagnosis on request.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd

from trimtab.constraints import FactorExposure, GroupWeight, JobSpec, SpecError, Turnover
from trimtab.models import MarketSnapshot, RiskModel

from .. import (
    Diagnosis,
    InfeasibleError,
    PreparedProblem,
    SolverFailedError,
    TargetPortfolio,
    as_job,
    load_market_data,
    prepare,
    with_job_groups,
)
from ._frontier_rules import SIDES, check_bounds, find_constraint, rule_title, rule_to_sweep, with_side

SENSES = {"max": "<=", "min": ">="}
_ACTIONS = {"max": "raising the cap of", "min": "lowering the floor of"}


@dataclass(frozen=True)
class Frontier:
    """Tracking error along a sweep of one constraint's bound.

    Attributes
    ----------
    constraint : str
        The swept rule: its ``name``, else its description without bounds (``MAG7 weight``).
    side : {"max", "min"}
        Which bound was swept.
    points : pd.DataFrame
        One row per bound, in sweep order: ``bound`` (the rule's units, absolute),
        ``tracking_error`` (annualized fraction, NaN when infeasible), ``feasible``,
        ``status`` (``optimal``, ``infeasible``, ``solver_failed``), ``value`` (the rule's
        measured value), ``binding``, ``active_share``, ``turnover`` (two-way, fractions),
        ``<group>_weight`` per group, ``<factor>_exposure`` (σ) per tilted characteristic,
        ``solve_seconds`` and ``message`` (why a point failed; a bound tighter than one
        already proven infeasible reuses that point's conflict, see :meth:`diagnose`).
    weights : pd.DataFrame
        Target weights, asset_id × point position (0, 1, … in sweep order; NaN when infeasible).
    diagnoser : callable, optional
        ``diagnoser(position) -> Diagnosis``, behind :meth:`diagnose` (None when built by hand).
    """

    constraint: str
    side: str
    points: pd.DataFrame
    weights: pd.DataFrame | None = None
    diagnoser: Callable[[int], Diagnosis] | None = field(default=None, repr=False, compare=False)

    def diagnose(self, position: int) -> Diagnosis:
        """The full diagnosis of the point at ``position`` (sweep order), computed now.

        The sweep diagnoses only the loosest infeasible bound; a tighter one reports that
        conflict and the swept rule's needed bound. This re-solves the point and, when it is
        infeasible, finds its own conflict and the bound each member would need. A frontier
        built by hand has no problem to diagnose (ValueError).
        """
        if self.diagnoser is None:
            raise ValueError("this Frontier has no problem to diagnose; build it with frontier()")
        return self.diagnoser(position)

    def csv(self) -> bytes:
        """The points as CSV bytes (one row per bound, in sweep order)."""
        return self.points.to_csv(index=False, float_format="%.10g").encode()

    @property
    def feasible(self) -> pd.DataFrame:
        """The feasible points only."""
        return self.points[self.points["feasible"]]

    def __repr__(self) -> str:
        n_bad = int((~self.points["feasible"]).sum())
        return f"Frontier({self.constraint!r}, {self.side}: {len(self.points)} points, {n_bad} infeasible)"

    def _repr_html_(self) -> str:
        shown = self.points.drop(columns=["message", "solve_seconds"], errors="ignore")
        n_bad = int((~self.points["feasible"]).sum())
        title = f"Frontier: {html.escape(self.constraint)} — sweeping {self.side}"
        note = f" ({n_bad} infeasible point{'s' if n_bad != 1 else ''})" if n_bad else ""
        return f"<h4>{title}{note}</h4>" + shown.to_html(index=False, float_format=lambda x: f"{x:.4f}", na_rep="—")


def frontier(
    job: JobSpec | str | Path,
    constraint: str,
    bounds: Iterable[float],
    *,
    side: str = "max",
    snapshot: MarketSnapshot | None = None,
    risk_model: RiskModel | None = None,
) -> Frontier:
    """Sweep one constraint's bound and record the minimum tracking error at each.

    Parameters
    ----------
    job : JobSpec or path
        The job (its other rules stay as written).
    constraint : str
        The rule's ``name`` in the job, its description (``MAG7 weight <= 0.2``), its key
        when unique (``turnover``), or ``key:subject`` (``group_weight:MAG7``,
        ``factor_exposure:value``).
    bounds : iterable of float
        Absolute bound values in the rule's units (weights as fractions, exposures in σ),
        in sweep order; a rule with a benchmark-relative bound is swept in absolute terms.
    side : {"max", "min"}
        Which bound to sweep; a rule without that side gets one.
    snapshot, risk_model : optional
        Data and risk model to use instead of the job's (see :func:`optimizer.optimize`).

    Returns
    -------
    Frontier

    Raises
    ------
    SpecError
        Unknown or ambiguous constraint (listing the choices), bad side or bounds.
    """
    job = as_job(job)
    values = check_bounds(bounds)
    index = find_constraint(job, constraint)
    return sweep(job, index, values, side, snapshot, risk_model)


def mag7_cap_frontier(
    job: JobSpec | str | Path,
    caps: Iterable[float] | None = None,
    *,
    snapshot: MarketSnapshot | None = None,
    risk_model: RiskModel | None = None,
) -> Frontier:
    """TE against the cap on the ``MAG7`` group's weight (fraction of NAV).

    Default caps run from the benchmark's MAG7 weight down to 5 % (the benchmark's weight,
    then every 2.5 % below it). A job without a MAG7 cap gets one.
    """
    job = as_job(job)
    if caps is None:
        data = load_market_data(job) if snapshot is None else with_job_groups(job, snapshot)
        if "MAG7" not in data.groups:
            raise SpecError("the data have no MAG7 group", choices=tuple(data.groups))
        benchmark = float(data.benchmark_weights[list(data.groups["MAG7"])].sum())
        steps = np.arange(np.floor(benchmark / 0.025 - 1e-9), 1, -1) * 0.025
        caps = [benchmark] + [round(c, 4) for c in steps if 0.05 - 1e-9 <= c < benchmark]
    caps = check_bounds(caps)
    matches = [i for i, c in enumerate(job.constraints) if (c.key, c.subject) == (GroupWeight.key, "MAG7")]
    several = "several MAG7 group_weight rules; use frontier() with one's name"
    job, index = rule_to_sweep(job, matches, several, lambda: GroupWeight(group="MAG7", max=caps[0]))
    return sweep(job, index, caps, "max", snapshot, risk_model)


def tilt_frontier(
    job: JobSpec | str | Path,
    factor: str = "value",
    targets: Iterable[float] | None = None,
    *,
    snapshot: MarketSnapshot | None = None,
    risk_model: RiskModel | None = None,
) -> Frontier:
    """TE against the minimum active exposure to ``factor`` (σ), 0 → 1 σ by default.

    A job without a ``factor_exposure`` rule on ``factor`` gets one.
    """
    job = as_job(job)
    targets = check_bounds(np.linspace(0.0, 1.0, 6) if targets is None else targets)
    matches = [i for i, c in enumerate(job.constraints) if (c.key, c.subject) == (FactorExposure.key, factor)]
    several = f"several factor_exposure rules on {factor!r}"
    job, index = rule_to_sweep(job, matches, several, lambda: FactorExposure(factor=factor, min=targets[0]))
    return sweep(job, index, targets, "min", snapshot, risk_model)


def turnover_frontier(
    job: JobSpec | str | Path,
    budgets: Iterable[float] | None = None,
    *,
    snapshot: MarketSnapshot | None = None,
    risk_model: RiskModel | None = None,
) -> Frontier:
    """TE against the turnover budget (fraction of NAV, the rule's kind; two-way when added).

    Default budgets: 5 %, 10 %, 20 %, 30 %, 50 %, 75 %, 100 %. A job without a turnover
    rule gets one.
    """
    job = as_job(job)
    budgets = check_bounds((0.05, 0.10, 0.20, 0.30, 0.50, 0.75, 1.00) if budgets is None else budgets)
    matches = [i for i, c in enumerate(job.constraints) if c.key == Turnover.key]
    job, index = rule_to_sweep(job, matches, "several turnover rules", lambda: Turnover(max=max(budgets)))
    return sweep(job, index, budgets, "max", snapshot, risk_model)


# -- the sweep ----------------------------------------------------------------------------
def sweep(
    job: JobSpec,
    index: int,
    bounds: list[float],
    side: str,
    snapshot: MarketSnapshot | None,
    risk_model: RiskModel | None,
) -> Frontier:
    """Sweep rule ``index``'s ``side`` (``max``/``min``) over ``bounds``: one compile, a re-solve per bound.

    Points are solved loosest bound first; a bound proven infeasible makes every tighter one
    infeasible without a solve (see the module docstring).
    """
    if side not in SIDES:
        raise SpecError(f"unknown side {side!r}", choices=tuple(SIDES))
    job = with_side(job, index, side, bounds[0])
    prepared = prepare(job, snapshot=snapshot, risk_model=risk_model)
    position = prepared.constraint_position(index)
    built = prepared.problem.built[position]
    parameter = built.upper if side == "max" else built.lower
    if not isinstance(parameter, cp.Parameter):
        raise SpecError(f"{built.spec.label!r}: its {side} is not a parameter and cannot be swept", file=job.source)
    if parameter.is_nonneg() and min(bounds) < 0:
        raise SpecError(f"{built.spec.label!r}: its {side} cannot be negative (got {min(bounds):g})", file=job.source)
    title = rule_title(built.spec)
    factors = sorted({c.subject for c in job.constraints if c.key == FactorExposure.key})
    point = _Point(prepared, parameter, built.spec.label, title, side)
    rows: dict[int, dict[str, object]] = {}
    weights: dict[int, pd.Series] = {}
    proven: tuple[float, Diagnosis] | None = None  # the loosest bound proven infeasible, and why
    sign = 1.0 if side == "max" else -1.0  # sign * bound grows as the rule loosens
    for i in sorted(range(len(bounds)), key=lambda i: -sign * bounds[i]):  # loosest first
        bound = bounds[i]
        rows[i] = row = {"bound": bound}
        if proven is not None and not built.spec.is_equality:
            row.update(tracking_error=np.nan, feasible=False, status="infeasible", message=point.reused(bound, *proven))
            continue
        try:
            target = point.solve(bound)
        except InfeasibleError as error:
            row.update(tracking_error=np.nan, feasible=False, status="infeasible", message=point.text(str(error), bound))
            if isinstance(error.diagnosis, Diagnosis) and not error.diagnosis.feasible:
                proven = (bound, error.diagnosis)
        except SolverFailedError as error:
            row.update(tracking_error=np.nan, feasible=False, status="solver_failed", message=str(error))
        else:
            d = target.diagnostics
            report = d.constraints[position]
            row.update(
                tracking_error=d.tracking_error, feasible=True, status=d.status, value=report.value,
                binding=report.binding, marginal_te=report.marginal_te, active_share=d.active_share,
                turnover=d.turnover,
                **{f"{g}_weight": v["target"] for g, v in d.groups.items()},
                **{f"{f}_exposure": d.active_exposures[f] for f in factors if f in d.active_exposures},
                solve_seconds=d.solve_seconds, message="",
            )
            weights[i] = target.weights
    points = pd.DataFrame([rows[i] for i in range(len(bounds))])
    order = ["bound", "tracking_error", "feasible", "status", "value", "binding", "marginal_te"]
    points = points[[c for c in order if c in points] + [c for c in points if c not in order]]
    points["feasible"] = points["feasible"].astype(bool)
    ids = prepared.data.snapshot.asset_ids
    table = pd.DataFrame({i: weights.get(i, pd.Series(np.nan, index=ids)) for i in range(len(bounds))}, index=ids)
    return Frontier(
        constraint=title, side=side, points=points, weights=table, diagnoser=lambda i: point.diagnose(bounds[i])
    )


@dataclass(frozen=True)
class _Point:
    """A sweep's prepared problem and swept parameter; ``label`` names the rule in the core's messages."""

    prepared: PreparedProblem
    parameter: cp.Parameter
    label: str
    title: str
    side: str

    def solve(self, bound: float) -> TargetPortfolio:
        """The verified target at ``bound`` (relaxation off); raises like ``PreparedProblem.solve``."""
        overrides = {self.parameter.name(): np.full(self.parameter.shape, bound)}
        return self.prepared.solve(overrides, allow_relaxation=False)

    def name(self, bound: float) -> str:
        """The swept rule at ``bound``: ``MAG7 weight <= 0.15``."""
        return f"{self.title} {SENSES[self.side]} {bound:g}"

    def text(self, message: str, bound: float) -> str:
        """A core message about the point at ``bound``, naming the rule with that bound."""
        return message.replace(self.label, self.name(bound))

    def diagnose(self, bound: float) -> Diagnosis:
        """The point's full diagnosis (one solve, and a diagnosis when it is infeasible)."""
        try:
            self.solve(bound)
        except InfeasibleError as error:
            found = error.diagnosis if isinstance(error.diagnosis, Diagnosis) else Diagnosis(False, (), str(error))
            members = tuple(
                dataclasses.replace(m, name=self.name(bound)) if m.name == self.label else m for m in found.conflict
            )
            return dataclasses.replace(found, conflict=members, message=self.text(found.message, bound))
        return Diagnosis(True, (), "every constraint can hold")

    def reused(self, bound: float, proven_at: float, diagnosis: Diagnosis) -> str:
        """Why ``bound``, tighter than ``proven_at`` (infeasible by ``diagnosis``), cannot hold either.

        The conflict stands, and the swept rule's needed bound (found with every other rule
        hard) is the same; the others' needed bounds depend on this one (:meth:`Frontier.diagnose`).
        """
        if not diagnosis.conflict:
            return self.text(f"no portfolio satisfies every constraint: {diagnosis.message}", bound)
        names = [f"'{self.name(bound) if m.name == self.label else m.name}'" for m in diagnosis.conflict]
        together = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        verb = "cannot hold" if len(names) == 1 else "conflict"
        text = f"no portfolio satisfies every constraint: {together} {verb}, as at {self.side} {proven_at:g}"
        swept = [m for m in diagnosis.conflict if m.name == self.label]
        if not swept:
            return text + " (a conflict without this rule)"
        needed = swept[0].needed
        if not math.isfinite(needed):
            return text + "; other rules conflict too, so no bound of this rule alone fixes the job"
        return f"{text}; {_ACTIONS[self.side]} '{self.name(bound)}' from {bound:.4g} to {needed:.4g} fixes the job"
