"""A run directory is published as one unit: torn or mixed pairs are refused, writers serialized.

Covers issue 11's "safe files" for runs: a kill between the two renames, concurrent writers
into one ``--out``, temporary files of a crashed writer, the umask, formula-like text cells,
and input data that changed since the run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from trimtab import optimizer
from trimtab.constraints import loads_job
from trimtab.optimizer import OutputError, read_run, render_targets_csv, write_run

JOB = """
name: {name}
constraints:
  - group_weight: {{group: TOP5, max: {cap}}}
  - turnover: {{max: 0.6}}
"""


@pytest.fixture(scope="module")
def two_runs(toy):
    """Two different results on the toy data (MAG-like cap 0.30 and 0.25)."""
    snapshot, model = toy
    return tuple(
        optimizer.optimize(loads_job(JOB.format(name=name, cap=cap)), snapshot=snapshot, risk_model=model)
        for name, cap in (("run_a", 0.30), ("run_b", 0.25))
    )


def _pair_is_consistent(run_dir: Path, runs) -> str:
    """The name of the run whose pair ``run_dir`` holds; fails if targets and summary disagree."""
    run = read_run(run_dir)  # one read, under the directory's shared lock
    (mine,) = [r for r in runs if r.job_sha256 == run.job_sha256]  # the summary says which run …
    pd.testing.assert_series_equal(  # … and the targets are that run's
        run.weights.sort_index(), mine.weights.sort_index().rename_axis("asset_id"), check_names=False, atol=1e-12
    )
    return mine.job_name


def test_summary_records_the_targets_hash_and_a_mixed_pair_is_refused(two_runs, tmp_path):
    a, b = two_runs
    write_run(a, tmp_path / "a")
    write_run(b, tmp_path / "b")
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["targets_sha256"] == hashlib.sha256((tmp_path / "a" / "targets.csv").read_bytes()).hexdigest()
    assert _pair_is_consistent(tmp_path / "a", two_runs) == "run_a"
    (tmp_path / "a" / "targets.csv").write_bytes((tmp_path / "b" / "targets.csv").read_bytes())  # files of two runs
    with pytest.raises(OutputError, match="targets.csv is not the file its summary.json records"):
        read_run(tmp_path / "a")


def test_a_run_without_the_targets_hash_is_refused(two_runs, tmp_path):
    write_run(two_runs[0], tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    del summary["targets_sha256"]
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(OutputError, match="lacks \\['targets_sha256'\\].*older trimtab: re-run optimize"):
        read_run(tmp_path)


_KILL_BETWEEN_RENAMES = textwrap.dedent(
    """
    import os, pickle, signal, sys
    from trimtab.optimizer import _output, write_run
    target = pickle.load(open(sys.argv[1], "rb"))
    real_replace, calls = os.replace, []
    def replace_then_die(src, dst):
        calls.append(dst)
        if len(calls) == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)   # the process dies here, mid-publication
        real_replace(src, dst)
    _output.os.replace = replace_then_die
    write_run(target, sys.argv[2])
    """
)


@pytest.mark.parametrize("killed_at_rename", [1, 2])
def test_a_kill_between_the_writes_never_leaves_a_pair_export_accepts(two_runs, tmp_path, killed_at_rename):
    a, b = two_runs
    run_dir = tmp_path / "run"
    write_run(a, run_dir)  # an earlier, complete run
    pickled = tmp_path / "b.pickle"
    pd.to_pickle(b, pickled)
    child = subprocess.run(
        [sys.executable, "-c", _KILL_BETWEEN_RENAMES, str(pickled), str(run_dir), str(killed_at_rename)],
        env={**os.environ, "PYTHONPATH": str(Path(optimizer.__file__).resolve().parents[2])},
        capture_output=True, text=True, check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    if killed_at_rename == 1:  # nothing was renamed: the earlier run is intact
        assert _pair_is_consistent(run_dir, two_runs) == "run_a"
    else:  # targets.csv of run_b, summary.json of run_a: refused, never mixed
        with pytest.raises(OutputError, match="interrupted or its files come from different runs"):
            read_run(run_dir)
    leftovers = sorted(p.name for p in run_dir.iterdir() if p.name.endswith(".trimtab-tmp"))
    assert leftovers  # the dead writer's staged files are still there …
    write_run(b, run_dir)  # … until the next writer cleans them up
    assert _pair_is_consistent(run_dir, two_runs) == "run_b"
    assert sorted(p.name for p in run_dir.iterdir()) == ["summary.json", "targets.csv"]


def _write_many(target, run_dir: str, times: int) -> None:
    for _ in range(times):
        write_run(target, run_dir)


def test_concurrent_writers_into_one_directory_always_leave_a_consistent_pair(two_runs, tmp_path):
    """200 pairs of concurrent runs into one directory; a reader checks the pair all along."""
    run_dir = tmp_path / "out"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write_many, args=(run, str(run_dir), 200)) for run in two_runs]
    for writer in writers:
        writer.start()
    seen = set()
    while any(w.is_alive() for w in writers):
        if (run_dir / "summary.json").exists():
            seen.add(_pair_is_consistent(run_dir, two_runs))  # read under the shared lock: never torn
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    seen.add(_pair_is_consistent(run_dir, two_runs))
    assert seen <= {"run_a", "run_b"} and seen
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".trimtab-tmp")]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_honour_the_umask(two_runs, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        written = write_run(two_runs[0], tmp_path)
    finally:
        os.umask(old)
    for path in written.values():
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


def test_formula_like_text_cells_are_neutralised_and_read_back(toy, tmp_path):
    snapshot, model = toy
    renamed = {"T000": "=HYPERLINK(\"x\")", "T001": "+T001", "T002": "-T002", "T003": "@SUM", "T004": "'quoted"}
    rename = lambda frame: frame.rename(index=renamed).sort_index()  # noqa: E731
    ids = snapshot.asset_ids.map(lambda a: renamed.get(a, a))
    odd = type(snapshot)(
        dataset="toy", as_of=snapshot.as_of, assets=rename(snapshot.assets),
        benchmark_weights=rename(snapshot.benchmark_weights), holdings=rename(snapshot.holdings),
        characteristics=rename(snapshot.characteristics),
        returns=snapshot.returns.set_axis(ids, axis=1).sort_index(axis=1), groups={"TOP5": tuple(ids[:5])},
    )
    odd_model = model.__class__(tuple(ids), model.factor_names, model.exposures, model.factor_cov_sqrt, model.specific_vol, name="toy")
    target = optimizer.optimize(loads_job(JOB.format(name="odd", cap=0.3)), snapshot=odd, risk_model=odd_model)
    rows = list(csv.reader(io.StringIO(render_targets_csv(target).decode())))[1:]
    cells = [row[0] for row in rows]
    assert {"'=HYPERLINK(\"x\")", "'+T001", "'-T002", "'@SUM", "''quoted"} <= set(cells)
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
    assert any(row[-1].startswith("-0.") for row in rows)  # numbers stay numbers
    write_run(target, tmp_path)
    back = read_run(tmp_path)
    assert set(back.weights.index) == set(ids)
    assert back.weights["=HYPERLINK(\"x\")"] == pytest.approx(target.weights["=HYPERLINK(\"x\")"], abs=1e-12)


def test_changed_input_data_is_detected(tmp_path, skfolio_user_files):
    files = skfolio_user_files
    job_file = tmp_path / "job.yaml"
    job_file.write_text(
        f"name: files\ndata: {{source: files, universe: {files['universe']}, returns: {files['returns']}}}\n"
        "risk_model: {method: ledoit_wolf, window: 500}\nconstraints:\n  - asset_weight: {max: 0.2}\n"
    )
    target = optimizer.optimize(job_file)
    assert dict(target.input_files) == {"universe": str(files["universe"].resolve()), "returns": str(files["returns"].resolve())}
    write_run(target, tmp_path / "run")
    run = read_run(tmp_path / "run")
    assert run.job().name == "files"  # unchanged: accepted
    with open(files["returns"], "a") as handle:
        handle.write("\n")
    with pytest.raises(OutputError, match=r"input data changed since the run: returns \(.*returns.*\)"):
        read_run(tmp_path / "run").job()


def test_targets_csv_text_is_pandas_to_csv_byte_for_byte(two_runs):
    """``csv_text`` writes what ``DataFrame.to_csv(float_format=…)`` writes — on real targets and
    on the cells where CSV is tricky: −0, NaN, ±inf, tiny and large numbers, commas, quotes,
    newlines, empty and missing text, a neutralised formula, an unnamed index."""
    from trimtab.optimizer._run_dir import CSV_FLOAT_FORMAT, TARGET_COLUMNS, csv_text

    for target in two_runs:
        frame = optimizer.neutralize_frame(target.to_frame().loc[:, list(TARGET_COLUMNS)])
        assert csv_text(frame, CSV_FLOAT_FORMAT) == frame.to_csv(float_format=CSV_FLOAT_FORMAT, lineterminator="\n")
        assert render_targets_csv(target) == frame.to_csv(float_format=CSV_FLOAT_FORMAT, lineterminator="\n").encode()
    tricky = pd.DataFrame(
        {
            "sector": ["Tech, Inc.", 'say "hi"', "two\nlines", "", None, "'=1+1", "plain"],
            "w": [-0.0, float("nan"), float("inf"), -float("inf"), 1e-13, 123456789.123456789, -0.5],
            "v": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, float("nan")],
        },
        index=pd.Index(["A,1", "B", 'C"', "D", "E", "F", "G"], name="asset_id"),
    )
    for frame in (tricky, tricky.rename_axis(None), tricky.astype({"sector": "string"})):
        for float_format in (CSV_FLOAT_FORMAT, "%.10g"):
            assert csv_text(frame, float_format) == frame.to_csv(float_format=float_format, lineterminator="\n")
