"""The problems behind ``bench/bench_speed.py``: one minimum-tracking-error problem, handed to every engine.

:class:`SpeedProblem` holds trimtab's inputs (job, :class:`~trimtab.models.MarketSnapshot`,
:class:`~trimtab.models.RiskModel`) and the same problem as plain arrays (``G = B L``, ``s``,
``w_b``, ``w_0``, the MAG7 mask, the value/quality exposures and the rules' bounds, read from the
job's own constraints), so each peer is given exactly what trimtab solves. It also measures
tracking error and the worst rule violation of any weight vector, the same way for every engine.

:func:`synthetic_inputs` generates a market of any size (deterministic seed): heavy-tailed caps
(the 7 largest are the ``MAG7`` group), 11 GICS sectors, a 14-factor model (11 sector dummies +
value, quality, size), characteristics standardized to benchmark exposure 0, holdings = the
benchmark drifted for a month, and daily returns simulated from the model (so a risk model fitted
to them — the CLI run from files — sees the same structure). :func:`write_files` writes them as a
``source: files`` job (universe, returns and holdings CSVs, a job YAML per risk model).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from trimtab.models import MarketSnapshot, RiskModel

import trimtab

#: Constituents per GICS sector in a 500-name index; scaled to any size.
SECTOR_COUNTS: dict[str, int] = {
    "Information Technology": 70, "Financials": 72, "Industrials": 78, "Health Care": 62,
    "Consumer Discretionary": 50, "Consumer Staples": 38, "Utilities": 31, "Real Estate": 31,
    "Materials": 26, "Communication Services": 22, "Energy": 20,
}
#: (market beta, sector-specific annual vol) of each sector factor.
SECTOR_RISK: dict[str, tuple[float, float]] = {
    "Information Technology": (1.20, 0.09), "Financials": (1.05, 0.07), "Industrials": (1.05, 0.05),
    "Health Care": (0.85, 0.07), "Consumer Discretionary": (1.15, 0.07), "Consumer Staples": (0.65, 0.07),
    "Utilities": (0.55, 0.10), "Real Estate": (0.85, 0.09), "Materials": (1.05, 0.07),
    "Communication Services": (1.05, 0.08), "Energy": (1.00, 0.16),
}
_IT, _FIN, _CD, _COMM = "Information Technology", "Financials", "Consumer Discretionary", "Communication Services"
#: The ten largest names: sectors and benchmark weights (MAG7 ≈ 31.5 %, as the embedded dataset).
TOP10_SECTORS = (_IT, _IT, _IT, _COMM, _CD, _COMM, _CD, _IT, _FIN, _FIN)
TOP10_WEIGHTS = (0.067, 0.062, 0.058, 0.041, 0.037, 0.028, 0.022, 0.019, 0.016, 0.013)
#: Annual vols of the value, quality and size factors; of the market.
STYLE_VOLS = (0.05, 0.035, 0.04)
MARKET_VOL = 0.16
TRADING_DAYS = 252
DEFAULT_SEED = 20260501


@dataclass(frozen=True, eq=False)
class SpeedProblem:
    """One problem, as trimtab's inputs and as arrays (all aligned with ``snapshot.asset_ids``).

    Rules (read from the job): budget, long-only, ``mag7 @ w <= mag7_max``,
    ``x @ (w - wb) >= tilt_min[x]`` for value and quality, ``Σ|w - w0| <= turnover_max``,
    ``w <= upper`` (benchmark + 2 % per name). Objective: active variance ``‖Gᵀa‖² + ‖s∘a‖²``.
    """

    label: str
    job: trimtab.JobSpec
    snapshot: MarketSnapshot
    risk_model: RiskModel
    G: np.ndarray
    s: np.ndarray
    wb: np.ndarray
    w0: np.ndarray
    mag7: np.ndarray
    tilts: dict[str, np.ndarray]
    mag7_max: float
    tilt_min: dict[str, float]
    turnover_max: float
    upper: np.ndarray

    @property
    def n(self) -> int:
        return len(self.wb)

    def te(self, w: np.ndarray) -> float:
        """Annualized ex-ante tracking error of ``w`` against the benchmark (this problem's risk model)."""
        a = np.asarray(w, dtype=float) - self.wb
        return float(np.sqrt(np.sum((self.G.T @ a) ** 2) + np.sum((self.s * a) ** 2)))

    def worst_violation(self, w: np.ndarray, mag7_max: float | None = None) -> float:
        """Largest violation (≥ 0, each rule in its own units) of any rule by ``w``."""
        w = np.asarray(w, dtype=float)
        cap = self.mag7_max if mag7_max is None else mag7_max
        excess = [
            abs(w.sum() - 1.0), max(0.0, -w.min()), max(0.0, float(self.mag7 @ w) - cap),
            max(0.0, float(np.abs(w - self.w0).sum()) - self.turnover_max), max(0.0, float((w - self.upper).max())),
        ]
        excess += [max(0.0, lo - float(self.tilts[f] @ (w - self.wb))) for f, lo in self.tilt_min.items()]
        return float(max(excess))


def from_trimtab(label: str, job: trimtab.JobSpec, snapshot: MarketSnapshot, risk_model: RiskModel) -> SpeedProblem:
    """The arrays of ``job`` on this data; refuses a job whose rules this bench does not translate."""
    model = risk_model.reindexed(snapshot.asset_ids)
    ids = snapshot.asset_ids
    wb = snapshot.benchmark_weights.to_numpy(dtype=float)
    mag7_max, turnover_max, upper, tilt_min = None, None, None, {}
    for rule in job.constraints:
        if rule.key == "group_weight" and rule.group == "MAG7" and rule.min is None:
            mag7_max = float(rule.max.resolve(float(wb[ids.isin(snapshot.groups["MAG7"])].sum())))
        elif rule.key == "factor_exposure" and rule.min is not None and rule.max is None and rule.target is None:
            tilt_min[rule.factor] = float(rule.min)
        elif rule.key == "turnover" and rule.kind == "two_way":
            turnover_max = float(rule.max)
        elif rule.key == "asset_weight" and rule.assets is None and rule.min is None:
            upper = np.minimum(np.asarray(rule.max.resolve(wb), dtype=float), 1.0)
        else:
            raise NotImplementedError(f"bench_speed translates the default job's rules only, not {rule!r}")
    if mag7_max is None or turnover_max is None or upper is None or set(tilt_min) != {"value", "quality"}:
        raise NotImplementedError("bench_speed needs the default job's five rules")
    return SpeedProblem(
        label=label, job=job, snapshot=snapshot, risk_model=model,
        G=np.array(model.loadings), s=np.array(model.specific_vol), wb=wb,
        w0=snapshot.holdings.to_numpy(dtype=float),
        mag7=ids.isin(snapshot.groups["MAG7"]).astype(float),
        tilts={f: snapshot.characteristics[f].to_numpy(dtype=float) for f in tilt_min},
        mag7_max=mag7_max, tilt_min=tilt_min, turnover_max=turnover_max, upper=upper,
    )


# -- a synthetic market of any size -------------------------------------------------------------
def _sector_counts(n: int) -> dict[str, int]:
    raw = {s: c * n / 500 for s, c in SECTOR_COUNTS.items()}
    counts = {s: int(np.floor(v)) for s, v in raw.items()}
    for s in sorted(raw, key=lambda s: counts[s] - raw[s])[: n - sum(counts.values())]:
        counts[s] += 1
    return counts


def _benchmark_standardized(x: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """Winsorized at ±3 σ, then benchmark exposure 0 and unit cross-sectional std."""
    z = (x - x.mean()) / x.std()
    z = np.clip(z, -3.0, 3.0)
    return (z - wb @ z) / z.std()


def synthetic_inputs(n: int, seed: int = DEFAULT_SEED, days: int = 800) -> tuple[MarketSnapshot, RiskModel]:
    """A deterministic ``n``-name market and its true factor model (see the module docstring)."""
    rng = np.random.default_rng([seed, n])
    counts = _sector_counts(n)
    for sector in TOP10_SECTORS:
        counts[sector] -= 1
    tail_sectors = rng.permutation(np.array([s for s, c in counts.items() for _ in range(c)]))
    top = np.asarray(TOP10_WEIGHTS) * np.exp(rng.normal(0.0, 0.04, 10))
    tail = np.arange(11, n + 1, dtype=float) ** -1.1 * np.exp(rng.normal(0.0, 0.25, n - 10))  # heavy-tailed
    tail *= (1.0 - top.sum()) / tail.sum()
    weights = np.concatenate([top, tail])
    sectors = np.concatenate([np.array(TOP10_SECTORS), tail_sectors])
    order = np.argsort(-weights, kind="stable")
    wb, sectors = weights[order] / weights.sum(), sectors[order]
    caps = wb * 50e12
    ids = pd.Index([f"N{i + 1:05d}" for i in range(n)], name="asset_id")  # sorted = rank by cap

    size_z = (np.log(caps) - np.log(caps).mean()) / np.log(caps).std()
    mega = np.maximum(size_z - 2.5, 0.0)
    value = _benchmark_standardized(-0.25 * size_z - 0.3 * mega + rng.normal(size=n), wb)
    quality = _benchmark_standardized(0.15 * size_z + 0.3 * mega + rng.normal(size=n), wb)
    size = _benchmark_standardized(size_z, wb)

    names = sorted(SECTOR_COUNTS)
    dummies = (sectors[:, None] == np.array(names)[None, :]).astype(float)
    B = np.column_stack([dummies, value, quality, size])
    factor_names = [f"sector:{s}" for s in names] + ["style:value", "style:quality", "style:size"]
    market = MARKET_VOL * np.array([SECTOR_RISK[s][0] for s in names] + [0.0, 0.0, -0.1])
    own = np.array([SECTOR_RISK[s][1] for s in names] + list(STYLE_VOLS))
    F = np.outer(market, market) + np.diag(own**2)
    L = np.linalg.cholesky(F)
    s = np.clip(0.22 * np.exp(-0.10 * size_z + 0.2 * rng.normal(size=n)), 0.08, 0.9)

    month = B @ (L @ rng.normal(size=len(names) + 3)) / np.sqrt(12) + s * rng.normal(size=n) / np.sqrt(12)
    w0 = wb * (1.0 + month)
    w0 /= w0.sum()

    def t5(shape):  # unit-variance Student t, 5 degrees of freedom
        return rng.standard_t(5, size=shape) * np.sqrt(3 / 5)

    f = t5((days, L.shape[0])) @ L.T / np.sqrt(TRADING_DAYS)
    returns = f @ B.T
    returns += t5((days, n)) * (s / np.sqrt(TRADING_DAYS))
    dates = pd.bdate_range(end="2026-10-30", periods=days, name="date")
    price = np.exp(rng.normal(np.log(80.0), 0.8, n))
    assets = pd.DataFrame(
        {"sector": sectors, "market_cap": caps, "price": price, "adv": caps * 0.004 / price}, index=ids
    )
    snapshot = MarketSnapshot(
        dataset=f"bench synthetic market (n={n}, seed={seed})",
        as_of=dates[-1],
        assets=assets,
        benchmark_weights=pd.Series(wb, index=ids, name="benchmark_weight"),
        holdings=pd.Series(w0, index=ids, name="holding"),
        characteristics=pd.DataFrame({"value": value, "quality": quality, "size": size}, index=ids),
        returns=pd.DataFrame(returns, index=dates, columns=ids),
        groups={"MAG7": tuple(ids[:7])},
    )
    model = RiskModel(
        asset_ids=tuple(ids), factor_names=tuple(factor_names), exposures=B, factor_cov_sqrt=L, specific_vol=s,
        name=f"bench synthetic factor model ({len(factor_names)} factors, true parameters)",
    )
    return snapshot, model


def write_files(snapshot: MarketSnapshot, folder: Path, job_text: str) -> dict[str, Path]:
    """Write ``snapshot`` as universe/returns/holdings CSVs and one job per risk model; {method: job path}.

    ``job_text`` is the default job's YAML; its ``data``, ``risk_model`` and ``output`` sections are
    replaced. Files already there (same content hash in ``.complete``) are kept.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    stamp = hashlib.sha256(
        snapshot.returns.to_numpy()[-5:].tobytes() + snapshot.benchmark_weights.to_numpy().tobytes()
    ).hexdigest()
    done = folder / ".complete"
    if not (done.is_file() and done.read_text() == stamp):
        ids = snapshot.asset_ids
        universe = snapshot.assets[["sector", "market_cap", "price", "adv"]].copy()
        universe[["value", "quality"]] = snapshot.characteristics[["value", "quality"]]
        universe.reset_index().to_csv(folder / "universe.csv", index=False, float_format="%.10g")
        pd.DataFrame({"asset_id": ids, "weight": snapshot.holdings.to_numpy()}).to_csv(
            folder / "holdings.csv", index=False, float_format="%.17g"
        )
        values = np.round(snapshot.returns.to_numpy(), 6)
        table = pa.table(
            [pa.array(snapshot.returns.index.strftime("%Y-%m-%d"))] + [pa.array(values[:, j]) for j in range(len(ids))],
            names=["date", *ids],
        )
        pacsv.write_csv(table, folder / "returns.csv")
        done.write_text(stamp)
    base = yaml.safe_load(job_text)
    jobs = {}
    for method in ("fundamental", "pca"):
        spec = dict(base)
        spec["name"] = f"bench_{snapshot.n_assets}_{method}"
        spec["description"] = f"bench_speed: the default job's rules on {snapshot.n_assets} synthetic names ({method} model)"
        spec["data"] = {
            "source": "files", "universe": "universe.csv", "returns": "returns.csv", "holdings": "holdings.csv",
            "groups": {"MAG7": list(snapshot.groups["MAG7"])},
        }
        spec["risk_model"] = {"method": method, "window": 756}
        spec.pop("output", None)
        jobs[method] = folder / f"job_{method}.yaml"
        jobs[method].write_text(yaml.safe_dump(spec, sort_keys=False))
    return jobs


# -- the same problem written for each peer ------------------------------------------------------
#: trimtab's Clarabel tolerances (``optimizer._solver_attempts.SOLVER_ATTEMPTS["CLARABEL"][0]``); the
#: bench checks they still are, and gives raw CVXPY (and, unless told otherwise, every peer) the same.
TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "equilibrate_enable": False}
#: trimtab's objective is active variance × 1e4 ((% TE)² units); raw CVXPY and skfolio get the same.
OBJECTIVE_SCALE = 1e4


def cvxpy_rules(p: SpeedProblem, w, cap=None) -> list:
    """The job's rules on the CVXPY variable ``w`` (constant data; ``cap`` may be a Parameter)."""
    import cvxpy as cp

    rules = [cp.sum(w) == 1, w >= 0, p.mag7 @ w <= (p.mag7_max if cap is None else cap)]
    rules += [x @ w - float(x @ p.wb) >= p.tilt_min[f] for f, x in p.tilts.items()]
    rules += [cp.norm1(w - p.w0) <= p.turnover_max, w <= p.upper]
    return rules


def raw_cvxpy_problem(p: SpeedProblem, cap=None):
    """(problem, w): the factor-form objective written by hand, scaled like trimtab's."""
    import cvxpy as cp

    w = cp.Variable(p.n)
    a = w - p.wb
    objective = OBJECTIVE_SCALE * (cp.sum_squares(p.G.T @ a) + cp.sum_squares(cp.multiply(p.s, a)))
    return cp.Problem(cp.Minimize(objective), cvxpy_rules(p, w, cap)), w


def raw_cvxpy_dense_problem(p: SpeedProblem, covariance: np.ndarray):
    """(problem, w): ``(w − w_b)ᵀ Σ (w − w_b)`` on a dense covariance, for full-covariance models."""
    import cvxpy as cp

    w = cp.Variable(p.n)
    objective = OBJECTIVE_SCALE * cp.quad_form(w - p.wb, cp.psd_wrap(covariance))
    return cp.Problem(cp.Minimize(objective), cvxpy_rules(p, w)), w


def dense_covariance(p: SpeedProblem) -> np.ndarray:
    """``G Gᵀ + diag(s²)`` (n×n), for the peers that need it."""
    cov = p.G @ p.G.T
    cov[np.diag_indices_from(cov)] += p.s**2
    return cov


def pypfopt_solve(p: SpeedProblem, covariance: np.ndarray, options: dict | None):
    """(weights, cvxpy problem) from PyPortfolioOpt on the dense covariance (as ``tests/peers.py`` does)."""
    from pypfopt import EfficientFrontier, objective_functions

    ef = EfficientFrontier(None, covariance, weight_bounds=(0, 1), solver="CLARABEL", solver_options=options)
    ef.add_constraint(lambda w: p.mag7 @ w <= p.mag7_max)
    for f, x in p.tilts.items():
        ef.add_constraint(lambda w, x=x, lo=p.tilt_min[f], xb=float(x @ p.wb): x @ w - xb >= lo)
    ef.add_constraint(lambda w: _norm1(w - p.w0) <= p.turnover_max)
    ef.add_constraint(lambda w: w <= p.upper)
    ef.convex_objective(objective_functions.ex_ante_tracking_error, cov_matrix=covariance, benchmark_weights=p.wb)
    return np.asarray(ef.weights, dtype=float), ef._opt


def _norm1(x):
    import cvxpy as cp

    return cp.norm1(x)


def skfolio_model(p: SpeedProblem, options: dict | None):
    """(make, X): ``make()`` returns an unfitted skfolio ``MeanRisk`` for this problem; fit it on ``X``.

    skfolio minimizes variance on the weights, not on active weights, so the objective is its
    utility ``μᵀw − λ·wᵀΣw`` with ``μ = 2λ Σ w_b`` = ``−λ (w − w_b)ᵀ Σ (w − w_b)`` + constant:
    exactly the active variance. Its variance uses the prior's factor-structured square root
    ``[B chol(F), diag(s)]`` (``FactorModel.covariance_sqrt``), so the cone is the same size as
    trimtab's. The prior is a :class:`~skfolio.prior.BasePrior` whose return distribution is built
    here, once, from the same ``B``, ``F = L Lᵀ`` and ``s`` (data given, as for trimtab); skfolio's
    ``ReturnDistribution`` also insists on a dense n×n ``covariance`` (800 MB at 10,000 names),
    built here too. The rules: ``max_weights`` = benchmark + 2 %, its default budget 1 and
    ``min_weights`` 0, and ``add_constraints`` for MAG7, the tilts and the two-way turnover
    (skfolio's ``max_turnover`` is per asset, not a total).
    """
    import cvxpy as cp
    from skfolio.measures import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction
    from skfolio.prior import BasePrior, FactorModel, ReturnDistribution

    model = p.risk_model
    k = model.n_factors
    risk_aversion = 1.0
    mu = 2.0 * risk_aversion * (p.G @ (p.G.T @ p.wb) + p.s**2 * p.wb)
    X = np.zeros((2, p.n))
    factors = FactorModel(
        observations=np.array(["t0", "t1"]), asset_names=np.array(model.asset_ids), factor_names=np.array(model.factor_names),
        factor_families=None, loading_matrix=np.array(model.exposures), exposures=None,
        factor_covariance=model.factor_cov_sqrt @ model.factor_cov_sqrt.T, factor_mu=np.zeros(k), factor_returns=None,
        idio_covariance=p.s**2, idio_mu=None, idio_returns=None, idio_variances=None,
    )
    distribution = ReturnDistribution(mu=mu, covariance=dense_covariance(p), returns=X, factor_model=factors)

    class GivenPrior(BasePrior):
        """A fitted prior: its return distribution is given (``source()``; a callable, so clone keeps it)."""

        def __init__(self, source=None):
            self.source = source

        def fit(self, X, y=None, **fit_params):
            self.return_distribution_ = self.source()
            return self

    xb = {f: float(x @ p.wb) for f, x in p.tilts.items()}

    def rules(w):
        out = [p.mag7 @ w <= p.mag7_max, cp.norm1(w - p.w0) <= p.turnover_max]
        return out + [x @ w - xb[f] >= p.tilt_min[f] for f, x in p.tilts.items()]

    def make():
        return MeanRisk(
            risk_measure=RiskMeasure.VARIANCE, objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
            risk_aversion=risk_aversion, prior_estimator=GivenPrior(source=lambda: distribution),
            min_weights=0.0, max_weights=p.upper, budget=1.0, add_constraints=rules,
            solver="CLARABEL", solver_params=options, scale_objective=OBJECTIVE_SCALE, save_problem=True,
        )

    return make, X
