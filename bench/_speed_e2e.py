"""End-to-end sections and the summary of ``bench/bench_speed.py``: the YAML job in-process, the CLI
as a process (and at 10,000 names from files, with peak memory), and the targets table."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import _speed_problems as sp
from _speed_report import CLARABEL_CAP_ROW, CLARABEL_RESOLVE_ROW, Table, combined, fmt_s, interleave, timed, verdict

import trimtab
from trimtab.optimizer import _compile_cache  # private hook: a cold compile needs the cache cleared
from trimtab.optimizer.cli import COLLECTION_THRESHOLD

IMPORT_FLOOR_CLI_ROW = "the same imports with the CLI's collector threshold (the CLI's own floor)"

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JOB = ROOT / "examples" / "mag7_value_quality.yaml"


def clear_caches() -> None:
    _compile_cache._CACHE.clear()
    from trimtab.models import (
        _synthetic,  # private hook: the embedded dataset's lru_cache
    )

    _synthetic._generate.cache_clear()


def compile_checkout() -> None:
    """Compile this checkout's trimtab (into its ``__pycache__`` folders, git-ignored), as ``pip install`` compiles
    an installed copy; the timed processes read it from then on (see :func:`run_process`)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    sources = [str(ROOT / name) for name in ("trimtab", "models", "constraints", "optimizer")]
    command = [sys.executable, "-m", "compileall", "-q", *sources]
    done = subprocess.run(command, env=env, check=False, capture_output=True)
    if done.returncode != 0:  # a read-only checkout: the processes compile it themselves (slower by ~0.1 s)
        print(f"(could not compile the checkout: {done.stdout.decode()[-300:]} — processes compile it each time)")


