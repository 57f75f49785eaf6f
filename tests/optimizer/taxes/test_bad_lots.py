"""Acceptance 4: bad lots through the CLI — exit 2, one paragraph naming the file, the row and
the value, nothing written. Also the job-level rules of the ``taxes`` section."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trimtab.constraints import SpecError, loads_job
from trimtab.optimizer.cli import app

runner = CliRunner()
IDS = ["AAA", "BBB", "CCC", "DDD"]
PRICES = [100.0, 50.0, 20.0, 10.0]
DATES = pd.bdate_range(end="2025-06-30", periods=80)
HOLDINGS = {"AAA": 3000.0, "BBB": 4000.0, "CCC": 5000.0}  # shares; DDD is not held
LOTS = pd.DataFrame(
    {
        "lot_id": ["L1", "L2", "L3", "L4", "L5"],
        "asset_id": ["AAA", "AAA", "BBB", "BBB", "CCC"],
        "shares": [1000.0, 2000.0, 2500.0, 1500.0, 5000.0],
        "cost_basis": [80.0, 120.0, 40.0, 55.0, 25.0],
        "acquired": ["2021-03-01", "2024-11-15", "2023-01-20", "2025-02-01", "2019-07-07"],
    }
)


def _files(folder: Path, lots: pd.DataFrame) -> Path:
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {"asset_id": IDS, "sector": ["Energy", "Energy", "Financials", "Financials"], "market_cap": [4e11, 3e11, 2e11, 1e11],
         "price": PRICES, "adv": 1e6}
    ).to_csv(folder / "universe.csv", index=False)
    returns = pd.DataFrame(rng.normal(0, 0.01, (len(DATES), 4)), columns=IDS)
    returns.insert(0, "date", DATES.strftime("%Y-%m-%d"))
    returns.to_csv(folder / "returns.csv", index=False)
    pd.DataFrame({"asset_id": list(HOLDINGS), "shares": list(HOLDINGS.values())}).to_csv(folder / "holdings.csv", index=False)
    lots.to_csv(folder / "lots.csv", index=False)
    job = folder / "job.yaml"
    job.write_text(textwrap.dedent("""
        name: taxed
        data: {source: files, universe: universe.csv, returns: returns.csv, holdings: holdings.csv}
        risk_model: {method: sample, window: 60}
        constraints:
          - asset_weight: {max: 0.5}
        taxes: {lots: lots.csv}
    """).lstrip())
    return job


def _run(tmp_path: Path, lots: pd.DataFrame):
    job = _files(tmp_path, lots)
    out = tmp_path / "out"
    result = runner.invoke(app, ["optimize", str(job), "--out", str(out)])
    return result, out


def test_good_lots_write_the_lots_sold_file(tmp_path):
    result, out = _run(tmp_path, LOTS)
    assert result.exit_code == 0, result.output
    assert (out / "lots_sold.csv").exists() and (out / "summary.json").exists()
    assert "Tax (realized)" in result.output


BAD = [
    ("do not add up", lambda t: t.assign(shares=[1000.0, 2000.0, 2500.0, 1400.0, 5000.0]), ["lots.csv", "BBB", "add up"]),
    ("negative basis", lambda t: t.assign(cost_basis=[80.0, 120.0, -40.0, 55.0, 25.0]), ["lots.csv", "data row 3", "cost_basis -40"]),
    ("negative shares", lambda t: t.assign(shares=[1000.0, -2000.0, 2500.0, 1500.0, 5000.0]), ["lots.csv", "data row 2", "shares -2000"]),
    ("acquired after the as-of date", lambda t: t.assign(acquired=[*t["acquired"][:4], "2025-07-15"]),
     ["lots.csv", "data row 5", "2025-07-15", "after the as-of date 2025-06-30"]),
    ("unknown asset", lambda t: t.assign(asset_id=["AAA", "AAA", "BBB", "BBB", "ZZZ"]), ["lots.csv", "data row 5", "'ZZZ'"]),
    ("duplicate lot ids", lambda t: t.assign(lot_id=["L1", "L2", "L3", "L1", "L5"]), ["lots.csv", "duplicate lot_id 'L1'", "[1, 4]"]),
]


@pytest.mark.parametrize(("case", "mutate", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_bad_lots_exit_2_naming_file_row_and_value(tmp_path, case, mutate, fragments):
    result, out = _run(tmp_path, mutate(LOTS.copy()))
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in text, (fragment, result.output)
    assert "Traceback" not in result.output and "nothing was written" in text
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(("case", "mutate", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_validate_checks_the_lots_as_optimize_does(tmp_path, case, mutate, fragments):
    job = _files(tmp_path, mutate(LOTS.copy()))
    result = runner.invoke(app, ["validate", str(job)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert all(fragment in text for fragment in fragments), result.output
    good = runner.invoke(app, ["validate", str(_files(tmp_path, LOTS))])
    assert good.exit_code == 0 and "5 tax lots add up to the holdings" in " ".join(good.output.split()), good.output


def test_a_tax_rule_needs_a_taxes_section():
    with pytest.raises(SpecError, match="constraints\\[0\\].realized_gain: 'realized_gain' needs a 'taxes' section"):
        loads_job("constraints:\n  - realized_gain: {max: 0.01}\n")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("cardinality: {max_names: 10}", "cannot be combined with a cardinality section"),
        ("allow_relaxation: true", "allow_relaxation cannot be combined with a taxes section"),
        ("taxes: {weight: -1}", "greater than or equal to 0"),
        ("taxes: {method: fast}", "'auto', 'exact' or 'heuristic'"),
    ],
)
def test_the_taxes_section_is_checked(extra, message):
    text = "constraints: []\ntaxes: {}\n" + extra + "\n" if not extra.startswith("taxes") else "constraints: []\n" + extra + "\n"
    with pytest.raises(SpecError, match=message):
        loads_job(text)


def test_lots_files_are_required_with_user_data():
    with pytest.raises(SpecError, match="taxes.lots is required"):
        loads_job("data: {source: files, universe: u.csv, returns: r.csv}\nconstraints: []\ntaxes: {}\n")
