"""Risk model in square-root factor form: Σ = B L Lᵀ Bᵀ + diag(s²)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ._errors import DataError

#: Trading days per year used to annualize daily estimates.
TRADING_DAYS_PER_YEAR = 252


@dataclass(frozen=True, eq=False)
class RiskModel:
    """Annualized covariance of asset returns in square-root factor form.

    ``Σ = B F Bᵀ + diag(s²)`` with ``F = L Lᵀ``. Storing square roots keeps tracking error
    ``‖Lᵀ Bᵀ a‖² + ‖s ∘ a‖²`` (``a = w − w_b``) DPP-compliant and never forms an n×n matrix.
    A full-covariance estimate is stored the same way with ``B`` its n×n square root,
    ``L = I`` and ``s = 0``.

    Parameters
    ----------
    asset_ids : tuple of str
        Asset identifiers, in the row order of ``exposures``.
    factor_names : tuple of str
        Factor names, in the column order of ``exposures``.
    exposures : np.ndarray, shape (n, k)
        Factor exposures ``B`` (dimensionless: dummies or σ units).
    factor_cov_sqrt : np.ndarray, shape (k, k)
        ``L`` with ``L Lᵀ = F``, the annualized factor covariance (return² per year).
    specific_vol : np.ndarray, shape (n,)
        Annualized specific (idiosyncratic) volatility ``s`` (fraction per year).
    name : str
        Description of the estimator that produced the model.
    """

    asset_ids: tuple[str, ...]
    factor_names: tuple[str, ...]
    exposures: np.ndarray
    factor_cov_sqrt: np.ndarray
    specific_vol: np.ndarray
    name: str = "risk model"

    def __post_init__(self) -> None:
        object.__setattr__(self, "asset_ids", tuple(str(a) for a in self.asset_ids))
        object.__setattr__(self, "factor_names", tuple(str(f) for f in self.factor_names))
        for attr in ("exposures", "factor_cov_sqrt", "specific_vol"):
            arr = np.array(getattr(self, attr), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, attr, arr)
        n, k = len(self.asset_ids), len(self.factor_names)
        if self.exposures.shape != (n, k):
            raise DataError(f"{self.name}: exposures have shape {self.exposures.shape}, expected ({n}, {k})")
        if self.factor_cov_sqrt.shape != (k, k):
            raise DataError(f"{self.name}: factor_cov_sqrt has shape {self.factor_cov_sqrt.shape}, expected ({k}, {k})")
        if self.specific_vol.shape != (n,):
            raise DataError(f"{self.name}: specific_vol has shape {self.specific_vol.shape}, expected ({n},)")
        for attr in ("exposures", "factor_cov_sqrt", "specific_vol"):
            if not np.all(np.isfinite(getattr(self, attr))):
                raise DataError(f"{self.name}: {attr} has missing or non-finite values")
        if np.any(self.specific_vol < 0):
            raise DataError(f"{self.name}: specific_vol has negative entries")

    @property
    def n_assets(self) -> int:
        """Number of assets ``n``."""
        return len(self.asset_ids)

    @property
    def n_factors(self) -> int:
        """Number of factors ``k``."""
        return len(self.factor_names)

    @cached_property
    def loadings(self) -> np.ndarray:
        """``G = B L`` (n×k): ``Σ = G Gᵀ + diag(s²)``, so factor risk of ``w`` is ``‖Gᵀ w‖``."""
        loadings = self.exposures @ self.factor_cov_sqrt
        loadings.setflags(write=False)
        return loadings

    def factor_covariance(self) -> pd.DataFrame:
        """Annualized factor covariance ``F = L Lᵀ`` (k×k)."""
        cov = self.factor_cov_sqrt @ self.factor_cov_sqrt.T
        return pd.DataFrame(cov, index=self.factor_names, columns=self.factor_names)

    def covariance(self) -> pd.DataFrame:
        """Dense annualized asset covariance ``B F Bᵀ + diag(s²)`` (n×n).

        For diagnostics and peer cross-checks only; the optimizer never builds it.
        """
        cov = self.loadings @ self.loadings.T + np.diag(self.specific_vol**2)
        return pd.DataFrame(cov, index=self.asset_ids, columns=self.asset_ids)

    def factor_exposures_of(self, weights: np.ndarray) -> np.ndarray:
        """Factor exposures ``Bᵀ w`` of a weight vector (k,)."""
        return self.exposures.T @ np.asarray(weights, dtype=float)

    def variance_split(self, weights: np.ndarray) -> tuple[float, float]:
        """Annualized (factor, specific) variance of a weight or active-weight vector."""
        w = np.asarray(weights, dtype=float)
        factor = float(np.sum((self.loadings.T @ w) ** 2))
        specific = float(np.sum((self.specific_vol * w) ** 2))
        return factor, specific

    def volatility(self, weights: np.ndarray) -> float:
        """Annualized volatility ``√(wᵀ Σ w)``; for active weights, the tracking error."""
        factor, specific = self.variance_split(weights)
        return float(np.sqrt(factor + specific))

    def reindexed(self, asset_ids: pd.Index) -> RiskModel:
        """The same model with rows in the order of ``asset_ids``.

        Raises
        ------
        DataError
            If some of ``asset_ids`` are not covered by the model.
        """
        wanted = asset_ids.tolist() if isinstance(asset_ids, pd.Index) else list(asset_ids)
        if tuple(wanted) == self.asset_ids:
            return self  # already in that order (the model is immutable)
        position = {a: i for i, a in enumerate(self.asset_ids)}
        missing = [a for a in wanted if a not in position]
        if missing:
            raise DataError(f"{self.name}: no risk estimate for {len(missing)} asset(s), e.g. {missing[:10]}")
        rows = np.array([position[a] for a in wanted], dtype=int)
        return RiskModel(
            asset_ids=tuple(wanted),
            factor_names=self.factor_names,
            exposures=self.exposures[rows],
            factor_cov_sqrt=self.factor_cov_sqrt,
            specific_vol=self.specific_vol[rows],
            name=self.name,
        )
