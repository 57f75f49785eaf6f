"""Full-covariance risk estimators (scikit-learn style), stored in square-root form.

The sample, Ledoit-Wolf and OAS estimators wrap :mod:`sklearn.covariance`; the EWMA
estimator wraps :func:`ewma_covariance`. Every estimator takes a DataFrame of DAILY simple
returns (dates × asset_id), estimates a daily covariance, multiplies it by
``periods_per_year`` and stores the result as a :class:`RiskModel` whose exposures ``B``
are ``V √Λ`` (eigenvectors scaled by the square roots of the positive eigenvalues), with
``L = I`` and ``s = 0``, so ``B Bᵀ`` is the annualized covariance.
"""

from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ._errors import DataError, nonfinite_cells
from ._risk_model import TRADING_DAYS_PER_YEAR, RiskModel
from ._threads import blas_threads, small_problem_threads

# ----------------------------------------------------------------------------- validation


def check_returns(returns: object, *, min_rows: int, who: str) -> np.ndarray:
    """Validate a returns table and return its values as a float array (T × n).

    Parameters
    ----------
    returns : pd.DataFrame
        Daily simple returns (fractions), dates × asset_id.
    min_rows : int
        Minimum number of dates the caller needs.
    who : str
        Name of the caller, used in error messages.

    Raises
    ------
    DataError
        If ``returns`` is not a non-empty DataFrame with unique columns, has non-numeric or
        non-finite values (the message lists example asset/date pairs), or has fewer than
        ``min_rows`` rows.
    """
    if not isinstance(returns, pd.DataFrame):
        raise DataError(f"{who}: returns must be a pandas DataFrame (dates × asset_id), got {type(returns).__name__}")
    if returns.shape[1] == 0:
        raise DataError(f"{who}: returns have no asset columns")
    if returns.columns.has_duplicates:
        dup = returns.columns[returns.columns.duplicated()].unique().tolist()[:10]
        raise DataError(f"{who}: returns have duplicate asset columns {dup}")
    try:
        values = returns.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{who}: returns must be numeric fractions ({exc})") from exc
    count, examples = nonfinite_cells(
        values, lambda r, c: f"{returns.columns[c]} on {_date_label(returns.index[r])}", limit=5
    )
    if count:
        raise DataError(
            f"{who}: returns have {count} missing or non-finite value(s), e.g. "
            + ", ".join(examples)
            + "; fill or drop them before estimating risk"
        )
    if values.shape[0] < min_rows:
        raise DataError(
            f"{who}: needs at least {min_rows} dates of returns, got {values.shape[0]}; use a longer window"
        )
    return values


