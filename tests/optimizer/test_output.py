"""Output files: contract columns, byte-identical reruns, atomic writes."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from trimtab import optimizer
from trimtab.constraints import loads_job
from trimtab.optimizer import _output

JOB = """
name: toy
constraints:
  - group_weight: {group: TOP5, max: 0.3}
  - turnover: {max: 0.6}
"""


@pytest.fixture(scope="module")
def result(toy):
    snapshot, model = toy
    return optimizer.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)


def test_targets_csv_contract(result, tmp_path):
    optimizer.write_run(result, tmp_path)
    frame = pd.read_csv(tmp_path / "targets.csv")
    assert list(frame.columns[:5]) == ["asset_id", "sector", "benchmark_weight", "target_weight", "active_weight"]
    assert list(frame["asset_id"]) == sorted(frame["asset_id"])
    assert frame["target_weight"].sum() == pytest.approx(1.0, abs=1e-9)
    assert (frame["active_weight"] - (frame["target_weight"] - frame["benchmark_weight"])).abs().max() < 2e-12
    top5 = frame.set_index("asset_id").loc[[f"T00{i}" for i in range(5)], "target_weight"].sum()
    assert top5 <= 0.3 + 1e-9


def test_summary_json_contract(result, tmp_path):
    optimizer.write_run(result, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("status", "dataset", "job_sha256", "tracking_error", "active_share", "groups", "active_exposures",
                "turnover", "solver", "solve_seconds", "constraints"):
        assert key in summary, key
    assert summary["status"] == "optimal" and summary["dataset"] == "toy"
    assert summary["groups"]["TOP5"]["target"] == pytest.approx(0.3, abs=1e-6)
    assert summary["tracking_error"] == pytest.approx(result.diagnostics.tracking_error)
    group = next(c for c in summary["constraints"] if c["kind"] == "group_weight")
    assert set(group) >= {"name", "kind", "value", "bound", "slack", "dual", "binding"}
    assert group["binding"] is True and group["bound"] == 0.3


def test_same_inputs_give_byte_identical_targets(toy):
    snapshot, model = toy
    a = optimizer.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)
    optimizer._compile_cache._CACHE.clear()  # force a fresh compile for the second run
    b = optimizer.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)
    assert optimizer.render_targets_csv(a) == optimizer.render_targets_csv(b)
    assert pd.read_csv(io.BytesIO(optimizer.render_targets_csv(a))).shape == (snapshot.n_assets, 7)


def test_failed_write_leaves_earlier_run_untouched(result, tmp_path, monkeypatch):
    (tmp_path / "targets.csv").write_text("earlier run\n")
    (tmp_path / "summary.json").write_text("{}\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_output.os, "replace", broken_replace)
    with pytest.raises(optimizer.DataError, match="No space left on device"):
        optimizer.write_run(result, tmp_path)
    assert (tmp_path / "targets.csv").read_text() == "earlier run\n"
    assert (tmp_path / "summary.json").read_text() == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json", "targets.csv"]  # no temp files


def test_output_path_that_is_a_file_is_refused(result, tmp_path):
    target = tmp_path / "out"
    target.write_text("not a directory")
    with pytest.raises(optimizer.DataError, match="not a directory"):
        optimizer.write_run(result, target)
    assert target.read_text() == "not a directory"
