"""The benchmark's place in a risk model: its factor exposure, its specific part and its residual.

Tracking error is the volatility of ``wᵀr − r_b``. With the assets' model
``r = B f + ε`` (``Cov f = F = L Lᵀ``, ``Cov ε = diag(s²)``) and the benchmark written as
``r_b = xᵀ f + u`` with ``Cov(ε_i, u) = s_i y_i``, it is, for any weights ``w``::

    TE² = ‖Lᵀ(Bᵀw − x)‖² + ‖s ∘ w − y‖² + κ,      κ = Var(u) − ‖y‖²  (≥ 0)

which is DPP in ``w`` with ``x``, ``y`` as parameters and ``κ`` a constant. A
:class:`BenchmarkRisk` holds ``(x, y, κ)``. Two ways to get it:

* **Constituent weights** ``w_b`` (:func:`benchmark_risk_from_weights`): ``x = Bᵀw_b``,
  ``y = s ∘ w_b``, ``κ = 0`` — the classic ``‖Lᵀ Bᵀ(w − w_b)‖² + ‖s ∘ (w − w_b)‖²``.
* **An index return series** ``r_b`` (:func:`estimate_benchmark_risk`), estimated on the risk
  model's own window and weighting, so each method stays consistent:

  - *full-covariance models* (``s = 0``: sample, Ledoit-Wolf, OAS, EWMA): the index is
    regressed on the assets' returns, ``r_b = a + bᵀr + e`` (weighted least squares with the
    estimator's observation weights — uniform, or EWMA's; no intercept with
    ``assume_centered``). Then ``TE² = (w − b)ᵀ Σ̂ (w − b) + Var(e)``: ``x = Bᵀb``, ``y = 0``,
    ``κ = Var(e)``. Shrinkage acts on the assets' covariance ``Σ̂`` only — not on the index,
    whose relation to the assets is kept as estimated. With the sample covariance this is
    exactly the sample variance of ``wᵀr − r_b`` (the OLS residual is uncorrelated with the
    returns in the sample). Needs at least ``2 (n + 1)`` dates.
  - *factor models* (``s > 0``: pca, fundamental, vendor): the assets' factor returns are
    recovered by the estimator's own cross-sectional regression, ``f_t = (BᵀWB)⁻¹ BᵀW r_t``
    (``W`` uniform for PCA, √cap for the fundamental model, ``1/s²`` — GLS — for a vendor
    model), and their residuals ``ε_t = r_t − B f_t``; the index is regressed on the factors,
    ``r_b = a + xᵀf + u``; the residual's covariance with each asset's specific return is
    ``c_i = Cov(ε_i, u)``, so ``y = c / s`` and ``κ = Var(u) − ‖y‖²``. A negative ``κ`` (the
    sampled covariances overstate how much of ``u`` the specific returns explain) is clipped
    to 0 and said so in the description. Needs at least ``2 (k + 1)`` dates.

All moments are annualized with the model's periods per year (252 for daily returns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import DataError
from ._risk_model import TRADING_DAYS_PER_YEAR, RiskModel
from ._tables import read_table
from ._validation import check_returns, listing, parse_dates, to_float_array

#: Dates per estimated coefficient a benchmark regression needs (as the risk models' window rule).
DATES_PER_COEFFICIENT = 2


@dataclass(frozen=True)
class BenchmarkRisk:
    """The benchmark in a risk model's terms: ``TE² = ‖Lᵀ(Bᵀw − x)‖² + ‖s∘w − y‖² + κ``.

    Attributes
    ----------
    asset_ids : tuple of str
        The assets of ``specific``, in the risk model's order.
    factor_exposure : np.ndarray, shape (k,)
        ``x``: the benchmark's exposure to the model's factors (σ or dummy units).
    specific : np.ndarray, shape (n,)
        ``y``: the benchmark's specific part, in units of ``s ∘ w`` (annualized return).
    residual_variance : float
        ``κ``: annualized variance of the benchmark that no portfolio of the assets can track.
    form : {"weights", "returns"}
        From constituent weights, or estimated from an index return series.
    description : str
        How it was obtained, for the run summary.
    implied_weights : np.ndarray or None
        For an index series tracked with a full-covariance model: the regression weights ``b``.
    """

    asset_ids: tuple[str, ...]
    factor_exposure: np.ndarray
    specific: np.ndarray
    residual_variance: float
    form: str
    description: str
    implied_weights: np.ndarray | None = None

    def reindexed(self, asset_ids: pd.Index | tuple[str, ...]) -> BenchmarkRisk:
        """The same benchmark with ``specific`` in the order of ``asset_ids`` (a subset or reordering).

        Raises
        ------
        DataError
            An asset is not covered, or a dropped asset carries part of the benchmark.
        """
        position = {a: i for i, a in enumerate(self.asset_ids)}
        missing = [a for a in asset_ids if a not in position]
        if missing:
            raise DataError(f"benchmark risk: no estimate for {listing(missing)}")
        rows = np.array([position[a] for a in asset_ids], dtype=int)
        dropped = np.setdiff1d(np.arange(len(self.asset_ids)), rows)
        if dropped.size and np.any(self.specific[dropped] != 0.0):
            names = [self.asset_ids[i] for i in dropped if self.specific[i] != 0.0]
            raise DataError(f"benchmark risk: dropping {listing(names)} would drop part of the benchmark")
        implied = self.implied_weights[rows] if self.implied_weights is not None else None
        return BenchmarkRisk(
            tuple(asset_ids), self.factor_exposure, self.specific[rows], self.residual_variance, self.form,
            self.description, implied,
        )

    def tracking_variance(self, model: RiskModel, weights: np.ndarray) -> tuple[float, float]:
        """Annualized (factor, specific + residual) tracking variance of ``weights`` (n,)."""
        w = np.asarray(weights, dtype=float)
        factor = float(np.sum((model.factor_cov_sqrt.T @ (model.exposures.T @ w - self.factor_exposure)) ** 2))
        specific = float(np.sum((model.specific_vol * w - self.specific) ** 2)) + self.residual_variance
        return factor, specific

    def covariance_with_assets(self, model: RiskModel) -> np.ndarray:
        """``Cov(r_i, r_b)`` per asset (n,), annualized: ``B F x + s ∘ y``."""
        return model.loadings @ (model.factor_cov_sqrt.T @ self.factor_exposure) + model.specific_vol * self.specific

    def variance(self, model: RiskModel) -> float:
        """``Var(r_b)``, annualized: ``xᵀFx + ‖y‖² + κ``."""
        factor = float(np.sum((model.factor_cov_sqrt.T @ self.factor_exposure) ** 2))
        return factor + float(self.specific @ self.specific) + self.residual_variance


def benchmark_risk_from_weights(model: RiskModel, weights: np.ndarray) -> BenchmarkRisk:
    """The benchmark held as constituent ``weights`` (n, in the model's order): ``x = Bᵀw``, ``y = s∘w``, ``κ = 0``."""
    w = np.asarray(weights, dtype=float)
    return BenchmarkRisk(
        model.asset_ids, model.exposures.T @ w, model.specific_vol * w, 0.0, "weights", "constituent weights"
    )


def load_index_returns(path: str | Path, column: str) -> pd.Series:
    """An index's daily simple returns: the ``date`` column and ``column`` of a CSV/Parquet file.

    Rows may come in any order; missing cells are allowed (dates without a return) and
    checked against the risk window later. Returns must be finite, ≥ −1 and ≤ +10.

    Raises
    ------
    DataError
        Naming the file, the column and the date of each problem.
    """
    path = Path(path)
    where = f"benchmark returns file {path}"
    frame = read_table(path, "benchmark returns", text_columns=("date", "Date", "DATE"))
    dates = [c for c in frame.columns if str(c).lower() == "date"]
    if len(dates) != 1:
        raise DataError(f"{where}: needs exactly one 'date' column; found columns: {list(frame.columns)[:20]}")
    if column not in frame.columns:
        raise DataError(f"{where}: no column {column!r} (columns: {[c for c in frame.columns if c not in dates][:20]})")
    if frame.empty:
        raise DataError(f"{where}: has no rows")
    index = parse_dates(frame[dates[0]], where)
    order = np.argsort(index.to_numpy(), kind="stable")
    index = index[order]
    labels = pd.Index([d.date().isoformat() for d in index])
    values = to_float_array(frame[[column]].iloc[order], labels, where)[:, 0]
    present = ~np.isnan(values)
    check_returns(values[present, None], index[present], pd.Index([column]), where)
    return pd.Series(values, index=index, name=column)


def estimate_benchmark_risk(
    model: RiskModel,
    returns: pd.DataFrame,
    index: pd.Series,
    *,
    observation_weights: np.ndarray | None = None,
    assume_centered: bool = False,
    periods_per_year: float = TRADING_DAYS_PER_YEAR,
    cross_section_weights: np.ndarray | None = None,
    source: str = "benchmark returns",
) -> BenchmarkRisk:
    """Estimate ``(x, y, κ)`` of an index return series on the risk model's window (see the module docstring).

    Parameters
    ----------
    model : RiskModel
        The assets' model, rows in the order of ``returns.columns``.
    returns : pd.DataFrame, shape (T, n)
        The window of daily asset returns the model was fitted on.
    index : pd.Series
        The index's daily returns by date; must cover every date of ``returns``.
    observation_weights : np.ndarray, shape (T,), optional
        The estimator's weights of the dates (EWMA's); uniform when omitted.
    assume_centered : bool
        Moments about zero instead of the (weighted) mean, as the estimator.
    periods_per_year : float
        Annualization factor of the moments.
    cross_section_weights : np.ndarray, shape (n,), optional
        For a factor model, the weights of the cross-sectional regression that recovers each
        date's factor returns — the estimator's own, so the factors are the model's: uniform
        for PCA (its factors are projections), the regression weights of a fundamental model
        (√cap). Default ``1/s²`` (GLS, e.g. for a vendor model).
    source : str
        Where the index came from, for messages and the description.

    Raises
    ------
    DataError
        The index misses dates of the window (naming them), or the window is too short.
    """
    dates = returns.index
    aligned = index.reindex(dates)
    missing = dates[aligned.isna().to_numpy()]
    if len(missing) == len(dates):
        raise DataError(
            f"{source}: no return on any date of the risk window {dates[0].date()} to {dates[-1].date()} "
            f"(the file covers {_span(index)})"
        )
    if len(missing):
        raise DataError(
            f"{source}: no return on {len(missing)} date(s) of the risk window, e.g. "
            f"{listing([d.date().isoformat() for d in missing])}"
        )
    r = returns.to_numpy(dtype=float)
    rb = aligned.to_numpy(dtype=float)
    t = len(dates)
    p = np.full(t, 1.0 / t) if observation_weights is None else np.asarray(observation_weights, dtype=float)
    p = p / p.sum()
    full_covariance = not np.any(model.specific_vol > 0)
    regressors = r if full_covariance else _factor_returns(model, r, cross_section_weights)
    k = regressors.shape[1] + (0 if assume_centered else 1)
    if t < DATES_PER_COEFFICIENT * k:
        what = f"{returns.shape[1]} assets" if full_covariance else f"{model.n_factors} factors"
        raise DataError(
            f"{source}: regressing the index on {what} needs at least {DATES_PER_COEFFICIENT * k} dates, "
            f"the risk window has {t}; use a longer window"
            + (" or a factor model (pca, fundamental)" if full_covariance else "")
        )
    coefficients, residual = _weighted_regression(regressors, rb, p, assume_centered)
    if full_covariance:
        b = coefficients
        kappa = _moment(residual, residual, p, assume_centered) * periods_per_year
        description = (
            f"index return series ({source}): regressed on the {r.shape[1]} assets' returns over "
            f"{t} days; untrackable residual {np.sqrt(kappa):.3%}/yr"
        )
        return BenchmarkRisk(model.asset_ids, model.exposures.T @ b, np.zeros(model.n_assets), kappa, "returns", description, b)
    specific_returns = r - regressors @ model.exposures.T
    covariance = _moment(specific_returns, residual, p, assume_centered) * periods_per_year
    s = model.specific_vol
    y = np.divide(covariance, s, out=np.zeros_like(covariance), where=s > 0)
    kappa_raw = _moment(residual, residual, p, assume_centered) * periods_per_year - float(y @ y)
    kappa = max(kappa_raw, 0.0)
    description = (
        f"index return series ({source}): regressed on the model's {model.n_factors} factors over {t} days; "
        f"untrackable residual {np.sqrt(kappa):.3%}/yr"
        + (" (clipped at 0: the sampled specific covariances explain more than the residual's variance)" if kappa_raw < 0 else "")
    )
    return BenchmarkRisk(model.asset_ids, coefficients, y, kappa, "returns", description)


def _factor_returns(model: RiskModel, returns: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Factor returns ``f_t = (BᵀWB)⁻¹ BᵀW r_t`` (T, k), ``W = diag(weights)`` (default ``1/s²``, GLS)."""
    if weights is None:
        weights = 1.0 / np.maximum(model.specific_vol, np.max(model.specific_vol) * 1e-6) ** 2
    weighted = model.exposures * np.asarray(weights, dtype=float)[:, None]
    gram = model.exposures.T @ weighted
    return np.linalg.lstsq(gram, (returns @ weighted).T, rcond=None)[0].T


def _weighted_regression(x: np.ndarray, y: np.ndarray, p: np.ndarray, centered: bool) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (without the intercept) and residuals of ``y ~ [1,] x`` weighted by ``p``."""
    if not centered:
        x = x - p @ x
        y = y - p @ y
    root = np.sqrt(p)
    coefficients = np.linalg.lstsq(x * root[:, None], y * root, rcond=None)[0]
    return coefficients, y - x @ coefficients


def _moment(a: np.ndarray, b: np.ndarray, p: np.ndarray, centered: bool) -> np.ndarray | float:
    """Weighted (co)variance ``Σ_t p_t (a_t − ā)(b_t − b̄)`` (about zero when ``centered``)."""
    if not centered:
        a = a - p @ a
        b = b - p @ b
    out = (a * p[:, None]).T @ b if a.ndim == 2 else float((a * p) @ b)
    return out


def _span(index: pd.Series) -> str:
    present = index.dropna().index
    return f"{present[0].date()} to {present[-1].date()}" if len(present) else "no dates"
