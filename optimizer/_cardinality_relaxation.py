"""The holdings-count problem with the specific risk in perspective form (exact or relaxed).

One binary (or, relaxed, continuous in [0, 1]) ``zᵢ`` per name: ``wᵢ ≤ zᵢ``, ``Σz ≤ K``,
``wᵢ ≥ m·zᵢ``, and the specific part of active risk written as
``(sᵢwᵢ − sᵢbᵢzᵢ)²/zᵢ + (sᵢbᵢ)²(1 − zᵢ)``, which equals ``sᵢ²(wᵢ − bᵢ)²`` at every integer
point but gives a far tighter relaxation (Frangioni & Gentile 2006).

Two additions keep the relaxation honest on jobs where the plain form says little:

* **turnover cut** — with a hard ``turnover`` cap ``B`` (two-way), two-way turnover is
  ``2·Σ(w − w₀)⁻ + Σw − Σw₀``; with ``sᵢ ≥ (w₀ᵢ − wᵢ)⁺`` and ``sᵢ ≥ w₀ᵢ(1 − zᵢ)`` (a closed
  name is sold in full), ``2·Σs + Σw − Σw₀ ≤ B``. Valid at every integer point, it makes
  ``z`` say which names are too expensive to close.
* **diagonal split** — a full-covariance model (as many factors as names) has no specific
  risk, so the perspective term is empty and the relaxation is no better than the job
  without the count rules. Its smallest eigenvalue ``δ`` is moved to the diagonal:
  ``Σ = (Σ − δI) + δI`` with ``Σ − δI ⪰ 0``; ``δ`` then acts as specific variance (the
  same risk at every point, a tighter relaxation when ``δ > 0``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from trimtab.constraints import CardinalitySpec, DataView

from ._cardinality_bounds import turnover_caps
from ._objective import OBJECTIVE_SCALE

#: Clarabel settings for the relaxation, tried in order until one is ``optimal`` (each states
#: every setting: cvxpy merges options into the cached solver). Its rotated cones rarely
#: reach 1e-10, so default tolerances, with Ruiz equilibration first.
RELAXATION_ATTEMPTS: tuple[dict[str, float | bool], ...] = (
    {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8, "equilibrate_enable": True},
    {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8, "equilibrate_enable": False},
)

#: An ``optimal_inaccurate`` relaxation (Clarabel's reduced tolerances, 5e-5 relative gap)
#: counts as a bound only after lowering it by this share of its value.
INACCURATE_MARGIN = 1e-4

#: The diagonal moved out of a full covariance is this fraction of its smallest eigenvalue
#: (what is left stays positive semidefinite despite round-off).
SPLIT_SHARE = 1.0 - 1e-6


class PerspectiveProblem:
    """The count rules in perspective form on a compiled problem, built lazily per kind.

    Parameters
    ----------
    compiled : ConvexProblem
        The compiled convex problem (context, hard rules, objective beyond active variance).
    spec : CardinalitySpec
        The count rules.
    is_open : cp.Parameter
        1 where a name may be held; the relaxation keeps ``z ≤ is_open``.
    """

    def __init__(self, compiled, spec: CardinalitySpec, is_open: cp.Parameter) -> None:
        self.compiled, self.spec, self.is_open = compiled, spec, is_open
        ctx = compiled.context
        n = ctx.universe.n_assets
        #: True when the risk model has as many factors as names: the diagonal split is used.
        self.split = ctx.n_factors >= n
        memo = _SplitMemo()
        with ctx.scope("cardinality"):
            if self.split:
                self._loadings_t = ctx.parameter("split.loadings_t", (ctx.n_factors, n), lambda d: memo(d).loadings.T)
                self._benchmark_factor = ctx.parameter(
                    "split.benchmark_factor", (ctx.n_factors,), lambda d: memo(d).benchmark_factor
                )
                self._specific_vol = ctx.parameter("split.specific_vol", (n,), lambda d: memo(d).specific_vol, nonneg=True)
                self._specific_benchmark = ctx.parameter(
                    "split.specific_benchmark", (n,), lambda d: memo(d).specific_benchmark
                )
                self._split_diagonal = ctx.parameter("split.diagonal", (), lambda d: memo(d).diagonal, nonneg=True)
            specific = (lambda d: memo(d).specific_benchmark) if self.split else benchmark_specific
            self._specific_benchmark_sq = ctx.parameter(
                "specific_benchmark_sq", (n,), lambda d: specific(d) ** 2, nonneg=True
            )
        self._problems: dict[bool, tuple[cp.Problem, cp.Variable]] = {}

    @property
    def split_diagonal(self) -> float | None:
        """The variance ``δ`` moved to the diagonal (full covariance only), per year."""
        return float(self._split_diagonal.value) if self.split and self._split_diagonal.value is not None else None

    def problem(self, boolean: bool) -> tuple[cp.Problem, cp.Variable]:
        """The problem and its ``z``: binary (exact, for SCIP) or in [0, 1] (relaxation)."""
        if boolean not in self._problems:
            self._problems[boolean] = self._build(boolean)
        return self._problems[boolean]

    def _build(self, boolean: bool) -> tuple[cp.Problem, cp.Variable]:
        ctx, compiled = self.compiled.context, self.compiled
        n, w = ctx.universe.n_assets, ctx.weights
        z = cp.Variable(n, boolean=boolean, name="held")
        t = cp.Variable(n, nonneg=True, name="specific_epigraph")
        if self.split:
            factor = self._loadings_t @ w - self._benchmark_factor
            scaled_w, specific_benchmark = cp.multiply(self._specific_vol, w), self._specific_benchmark
        else:
            factor, _ = ctx.active_risk_terms
            scaled_w, specific_benchmark = ctx.specific_terms
        # In objective units (t = OBJECTIVE_SCALE × the specific term) so the cones are well scaled.
        gap = math.sqrt(OBJECTIVE_SCALE) * (scaled_w - cp.multiply(specific_benchmark, z))
        rules = [cp.SOC(t + z, cp.vstack([2 * gap, t - z]), axis=0), w <= z]  # gap² ≤ t·z
        if not boolean:
            rules += [z >= 0, z <= self.is_open]
        if self.spec.max_names is not None:
            rules.append(cp.sum(z) <= self.spec.max_names)
        if self.spec.min_weight is not None:
            rules.append(w >= self.spec.min_weight * z)
        caps = [two_way_cap for _, _, two_way_cap in turnover_caps(compiled.built)]
        if caps:  # two-way turnover = 2·Σ(w − w₀)⁻ + Σw − Σw₀, and a closed name is sold in full
            sold = cp.Variable(n, nonneg=True, name="sold")
            rules += [sold >= -ctx.trades, sold >= cp.multiply(ctx.holdings, 1 - z)]
            rules.append(2 * cp.sum(sold) + cp.sum(w) - cp.sum(ctx.holdings) <= min(caps))
        risk = OBJECTIVE_SCALE * (cp.sum_squares(factor) + self._specific_benchmark_sq @ (1 - z)) + cp.sum(t)
        problem = cp.Problem(cp.Minimize(risk + compiled.other_terms), compiled.hard + rules)
        return problem, z

    def relax(self, is_open: np.ndarray, seconds: float | None = None) -> Relaxed | None:
        """The relaxation with names outside ``is_open`` closed; None if it cannot be solved.

        Parameters
        ----------
        is_open : np.ndarray of bool
            Names that may be held.
        seconds : float, optional
            Clarabel's time limit for each attempt.
        """
        problem, z = self.problem(boolean=False)
        self.is_open.value = is_open.astype(float)
        return solve_relaxation(problem, z, seconds)


@dataclass(frozen=True)
class Relaxed:
    """The relaxation's answer.

    Attributes
    ----------
    value : float
        Its optimum, (% TE)² units.
    held : np.ndarray
        ``z`` (n,) in [0, 1]: how much each name wants to be held.
    accurate : bool
        False when Clarabel reached only its reduced tolerances (``optimal_inaccurate``).
    """

    value: float
    held: np.ndarray
    accurate: bool

    @property
    def bound(self) -> float:
        """A lower bound on the count problem: the value, lowered by the tolerance when inaccurate."""
        return self.value if self.accurate else self.value - INACCURATE_MARGIN * max(abs(self.value), 1.0)


def solve_relaxation(problem: cp.Problem, z: cp.Variable, seconds: float | None = None) -> Relaxed | None:
    """Solve with :data:`RELAXATION_ATTEMPTS` until one is ``optimal``; else the first inaccurate answer."""
    inaccurate = None
    for options in RELAXATION_ATTEMPTS:
        limit = {"time_limit": max(seconds, 1e-3)} if seconds is not None else {"time_limit": math.inf}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                problem.solve(solver=cp.CLARABEL, **options, **limit)
            except cp.error.SolverError:
                continue
        if problem.status == cp.OPTIMAL:
            return Relaxed(float(problem.value), np.asarray(z.value, dtype=float), True)
        if problem.status == cp.OPTIMAL_INACCURATE and inaccurate is None and z.value is not None:
            inaccurate = Relaxed(float(problem.value), np.asarray(z.value, dtype=float), False)
    return inaccurate


def benchmark_specific(data: DataView) -> np.ndarray:
    """``y`` (n,): the benchmark's specific part (``s ∘ w_b`` for constituent weights), as the context's."""
    return np.asarray(data.benchmark_risk.specific, dtype=float)


def benchmark_factor(data: DataView) -> np.ndarray:
    """``c`` (k,): the benchmark's factor coordinates (``Gᵀ w_b`` for constituent weights), as the context's."""
    return np.asarray(data.benchmark_factor_risk, dtype=float)


@dataclass(frozen=True)
class Split:
    """A full covariance with ``δ`` moved to the diagonal: ``G'G'ᵀ = GGᵀ − δI``, ``s'² = s² + δ``.

    ``δ = 0`` (no split) when the benchmark is an index series, whose active risk is not
    ``(w − w_b)ᵀΣ(w − w_b)`` for any weights ``w_b``.
    """

    loadings: np.ndarray
    specific_vol: np.ndarray
    diagonal: float
    benchmark_factor: np.ndarray
    specific_benchmark: np.ndarray


class _SplitMemo:
    """The :class:`Split` of the last data view seen (one eigendecomposition per risk model)."""

    def __init__(self) -> None:
        self._key: tuple[object, object] | None = None
        self._value: Split | None = None

    def __call__(self, data: DataView) -> Split:
        key = (data.risk_model, getattr(data, "index_risk", None))
        if self._value is None or self._key is None or any(a is not b for a, b in zip(self._key, key)):
            self._key, self._value = key, _split(data)
        return self._value


def _split(data: DataView) -> Split:
    model = data.risk_model
    if getattr(data, "index_risk", None) is not None:
        return Split(model.loadings, model.specific_vol, 0.0, benchmark_factor(data), benchmark_specific(data))
    loadings, specific_vol, delta = split_diagonal(model.loadings, model.specific_vol)
    return Split(loadings, specific_vol, delta, loadings.T @ data.benchmark, specific_vol * data.benchmark)


def split_diagonal(loadings: np.ndarray, specific_vol: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Move the smallest eigenvalue of ``GGᵀ`` to the diagonal.

    Parameters
    ----------
    loadings : np.ndarray
        ``G = B L`` (n × k, k ≥ n), so the factor covariance is ``GGᵀ``.
    specific_vol : np.ndarray
        Specific volatility ``s`` (n,).

    Returns
    -------
    (np.ndarray, np.ndarray, float)
        ``G'`` (n × k) with ``G'G'ᵀ = GGᵀ − δI``, ``s' = √(s² + δ)`` and ``δ ≥ 0`` (per year).
    """
    n, k = loadings.shape
    eigval, eigvec = np.linalg.eigh(loadings @ loadings.T)
    delta = max(float(eigval[0]), 0.0) * SPLIT_SHARE
    reduced = eigvec * np.sqrt(np.clip(eigval - delta, 0.0, None))
    padded = np.zeros((n, k))
    padded[:, :n] = reduced
    return padded, np.sqrt(specific_vol**2 + delta), delta

