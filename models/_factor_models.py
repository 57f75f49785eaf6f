"""Factor risk models (scikit-learn style): statistical (PCA) and fundamental (sector + style).

Both produce a :class:`RiskModel` ``Σ = B L Lᵀ Bᵀ + diag(s²)`` from DAILY simple returns
(dates × asset_id): ``F = L Lᵀ`` is the annualized covariance of the daily factor returns
and ``s`` the annualized volatility of the daily residual (specific) returns, both scaled
by ``periods_per_year``. Specific volatilities are floored at :data:`MIN_SPECIFIC_VOL`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ._covariance import check_positive, check_returns
from ._errors import DataError, nonfinite_cells
from ._factor_math import (
    MIN_SPECIFIC_VOL,
    PCA_SOLVERS,
    cross_sectional_regression,
    factor_risk_model,
    pca_factors,
    weighted_design_qr,
)
from ._risk_model import TRADING_DAYS_PER_YEAR
from ._threads import THIN_ALGEBRA_THREADS, blas_threads

__all__ = [
    "MIN_ONE_MINUS_LEVERAGE",
    "MIN_SPECIFIC_VOL",
    "REGRESSION_WEIGHTS",
    "FundamentalFactorModel",
    "StatisticalFactorModel",
    "cross_sectional_regression",
]

#: Lower bound on ``1 − h_i`` in the leverage correction of specific variances (an asset
#: alone in its sector has ``h_i = 1`` and zero residual; it then gets the floor).
MIN_ONE_MINUS_LEVERAGE = 1e-3

#: Cross-sectional regression weightings accepted by :class:`FundamentalFactorModel`.
REGRESSION_WEIGHTS = ("sqrt_cap", "cap", "equal")

# ----------------------------------------------------------------------------- estimators


class StatisticalFactorModel(BaseEstimator):
    """Statistical factor model from the principal components of returns (``sklearn.decomposition.PCA``).

    ``B`` holds the first ``n_factors`` principal axes of the demeaned daily returns
    (orthonormal columns), the factor returns are the projections on them, and the
    residuals give the specific volatilities. See :func:`factor_risk_model` for units.

    Parameters
    ----------
    n_factors : int, default 10
        Number of principal components kept; must be below both the number of assets and
        the number of dates.
    periods_per_year : float, default 252
        Periods (trading days) per year used to annualize.
    svd_solver : {"auto", "full", "arpack"}, default "auto"
        How the principal axes are computed; every choice gives the same factors to rounding
        (~1e-14). ``"auto"``: ARPACK (the leading singular vectors only, converged to machine
        precision from a fixed start) when the window is more than 200 dates and assets,
        else the full SVD; see ``_factor_math``.

    Attributes
    ----------
    risk_model_ : RiskModel
        Annualized model; factors are named ``pc001``, ``pc002``, ...
    pca_ : sklearn.decomposition.PCA
        The fitted PCA (daily units).
    exposures_ : pd.DataFrame, shape (n, k)
        Loadings, asset_id × factor.
    factor_returns_ : pd.DataFrame, shape (T, k)
        Daily factor returns, date × factor.
    explained_variance_ratio_ : np.ndarray, shape (k,)
        Share of total daily variance explained by each component.
    n_features_in_, feature_names_in_, n_samples_
        Number of assets, their ids, number of dates.
    """

    def __init__(
        self, *, n_factors: int = 10, periods_per_year: float = TRADING_DAYS_PER_YEAR, svd_solver: str = "auto"
    ) -> None:
        self.n_factors = n_factors
        self.periods_per_year = periods_per_year
        self.svd_solver = svd_solver

    def fit(self, returns: pd.DataFrame, y: None = None) -> StatisticalFactorModel:
        """Fit the model to daily ``returns`` (dates × asset_id, fractions; more than ``n_factors`` dates).

        Raises
        ------
        DataError
            On invalid parameters, non-finite returns, or too few dates or assets.
        """
        who = type(self).__name__
        check_positive(self.n_factors, "n_factors", who, integer=True)
        check_positive(self.periods_per_year, "periods_per_year", who)
        if self.svd_solver not in PCA_SOLVERS:
            raise DataError(f"{who}: svd_solver={self.svd_solver!r} is not one of {list(PCA_SOLVERS)}")
        x = check_returns(returns, min_rows=int(self.n_factors) + 1, who=who)
        if self.n_factors >= x.shape[1]:
            raise DataError(f"{who}: n_factors={self.n_factors} must be below the number of assets ({x.shape[1]})")
        k = int(self.n_factors)
        width = max(3, len(str(k)))
        names = [f"pc{i:0{width}d}" for i in range(1, k + 1)]
        self.pca_, loadings, factor_returns, residuals = pca_factors(x, k, self.svd_solver)
        self.exposures_ = pd.DataFrame(loadings, index=returns.columns, columns=names)
        with blas_threads(THIN_ALGEBRA_THREADS):
            self.risk_model_ = factor_risk_model(
                self.exposures_,
                factor_returns,
                residuals,
                periods_per_year=float(self.periods_per_year),
                name=f"PCA factor model ({k} factors, {x.shape[0]} days, ×{self.periods_per_year}/yr)",
            )
        self.factor_returns_ = pd.DataFrame(factor_returns, index=returns.index, columns=names)
        self.explained_variance_ratio_ = self.pca_.explained_variance_ratio_.copy()
        self.n_features_in_, self.n_samples_ = x.shape[1], x.shape[0]
        self.feature_names_in_ = np.asarray([str(a) for a in returns.columns.tolist()], dtype=object)
        return self


class FundamentalFactorModel(BaseEstimator):
    """Fundamental factor model: sector dummies + style exposures, cross-sectional regressions.

    Each date's asset returns are regressed (weighted least squares, no intercept — the
    sector dummies sum to one for every asset, so they span the market) on the exposures
    ``X = [sector dummies | styles]``, held constant over the window. The factor return
    series give ``F`` and the residuals give ``s`` (see :func:`factor_risk_model`).

    Specific variances are corrected for leverage: asset ``i``'s residual variance is
    divided by ``1 − h_i`` with ``h_i = w_i x_iᵀ (Xᵀ W X)⁻¹ x_i`` (the share of its own
    noise the regression absorbs; exact for homoskedastic GLS, HC2-like otherwise). Without
    it the specific risk of heavily weighted names — the mega-caps that dominate a
    cap-weighted benchmark — is understated (by ~13 % in vol at ``h = 0.25``).

    Parameters
    ----------
    regression_weights : {"sqrt_cap", "cap", "equal"}, default "sqrt_cap"
        Weights of the cross-sectional regressions. ``"sqrt_cap"`` (√ market cap, the Barra
        convention) tilts the fit toward large caps — which dominate a cap-weighted
        benchmark — while damping the heteroskedastic noise of small caps; ``"cap"`` weights
        by market cap, ``"equal"`` is ordinary least squares.
    halflife : float or None, default None
        If given, EWMA half-life in trading days for the factor covariance and the specific
        variances; otherwise equal-weighted sample estimates.
    periods_per_year : float, default 252
        Periods (trading days) per year used to annualize.
    huber : bool, default False
        Use ``HuberRegressor`` (robust, per date, much slower) instead of one multi-output
        ``LinearRegression``.

    Attributes
    ----------
    risk_model_ : RiskModel
        Annualized model; factors ``sector:<name>`` (sorted) then ``style:<name>``.
    exposures_ : pd.DataFrame, shape (n, k)
        Regression design ``X`` (dummies 0/1, styles in σ units), asset_id × factor.
    factor_returns_ : pd.DataFrame, shape (T, k)
        Daily factor returns (fractions), date × factor.
    specific_returns_ : pd.DataFrame, shape (T, n)
        Daily residual returns, date × asset_id.
    regression_weights_ : pd.Series, shape (n,)
        Normalized regression weights (sum to one).
    leverage_ : pd.Series, shape (n,)
        Leverage ``h_i`` of each asset in the weighted regression (sums to ``k``).
    r_squared_ : pd.Series, shape (T,)
        Weighted, uncentered R² of each date's regression.
    n_features_in_, feature_names_in_, n_samples_
        Number of assets, their ids, number of dates.
    """

    def __init__(
        self,
        *,
        regression_weights: str = "sqrt_cap",
        halflife: float | None = None,
        periods_per_year: float = TRADING_DAYS_PER_YEAR,
        huber: bool = False,
    ) -> None:
        self.regression_weights = regression_weights
        self.halflife = halflife
        self.periods_per_year = periods_per_year
        self.huber = huber

    def fit(
        self, returns: pd.DataFrame, *, sectors: pd.Series, styles: pd.DataFrame, market_caps: pd.Series
    ) -> FundamentalFactorModel:
        """Fit the model (exposures held constant over the window).

        Parameters
        ----------
        returns : pd.DataFrame, shape (T, n)
            Daily simple returns (fractions), dates × asset_id, oldest first; more dates
            than factors.
        sectors : pd.Series
            Sector name by asset_id (may cover more assets than ``returns``).
        styles : pd.DataFrame
            Style exposures in σ units by asset_id, one column per style (may be empty).
        market_caps : pd.Series
            Market capitalization by asset_id (USD, positive).

        Raises
        ------
        DataError
            On invalid parameters or returns, assets missing from (or duplicated in)
            ``sectors``, ``styles`` or ``market_caps``, missing style values, non-positive
            caps, collinear exposures, or too few dates or assets.
        """
        who = type(self).__name__
        self._check_params(who)
        x = check_returns(returns, min_rows=2, who=who)
        assets = returns.columns
        exposures = self._design(assets, sectors, styles, who)
        weights = self._weights(assets, market_caps, who)
        n, k = exposures.shape
        if x.shape[0] < k + 1:
            check_returns(returns, min_rows=k + 1, who=who)  # raises, naming the dates needed
        if n <= k:
            raise DataError(f"{who}: {n} assets cannot identify {k} factors; need more assets than factors")
        design = exposures.to_numpy()
        with blas_threads(THIN_ALGEBRA_THREADS):
            q, r = weighted_design_qr(design, weights)
            # Rank of √W X from the singular values of R (the same values), with matrix_rank's tolerance.
            singular = np.linalg.svd(r, compute_uv=False)
            rank = int(np.sum(singular > singular.max(initial=0.0) * max(n, k) * np.finfo(float).eps))
            if rank < k:
                raise DataError(
                    f"{who}: exposures are collinear (rank {rank} < {k} factors {list(exposures.columns)}); "
                    "drop a style that is constant within sectors or duplicates another"
                )
            f, e = cross_sectional_regression(x, design, weights, huber=bool(self.huber), design_qr=(q, r))
            # Leverage h_i = w_i x_iᵀ (XᵀWX)⁻¹ x_i = ‖Q_i‖²: the fit absorbs ≈ h_i of asset i's own
            # noise, so its residual variance understates specific variance by a factor ≈ (1 − h_i).
            leverage = np.einsum("ij,ij->i", q, q)
            total = (x**2) @ weights
            with np.errstate(invalid="ignore", divide="ignore"):
                r_squared = 1.0 - (e**2) @ weights / total
            window = f"halflife {self.halflife} days" if self.halflife is not None else "equal weights"
            self.risk_model_ = factor_risk_model(
                exposures,
                f,
                e / np.sqrt(np.maximum(1.0 - leverage, MIN_ONE_MINUS_LEVERAGE)),
                periods_per_year=float(self.periods_per_year),
                halflife=self.halflife,
                name=(
                    f"fundamental factor model ({k} factors, {self.regression_weights} regression, "
                    f"{x.shape[0]} days, {window}, ×{self.periods_per_year}/yr)"
                ),
            )
        self.leverage_ = pd.Series(leverage, index=assets, name="leverage")
        self.exposures_ = exposures
        self.regression_weights_ = pd.Series(weights, index=assets, name="regression weight")
        self.factor_returns_ = pd.DataFrame(f, index=returns.index, columns=exposures.columns)
        self.specific_returns_ = pd.DataFrame(e, index=returns.index, columns=assets)
        self.r_squared_ = pd.Series(r_squared, index=returns.index, name="r_squared")
        self.n_features_in_, self.n_samples_ = n, x.shape[0]
        self.feature_names_in_ = np.asarray([str(a) for a in assets.tolist()], dtype=object)
        return self

    def _check_params(self, who: str) -> None:
        if self.regression_weights not in REGRESSION_WEIGHTS:
            raise DataError(
                f"{who}: regression_weights={self.regression_weights!r} is not one of {list(REGRESSION_WEIGHTS)}"
            )
        if self.halflife is not None:
            check_positive(self.halflife, "halflife", who)
        check_positive(self.periods_per_year, "periods_per_year", who)

    @staticmethod
    def _design(assets: pd.Index, sectors: pd.Series, styles: pd.DataFrame, who: str) -> pd.DataFrame:
        sector = _align(sectors, pd.Series, assets, "sectors", who)
        if sector.isna().any():
            raise DataError(f"{who}: sector is missing for {sector.index[sector.isna()][:10].tolist()}")
        style = _align(styles, pd.DataFrame, assets, "styles", who)
        try:
            style_values = style.to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{who}: styles must be numeric σ-unit exposures ({exc})") from exc
        count, examples = nonfinite_cells(style_values, lambda r, c: f"{style.columns[c]} of {assets[r]}", limit=5)
        if count:
            raise DataError(
                f"{who}: styles have {count} missing or non-finite value(s), e.g. "
                + ", ".join(examples)
                + "; fill them (0 = benchmark exposure) before fitting"
            )
        labels = sector.astype(str).to_numpy(dtype=object)
        names = sorted(set(labels.tolist()))
        dummies = np.zeros((len(labels), len(names)))
        dummies[np.arange(len(labels)), pd.Index(names).get_indexer(labels)] = 1.0
        columns = [f"sector:{s}" for s in names] + [f"style:{c}" for c in style.columns]
        if len(set(columns)) < len(columns):
            raise DataError(f"{who}: duplicate factor names {columns}")
        return pd.DataFrame(np.hstack([dummies, style_values]), index=assets, columns=columns)

    def _weights(self, assets: pd.Index, market_caps: pd.Series, who: str) -> np.ndarray:
        caps = pd.to_numeric(_align(market_caps, pd.Series, assets, "market_caps", who), errors="coerce")
        caps = caps.to_numpy(dtype=float)
        bad = ~np.isfinite(caps) | (caps <= 0)
        if bad.any():
            raise DataError(f"{who}: market_caps must be finite and positive (USD); bad for {assets[bad][:10].tolist()}")
        raw = {"sqrt_cap": np.sqrt(caps), "cap": caps, "equal": np.ones_like(caps)}[self.regression_weights]
        return raw / raw.sum()


def _align(table: object, kind: type, assets: pd.Index, label: str, who: str):  # noqa: ANN202
    """``table`` reindexed to ``assets``; DataError if of the wrong type, duplicated or incomplete."""
    if not isinstance(table, kind):
        raise DataError(f"{who}: {label} must be a pandas {kind.__name__} indexed by asset_id")
    if table.index.has_duplicates:
        raise DataError(f"{who}: {label} have duplicate asset_ids {table.index[table.index.duplicated()][:10].tolist()}")
    missing = assets.difference(table.index)
    if len(missing):
        raise DataError(f"{who}: {label} lack {len(missing)} asset(s) of returns, e.g. {missing[:10].tolist()}")
    return table.reindex(assets)
