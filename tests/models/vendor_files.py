"""Write a RiskModel as vendor files (exposures, factor covariance, specific risk), for tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trimtab.models import RiskModel


def write_vendor_files(model: RiskModel, directory: Path, *, units: str = "fraction") -> dict[str, Path]:
    """CSV files in the vendor layout; ``units="percent"`` writes %² and %."""
    scale = 100.0 if units == "percent" else 1.0
    paths = {k: directory / f"{k}.csv" for k in ("exposures", "factor_covariance", "specific_risk")}
    exposures = pd.DataFrame(model.exposures, index=pd.Index(model.asset_ids, name="asset_id"), columns=model.factor_names)
    exposures.to_csv(paths["exposures"])
    cov = model.factor_covariance() * scale**2
    cov.index.name = "factor"
    cov.to_csv(paths["factor_covariance"])
    specific = pd.DataFrame({"specific_risk": model.specific_vol * scale}, index=exposures.index)
    specific.to_csv(paths["specific_risk"])
    return paths
