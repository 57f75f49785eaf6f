"""The risk-model methods are declared once (RISK_MODEL_REGISTRY); everything else derives from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trimtab.constraints import RISK_MODEL_METHODS, RiskModelSpec
from trimtab.models import RISK_MODEL_ESTIMATORS, RISK_MODEL_REGISTRY, DataError, RiskModelMethod, WindowShape
from trimtab.models._methods import MIN_WINDOW_DAYS

README = Path(__file__).resolve().parents[2] / "README.md"

#: Opens the README's risk-model paragraph, which names every method.
PARAGRAPH_START = "**Risk models** (`risk_model.method`)"


def test_registry_is_keyed_by_name_and_only_vendor_has_no_estimator():
    assert list(RISK_MODEL_REGISTRY) == ["sample", "ledoit_wolf", "oas", "ewma", "pca", "fundamental", "vendor"]
    for name, entry in RISK_MODEL_REGISTRY.items():
        assert isinstance(entry, RiskModelMethod) and entry.name == name and entry.description
    assert [m.name for m in RISK_MODEL_REGISTRY.values() if not m.estimated] == ["vendor"]
    assert dict(RISK_MODEL_ESTIMATORS) == {n: m.estimator for n, m in RISK_MODEL_REGISTRY.items() if m.estimated}
    with pytest.raises(TypeError):
        RISK_MODEL_REGISTRY["barra"] = RISK_MODEL_REGISTRY["vendor"]  # type: ignore[index]


def test_params_are_the_estimators_get_params():
    for entry in RISK_MODEL_REGISTRY.values():
        expected = sorted(entry.estimator().get_params()) if entry.estimator is not None else []
        assert list(entry.params) == expected
    assert RISK_MODEL_REGISTRY["ewma"].params == ("halflife", "periods_per_year")
    assert RISK_MODEL_REGISTRY["pca"].make_estimator({"n_factors": 4}).n_factors == 4
    with pytest.raises(DataError, match=r"'pca': unknown parameter\(s\) \['k'\]; valid parameters: \['n_factors'"):
        RISK_MODEL_REGISTRY["pca"].make_estimator({"k": 4})
    with pytest.raises(DataError, match="'vendor' is read from files"):
        RISK_MODEL_REGISTRY["vendor"].make_estimator({})


def test_minimum_window_per_method():
    shape = WindowShape(n_assets=100, n_sectors=11, n_styles=3, params={"n_factors": 40})
    need = {name: entry.minimum_window(shape) for name, entry in RISK_MODEL_REGISTRY.items()}
    assert need == {
        "sample": 200, "ewma": 200,  # 2 × assets
        "ledoit_wolf": MIN_WINDOW_DAYS, "oas": MIN_WINDOW_DAYS, "vendor": MIN_WINDOW_DAYS,  # floor only
        "pca": 80,  # 2 × factors
        "fundamental": MIN_WINDOW_DAYS,  # 2 × 14 sectors + styles < 60
    }
    with pytest.raises(DataError, match=r"'sample' needs at least 200 days of returns \(2 × 100 assets\), got 199"):
        RISK_MODEL_REGISTRY["sample"].check_window(199, shape)
    RISK_MODEL_REGISTRY["sample"].check_window(200, shape)


def test_job_file_choices_derive_from_the_registry():
    assert RISK_MODEL_METHODS == tuple(RISK_MODEL_REGISTRY)
    assert RiskModelSpec.model_json_schema()["properties"]["method"]["enum"] == list(RISK_MODEL_REGISTRY)


# ----------------------------------------------------------------------------- README


def _comment_methods(text: str) -> list[str]:
    """Methods in the job-file example's comment: ``method: fundamental  # sample | ... | vendor``."""
    comments = re.findall(r"^\s*method: \w+\s+#\s*(.+)$", text, flags=re.MULTILINE)
    assert len(comments) == 1, comments
    return [name.strip() for name in comments[0].split("|")]


def _paragraph_methods(text: str) -> list[str]:
    """Backticked names in the risk-model paragraph that are neither estimator params nor section keys."""
    start = text.index(PARAGRAPH_START)
    paragraph = text[start : text.index("\n\n", start)]
    not_methods = {p for m in RISK_MODEL_REGISTRY.values() for p in m.params} | set(RiskModelSpec.model_fields)
    return [w for w in re.findall(r"`([a-z_]+)`", paragraph) if w not in not_methods]


def test_readme_lists_exactly_the_registered_methods():
    text = README.read_text(encoding="utf-8")
    assert _comment_methods(text) == list(RISK_MODEL_REGISTRY)
    assert _paragraph_methods(text) == list(RISK_MODEL_REGISTRY)


def test_readme_check_catches_a_missing_or_unknown_method():
    text = README.read_text(encoding="utf-8")
    without_oas = text.replace(" | oas", "").replace("`oas` ", "")
    assert "oas" not in _comment_methods(without_oas) and "oas" not in _paragraph_methods(without_oas)
    assert _comment_methods(without_oas) != list(RISK_MODEL_REGISTRY)
    assert _paragraph_methods(without_oas) != list(RISK_MODEL_REGISTRY)
    with_barra = text.replace("| vendor", "| vendor | barra").replace("`vendor` (", "`barra`, `vendor` (")
    assert _comment_methods(with_barra)[-1] == "barra" and "barra" in _paragraph_methods(with_barra)


def test_ewma_counts_the_effective_days_of_its_weights():
    """Halflife 63 over 1,259 days weighs like (Σw)²/Σw² ≈ 181.8 equal days: enough for 90 names, not 91."""
    ewma = RISK_MODEL_REGISTRY["ewma"]
    shape = {n: WindowShape(n_assets=n, params={"halflife": 63, "periods_per_year": 252}) for n in (90, 91, 432)}
    ewma.check_window(1259, shape[90])
    with pytest.raises(DataError) as info:
        ewma.check_window(1259, shape[432])
    message = str(info.value)
    assert "864 effective days" in message and "181.8" in message and "1259-day window" in message
    with pytest.raises(DataError, match="182 effective days"):
        ewma.check_window(1259, shape[91])
    RISK_MODEL_REGISTRY["sample"].check_window(182, WindowShape(n_assets=91))  # equal weights: raw days count
    with pytest.raises(DataError, match="60-day floor"):  # the raw window still clears the floor
        ewma.check_window(59, WindowShape(n_assets=2, params={"halflife": 1e9}))