def check_positive(value: object, name: str, who: str, *, integer: bool = False) -> None:
    """Raise :class:`DataError` unless ``value`` is a finite positive number (an int if ``integer``)."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value) or value <= 0:
        what = "a positive integer" if integer else "a finite positive number"
        raise DataError(f"{who}: {name} must be {what}, got {value!r}")


def _date_label(label: object) -> str:
    try:
        return str(pd.Timestamp(label).date())
    except (TypeError, ValueError):
        return str(label)


# ----------------------------------------------------------------------------- math


def ewma_weights(n_periods: int, halflife: float) -> np.ndarray:
    """Exponential weights over ``n_periods`` dates, oldest first, summing to one.

    The weight of the observation ``j`` periods before the last one is proportional to
    ``0.5 ** (j / halflife)``: the most recent date weighs most and an observation
    ``halflife`` periods old weighs half as much.
    """
    age = np.arange(n_periods - 1, -1, -1, dtype=float)
    w = 0.5 ** (age / float(halflife))
    return w / w.sum()


def ewma_covariance(returns: pd.DataFrame | np.ndarray, halflife: float) -> pd.DataFrame | np.ndarray:
    """Exponentially weighted covariance of returns (same units as the input, per period).

    ``Σ = Σ_t w_t (r_t − μ)(r_t − μ)ᵀ`` with ``μ = Σ_t w_t r_t`` and weights from
    :func:`ewma_weights` (normalized to sum to one, most recent date heaviest). No
    small-sample bias correction is applied, so as ``halflife → ∞`` the estimate tends to
    the maximum-likelihood sample covariance of ``sklearn.covariance.EmpiricalCovariance``;
    it equals ``returns.ewm(halflife=halflife).cov(bias=True)`` on the last date.

    Parameters
    ----------
    returns : pd.DataFrame or np.ndarray, shape (T, n)
        Returns per period (e.g. daily simple returns, fractions), oldest row first.
    halflife : float
        Half-life of the weights, in periods (e.g. trading days).

    Returns
    -------
    pd.DataFrame or np.ndarray, shape (n, n)
        Covariance in return² per period (not annualized); a DataFrame labelled by asset
        when ``returns`` is a DataFrame.
    """
    x = np.asarray(returns, dtype=float)
    w = ewma_weights(x.shape[0], halflife)
    centered = x - w @ x
    cov = (centered * w[:, None]).T @ centered
    cov = (cov + cov.T) / 2.0
    if isinstance(returns, pd.DataFrame):
        return pd.DataFrame(cov, index=returns.columns, columns=returns.columns)
    return cov


def psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root ``V √Λ Vᵀ`` of a symmetric PSD matrix (negative eigenvalues clipped to 0)."""
    sym = (np.asarray(matrix, dtype=float) + np.asarray(matrix, dtype=float).T) / 2.0
    eigval, eigvec = np.linalg.eigh(sym)
    return (eigvec * np.sqrt(np.clip(eigval, 0.0, None))) @ eigvec.T


def risk_model_from_covariance(covariance: pd.DataFrame, *, name: str = "full covariance") -> RiskModel:
    """Store a dense covariance in square-root form ``B = V √Λ`` (n × r), ``L = I``, ``s = 0``.

    Eigenvalues are sorted in decreasing order; those below ``n · ε · λ_max`` (rounding
    noise, including tiny negative values) are treated as zero and their columns dropped,
    so ``r`` is the numerical rank. Factors are named ``pc001``, ``pc002``, ...

    Parameters
    ----------
    covariance : pd.DataFrame, shape (n, n)
        Annualized covariance (return² per year), indexed by asset_id on both axes.

    Raises
    ------
    DataError
        If the matrix is not square, not finite or clearly not positive semidefinite.
    """
    values = covariance.to_numpy(dtype=float)
    n = values.shape[0]
    if values.shape != (n, n) or not covariance.index.equals(covariance.columns):
        raise DataError(f"{name}: covariance must be square with the same assets on both axes")
    if not np.all(np.isfinite(values)):
        raise DataError(f"{name}: covariance has missing or non-finite values")
    eigval, eigvec = np.linalg.eigh((values + values.T) / 2.0)
    eigval, eigvec = eigval[::-1], eigvec[:, ::-1]
    scale = max(float(eigval[0]), 0.0)
    tol = n * np.finfo(float).eps * scale
    if eigval[-1] < -max(1e-8 * scale, tol):
        raise DataError(f"{name}: covariance is not positive semidefinite (eigenvalue {eigval[-1]:.3g})")
    keep = eigval > tol
    exposures = eigvec[:, keep] * np.sqrt(eigval[keep])
    r = int(keep.sum())
    width = max(3, len(str(r)))
    return RiskModel(
        asset_ids=tuple(covariance.index.tolist()),
        factor_names=tuple(f"pc{i:0{width}d}" for i in range(1, r + 1)),
        exposures=exposures,
        factor_cov_sqrt=np.eye(r),
        specific_vol=np.zeros(n),
        name=name,
    )


# ----------------------------------------------------------------------------- estimators


