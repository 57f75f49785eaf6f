"""A job ready to solve: its data, risk model and compiled problem, re-solved through parameters.

:func:`prepare` does the expensive work once (load and check the data, fit the risk model,
compile or fetch the cached problem); :meth:`PreparedProblem.solve` then costs one solver
call plus the numeric checks, and may override any named parameter — a frontier sweeps a
bound this way, an export re-checks rules on rounded weights against the same problem.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from trimtab.constraints import Constraint, DataView, JobSpec, NoBuy
from trimtab.models import MarketSnapshot, RiskModel, TaxLots

from ._compile_cache import compiled_problem
from ._compiled import CompiledProblem
from ._costs import expected_costs
from ._infeasibility import Diagnosis
from ._inputs import as_job, estimate_index_risk, estimate_risk, load_market_data, with_job_groups
from ._result import Diagnostics, Solution, TargetPortfolio
from ._tax_inputs import job_lot_book
from ._tax_report import TaxReport, rule_sales, tax_report

#: A name counts as held above this weight (fraction of NAV).
HELD_THRESHOLD = 1e-6

#: From this many assets on, a full-covariance model (no specific risk) is solved with its
#: covariance as the objective's quadratic rather than in factor form with a dense n×n root:
#: about twice as fast a solve at 500 names, but compiled once per covariance (a backtest
#: recompiles at each rebalance). Below it, the DPP factor form re-solves without recompiling.
DENSE_QUADRATIC_MIN_ASSETS = 200

#: Columns of the report's sector table (weights as fractions of NAV).
SECTOR_COLUMNS = pd.Index(["target", "benchmark", "active"])

#: The name of the rule trimtab adds on names with too short a return history.
SHORT_HISTORY_RULE = "short history: not bought"

#: How the summary names a benchmark given by constituent weights (as of the data's date).
BENCHMARK_WEIGHTS_FORM = "constituent weights at the as-of date"


class ReportConstants(NamedTuple):
    """What every report of one prepared job shares, read once off its job and data (~0.7 ms a solve)."""

    sectors: pd.Series
    sector_rows: pd.Index
    characteristic_names: tuple[str, ...]
    characteristics: np.ndarray
    group_masks: dict[str, np.ndarray]
    as_of: pd.Timestamp
    benchmark_form: str
    short_history: tuple[str, ...]
    warnings: tuple[str, ...]
    job_source: str


@dataclass(frozen=True)
class PreparedProblem:
    """A job with its data, risk model and compiled problem.

    Attributes
    ----------
    job : JobSpec
        The job.
    data : DataView
        Its market snapshot (job groups added, names checked) and risk model (reindexed to
        the snapshot's assets).
    problem : CompiledProblem
        The compiled CVXPY problem (shared through the compile cache with any job of the
        same shape and rules).
    build_seconds, risk_seconds : float
        Wall-clock seconds spent compiling (near 0 when cached) and fitting the risk model
        (0 when one was given).
    input_files : tuple of (str, str)
        ``(role, absolute path)`` of the data files read for the job (none when the data or the
        risk model were given in memory, or for the embedded dataset).
    """

    job: JobSpec
    data: DataView
    problem: CompiledProblem
    build_seconds: float
    risk_seconds: float
    input_files: tuple[tuple[str, str], ...] = ()

    def solve(
        self,
        overrides: Mapping[str, np.ndarray | float] | None = None,
        *,
        allow_relaxation: bool | None = None,
        one_shot: bool = False,
    ) -> TargetPortfolio:
        """Solve, verify every constraint numerically and report.

        Parameters
        ----------
        overrides : mapping of str to array, optional
            Values for named parameters (``"constraints[3].upper"``), set after the data's.
        allow_relaxation : bool, optional
            Relax rules with a ``priority`` when the hard rules conflict; default: the job's
            ``allow_relaxation``.
        one_shot : bool
            No re-solve of this problem will follow (as in :func:`trimtab.optimize`): the
            first solve of the compiled problem compiles with the data as constants, faster than
            the parametric compile that re-solves need (2 s → 0.05 s at 10,000 names); any
            later solve of it (one-shot or not: a loop of ``optimize()`` calls) compiles that.
            (A large job minimizing tracking error alone compiles the cone with constant data
            at every solve anyway: ``_objective.CONE_OBJECTIVE_MIN_ASSETS``.)

        Raises
        ------
        InfeasibleError, SolverFailedError
            Each naming what failed.
        """
        relax = self.job.allow_relaxation if allow_relaxation is None else allow_relaxation
        solution = self.problem.solve(
            self.data, self.job.solver, allow_relaxation=relax, overrides=overrides, one_shot=one_shot
        )
        return _target_portfolio(self, solution)

    def with_holdings(self, data: DataView) -> PreparedProblem:
        """This prepared job on ``data``: the same market (snapshot, risk model, index) with other holdings.

        The market's figures and the report's constants are shared with this one, not
        recomputed (a batch's accounts). Raises ValueError for a view of another market.
        """
        data.share_market_caches(self.data)
        other = replace(self, data=data)
        other.__dict__["report_constants"] = self.report_constants  # a cached_property: job and market alone
        return other

    @cached_property
    def report_constants(self) -> ReportConstants:
        """The parts of every report that depend on the job and data alone (neither changes in a prepared job)."""
        data, snapshot = self.data, self.data.snapshot
        source = Path(self.job.source)
        groups = {name: data.group_mask(members) for name, members in snapshot.groups.items()}
        for constraint in self.job.constraints:
            members = constraint.defined_group(data)
            if members is not None:
                groups[constraint.subject] = data.group_mask(members)
        return ReportConstants(
            sectors=snapshot.sectors,
            sector_rows=pd.Index(data.sector_index[0], name=snapshot.sectors.name),
            characteristic_names=tuple(str(c) for c in snapshot.characteristics.columns),
            characteristics=snapshot.characteristics.to_numpy(dtype=float),
            group_masks=groups,
            as_of=pd.Timestamp(snapshot.as_of),
            benchmark_form=data.benchmark_risk.description if data.index_risk is not None else BENCHMARK_WEIGHTS_FORM,
            short_history=tuple(snapshot.short_history),
            warnings=_warnings(snapshot),
            job_source=str(source.resolve()) if source.is_file() else "",
        )

    def diagnose(self) -> Diagnosis:
        """Whether the job's constraints can all hold on this data; if not, an irreducible conflict."""
        return self.problem.diagnose(self.data)

    def assign(self, data: DataView | None = None) -> None:
        """Set every parameter of the compiled problem from ``data`` (default: this job's data)."""
        self.problem.context.assign(self.data if data is None else data)

    def tax_of(self, weights: pd.Series | np.ndarray, *, lot_order: str = "min_tax") -> TaxReport:
        """The tax of trading from the current holdings to ``weights`` with lots picked by a rule.

        For a target chosen without the lots (a tax-unaware run): each net sell is taken from
        the asset's lots cheapest in tax first (``min_tax``, the least any lot choice pays for
        these trades) or oldest first (``fifo``); wash-blocked loss lots go last and their loss
        is disallowed.

        Parameters
        ----------
        weights : pd.Series (by asset_id) or np.ndarray
            Target weights, fractions of NAV.
        lot_order : {"min_tax", "fifo"}
            The lot rule.

        Raises
        ------
        ValueError
            When the job has no ``taxes`` section.
        """
        book, spec = self.data.lots, self.job.taxes
        if book is None or spec is None:
            raise ValueError("the job has no taxes section: no lots to sell")
        ids = self.data.snapshot.asset_ids
        w = weights.reindex(ids).fillna(0.0).to_numpy(float) if isinstance(weights, pd.Series) else np.asarray(weights, float)
        sales = rule_sales(book, spec, self.data.holdings, w, lot_order)
        return tax_report(book, spec, sales, lot_choice=lot_order, disallowed=book.loss_sale_blocked)

    def constraint_position(self, index: int) -> int:
        """Position in :attr:`CompiledProblem.built` (and in the reports) of the job's ``index``-th rule.

        The job's defaults (budget, long-only) come first in the compiled problem.
        """
        return len(self.job.effective_constraints) - len(self.job.constraints) + index


def prepare(
    job: JobSpec | str | Path,
    *,
    snapshot: MarketSnapshot | None = None,
    risk_model: RiskModel | None = None,
    lots: TaxLots | None = None,
) -> PreparedProblem:
    """Load a job's data, fit its risk model and compile its problem, ready to solve.

    Parameters
    ----------
    job : JobSpec or path
        A job spec, or the path of a YAML job file.
    snapshot : MarketSnapshot, optional
        Market data to use instead of the job's ``data`` section.
    risk_model : RiskModel, optional
        Risk model to use instead of estimating the job's ``risk_model``.
    lots : TaxLots, optional
        Tax lots (and recent trades) to use instead of the job's ``taxes`` files or the
        synthetic lots; only with a ``taxes`` section.

    Raises
    ------
    SpecError, DataError
        The job or its data is invalid (each naming file, field, asset or date); lots that
        do not add up to the holdings, or on unknown assets, or dated after the as-of date.
    """
    job = as_job(job)
    snapshot_given, risk_model_given = snapshot, risk_model
    snapshot = load_market_data(job) if snapshot is None else with_job_groups(job, snapshot)
    if lots is not None and job.taxes is None:
        raise ValueError("lots were given but the job has no taxes section")
    book = job_lot_book(job, snapshot, lots) if job.taxes is not None else None  # checked before any estimation
    risk_seconds = 0.0
    if risk_model is None:
        started = time.perf_counter()
        risk_model = estimate_risk(job, snapshot)
        risk_seconds = time.perf_counter() - started
    risk_model = risk_model.reindexed(snapshot.asset_ids)
    index_risk = estimate_index_risk(job, snapshot, risk_model)
    started = time.perf_counter()
    data = DataView(snapshot, risk_model, index_risk, lots=book)
    universe = data.universe  # the data view's own (its parameter values use it too)
    job.check_universe(universe)  # names only a risk model knows (factor_exposure on style:size)
    full_covariance = not np.any(risk_model.specific_vol > 0) and snapshot.n_assets >= DENSE_QUADRATIC_MIN_ASSETS
    dense = risk_model.loadings @ risk_model.loadings.T if full_covariance else None
    problem = compiled_problem(
        universe, risk_model.n_factors, _constraints(job, snapshot), job.costs, job.cardinality, dense_covariance=dense,
        taxes=job.taxes, lot_structure=book.structure if book is not None else None,
    )
    build_seconds = time.perf_counter() - started
    files = job_input_files(job, data=snapshot_given is None, risk_model=risk_model_given is None, lots=lots is None)
    return PreparedProblem(job, data, problem, build_seconds, risk_seconds, files)


def _constraints(job: JobSpec, snapshot: MarketSnapshot) -> tuple[Constraint, ...]:
    """The job's rules (defaults included), and a no-buy rule on the snapshot's short-history names.

    A name with fewer real returns in the risk window than the window has days has proxy
    returns for the rest (see :mod:`trimtab.models`): its risk is a guess, so it may be kept or
    sold but not bought. The rule comes last, so the job's own rules keep their positions.
    """
    rules = job.effective_constraints
    if snapshot.short_history:
        rules += (NoBuy(assets=list(snapshot.short_history), name=SHORT_HISTORY_RULE),)
    return rules


def job_input_files(
    job: JobSpec, *, data: bool = True, risk_model: bool = True, lots: bool = True
) -> tuple[tuple[str, str], ...]:
    """``(role, absolute path)`` of the files a job reads: its data (``source: files``), a vendor model's
    and its tax lots and trades."""
    roles: list[tuple[str, str | None]] = []
    if data and job.data.source == "files":
        roles += [(role, getattr(job.data, role)) for role in ("universe", "returns", "holdings")]
        if job.data.benchmark is not None:
            roles += [(f"benchmark {form}", getattr(job.data.benchmark, form)) for form in ("returns", "weights")]
    if risk_model and job.risk_model.method == "vendor":
        roles += [(role, getattr(job.risk_model, role)) for role in ("exposures", "factor_covariance", "specific_risk")]
    if lots and job.taxes is not None:
        roles += [("tax lots", job.taxes.lots), ("tax trades", job.taxes.trades)]
    return tuple((role, str(Path(job.resolve(path)).resolve())) for role, path in roles if path)


def _target_portfolio(prepared: PreparedProblem, solution: Solution) -> TargetPortfolio:
    """The verified weights of ``solution`` with every figure the diagnostics report."""
    job, data = prepared.job, prepared.data
    build_seconds, risk_seconds = prepared.build_seconds, prepared.risk_seconds
    snapshot, risk_model = data.snapshot, data.risk_model
    ids = snapshot.asset_ids
    w = solution.weights
    wb, w0 = data.benchmark, data.holdings
    active = w - wb
    factor_var, specific_var = data.tracking_variance(w)  # for an index series, κ is in the specific part
    labels, codes = data.sector_index
    target_by_sector = np.bincount(codes, weights=w, minlength=len(labels))
    benchmark_by_sector = np.bincount(codes, weights=wb, minlength=len(labels))
    constants = prepared.report_constants
    sectors = pd.DataFrame(
        np.column_stack([target_by_sector, benchmark_by_sector, target_by_sector - benchmark_by_sector]),
        index=constants.sector_rows,
        columns=SECTOR_COLUMNS,
    )
    diagnostics = Diagnostics(
        status=solution.status,
        solver=solution.solver,
        solve_seconds=solution.seconds,
        build_seconds=build_seconds,
        risk_model_seconds=risk_seconds,
        tracking_error=float(np.sqrt(factor_var + specific_var)),
        factor_tracking_error=float(np.sqrt(factor_var)),
        specific_tracking_error=float(np.sqrt(specific_var)),
        active_share=float(0.5 * np.abs(active).sum()),
        turnover=float(np.abs(w - w0).sum()),
        names_held=int((w > HELD_THRESHOLD).sum()),
        groups={g: {"target": float(m @ w), "benchmark": float(m @ wb)} for g, m in constants.group_masks.items()},
        sectors=sectors,
        active_exposures=dict(zip(constants.characteristic_names, (constants.characteristics.T @ active).tolist())),
        constraints=solution.reports,
        attempts=solution.attempts,
        costs=expected_costs(data, job.costs, w) if job.costs is not None else None,
        cash=float(1.0 - w.sum()) if not prepared.problem.fully_invested else 0.0,
        cardinality=solution.cardinality,
        taxes=_taxes(prepared, solution),
    )
    return TargetPortfolio(
        weights=pd.Series(w, index=ids, name="target_weight"),
        benchmark=pd.Series(wb, index=ids, name="benchmark_weight"),
        holdings=pd.Series(w0, index=ids, name="current_weight"),
        sectors=constants.sectors,
        as_of=constants.as_of,
        dataset=snapshot.dataset,
        job_name=job.name,
        job_sha256=job.sha256,
        risk_model=risk_model.name,
        diagnostics=diagnostics,
        job_source=constants.job_source,
        input_files=prepared.input_files,
        benchmark_form=constants.benchmark_form,
        short_history=constants.short_history,
        warnings=constants.warnings,
    )


def _taxes(prepared: PreparedProblem, solution: Solution) -> TaxReport | None:
    """The tax report of ``solution`` (None for a job without a ``taxes`` section)."""
    book, spec = prepared.data.lots, prepared.job.taxes
    if book is None or spec is None or solution.lot_sales is None:
        return None
    return tax_report(book, spec, solution.lot_sales, wash_sale=solution.wash_sales)


def _warnings(snapshot: MarketSnapshot) -> tuple[str, ...]:
    """What the user should know about the data behind a result (printed and in summary.json)."""
    if not snapshot.short_history:
        return ()
    days = snapshot.history_days
    shown = ", ".join(
        f"{a} ({int(days[a])} days)" if days is not None and a in days.index else a for a in snapshot.short_history[:10]
    )
    more = f" and {len(snapshot.short_history) - 10} more" if len(snapshot.short_history) > 10 else ""
    return (
        f"{len(snapshot.short_history)} name(s) have less return history than the risk window: {shown}{more}; their "
        "missing returns are sector proxies and they are not bought (rule 'short history: not bought')",
    )
