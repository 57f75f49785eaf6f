"""The sections of a job file other than ``constraints``: data, risk model, solver, costs,
holdings count, taxes and output — pydantic models that reject unknown keys."""

from __future__ import annotations

import functools
from typing import Annotated, Literal

import cvxpy as cp
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from trimtab.models import RISK_MODEL_REGISTRY

from ._numbers import NOT_FINITE, reads_as_non_finite

#: Accepted ``risk_model.method`` values, derived from the models' registry (declared there once).
RISK_MODEL_METHODS: tuple[str, ...] = tuple(RISK_MODEL_REGISTRY)

#: ``Literal`` of :data:`RISK_MODEL_METHODS`: pydantic rejects other values naming every choice.
_RiskModelMethodName = Literal[RISK_MODEL_METHODS]  # type: ignore[valid-type]

#: Files of a vendor risk model in the ``risk_model`` section.
VENDOR_FILE_KEYS = ("exposures", "factor_covariance", "specific_risk")


def _seed(value: object) -> int:
    """A seed of ``numpy.random.default_rng``: an integer ≥ 0 (booleans, floats and text are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"seed must be a whole number 0 or above (numpy.random.default_rng takes any integer ≥ 0), got {value!r}"
        )
    return value


def _param(value: int | float | str | bool) -> int | float | str | bool:
    """An estimator parameter; text that reads as NaN or infinity (``"nan"``) is refused."""
    if isinstance(value, str) and reads_as_non_finite(value):
        raise ValueError(f"{value!r} is not a finite number; {NOT_FINITE}")
    return value


#: A value of ``risk_model.params``.
Param = Annotated[int | float | str | bool, AfterValidator(_param)]

#: ``data.seed``: the draw of the embedded dataset.
Seed = Annotated[int, BeforeValidator(_seed)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class BenchmarkSpec(_Section):
    """How the benchmark is given, when not by the universe's own weights or caps.

    Exactly one of:

    * ``returns`` + ``column``: an index return series (a file with a ``date`` column and the
      index's daily simple returns in ``column``), for users who track an index whose
      constituent weights they do not hold. Tracking error is then the volatility of
      ``wᵀr − r_b``, estimated from the assets' and the index's returns together.
    * ``weights``: point-in-time constituents, a long file ``date, asset_id`` and ``weight``
      (fractions) or ``market_cap`` (USD; normalized per date): the benchmark on each date
      is its last row on or before that date (a backtest walks it).

    Without this section the benchmark is the universe's ``benchmark_weight`` column, else
    its ``market_cap`` (cap-weighted), at the as-of date.
    """

    returns: str | None = None
    column: str | None = None
    weights: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> BenchmarkSpec:
        if (self.returns is None) == (self.weights is None):
            raise ValueError("give either 'returns' (with 'column') or 'weights', not both and not neither")
        if (self.returns is None) != (self.column is None):
            raise ValueError("'returns' and 'column' go together: the file and the index's column in it")
        return self

    @property
    def form(self) -> Literal["returns", "weights"]:
        """``returns`` (an index return series) or ``weights`` (point-in-time constituents)."""
        return "returns" if self.returns is not None else "weights"


class DataSpec(_Section):
    """Where the market data comes from.

    ``source: embedded`` uses the synthetic S&P 500-like dataset (``seed`` picks the
    draw); ``source: files`` reads ``universe``, ``returns`` and optional ``holdings``
    (CSV — plain or ``.csv.gz``/``.bz2``/``.zip``/``.xz``/``.zst`` — or Parquet; paths
    relative to the job file), and an optional ``benchmark`` given as an index return
    series or point-in-time weights (:class:`BenchmarkSpec`). The same files are a history
    for ``trimtab backtest`` when ``returns`` spans the backtest (ragged: names may list and
    delist; ``holdings`` is then unused — a backtest starts from the benchmark).
    ``groups`` adds named groups.
    """

    source: Literal["embedded", "files"] = "embedded"
    seed: Seed = 7
    universe: str | None = None
    returns: str | None = None
    holdings: str | None = None
    benchmark: BenchmarkSpec | None = None
    groups: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _paths_match_source(self) -> DataSpec:
        paths = {k: getattr(self, k) for k in ("universe", "returns", "holdings", "benchmark")}
        if self.source == "files":
            missing = [k for k in ("universe", "returns") if paths[k] is None]
            if missing:
                raise ValueError(f"source 'files' needs {missing}")
        elif any(v is not None for v in paths.values()):
            raise ValueError("universe/returns/holdings/benchmark are only read with source: files")
        return self


class RiskModelSpec(_Section):
    """Risk model: ``method``, the trailing ``window`` of daily returns it is fitted on,
    the fundamental model's ``styles`` (default: value and quality where the data has them)
    and estimator ``params`` (e.g. ``halflife``, ``n_factors``). ``method: vendor`` reads a
    delivered model from ``exposures``, ``factor_covariance`` and ``specific_risk`` files
    (``units``: ``fraction`` or ``percent``) instead of estimating one."""

    method: _RiskModelMethodName = "fundamental"
    window: Annotated[int, Field(ge=20)] | None = 756
    styles: list[str] | None = None
    params: dict[str, Param] = Field(default_factory=dict)
    exposures: str | None = None
    factor_covariance: str | None = None
    specific_risk: str | None = None
    units: Literal["fraction", "percent"] = "fraction"

    @model_validator(mode="after")
    def _vendor_files(self) -> RiskModelSpec:
        files = {k: getattr(self, k) for k in VENDOR_FILE_KEYS}
        if self.method == "vendor":
            missing = [k for k, v in files.items() if v is None]
            if missing:
                raise ValueError(f"method 'vendor' needs {missing}")
        elif any(v is not None for v in files.values()):
            raise ValueError(f"{list(VENDOR_FILE_KEYS)} are only read with method: vendor")
        return self


class SolverSpec(_Section):
    """Conic solver and the fallbacks tried, in order, if it fails."""

    name: str = "CLARABEL"
    fallback: list[str] = Field(default_factory=lambda: ["SCS"])

    @model_validator(mode="after")
    def _installed(self) -> SolverSpec:
        installed = _installed_solvers()
        for solver in (self.name, *self.fallback):
            if solver.upper() not in installed:
                raise ValueError(f"solver {solver!r} is not installed; installed: {', '.join(installed)}")
        return self


@functools.lru_cache(maxsize=1)
def _installed_solvers() -> tuple[str, ...]:
    """CVXPY's installed solvers, asked once per process (each call probes every solver: ~2 ms a job)."""
    return tuple(cp.installed_solvers())


class ImpactSpec(_Section):
    """Market impact ``k·σ·√(NAV/ADV$)·|t|^{3/2}`` per name (fraction of NAV).

    ``σ`` is the name's daily volatility (from the risk model), ``ADV$ = price × adv``,
    ``t`` the trade as a fraction of NAV; ``coefficient`` is ``k`` (dimensionless, ~1).
    """

    coefficient: Annotated[float, Field(ge=0)] = 1.0
    nav: Annotated[float, Field(gt=0)]


class CostSpec(_Section):
    """Trading costs in the objective: ``minimize (γ/2)·TE² + linear + impact``.

    ``risk_aversion`` γ trades annualized active variance against one-off costs in
    fractions of NAV (γ = 100: 1 bp of cost is worth 0.0002 of TE², e.g. TE from 2.00 % to
    2.05 %). ``linear_bps`` is the default cost per unit traded in basis points;
    ``linear_bps_column`` names a universe column with a per-name cost (bps).
    """

    risk_aversion: Annotated[float, Field(gt=0)] = 100.0
    linear_bps: Annotated[float, Field(ge=0)] = 0.0
    linear_bps_column: str | None = None
    impact: ImpactSpec | None = None


class CardinalitySpec(_Section):
    """Holdings-count rules: at most ``max_names`` names, each held name at least ``min_weight``.

    These rules are not convex: ``method: exact`` solves the mixed-integer problem with SCIP
    (``pip install 'trimtab[mip]'``; practical up to a few dozen names within
    ``time_limit`` seconds), ``heuristic`` drops the smallest names in rounds and re-solves
    on the survivors (any size), ``auto`` is exact for small universes when SCIP is
    installed, heuristic otherwise. The result states the method and the gap to a proven
    lower bound (see ``optimizer._cardinality``). Long-only portfolios only.
    """

    max_names: Annotated[int, Field(ge=1)] | None = None
    min_weight: Annotated[float, Field(gt=0, le=1)] | None = None
    method: Literal["auto", "exact", "heuristic"] = "auto"
    time_limit: Annotated[float, Field(gt=0)] = 60.0

    @model_validator(mode="after")
    def _a_rule(self) -> CardinalitySpec:
        if self.max_names is None and self.min_weight is None:
            raise ValueError("give 'max_names', 'min_weight' or both")
        return self


class TaxSpec(_Section):
    """Tax-aware rebalancing: tax lots, the tax bill in the objective, wash sales.

    The objective becomes ``TE² + weight × tax`` (TE² annualized, tax a fraction of NAV):
    with ``weight: 1`` a tax of 1 bp of NAV costs as much as 1e-4 of TE² (TE from 2 % to
    about 2.24 %). Each lot is taxed at its own term's rate on its own gain (a loss saves
    tax at that rate): ``tax = Σ rate × (1 − basis / price) × sale``.

    Parameters
    ----------
    lots : str, optional
        Lots file (``lot_id, asset_id, shares, cost_basis, acquired``, optional
        ``account_id``), relative to the job file. Required with ``data.source: files``;
        the embedded dataset has deterministic synthetic lots.
    trades : str, optional
        Recent trades (``asset_id, date, side, realized_gain``) for the wash-sale look-back.
    short_term_rate, long_term_rate : float
        Tax rates (fractions) on short- and long-term gains.
    long_term_days : int
        A lot held more than this many calendar days is long-term.
    wash_sale_days : int
        Wash-sale window, calendar days.
    weight : float
        Units of objective (TE², annualized) one unit of tax (fraction of NAV) costs; 0 makes
        the run tax-unaware in its objective (lots still chosen, wash-sale rules still kept).
    nav : float, optional
        Net asset value, USD; default: the lots' market value ($1bn for the synthetic lots).
    method : {"auto", "exact", "heuristic"}
        How the same-rebalance wash-sale rule (an asset sold at a loss is not bought) is met
        when the convex relaxation breaks it: ``exact`` (SCIP mixed-integer), ``heuristic``
        (relax-and-fix with a proven bound), ``auto`` (exact for few candidate names).
    time_limit : float
        Seconds for that either/or layer; cut short, the status is ``time_limit``.
    """

    lots: str | None = None
    trades: str | None = None
    short_term_rate: Annotated[float, Field(ge=0, le=1)] = 0.37
    long_term_rate: Annotated[float, Field(ge=0, le=1)] = 0.20
    long_term_days: Annotated[int, Field(ge=1)] = 365
    wash_sale_days: Annotated[int, Field(ge=0)] = 30
    weight: Annotated[float, Field(ge=0)] = 1.0
    nav: Annotated[float, Field(gt=0)] | None = None
    method: Literal["auto", "exact", "heuristic"] = "auto"
    time_limit: Annotated[float, Field(gt=0)] = 60.0


class OutputSpec(_Section):
    """Default output directory (the CLI's ``--out`` wins)."""

    dir: str | None = None