class _FullCovarianceEstimator(BaseEstimator):
    """Shared ``fit``: validate, estimate the daily covariance, annualize, store √ form.

    Subclasses implement ``_daily_covariance(X) -> (daily covariance, location)`` and
    ``_describe()``.

    Fitted attributes
    -----------------
    covariance_ : pd.DataFrame, shape (n, n)
        Annualized covariance (return² per year), asset_id × asset_id.
    location_ : pd.Series, shape (n,)
        Mean daily return used to center the data (fraction per day).
    risk_model_ : RiskModel
        ``covariance_`` in square-root form (see :func:`risk_model_from_covariance`).
    n_features_in_ : int
        Number of assets seen in ``fit``.
    feature_names_in_ : np.ndarray of str
        Asset ids seen in ``fit``.
    n_samples_ : int
        Number of dates used.
    """

    _min_rows = 2

    def fit(self, returns: pd.DataFrame, y: None = None) -> _FullCovarianceEstimator:
        """Estimate the annualized covariance of daily ``returns``.

        Parameters
        ----------
        returns : pd.DataFrame, shape (T, n)
            Daily simple returns (fractions), dates × asset_id, oldest first, no missing
            values, at least 2 dates.
        y : None
            Ignored; present for scikit-learn API compatibility.

        Returns
        -------
        self
        """
        who = type(self).__name__
        check_positive(self.periods_per_year, "periods_per_year", who)
        self._check_params(who)
        x = check_returns(returns, min_rows=self._min_rows, who=who)
        assets = returns.columns
        # A small window's dense algebra (Xᵀ X, the eigendecomposition) runs on one BLAS thread.
        with blas_threads(small_problem_threads(*x.shape)):
            daily, location = self._daily_covariance(x)
            self.covariance_ = pd.DataFrame(daily * float(self.periods_per_year), index=assets, columns=assets)
            self.location_ = pd.Series(location, index=assets, name="mean daily return")
            self.n_features_in_ = x.shape[1]
            self.feature_names_in_ = np.asarray([str(a) for a in assets.tolist()], dtype=object)
            self.n_samples_ = x.shape[0]
            self.risk_model_ = risk_model_from_covariance(self.covariance_, name=self._describe())
        return self

    def _check_params(self, who: str) -> None:
        """Validate estimator-specific parameters (none by default)."""

    def _sklearn_fit(self, estimator: BaseEstimator, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.estimator_ = estimator.fit(x)
        return self.estimator_.covariance_, self.estimator_.location_


class SampleCovariance(_FullCovarianceEstimator):
    """Annualized maximum-likelihood sample covariance (wraps ``sklearn.covariance.EmpiricalCovariance``).

    Parameters
    ----------
    periods_per_year : float, default 252
        Periods (trading days) per year; the daily covariance is multiplied by it.
    assume_centered : bool, default False
        If True, returns are not demeaned (the mean daily return is taken as zero).

    Attributes
    ----------
    covariance_, location_, risk_model_, n_features_in_, feature_names_in_, n_samples_
        See the module docstring; ``covariance_`` is annualized (return² per year).
    estimator_ : sklearn.covariance.EmpiricalCovariance
        The fitted scikit-learn estimator (daily units).

    Notes
    -----
    With fewer dates than assets the estimate is singular; the risk model then has as many
    factors as the numerical rank and some long-short portfolios look riskless.
    """

    def __init__(self, *, periods_per_year: float = TRADING_DAYS_PER_YEAR, assume_centered: bool = False) -> None:
        self.periods_per_year = periods_per_year
        self.assume_centered = assume_centered

    def _daily_covariance(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.covariance import EmpiricalCovariance  # here: a job on a factor model never loads it

        return self._sklearn_fit(EmpiricalCovariance(assume_centered=self.assume_centered, store_precision=False), x)

    def _describe(self) -> str:
        return f"sample covariance ({self.n_samples_} days, ×{self.periods_per_year}/yr)"


class _ShrunkCovariance(_FullCovarianceEstimator):
    """Shared body of the scikit-learn shrinkage estimators (Ledoit-Wolf, OAS)."""

    #: The estimator's class in :mod:`sklearn.covariance`, imported at fit (start-up of factor-model jobs).
    _sklearn_class: ClassVar[str] = "LedoitWolf"
    _label: ClassVar[str] = ""

    def __init__(self, *, periods_per_year: float = TRADING_DAYS_PER_YEAR, assume_centered: bool = False) -> None:
        self.periods_per_year = periods_per_year
        self.assume_centered = assume_centered

    def _daily_covariance(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import sklearn.covariance

        estimator = getattr(sklearn.covariance, self._sklearn_class)
        out = self._sklearn_fit(estimator(assume_centered=self.assume_centered, store_precision=False), x)
        self.shrinkage_ = float(self.estimator_.shrinkage_)
        return out

    def _describe(self) -> str:
        return (
            f"{self._label} covariance (shrinkage {self.shrinkage_:.3f}, {self.n_samples_} days, "
            f"×{self.periods_per_year}/yr)"
        )


class LedoitWolfCovariance(_ShrunkCovariance):
    """Annualized Ledoit-Wolf shrunk covariance (wraps ``sklearn.covariance.LedoitWolf``).

    Shrinks the sample covariance toward a multiple of the identity with the intensity
    that minimizes expected Frobenius loss; well conditioned even with fewer dates than
    assets.

    Parameters
    ----------
    periods_per_year : float, default 252
        Periods (trading days) per year; the daily covariance is multiplied by it.
    assume_centered : bool, default False
        If True, returns are not demeaned.

    Attributes
    ----------
    covariance_, location_, risk_model_, n_features_in_, feature_names_in_, n_samples_
        See the module docstring; ``covariance_`` is annualized (return² per year).
    shrinkage_ : float
        Shrinkage intensity in [0, 1].
    estimator_ : sklearn.covariance.LedoitWolf
        The fitted scikit-learn estimator (daily units).
    """

    _sklearn_class = "LedoitWolf"
    _label = "Ledoit-Wolf"


class OASCovariance(_ShrunkCovariance):
    """Annualized Oracle Approximating Shrinkage covariance (wraps ``sklearn.covariance.OAS``).

    Parameters and attributes are those of :class:`LedoitWolfCovariance`; ``estimator_``
    is the fitted ``sklearn.covariance.OAS``.
    """

    _sklearn_class = "OAS"
    _label = "OAS"


class EWMACovariance(_FullCovarianceEstimator):
    """Annualized exponentially weighted covariance (wraps :func:`ewma_covariance`).

    Parameters
    ----------
    halflife : float, default 63
        Half-life of the exponential weights, in trading days (63 ≈ one quarter). The most
        recent date weighs most; the data are demeaned with the same weights.
    periods_per_year : float, default 252
        Periods (trading days) per year; the daily covariance is multiplied by it.

    Attributes
    ----------
    covariance_, location_, risk_model_, n_features_in_, feature_names_in_, n_samples_
        See the module docstring; ``covariance_`` is annualized (return² per year) and
        ``location_`` is the weighted mean daily return.
    effective_n_samples_ : float
        Kish effective sample size ``1 / Σ w_t²`` of the weights (at most ``2·halflife/ln 2``
        ≈ 182 days for the default); the estimate's rank is below it in practice.
    """

    def __init__(self, *, halflife: float = 63, periods_per_year: float = TRADING_DAYS_PER_YEAR) -> None:
        self.halflife = halflife
        self.periods_per_year = periods_per_year

    def _check_params(self, who: str) -> None:
        check_positive(self.halflife, "halflife", who)

    def _daily_covariance(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = ewma_weights(x.shape[0], self.halflife)
        self.effective_n_samples_ = float(1.0 / np.sum(w**2))
        return ewma_covariance(x, self.halflife), w @ x

    def _describe(self) -> str:
        return f"EWMA covariance (halflife {self.halflife} days, {self.n_samples_} days, ×{self.periods_per_year}/yr)"
