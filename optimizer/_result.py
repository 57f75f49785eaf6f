"""Result types: the verified solution of one solve, and the target portfolio with its
diagnostics (plain data for notebooks and files). The per-rule reports are in ``_reports``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from ._reports import CardinalityReport, ConstraintReport
from ._result_html import portfolio_html
from ._tax_report import TaxReport, WashSaleReport

#: Status of a solve stopped by its time limit: the answer is verified, its optimality not proven.
TIME_LIMIT_STATUS = "time_limit"


@dataclass(frozen=True)
class Solution:
    """Verified weights and how they were obtained.

    Attributes
    ----------
    weights : np.ndarray
        Target weights (n,), fractions of NAV, after dust removal.
    status : str
        CVXPY status of the accepted solve (``optimal`` or ``optimal_inaccurate``).
    solver : str
        Solver that produced the weights.
    seconds : float
        Wall-clock seconds of the accepted solve (parameter assignment + solve + checks).
    attempts : tuple of str
        One line per solver tried, e.g. ``"CLARABEL: optimal"``.
    reports : tuple of ConstraintReport
        One report per constraint, measured numerically on ``weights``.
    cardinality : CardinalityReport or None
        How the holdings-count rules were met (method, gap), when the job has them.
    lot_sales, buys : np.ndarray or None
        With tax lots: weight sold from each lot (L,) and bought of each asset (n,), fractions of NAV.
    wash_sales : WashSaleReport or None
        With tax lots: how the same-rebalance wash-sale rule was met.
    """

    weights: np.ndarray
    status: str
    solver: str
    seconds: float
    attempts: tuple[str, ...]
    reports: tuple[ConstraintReport, ...]
    cardinality: CardinalityReport | None = None
    lot_sales: np.ndarray | None = None
    buys: np.ndarray | None = None
    wash_sales: WashSaleReport | None = None


@dataclass(frozen=True)
class Diagnostics:
    """Figures that prove what the target portfolio is.

    Attributes
    ----------
    status, solver : str
        CVXPY status and the solver that produced the weights.
    solve_seconds, build_seconds, risk_model_seconds : float
        Wall-clock seconds to solve (incl. checks), to compile the problem (0 when cached),
        and to estimate the risk model.
    tracking_error : float
        Ex-ante tracking error vs the benchmark, annualized (0.01 = 1 %).
    factor_tracking_error, specific_tracking_error : float
        Its factor and specific parts (annualized; their squares add up to TE²).
    active_share : float
        ½ Σ|w − w_b| (fraction).
    turnover : float
        Two-way turnover Σ|w − w₀| vs current holdings (fraction of NAV); one-way is half.
    names_held : int
        Number of names with weight > 1e-6.
    groups : Mapping[str, Mapping[str, float]]
        ``{group: {"target": x, "benchmark": y}}`` (fractions of NAV).
    sectors : pd.DataFrame
        Per sector: ``target``, ``benchmark``, ``active`` weights.
    active_exposures : Mapping[str, float]
        Active exposure to every characteristic, σ.
    constraints : tuple of ConstraintReport
        One per constraint, measured on the weights.
    attempts : tuple of str
        Solvers tried and what each returned.
    costs : Mapping[str, float] or None
        Expected ``linear``, ``impact`` and ``total`` trading cost, fractions of NAV, when
        the job has a ``costs`` section.
    cash : float
        Cash weight ``1 − Σw`` (fraction of NAV; 0 unless the job has a ``cash`` rule).
    cardinality : CardinalityReport or None
        Method (exact/heuristic), names held and the gap to a proven bound, when the job
        has holdings-count rules.
    taxes : TaxReport or None
        Realized gains and losses, the tax, the lots sold and the wash-sale method, when the
        job has a ``taxes`` section.
    """

    status: str
    solver: str
    solve_seconds: float
    build_seconds: float
    risk_model_seconds: float
    tracking_error: float
    factor_tracking_error: float
    specific_tracking_error: float
    active_share: float
    turnover: float
    names_held: int
    groups: Mapping[str, Mapping[str, float]]
    sectors: pd.DataFrame
    active_exposures: Mapping[str, float]
    constraints: tuple[ConstraintReport, ...]
    attempts: tuple[str, ...]
    costs: Mapping[str, float] | None = None
    cash: float = 0.0
    cardinality: CardinalityReport | None = None
    taxes: TaxReport | None = None

    def constraints_frame(self) -> pd.DataFrame:
        """One row per constraint: value, bound, slack, dual, binding."""
        return pd.DataFrame([asdict(r) for r in self.constraints])


@dataclass(frozen=True)
class TargetPortfolio:
    """The optimal portfolio: weights by asset_id and the diagnostics that prove it.

    Attributes
    ----------
    weights : pd.Series
        Target weights by asset_id, fractions of NAV, summing to 1 (to 1 − cash when the
        job holds cash).
    benchmark : pd.Series
        Benchmark weights by asset_id.
    holdings : pd.Series
        Current weights by asset_id (turnover is measured against these).
    sectors : pd.Series
        Sector of each asset.
    as_of : pd.Timestamp
        Date of the market data.
    dataset : str
        Data source name (``synthetic-sp500 …`` for the embedded data).
    job_name : str or None
        The job's name.
    job_sha256 : str
        SHA-256 of the job file's bytes.
    risk_model : str
        Description of the risk model used.
    diagnostics : Diagnostics
        Solver, TE, active share, groups, exposures, turnover and per-constraint reports.
    job_source : str
        Absolute path of the job file (empty for a job given as text), so an export can re-check it.
    short_history : tuple of str
        Names with less return history than the risk window (proxied, not bought).
    warnings : tuple of str
        What the user should know about the data behind the result.
    benchmark_form : str
        How the benchmark was given: constituent weights at the as-of date, or an index return
        series (with how its risk was estimated).
    input_files : tuple of (str, str)
        ``(role, absolute path)`` of each data file the job read (``universe``, ``returns``,
        ``holdings``, vendor model files); empty for the embedded dataset or data given in memory.
        A run directory records their SHA-256, so an export can tell when the data changed.
    """

    weights: pd.Series
    benchmark: pd.Series
    holdings: pd.Series
    sectors: pd.Series
    as_of: pd.Timestamp
    dataset: str
    job_name: str | None
    job_sha256: str
    risk_model: str
    diagnostics: Diagnostics
    job_source: str = ""
    input_files: tuple[tuple[str, str], ...] = ()
    benchmark_form: str = "constituent weights at the as-of date"
    short_history: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Per asset, sorted by asset_id: sector, benchmark, target, active, current weight and trade."""
        frame = pd.DataFrame(
            {
                "sector": self.sectors,
                "benchmark_weight": self.benchmark,
                "target_weight": self.weights,
                "active_weight": self.weights - self.benchmark,
                "current_weight": self.holdings,
                "trade_weight": self.weights - self.holdings,
            }
        )
        frame.index.name = "asset_id"
        return frame.sort_index()

    def summary(self) -> dict[str, Any]:
        """The run summary as plain JSON-ready data (the content of ``summary.json``)."""
        d = self.diagnostics
        return {
            "status": d.status,
            "dataset": self.dataset,
            "as_of": self.as_of.date().isoformat(),
            "job_name": self.job_name,
            "job_sha256": self.job_sha256,
            "job_source": self.job_source,
            "risk_model": self.risk_model,
            "benchmark": self.benchmark_form,
            "short_history": list(self.short_history),
            "warnings": list(self.warnings),
            "tracking_error": d.tracking_error,
            "factor_tracking_error": d.factor_tracking_error,
            "specific_tracking_error": d.specific_tracking_error,
            "active_share": d.active_share,
            "turnover": d.turnover,
            "turnover_definition": "two-way: sum |target - current| (one-way is half)",
            "names_held": d.names_held,
            "cash": d.cash,
            "groups": {k: dict(v) for k, v in d.groups.items()},
            "sectors": {
                s: {"target": float(t), "benchmark": float(b)}
                for s, t, b in zip(d.sectors.index, d.sectors["target"].to_numpy(), d.sectors["benchmark"].to_numpy())
            },
            "active_exposures": dict(d.active_exposures),
            "solver": d.solver,
            "solve_seconds": d.solve_seconds,
            "build_seconds": d.build_seconds,
            "risk_model_seconds": d.risk_model_seconds,
            "costs": dict(d.costs) if d.costs is not None else None,
            "cardinality": (
                {k: _json_number(v) for k, v in asdict(d.cardinality).items()} if d.cardinality is not None else None
            ),
            "solver_attempts": list(d.attempts),
            "relaxed": [
                {"name": r.name, "kind": r.kind, "bound": r.bound, "value": r.value, "violation": r.violation}
                for r in d.constraints
                if r.mode == "relaxed" and r.violation > 0
            ],
            "constraints": [  # flat dataclasses: their fields, without asdict's deep copies
                {f.name: _json_number(getattr(r, f.name)) for f in fields(r)} for r in d.constraints
            ],
            **({"taxes": d.taxes.summary()} if d.taxes is not None else {}),
        }

    def top_active(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` largest active weights by absolute size."""
        frame = self.to_frame()
        order = frame["active_weight"].abs().sort_values(ascending=False, kind="stable").index[:n]
        return frame.loc[order, ["sector", "benchmark_weight", "target_weight", "active_weight"]]

    def __repr__(self) -> str:
        d = self.diagnostics
        return (
            f"TargetPortfolio({self.job_name or 'job'}: {d.status}, TE {d.tracking_error:.3%}, "
            f"active share {d.active_share:.1%}, turnover {d.turnover:.1%}, {d.names_held} names, {self.dataset})"
        )

    def _repr_html_(self) -> str:
        return portfolio_html(self)


def _json_number(value: Any) -> Any:
    """NaN/inf are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
