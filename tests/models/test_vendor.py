"""Vendor risk-model files: round trips, units, and every validation failure named."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError, load_vendor_risk_model

_spec = importlib.util.spec_from_file_location("trimtab_tests_vendor_files", Path(__file__).parent / "vendor_files.py")
vendor_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vendor_files)


@pytest.mark.parametrize("units", ["fraction", "percent"])
def test_round_trip_gives_the_same_covariance(toy, tmp_path, units):
    _, model = toy
    paths = vendor_files.write_vendor_files(model, tmp_path, units=units)
    loaded = load_vendor_risk_model(paths["exposures"], paths["factor_covariance"], paths["specific_risk"], units=units)
    assert loaded.asset_ids == model.asset_ids and loaded.factor_names == model.factor_names
    np.testing.assert_allclose(loaded.covariance().to_numpy(), model.covariance().to_numpy(), rtol=1e-9, atol=1e-14)
    a = np.random.default_rng(1).normal(size=model.n_assets) * 0.01
    assert loaded.volatility(a) == pytest.approx(model.volatility(a), rel=1e-9)


def _paths(toy, tmp_path):
    return vendor_files.write_vendor_files(toy[1], tmp_path)


def _load(paths):
    return load_vendor_risk_model(paths["exposures"], paths["factor_covariance"], paths["specific_risk"])


def test_asymmetric_covariance_is_refused(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    cov = pd.read_csv(paths["factor_covariance"], index_col="factor")
    cov.iloc[0, 1] *= 1.5
    cov.to_csv(paths["factor_covariance"])
    with pytest.raises(DataError, match=r"factor_covariance.csv: not symmetric"):
        _load(paths)


def test_non_psd_covariance_is_refused_but_round_off_is_clipped(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    cov = pd.read_csv(paths["factor_covariance"], index_col="factor")
    bad = cov.copy()
    bad.iloc[0, 1] = bad.iloc[1, 0] = 10 * np.sqrt(bad.iloc[0, 0] * bad.iloc[1, 1])  # correlation 10
    bad.to_csv(paths["factor_covariance"])
    with pytest.raises(DataError, match=r"not positive semi-definite \(smallest eigenvalue -"):
        _load(paths)
    values, vectors = np.linalg.eigh(cov.to_numpy())
    values[0] = -1e-12 * values.max()  # round-off below zero
    pd.DataFrame(vectors @ np.diag(values) @ vectors.T, index=cov.index, columns=cov.columns).to_csv(paths["factor_covariance"])
    assert np.linalg.eigvalsh(_load(paths).factor_covariance().to_numpy()).min() >= -1e-15


def test_factor_mismatch_names_the_factors(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    cov = pd.read_csv(paths["factor_covariance"], index_col="factor").rename(index={"f0": "market"}, columns={"f0": "market"})
    cov.to_csv(paths["factor_covariance"])
    with pytest.raises(DataError, match=r"only in exposures: \['f0'\]; only in covariance: \['market'\]"):
        _load(paths)


def test_missing_specific_risk_and_columns_and_duplicates(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    specific = pd.read_csv(paths["specific_risk"])
    specific.iloc[2:].to_csv(paths["specific_risk"], index=False)
    with pytest.raises(DataError, match=r"no specific risk for 2 asset\(s\).*T000"):
        _load(paths)
    specific.rename(columns={"specific_risk": "srisk"}).to_csv(paths["specific_risk"], index=False)
    with pytest.raises(DataError, match=r"needs a 'specific_risk' column; found \['srisk'\]"):
        _load(paths)
    specific.to_csv(paths["specific_risk"], index=False)
    exposures = pd.read_csv(paths["exposures"])
    pd.concat([exposures, exposures.iloc[[3]]]).to_csv(paths["exposures"], index=False)
    with pytest.raises(DataError, match=r"exposures file .*duplicate asset_id \['T003'\]"):
        _load(paths)


def test_non_numeric_and_negative_values(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    specific = pd.read_csv(paths["specific_risk"])
    specific.loc[4, "specific_risk"] = -0.1
    specific.to_csv(paths["specific_risk"], index=False)
    with pytest.raises(DataError, match=r"negative specific risk for \['T004'\]"):
        _load(paths)
    exposures = pd.read_csv(paths["exposures"])
    exposures["f1"] = exposures["f1"].astype(object)
    exposures.loc[7, "f1"] = "n/a"
    exposures.to_csv(paths["exposures"], index=False)
    with pytest.raises(DataError, match=r"exposures.csv: 1 missing or non-numeric value\(s\), e.g. \['T007/f1'\]"):
        _load(paths)


def _rewrite(path, mutate):
    table = pd.read_csv(path)
    mutate(table)
    table.to_csv(path, index=False)


def test_percent_files_read_as_fractions_are_refused_naming_the_factors(toy, tmp_path):
    paths = vendor_files.write_vendor_files(toy[1], tmp_path, units="percent")
    with pytest.raises(DataError) as info:
        _load(paths)  # units="fraction" by default
    message = str(info.value)
    assert str(paths["factor_covariance"]) in message and "factor volatility" in message
    assert "f0: " in message and "units: percent" in message


def test_specific_risk_above_the_bound_names_the_asset(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    _rewrite(paths["specific_risk"], lambda t: t.__setitem__("specific_risk", np.where(t.index == 5, 25.0, t["specific_risk"])))
    with pytest.raises(DataError, match=r"specific_risk\.csv: specific risk above 10 .*\[T005: 25\]"):
        _load(paths)


def test_huge_exposure_is_refused_naming_the_row(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    _rewrite(paths["exposures"], lambda t: t.__setitem__("f2", np.where(t.index == 9, 1e300, t["f2"])))
    with pytest.raises(DataError, match=r"exposures\.csv: total risk .* for 1 asset\(s\), e\.g\. \[T009: inf\]"):
        _load(paths)


def test_non_finite_covariance_and_specific_risk_name_file_and_cell(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    cov = pd.read_csv(paths["factor_covariance"], index_col="factor")
    cov.loc["f1", "f3"] = cov.loc["f3", "f1"] = np.inf
    cov.to_csv(paths["factor_covariance"])
    with pytest.raises(DataError, match=r"factor_covariance\.csv: 2 missing or non-numeric value\(s\), e\.g\. \['f1/f3', 'f3/f1'\]"):
        _load(paths)
    paths = _paths(toy, tmp_path)
    _rewrite(paths["specific_risk"], lambda t: t.__setitem__("specific_risk", np.where(t.index == 2, np.nan, t["specific_risk"])))
    with pytest.raises(DataError, match=r"specific_risk\.csv: 1 missing or non-numeric value\(s\), e\.g\. \['T002/specific_risk'\]"):
        _load(paths)


def test_blank_ids_and_empty_tables_are_refused(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    _rewrite(paths["exposures"], lambda t: t.__setitem__("asset_id", np.where(t.index == 3, "", t["asset_id"])))
    with pytest.raises(DataError, match=r"exposures\.csv: column 'asset_id' is empty in data row\(s\) \[4\]"):
        _load(paths)
    paths = _paths(toy, tmp_path)
    pd.read_csv(paths["exposures"])[["asset_id"]].to_csv(paths["exposures"], index=False)
    with pytest.raises(DataError, match=r"exposures\.csv: needs at least one asset row and one factor column"):
        _load(paths)


def test_covariance_that_is_not_psd_names_the_file(toy, tmp_path):
    paths = _paths(toy, tmp_path)
    cov = pd.read_csv(paths["factor_covariance"], index_col="factor")
    cov.loc["f0", "f0"] = -cov.loc["f0", "f0"]  # a negative variance
    cov.to_csv(paths["factor_covariance"])
    with pytest.raises(DataError, match=r"factor_covariance\.csv: not positive semi-definite"):
        _load(paths)
