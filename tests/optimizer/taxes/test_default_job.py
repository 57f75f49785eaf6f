"""Acceptance 2: the default job (embedded data, MAG7 ≤ 20 %) tax-aware against tax-unaware.

The tax-aware run pays less tax than the tax-unaware target with any lot choice (the least-tax
lots for its trades, or first-in-first-out), at a TE no worse than the stated trade-off:
``TE²_aware + weight·tax_aware ≤ TE²_unaware + weight·tax_unaware`` (+ the either/or's gap).
The TE-vs-gain-budget frontier is monotone. Run files are written as one unit, the same
inputs giving the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab import optimizer
from trimtab.constraints import load_job, loads_job
from trimtab.optimizer.research import frontier

EXAMPLE = Path(__file__).parents[3] / "examples" / "mag7_value_quality.yaml"
MAG7 = ["SP001", "SP002", "SP003", "SP004", "SP005", "SP006", "SP007"]


def _job(extra: str, constraints: str = ""):
    text = EXAMPLE.read_text()
    if constraints:
        text = text.replace("  - asset_weight: {max: benchmark + 0.02}\n", "  - asset_weight: {max: benchmark + 0.02}\n" + constraints)
    return loads_job(text + "\n" + extra + "\n", base_dir=EXAMPLE.parent)


@pytest.fixture(scope="module")
def runs():
    """(tax-aware prepared problem, its result, the tax-unaware result of the same job)."""
    prepared = optimizer.prepare(_job("taxes: {weight: 1.0}"))
    return prepared, prepared.solve(), optimizer.optimize(load_job(EXAMPLE))


def test_tax_aware_pays_less_tax_at_a_te_within_the_trade_off(runs):
    prepared, aware, unaware = runs
    weight = prepared.job.taxes.weight
    taxes = aware.diagnostics.taxes
    assert aware.weights[MAG7].sum() <= 0.20 + 1e-7 and unaware.weights[MAG7].sum() <= 0.20 + 1e-7
    objective_aware = aware.diagnostics.tracking_error**2 + weight * taxes.tax_fraction
    gap = taxes.wash_sale.gap / optimizer.OBJECTIVE_SCALE
    for lot_order in ("min_tax", "fifo"):
        baseline = prepared.tax_of(unaware.weights, lot_order=lot_order)
        assert taxes.tax < baseline.tax - 1e6  # at least $1m less on $1bn
        objective_unaware = unaware.diagnostics.tracking_error**2 + weight * baseline.tax_fraction
        assert objective_aware <= objective_unaware + gap + 1e-10


def test_the_default_experience_needs_no_either_or_and_verifies(runs):
    _, aware, _ = runs
    d = aware.diagnostics
    assert d.status == "optimal"
    assert d.taxes.wash_sale.method == "relaxation" and d.taxes.wash_sale.gap == 0.0
    assert {r.kind for r in d.constraints} >= {"group_weight", "turnover"}
    assert all(r.slack >= -1e-6 for r in d.constraints)
    sold = d.taxes.lots_sold
    assert len(sold) > 0 and set(sold["term"]) <= {"short", "long"}
    assert (sold["shares"] > 0).all()


def test_the_te_frontier_over_the_gain_budget_is_monotone():
    job = _job("taxes: {weight: 0}", "  - realized_gain: {max: 0.02}\n")
    bounds = [0.01, 0.0, -0.01, -0.02, -0.04]
    points = frontier(job, "realized_gain", bounds).points
    assert points["feasible"].all()
    te = points["tracking_error"].to_numpy()
    assert np.all(np.diff(te) >= -1e-7), te  # a tighter gain budget never lowers TE
    assert te[-1] > te[0] + 1e-5
    assert (points["value"] <= points["bound"] + 1e-6).all()


def test_run_files_are_one_unit_and_deterministic(runs, tmp_path):
    _, aware, _ = runs
    first = optimizer.write_run(aware, tmp_path / "a")
    again = optimizer.write_run(optimizer.prepare(_job("taxes: {weight: 1.0}")).solve(), tmp_path / "b")
    assert list(first) == ["targets.csv", "lots_sold.csv", "summary.json"]
    for name in ("targets.csv", "lots_sold.csv"):
        assert first[name].read_bytes() == again[name].read_bytes()
    lots = pd.read_csv(first["lots_sold.csv"])
    assert list(lots.columns) == ["lot_id", "asset_id", "shares", "gain", "term"]
    summary = json.loads(first["summary.json"].read_text())
    assert summary["taxes"]["tax"]["usd"] == pytest.approx(aware.diagnostics.taxes.tax, abs=0.01)
    assert summary["taxes"]["lots_sold"] == len(lots)
    assert optimizer.read_run(tmp_path / "a").status == "optimal"
    first["lots_sold.csv"].write_text(first["lots_sold.csv"].read_text().replace(",short", ",long", 1))
    with pytest.raises(optimizer.OutputError, match="lots_sold.csv"):
        optimizer.read_run(tmp_path / "a")


def test_a_job_without_taxes_writes_no_lots_file(tmp_path):
    written = optimizer.write_run(optimizer.optimize(EXAMPLE.parent / "min_te_only.yaml"), tmp_path)
    assert list(written) == ["targets.csv", "summary.json"]
    assert "taxes" not in json.loads(written["summary.json"].read_text())
