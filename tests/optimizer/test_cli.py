"""The ``trimtab`` CLI contract: files written on success; on bad input a named cause, exit ≠ 0, nothing written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trimtab.optimizer.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def write_job(directory: Path, body: str, name: str = "job.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(body).lstrip("\n"))
    return path


def assert_failed_cleanly(result, out_dir: Path, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    for fragment in fragments:
        assert fragment in text, (fragment, result.output)
    assert "Traceback" not in result.output
    assert not (out_dir / "targets.csv").exists()


def test_default_example_writes_the_contract(tmp_path):
    result = run("optimize", EXAMPLES / "mag7_value_quality.yaml", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "Tracking error" in result.output and "MAG7" in result.output
    targets = pd.read_csv(tmp_path / "targets.csv")
    assert len(targets) == 500 and list(targets["asset_id"]) == sorted(targets["asset_id"])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["dataset"].startswith("synthetic-sp500")
    assert summary["groups"]["MAG7"]["target"] <= 0.20 + 1e-6
    assert summary["active_exposures"]["value"] >= 0.25 - 1e-6
    assert summary["turnover"] <= 0.30 + 1e-6
    assert len(summary["job_sha256"]) == 64
    assert {c["kind"] for c in summary["constraints"]} >= {"group_weight", "factor_exposure", "turnover", "asset_weight"}


def test_min_te_only_example_holds_the_benchmark(tmp_path):
    result = run("optimize", EXAMPLES / "min_te_only.yaml", "--out", tmp_path, "--quiet")
    assert result.exit_code == 0, result.output
    targets = pd.read_csv(tmp_path / "targets.csv")
    assert targets["active_weight"].abs().max() < 1e-6
    assert json.loads((tmp_path / "summary.json").read_text())["tracking_error"] < 1e-6


def test_infeasible_example_names_the_conflict_and_keeps_earlier_output(tmp_path):
    (tmp_path / "targets.csv").write_text("earlier\n")
    result = run("optimize", EXAMPLES / "infeasible.yaml", "--out", tmp_path)
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert "MAG7 weight <= 0.1" in text and "turnover (two-way) <= 0.05" in text
    assert (tmp_path / "targets.csv").read_text() == "earlier\n"
    assert not (tmp_path / "summary.json").exists()


def test_unknown_key_names_key_and_line(tmp_path):
    job = write_job(tmp_path, """
        name: typo
        constraints:
          - group_weight: {group: MAG7, max: 0.2}
          - turnover: {max: 0.3, knd: two_way}
    """)
    result = run("optimize", job, "--out", tmp_path / "out")
    assert_failed_cleanly(result, tmp_path / "out", 2, f"{job}:4:", "constraints[1].turnover.knd", "unknown key 'knd'", "kind")


def test_unknown_sector(tmp_path):
    job = write_job(tmp_path, """
        constraints:
          - sector_weight: {sectors: [Information Technology, Tech], max: 0.3}
    """)
    result = run("optimize", job, "--out", tmp_path / "out")
    assert_failed_cleanly(result, tmp_path / "out", 2, "unknown sector 'Tech'", f"{job}:2:", "Health Care")


def test_unknown_asset_in_a_group(tmp_path):
    job = write_job(tmp_path, """
        constraints:
          - group_weight: {assets: [SP001, SP002, NOPE], max: 0.1}
    """)
    result = run("optimize", job, "--out", tmp_path / "out")
    assert_failed_cleanly(result, tmp_path / "out", 2, "unknown asset(s) ['NOPE']", "constraints[0].group_weight.assets")


def test_missing_job_file_and_missing_data_file(tmp_path):
    result = run("optimize", tmp_path / "nope.yaml", "--out", tmp_path / "out")
    assert_failed_cleanly(result, tmp_path / "out", 2, "job file not found", "nope.yaml")
    job = write_job(tmp_path, """
        data: {source: files, universe: missing_universe.csv, returns: r.csv}
        constraints: []
    """)
    result = run("optimize", job, "--out", tmp_path / "out")
    assert_failed_cleanly(result, tmp_path / "out", 2, "missing_universe.csv")


def _files_job(directory: Path, files: dict[str, Path], constraints: str) -> Path:
    return write_job(directory, f"""
        name: real_data
        data:
          source: files
          universe: {files['universe']}
          returns: {files['returns']}
          holdings: {files['holdings']}
          groups:
            MEGA: [AAPL, MSFT, UNH]
        risk_model: {{method: ledoit_wolf, window: 504}}
        constraints:
{textwrap.indent(textwrap.dedent(constraints).strip(), ' ' * 10)}
    """)


def test_nan_in_returns_is_named(tmp_path, skfolio_user_files):
    returns = pd.read_csv(skfolio_user_files["returns"])
    returns.loc[10, "MSFT"] = float("nan")
    returns.to_csv(skfolio_user_files["returns"], index=False)
    job = _files_job(tmp_path, skfolio_user_files, "- asset_weight: {max: 0.2}")
    result = run("optimize", job, "--out", tmp_path / "out")
    date = returns.loc[10, "date"]
    assert_failed_cleanly(result, tmp_path / "out", 2, "returns.csv", "MSFT", str(date)[:10])


def test_real_prices_end_to_end(tmp_path, skfolio_user_files):
    job = _files_job(tmp_path, skfolio_user_files, """
        - group_weight: {group: MEGA, max: benchmark - 0.05}
        - asset_weight: {max: benchmark + 0.05}
        - turnover: {max: 0.8}
    """)
    result = run("optimize", job, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    targets = pd.read_csv(tmp_path / "out" / "targets.csv").set_index("asset_id")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["dataset"].startswith("files:") and summary["as_of"] == "2022-12-28"
    mega = targets.loc[["AAPL", "MSFT", "UNH"]]
    assert mega["target_weight"].sum() <= mega["benchmark_weight"].sum() - 0.05 + 1e-6
    assert (targets["target_weight"] <= targets["benchmark_weight"] + 0.05 + 1e-6).all()
    assert targets["target_weight"].sum() == pytest.approx(1.0, abs=1e-8)
    assert 0 < summary["tracking_error"] < 0.1


def test_validate_checks_without_solving(tmp_path):
    result = run("validate", EXAMPLES / "mag7_value_quality.yaml", "--show")
    assert result.exit_code == 0, result.output
    assert "group_weight" in result.output and "500 assets" in result.output
    job = write_job(tmp_path, """
        constraints:
          - factor_exposure: {factor: momentum, min: 0.1}
    """)
    result = run("validate", job)
    assert_failed_cleanly(
        result, tmp_path, 2, "job.yaml:2: constraints[0].factor_exposure.factor", "unknown characteristic or risk-model factor 'momentum'",
        "quality", "value", "style:size", "sector:Energy",
    )


def test_risk_model_factor_bounds(tmp_path):
    job = write_job(tmp_path, """
        name: small-cap tilt
        constraints:
          - factor_exposure: {factor: "style:size", max: -0.10}
          - factor_exposure: {factor: "sector:Energy", min: 0.01}
    """)
    checked = run("validate", job)
    assert checked.exit_code == 0, checked.output
    assert "risk-model factors checked: ['style:size', 'sector:Energy']" in " ".join(checked.output.split())
    result = run("optimize", job, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.output
    from trimtab.constraints import load_job
    from trimtab.optimizer import estimate_risk, load_market_data

    spec = load_job(job)
    snapshot = load_market_data(spec)
    model = estimate_risk(spec, snapshot)  # the same estimate the run used (deterministic)
    targets = pd.read_csv(tmp_path / "out" / "targets.csv", index_col="asset_id").loc[list(snapshot.asset_ids)]
    active = targets["target_weight"].to_numpy() - snapshot.benchmark_weights.to_numpy()
    size = model.exposures[:, model.factor_names.index("style:size")] @ active
    energy = model.exposures[:, model.factor_names.index("sector:Energy")] @ active
    assert size <= -0.10 + 1e-6 and size == pytest.approx(-0.10, abs=1e-6)  # binding: min TE wants no tilt
    assert energy >= 0.01 - 1e-6


@pytest.mark.skipif(shutil.which("trimtab") is None, reason="console script not on PATH")
def test_installed_console_script_runs(tmp_path):
    done = subprocess.run(
        ["trimtab", "optimize", str(EXAMPLES / "infeasible.yaml"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3 and "no portfolio satisfies every constraint" in done.stderr
    assert not (tmp_path / "targets.csv").exists()
    done = subprocess.run([sys.executable, "-m", "trimtab", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "optimize" in done.stdout


def test_diagnose_writes_the_conflict(tmp_path):
    result = run("diagnose", EXAMPLES / "infeasible.yaml", "--out", tmp_path)
    assert result.exit_code == 3, result.output
    diagnosis = json.loads((tmp_path / "diagnosis.json").read_text())
    assert diagnosis["feasible"] is False
    members = {m["kind"]: m for m in diagnosis["conflict"]}
    assert set(members) == {"group_weight", "turnover"}
    assert members["group_weight"]["bound"] == 0.1 and members["group_weight"]["needed"] > 0.1
    assert members["turnover"]["needed"] > 0.05
    assert "Any one of these fixes the job" in " ".join(result.output.split())
    feasible = run("diagnose", EXAMPLES / "mag7_value_quality.yaml", "--out", tmp_path)
    assert feasible.exit_code == 0 and json.loads((tmp_path / "diagnosis.json").read_text())["feasible"] is True


def test_vendor_risk_model_job(tmp_path):
    import importlib.util as iu

    from trimtab import optimizer as opt
    from trimtab.constraints import load_job

    spec = iu.spec_from_file_location("trimtab_tests_vendor_files", Path(__file__).parents[1] / "models" / "vendor_files.py")
    vendor_files = iu.module_from_spec(spec)
    spec.loader.exec_module(vendor_files)
    base_job = load_job(EXAMPLES / "mag7_value_quality.yaml")
    model = opt.estimate_risk(base_job, opt.load_market_data(base_job))
    paths = vendor_files.write_vendor_files(model, tmp_path, units="percent")
    text = (EXAMPLES / "mag7_value_quality.yaml").read_text().replace(
        "  method: fundamental       # sector + style cross-sectional factor model\n  window: 756               # trailing trading days (3 years)\n",
        f"  method: vendor\n  units: percent\n  exposures: {paths['exposures']}\n"
        f"  factor_covariance: {paths['factor_covariance']}\n  specific_risk: {paths['specific_risk']}\n",
    )
    job = write_job(tmp_path, text, "vendor.yaml")
    result = run("optimize", job, "--out", tmp_path / "vendor_out", "--quiet")
    assert result.exit_code == 0, result.output
    assert run("optimize", EXAMPLES / "mag7_value_quality.yaml", "--out", tmp_path / "own", "--quiet").exit_code == 0
    ours = pd.read_csv(tmp_path / "own" / "targets.csv")["target_weight"]
    theirs = pd.read_csv(tmp_path / "vendor_out" / "targets.csv")["target_weight"]
    assert (ours - theirs).abs().max() < 1e-6
    # Coverage: a vendor file that misses universe assets is an error listing them.
    exposures = pd.read_csv(paths["exposures"])
    exposures[exposures["asset_id"] != "SP003"].to_csv(paths["exposures"], index=False)
    result = run("optimize", job, "--out", tmp_path / "bad")
    assert_failed_cleanly(result, tmp_path / "bad", 2, "no risk estimate for 1 asset(s)", "SP003")


def test_cardinality_job_reports_method_and_gap(tmp_path):
    job = write_job(tmp_path, """
        name: hundred names
        constraints:
          - group_weight: {group: MAG7, max: 0.20}
        cardinality: {max_names: 100, method: heuristic}
    """)
    result = run("optimize", job, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Holdings count" in text and "heuristic: 100 names" in text and "TE ≥" in text
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["cardinality"]["method"] == "heuristic" and summary["cardinality"]["names_held"] <= 100
    targets = pd.read_csv(tmp_path / "out" / "targets.csv")
    assert (targets["target_weight"] > 0).sum() == summary["cardinality"]["names_held"]


def test_every_error_class_maps_to_its_exit_code(capsys):
    """``fail`` imports the error classes when it maps one (not at start-up): each keeps its code and title."""
    from trimtab.models import TrimtabError
    from trimtab.optimizer import DataError, ExportError, InfeasibleError, OutputError, SolverFailedError, SpecError
    from trimtab.optimizer.cli import _common

    cases = [
        (InfeasibleError("no portfolio"), 3, "infeasible job"),
        (SolverFailedError("every solver failed"), 4, "solver failure"),
        (SpecError("bad key"), 2, "invalid job"),
        (ExportError("no price"), 2, "export refused"),
        (OutputError("exists"), 2, "output refused"),
        (DataError("nan"), 2, "bad data"),
        (TrimtabError("other"), 2, "bad data"),
    ]
    for error, code, title in cases:
        assert _common.fail(error).exit_code == code
        assert f"error ({title}):" in capsys.readouterr().err
    assert _common.user_errors() == (TrimtabError,)
    assert all(issubclass(type(error), _common.user_errors()) for error, _, _ in cases)
