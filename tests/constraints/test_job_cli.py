"""Strict job files through the CLI: ``validate`` and ``optimize`` exit 2 with one paragraph, write nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trimtab.constraints import MAX_FILE_BYTES, MAX_NESTING_DEPTH, MAX_YAML_ALIASES, MAX_YAML_VALUES
from trimtab.optimizer.cli import app

runner = CliRunner()

BOMB = (
    "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    + "".join(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi"))
    + "constraints: []\n"
)

#: (job text, line, key path or None, fragments of the message)
BAD_JOBS = {
    "duplicate_key": (
        "constraints:\n  - group_weight: {group: MAG7, max: 0.05, max: 0.9}\n",
        2, "constraints[0].group_weight.max", ["duplicate key 'max' (first on line 2, again on line 2)"],
    ),
    "second_constraints_block": (
        "constraints:\n  - group_weight: {group: MAG7, max: 0.20}\nconstraints:\n  - turnover: {max: 0.3}\n",
        3, "constraints", ["duplicate key 'constraints' (first on line 1, again on line 3)"],
    ),
    "alias_bomb": (BOMB, 6, "f[0]", [f"more than {MAX_YAML_VALUES} values"]),
    "too_many_aliases": (
        "constraints:\n  - must_hold: {assets: [&a SP001" + ", *a" * (MAX_YAML_ALIASES + 1) + "]}\n",
        2, f"constraints[0].must_hold.assets[{MAX_YAML_ALIASES + 1}]", [f"more than {MAX_YAML_ALIASES} YAML aliases"],
    ),
    "deep_nesting": ("constraints: []\nname: " + "[" * 5000 + "\n", 2, "name" + "[0]" * (MAX_NESTING_DEPTH - 1), ["levels deep"]),
    "quoted_nan": ("constraints:\n  - turnover: {max: 'nan'}\n", 2, "constraints[0].turnover.max", ["'nan' is not a finite number"]),
    "quoted_inf": ("constraints:\n  - asset_weight: {max: 'inf'}\n", 2, "constraints[0].asset_weight.max", ["must be finite, got 'inf'"]),
    "benchmark_1e999": (
        "constraints:\n  - group_weight: {group: MAG7, max: 'benchmark + 1e999'}\n",
        2, "constraints[0].group_weight.max", ["must be finite, got 'benchmark + 1e999'"],
    ),
    "yaml_inf": ("costs:\n  impact: {nav: .inf}\nconstraints: []\n", 2, "costs.impact.nav", ["inf is not a finite number"]),
    "min_above_max": (
        "constraints:\n  - group_weight: {group: MAG7, min: 0.3, max: 0.2}\n",
        2, "constraints[0].group_weight", ["min (0.3) is above max (0.2)"],
    ),
    "relative_min_above_max": (
        "constraints:\n  - sector_weight: {min: benchmark + 0.02, max: benchmark - 0.01}\n",
        2, "constraints[0].sector_weight", ["min (benchmark + 0.02) is above max (benchmark - 0.01)"],
    ),
    "negative_seed": ("data: {seed: -1}\nconstraints: []\n", 1, "data.seed", ["seed must be a whole number 0 or above"]),
    "fractional_seed": ("data: {seed: 2.5}\nconstraints: []\n", 1, "data.seed", ["got 2.5"]),
}


def _text(output: str) -> str:
    return " ".join(output.split())


def _check(result, job: Path, out: Path, line: int | None, path: str | None, fragments: list[str]) -> None:
    assert result.exit_code == 2, result.output
    text = _text(result.output)
    where = f"{job}:{line}: " if line else f"{job}: "
    assert f"error (invalid job): {where}{path + ': ' if path else ''}" in text, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    assert "Traceback" not in result.output and "nothing was written." in text
    assert not out.exists()


@pytest.mark.parametrize("command", ["validate", "optimize"])
@pytest.mark.parametrize("case", sorted(BAD_JOBS))
def test_bad_job_files_exit_2_naming_file_line_and_key(tmp_path, command, case):
    text, line, path, fragments = BAD_JOBS[case]
    job = tmp_path / "job.yaml"
    job.write_text(text)
    out = tmp_path / "out"
    args = [command, str(job)] + (["--out", str(out)] if command == "optimize" else [])
    _check(runner.invoke(app, args), job, out, line, path, fragments)


@pytest.mark.parametrize("command", ["validate", "optimize"])
def test_a_ten_megabyte_job_file_is_refused_unread(tmp_path, command):
    job = tmp_path / "job.yaml"
    job.write_bytes(b"constraints: []\n" + b"# padding\n" * (10 * MAX_FILE_BYTES // 10))
    out = tmp_path / "out"
    args = [command, str(job)] + (["--out", str(out)] if command == "optimize" else [])
    _check(runner.invoke(app, args), job, out, None, None, [f"larger than {MAX_FILE_BYTES} bytes (1 MiB)"])


def test_in_a_fresh_process_the_bomb_and_the_big_file_end_in_one_paragraph(tmp_path, trimtab_process):
    bomb, big = tmp_path / "bomb.yaml", tmp_path / "big.yaml"
    bomb.write_text(BOMB)
    big.write_bytes(b"constraints: []\n" + b"x" * (10 * MAX_FILE_BYTES))
    for job, fragment in ((bomb, f"more than {MAX_YAML_VALUES} values"), (big, "larger than")):
        result = trimtab_process("optimize", job, "--out", tmp_path / "out")
        assert result.returncode == 2, result.stderr
        assert fragment in _text(result.stderr) and "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists()


def test_zero_turnover_validates_and_optimizes_to_the_current_holdings(tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text("name: frozen\nconstraints:\n  - turnover: {max: 0}\n")
    result = runner.invoke(app, ["validate", str(job)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["optimize", str(job), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    targets = pd.read_csv(tmp_path / "out" / "targets.csv")
    assert (targets["target_weight"] - targets["current_weight"]).abs().max() <= 1e-6