def run_process(args: list[str], measure_memory: bool = False) -> tuple[float, float | None]:
    """(wall seconds, peak RSS in GiB or None) of one process; raises on a non-zero exit.

    The process runs this checkout's trimtab as an installed copy runs, from bytecode compiled
    once (:func:`compile_checkout`), with ``PYTHONDONTWRITEBYTECODE`` unset: where it is set, a
    process ignores no bytecode but writes none either, so the source tree's modules — which pip
    never compiled — would be compiled again in every process (~0.1 s).
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    timer = measure_memory and Path("/usr/bin/time").exists()
    command = (["/usr/bin/time", "-v"] if timer else []) + args
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    peak = None
    if timer:
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        peak = int(found.group(1)) / 2**20 if found else None
    elif measure_memory:
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # the largest child so far
    return seconds, peak


def section_end_to_end(repeat: int, workdir: Path) -> Table:
    table = Table("End to end: the default job (500 names, embedded data, fundamental model)")
    count = iter(range(10**6))

    def yaml_in_process(t):
        clear_caches()
        seconds, _ = timed(lambda: trimtab.optimize(str(DEFAULT_JOB)))
        if t is not None:
            t.add("trimtab.optimize(YAML), in-process, caches cleared", seconds)

    def cli(t):
        seconds, _ = run_process(
            [sys.executable, "-m", "trimtab", "optimize", str(DEFAULT_JOB), "--out", str(workdir / f"run{next(count)}"), "-q"]
        )
        if t is not None:
            t.add("python -m trimtab optimize (whole process)", seconds)

    def help_(t):
        seconds, _ = run_process([sys.executable, "-m", "trimtab", "--help"])
        if t is not None:
            t.add("python -m trimtab --help (whole process)", seconds)

    def bare(t):
        seconds, _ = run_process([sys.executable, "-c", "pass"])
        if t is not None:
            t.add("python -c pass (interpreter floor)", seconds)

    def imports(t):
        seconds, _ = run_process([sys.executable, "-c", "import numpy, pandas, scipy.sparse, cvxpy, clarabel"])
        if t is not None:
            t.add("python -c 'import numpy, pandas, scipy.sparse, cvxpy, clarabel' (import floor)", seconds)

    # The CLI runs CPython's cycle collector less often (``COLLECTION_THRESHOLD``), which makes those
    # same imports faster: this row is the floor the CLI itself stands on.
    threshold = f"import gc; gc.set_threshold({COLLECTION_THRESHOLD}, *gc.get_threshold()[1:]); "

    def imports_cli_collector(t):
        seconds, _ = run_process([sys.executable, "-c", threshold + "import numpy, pandas, scipy.sparse, cvxpy, clarabel"])
        if t is not None:
            t.add(IMPORT_FLOOR_CLI_ROW, seconds)

    engines = {"yaml": yaml_in_process, "cli": cli, "help": help_, "bare": bare, "imports": imports,
               "imports, the CLI's collector": imports_cli_collector}
    interleave(table, engines, repeat)
    table.print()
    return table


def section_cli_10k(snapshot, job_text: str, repeat: int, data_dir: Path, workdir: Path) -> Table:
    started = time.perf_counter()
    jobs = sp.write_files(snapshot, data_dir, job_text)
    print(f"\n(10,000-name files in {data_dir}: ready in {time.perf_counter() - started:.1f} s, not timed)")
    table = Table(f"10,000 names from files through the CLI (returns {snapshot.returns.shape[0]} days × {snapshot.n_assets}, CSV)")
    count = iter(range(10**6))
    peaks: dict[str, float] = {}

    def run(method):
        row = f"trimtab optimize, {method} (whole process)"

        def engine(t):
            out = workdir / f"run10k_{method}{next(count)}"
            seconds, peak = run_process(
                [sys.executable, "-m", "trimtab", "optimize", str(jobs[method]), "--out", str(out), "-q"], measure_memory=True
            )
            if t is not None:
                t.add(row, seconds)
                peaks[row] = max(peaks.get(row, 0.0), peak or 0.0)
                table.notes[row] = f"peak RSS {peaks[row]:.2f} GiB"
        return engine

    interleave(table, {m: run(m) for m in ("fundamental", "pca")}, repeat, warm_up=False)  # fresh processes: nothing to warm
    table.peaks = peaks
    table.print()
    return table


# -- section 4: backtest and frontier -------------------------------------------------------------


def print_summary(tables: dict, full: Table, e2e: Table, cli10k: Table | None, backtest, frontier: Table) -> None:
    def span(t: Table, row: str) -> str:
        return f"{fmt_s(t.min(row))} / {fmt_s(t.med(row))}"

    def times(t: Table, row: str) -> tuple[float, float]:
        return t.min(row), t.med(row)

    def x(r: tuple[float, float], peer: str) -> str:
        return f"{r[0]:.2f} / {r[1]:.2f}× {peer}"

    cold, sk, raw = "trimtab cold", "skfolio MeanRisk (factor prior)", "raw CVXPY (cold)"
    rows = []
    if 500 in tables:
        t = tables[500]
        a, b = t.ratio(cold, sk), t.ratio(cold, raw)
        c = t.ratio(cold, "raw CVXPY, trimtab's settings (cold)")
        rows.append(("500 names cold, in-process, data given",
                     f"{span(t, cold)} ({x(a, 'skfolio')}, {x(b, 'raw CVXPY')}; {x(c, 'raw CVXPY with our settings')})",
                     "≤ 0.8× skfolio, ≤ 1.15× raw CVXPY", combined(verdict(a, 0.8), verdict(b, 1.15))))
        same, moved = "trimtab re-solve", "trimtab re-solve, MAG7 cap 0.19"
        a, b = t.ratio(same, CLARABEL_RESOLVE_ROW), t.ratio(moved, CLARABEL_CAP_ROW)
        rows.append(("500 names re-solve", f"{span(t, same)} ({x(a, 'Clarabel')}); bound changed {span(t, moved)} ({x(b, 'Clarabel')})",
                     "≤ 1.1× Clarabel's own solve time (its calls in that re-solve, wall clock)",
                     combined(verdict(a, 1.1), verdict(b, 1.1))))
    a = full.ratio(cold, "PyPortfolioOpt (same Σ)")
    rows.append(("500 names, `ledoit_wolf` (dense Σ), in-process", f"{span(full, cold)} ({x(a, 'PyPortfolioOpt')})",
                 "≤ 0.7× PyPortfolioOpt", verdict(a, 0.7)))
    y = "trimtab.optimize(YAML), in-process, caches cleared"
    rows.append(("500 names from the YAML file, in-process", span(e2e, y), "≤ 150 ms", verdict(times(e2e, y), 0.150)))
    c, h = "python -m trimtab optimize (whole process)", "python -m trimtab --help (whole process)"
    rows.append(("`trimtab optimize` default job, whole process",
                 f"{span(e2e, c)} (its own import floor {span(e2e, IMPORT_FLOOR_CLI_ROW)}); `--help` {span(e2e, h)}",
                 "≤ 1.6 s; `--help` ≤ 0.3 s", combined(verdict(times(e2e, c), 1.6), verdict(times(e2e, h), 0.3))))
    if 3000 in tables:
        a = tables[3000].ratio(cold, sk)
        rows.append(("3000 names cold", f"{span(tables[3000], cold)} ({x(a, 'skfolio')})", "≤ 0.8× skfolio", verdict(a, 0.8)))
    if cli10k is not None:
        fu, pc = "trimtab optimize, fundamental (whole process)", "trimtab optimize, pca (whole process)"
        peak = max(cli10k.peaks.values())
        worst = (max(cli10k.min(fu), cli10k.min(pc)), max(cli10k.med(fu), cli10k.med(pc)))
        rows.append(("10,000 names, CLI end to end", f"{span(cli10k, fu)} (fundamental), {span(cli10k, pc)} (PCA); peak {peak:.2f} GiB",
                     "≤ 6 s either model, ≤ 1.5 GiB", verdict(worst, 6.0) if peak <= 1.5 else "no"))
    if backtest is not None:
        rows.append(("10-year monthly backtest, 500 names", f"{fmt_s(backtest[0])} (once; {backtest[1]})",
                     "≤ 8 s, and ≤ 1.5× that under load", verdict((backtest[0], backtest[0]), 8.0)))
    fr, ours = frontier.ratio("trimtab research.frontier", "raw CVXPY sweep (one Parameter)"), "trimtab research.frontier"
    rows.append(("12-point frontier, in-process", f"{span(frontier, ours)} ({x(fr, 'raw CVXPY sweep')})", "≤ 1.0 s",
                 verdict(times(frontier, ours), 1.0)))
    print("\n### Summary (issue 13 targets; 'met?' judged on the median, 'min only' when only the min meets it)")
    print("| workload | now (min / median) | target | met? |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
