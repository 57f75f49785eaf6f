"""A name with less return history than the risk window is proxied, reported and not bought.

The ragged market of ``tests/models/ragged_files.py``: ``R05`` lists 250 days before the end,
``R17`` delists mid-sample; the benchmark is given as point-in-time weights.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import trimtab
from trimtab.optimizer.cli import run

_spec = importlib.util.spec_from_file_location("ragged_files", Path(__file__).parents[1] / "models" / "ragged_files.py")
ragged = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ragged)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ragged")
    files = ragged.write_ragged(directory, suffix=".csv.gz")
    path = directory / "job.yaml"
    path.write_text(
        f"name: ragged\ndata: {{source: files, universe: {files['universe']}, returns: {files['returns']}, "
        f"benchmark: {{weights: {files['benchmark']}}}}}\n"
        "risk_model: {method: ledoit_wolf, window: 500}\n"
        "constraints:\n  - asset_weight: {max: benchmark + 0.05}\n  - sector_weight: {max: benchmark + 0.02}\n"
    )
    return path


def test_short_history_names_are_not_bought_and_are_reported(job, tmp_path, capsys):
    result = trimtab.optimize(job)
    assert result.short_history == (ragged.LATE,)
    assert ragged.GONE not in result.weights.index  # delisted before the as-of, out of the benchmark: dropped
    (rule,) = [r for r in result.diagnostics.constraints if r.kind == "no_buy"]
    assert rule.name == "short history: not bought" and rule.slack >= -1e-9
    assert result.weights[ragged.LATE] <= result.holdings[ragged.LATE] + 1e-9
    assert "R05 (250 days)" in result.warnings[0]
    code = run(["optimize", str(job), "--out", str(tmp_path / "out"), "-q"])
    captured = capsys.readouterr()
    assert code == 0 and "warning" in captured.err and "R05 (250 days)" in captured.err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["short_history"] == [ragged.LATE] and summary["warnings"] == list(result.warnings)
    assert "benchmark weights" in summary["inputs"]


def test_with_a_window_the_name_fills_it_is_not_short(job, tmp_path):
    text = job.read_text().replace("window: 500", "window: 200")
    short_window = tmp_path / "job.yaml"
    short_window.write_text(text)
    result = trimtab.optimize(short_window)
    assert result.short_history == () and not [r for r in result.diagnostics.constraints if r.kind == "no_buy"]
