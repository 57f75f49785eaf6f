"""Import a factor risk model delivered as files (Barra, Axioma and similar vendors).

Three tables, CSV or Parquet:

* exposures — one row per asset: ``asset_id`` and one column per factor;
* factor covariance — one row per factor: a ``factor`` column, then one column per
  factor, annualized (return² per year);
* specific risk — ``asset_id`` and ``specific_risk``, annualized volatility.

``units="percent"`` reads covariances in %² and volatilities in % (a common vendor
convention) and converts them to fractions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import DataError, nonfinite_cells
from ._risk_model import RiskModel
from ._tables import read_table

#: Relative asymmetry ``max|F − Fᵀ| / max|F|`` tolerated (then symmetrized).
SYMMETRY_TOLERANCE = 1e-8

#: Negative eigenvalues of F down to ``−tol × λ_max`` are round-off, clipped to 0.
PSD_TOLERANCE = 1e-8

#: Largest annualized volatility (fraction per year, 10 = 1000 %) accepted for a factor
#: (``√F_jj``), an asset's specific risk, or an asset's total model risk
#: (``√(b_iᵀ F b_i + s_i²)``). Above it the file is in the wrong units (percent read as
#: fractions: set ``units="percent"``) or corrupt.
MAX_ANNUAL_VOLATILITY = 10.0

_LISTED = 10


def load_vendor_risk_model(
    exposures: str | Path,
    factor_covariance: str | Path,
    specific_risk: str | Path,
    *,
    units: str = "fraction",
    name: str | None = None,
) -> RiskModel:
    """Read and validate a vendor factor risk model.

    Parameters
    ----------
    exposures, factor_covariance, specific_risk : path
        The three tables (see the module docstring).
    units : {"fraction", "percent"}
        Units of the covariance (fraction² or %²) and of specific risk (fraction or %).
    name : str, optional
        Description for reports; defaults to naming the exposures file.

    Returns
    -------
    RiskModel
        Annualized, in square-root form (``L`` from the eigen-decomposition of ``F``).

    Raises
    ------
    DataError
        Naming the file and the row (asset or factor): missing columns, blank, duplicate or
        missing assets, factors that differ between files, asymmetric or clearly non-PSD
        covariance, missing or non-finite values, negative specific risk, and volatilities
        above :data:`MAX_ANNUAL_VOLATILITY` (factor, specific or an asset's total).
    """
    if units not in ("fraction", "percent"):
        raise DataError(f"vendor risk model: units must be 'fraction' or 'percent', got {units!r}")
    exposures, factor_covariance, specific_risk = Path(exposures), Path(factor_covariance), Path(specific_risk)
    scale = 0.01 if units == "percent" else 1.0

    table = _indexed(read_table(exposures, "exposures", text_columns=("asset_id",)), exposures, "exposures", "asset_id")
    if table.empty or not len(table.columns):
        raise DataError(
            f"exposures file {exposures}: needs at least one asset row and one factor column; "
            f"found {len(table)} row(s) and columns {['asset_id', *table.columns]}"
        )
    factors = tuple(table.columns)
    b = _numeric(table, exposures, "exposures")

    cov_table = _indexed(read_table(factor_covariance, "factor covariance", text_columns=("factor",)), factor_covariance, "factor covariance", "factor")
    if set(cov_table.index) != set(factors) or set(cov_table.columns) != set(factors):
        only_exposures = sorted(set(factors) - set(cov_table.index))
        only_cov = sorted((set(cov_table.index) | set(cov_table.columns)) - set(factors))
        raise DataError(
            f"factor covariance file {factor_covariance}: factors differ from the exposures file "
            f"(only in exposures: {only_exposures[:_LISTED]}; only in covariance: {only_cov[:_LISTED]})"
        )
    f = _numeric(cov_table.loc[list(factors), list(factors)], factor_covariance, "factor covariance") * scale**2
    hint = "; are the files in percent (units: percent)?" if units == "fraction" else ""
    _check_volatility(
        np.sqrt(np.clip(np.diag(f), 0.0, None)), factors, f"factor covariance file {factor_covariance}",
        "factor volatility √F_jj", "factor", hint,
    )
    factor_cov_sqrt = _psd_sqrt(f, factor_covariance)

    spec = _indexed(read_table(specific_risk, "specific risk", text_columns=("asset_id",)), specific_risk, "specific risk", "asset_id")
    if "specific_risk" not in spec.columns:
        raise DataError(f"specific risk file {specific_risk}: needs a 'specific_risk' column; found {list(spec.columns)}")
    s = _numeric(spec[["specific_risk"]], specific_risk, "specific risk")[:, 0] * scale
    if np.any(s < 0):
        bad = spec.index[s < 0].tolist()[:_LISTED]
        raise DataError(f"specific risk file {specific_risk}: negative specific risk for {bad}")
    _check_volatility(s, spec.index, f"specific risk file {specific_risk}", "specific risk", "asset", hint)
    missing = table.index.difference(spec.index)
    if len(missing):
        raise DataError(
            f"specific risk file {specific_risk}: no specific risk for {len(missing)} asset(s) of the exposures "
            f"file, e.g. {missing.tolist()[:_LISTED]}"
        )
    s = pd.Series(s, index=spec.index).reindex(table.index).to_numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sqrt(np.sum((b @ factor_cov_sqrt) ** 2, axis=1) + s**2)
    _check_volatility(
        total, table.index, f"exposures file {exposures}", "total risk √(bᵀFb + s²) of the row", "asset",
        "; check the exposures of these rows",
    )
    return RiskModel(
        asset_ids=tuple(table.index.tolist()),
        factor_names=factors,
        exposures=b,
        factor_cov_sqrt=factor_cov_sqrt,
        specific_vol=s,
        name=name or f"vendor model {exposures.name} ({len(factors)} factors)",
    )


def _indexed(frame: pd.DataFrame, path: Path, role: str, key: str) -> pd.DataFrame:
    if key not in frame.columns:
        raise DataError(f"{role} file {path}: needs a {key!r} column; found {list(frame.columns)}")
    present = frame[key].notna().to_numpy()
    ids = frame[key].astype(str).str.strip()
    blank = np.flatnonzero(~present | (ids == "").to_numpy()) + 1
    if len(blank):
        raise DataError(f"{role} file {path}: column {key!r} is empty in data row(s) {blank.tolist()[:_LISTED]}")
    duplicated = sorted(set(ids[ids.duplicated()]))
    if duplicated:
        raise DataError(f"{role} file {path}: duplicate {key} {duplicated[:_LISTED]}")
    return frame.drop(columns=[key]).set_axis(pd.Index(ids, name=key), axis=0)


def _numeric(frame: pd.DataFrame, path: Path, role: str) -> np.ndarray:
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    count, examples = nonfinite_cells(values, lambda r, c: f"{frame.index[r]}/{frame.columns[c]}", limit=5)
    if count:
        raise DataError(f"{role} file {path}: {count} missing or non-numeric value(s), e.g. {examples}")
    return values


def _psd_sqrt(f: np.ndarray, path: Path) -> np.ndarray:
    """``L`` with ``L Lᵀ = F`` after checking symmetry and positive semi-definiteness."""
    size = float(np.abs(f).max()) or 1.0
    asymmetry = float(np.abs(f - f.T).max()) / size
    if asymmetry > SYMMETRY_TOLERANCE:
        raise DataError(f"factor covariance file {path}: not symmetric (max relative asymmetry {asymmetry:.2e})")
    f = (f + f.T) / 2
    try:
        eigenvalues, vectors = np.linalg.eigh(f)
    except np.linalg.LinAlgError as exc:
        raise DataError(f"factor covariance file {path}: eigen-decomposition failed ({exc}); fix the file") from None
    if eigenvalues.min() < -PSD_TOLERANCE * max(eigenvalues.max(), 0.0):
        raise DataError(
            f"factor covariance file {path}: not positive semi-definite (smallest eigenvalue "
            f"{eigenvalues.min():.3g}, largest {eigenvalues.max():.3g}); fix the file or re-estimate"
        )
    return vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))


def _check_volatility(
    vol: np.ndarray, labels: pd.Index | tuple[str, ...], where: str, what: str, kind: str, hint: str
) -> None:
    """DataError naming the rows whose annualized volatility is above :data:`MAX_ANNUAL_VOLATILITY`."""
    bad = np.flatnonzero(~(vol <= MAX_ANNUAL_VOLATILITY))
    if len(bad):
        shown = ", ".join(f"{labels[i]}: {vol[i]:.4g}" for i in bad[:_LISTED])
        raise DataError(
            f"{where}: {what} above {MAX_ANNUAL_VOLATILITY:g} ({MAX_ANNUAL_VOLATILITY:.0%} a year) for "
            f"{len(bad)} {kind}(s), e.g. [{shown}]{hint}"
        )
