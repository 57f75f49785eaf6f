"""Bad market data through the CLI: ``trimtab validate`` and ``trimtab optimize`` on a ``files`` job
exit 2 with one paragraph naming the file, asset and date — no traceback, nothing written."""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trimtab.optimizer.cli import app


def _helper(name: str):
    spec = importlib.util.spec_from_file_location(f"trimtab_tests_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


user_files = _helper("user_files")
DATES = pd.bdate_range(user_files.DATES[0], periods=80)  # enough days for a 60-day risk model
runner = CliRunner()
Frames = dict[str, pd.DataFrame]


def files_job(directory: Path, data: Frames, suffix: str = ".csv", risk_model: str = "{method: ledoit_wolf, window: 60}") -> Path:
    """Write the data files and a job reading them (paths relative to the job file)."""
    paths = user_files.write_all(directory, suffix, **data)
    job = directory / "job.yaml"
    job.write_text(textwrap.dedent(f"""\
        name: bad_data
        data:
          source: files
          universe: {paths['universe'].name}
          returns: {paths['returns'].name}
          holdings: {paths['holdings'].name}
        risk_model: {risk_model}
        constraints:
          - asset_weight: {{max: 0.6}}
    """))
    return job


def frames() -> Frames:
    return {
        "universe": user_files.universe_frame(),
        "returns": user_files.returns_frame(dates=DATES),
        "holdings": user_files.holdings_frame(),
    }


def assert_refused(
    directory: Path, job: Path, *fragments: str, commands=("validate", "optimize"), title: str = "bad data"
) -> None:
    """Each command exits 2 with one paragraph holding every fragment; no traceback, nothing written."""
    for command in commands:
        out = directory / f"out_{command}"
        args = [command, str(job)] + (["--out", str(out)] if command == "optimize" else [])
        result = runner.invoke(app, args)
        text = " ".join(result.output.split())  # rich wraps long lines
        assert result.exit_code == 2, (command, result.output, result.exception)
        assert f"error ({title}):" in text and "nothing was written" in text, result.output
        for fragment in fragments:
            assert fragment in text, (command, fragment, result.output)
        assert "Traceback" not in result.output and not isinstance(result.exception, AssertionError)
        assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())


def test_valid_files_job_passes(tmp_path: Path) -> None:
    job = files_job(tmp_path, frames())
    assert runner.invoke(app, ["validate", str(job)]).exit_code == 0
    result = runner.invoke(app, ["optimize", str(job), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    targets = pd.read_csv(tmp_path / "out" / "targets.csv")
    assert targets["target_weight"].max() <= 0.6 + 1e-7 and abs(targets["target_weight"].sum() - 1) < 1e-6


def _cell(name: str, select: Callable[[pd.DataFrame], pd.Series], column: str, value: object):
    def mutate(data: Frames) -> None:
        data[name] = data[name].astype({column: object}) if isinstance(value, str) else data[name]
        data[name].loc[select(data[name]), column] = value

    return mutate


def _on(day: int) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame["date"] == DATES[day]


def _asset(asset_id: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame["asset_id"] == asset_id


#: class → (mutation, suffix, file, fragments): one bad input per class of the data limits
CLASSES = {
    "negative holdings": (
        lambda d: d.update(holdings=pd.DataFrame({"asset_id": ["A001", "A003"], "weight": [1.25, -0.25]})),
        ".csv", "holdings.csv", ["'weight'", "A003: -0.25", "long positions"],
    ),
    "float dates in Parquet": (
        lambda d: d["returns"].__setitem__("date", d["returns"]["date"].dt.strftime("%Y%m%d").astype(float)),
        ".parquet", "returns.parquet", ["'date'", "floating-point", f"row 1: {float(frames()['returns']['date'][0].strftime('%Y%m%d'))}"],
    ),
    "duplicate dates": (
        _cell("returns", _on(4), "date", DATES[5]), ".csv", "returns.csv", ["duplicate date(s) [2024-01-09]"],
    ),
    "unparseable date": (
        _cell("returns", _on(2), "date", "yesterday"), ".csv", "returns.csv", ["unparseable", "'yesterday'"],
    ),
    "caps that overflow": (
        lambda d: d["universe"].__setitem__("market_cap", 1e308), ".csv", "universe.csv",
        ["'market_cap'", "A001: 1e+308", "sums beyond"],
    ),
    "negative cap": (
        _cell("universe", _asset("A005"), "market_cap", -1e9), ".parquet", "universe.parquet",
        ["'market_cap'", "A005: -1000000000.0"],
    ),
    "absurd return": (
        _cell("returns", _on(6), "A004", 1e300), ".parquet", "returns.parquet", ["A004 on 2024-01-10: 1e+300", "+1000%"],
    ),
    "text return": (_cell("returns", _on(3), "A002", "1.2%"), ".csv", "returns.csv", ["'A002'", "2024-01-05: '1.2%'"]),
    "non-positive price": (
        _cell("universe", _asset("A002"), "price", 0.0), ".csv", "universe.csv", ["'price'", "A002: 0.0"],
    ),
    "non-finite ADV": (
        _cell("universe", _asset("A003"), "adv", np.inf), ".parquet", "universe.parquet", ["'adv'", "A003: inf"],
    ),
}


@pytest.mark.parametrize("case", CLASSES, ids=list(CLASSES))
def test_bad_data_exits_2_naming_file_asset_and_date(tmp_path: Path, case: str) -> None:
    mutate, suffix, file_name, fragments = CLASSES[case]
    data = frames()
    mutate(data)
    job = files_job(tmp_path, data, suffix)
    assert_refused(tmp_path, job, str(tmp_path / file_name), *fragments)


def test_bad_vendor_model_exits_2_naming_file_and_row(tmp_path: Path) -> None:
    """A vendor model in percent read as fractions; the model is read by ``optimize``."""
    ids = user_files.IDS
    pd.DataFrame({"asset_id": ids, "market": 1.0, "size": np.linspace(-1, 1, len(ids))}).to_csv(tmp_path / "exp.csv", index=False)
    cov = pd.DataFrame([[400.0, 10.0], [10.0, 25.0]], index=pd.Index(["market", "size"], name="factor"), columns=["market", "size"])
    cov.to_csv(tmp_path / "cov.csv")
    pd.DataFrame({"asset_id": ids, "specific_risk": 30.0}).to_csv(tmp_path / "spec.csv", index=False)
    vendor = "{method: vendor, exposures: exp.csv, factor_covariance: cov.csv, specific_risk: spec.csv}"
    job = files_job(tmp_path, frames(), risk_model=vendor)
    assert_refused(tmp_path, job, str(tmp_path / "cov.csv"), "market: 20", "units: percent", commands=("optimize",))
    job.write_text(job.read_text().replace("method: vendor,", "method: vendor, units: percent,"))
    result = runner.invoke(app, ["optimize", str(job), "--out", str(tmp_path / "ok"), "--quiet"])
    assert result.exit_code == 0, result.output  # the same files in the right units solve


def test_negative_seed_exits_2(tmp_path: Path) -> None:
    """The job loader refuses the seed first ("invalid job"); the models refuse it too (see test_synthetic)."""
    job = tmp_path / "seed.yaml"
    job.write_text("data: {source: embedded, seed: -1}\nconstraints: []\n")
    assert_refused(tmp_path, job, "seed", "got -1", title="invalid job")


def test_in_a_fresh_process_no_traceback(tmp_path: Path, trimtab_process) -> None:
    data = frames()
    data["holdings"] = pd.DataFrame({"asset_id": ["A001", "A006"], "shares": [10.0, -5.0]})
    job = files_job(tmp_path, data, ".parquet")
    done = trimtab_process("optimize", job, "--out", tmp_path / "out")  # one process: the import costs seconds
    assert done.returncode == 2, done.stderr
    text = " ".join(done.stderr.split())
    assert str(tmp_path / "holdings.parquet") in text and "A006: -5.0" in text and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
