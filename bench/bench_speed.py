"""One benchmark that tells the truth: trimtab against its peers on the identical problem, interleaved.

Usage (from the repository root)::

    PYTHONPATH=. python bench/bench_speed.py                  # everything (~10 min on 2 cores)
    PYTHONPATH=. python bench/bench_speed.py --quick          # 500 names only, no 10k CLI, no backtest
    PYTHONPATH=. python bench/bench_speed.py --sizes 500 3000 --repeat 7 --skip-backtest --skip-10k-cli

Every timed engine of a section runs once per repeat, in rotation (the first engine changes each
repeat), all in this one process, so a noisy shared machine slows them alike; one untimed warm-up
round first loads every module. Times are wall-clock seconds: min and median over the repeats, and
ratios of mins and of medians.

Sections:
1. Sizes (500 = the embedded dataset and the default job's fundamental model; larger = a synthetic
   factor market, ``_speed_problems.synthetic_inputs``, deterministic). Engines, data and risk model
   given: trimtab cold (compile cache cleared: compile + solve + verify + report), trimtab re-solve
   (identical, and with the MAG7 cap moved to 0.19) with the wall-clock time of Clarabel's own calls
   in it (the data update, ``solve()``, reading the solution), raw CVXPY (the problem by hand,
   constant data, cold; at trimtab's tolerances, and with trimtab's exact first attempt), skfolio
   ``MeanRisk`` (factor prior), PyPortfolioOpt (dense Σ, n ≤ 1000). TE agreement with trimtab and
   each engine's worst rule violation are printed.
   Clarabel's reported ``solve_time`` is printed too but not used for a re-solve ratio: it counts
   the setup of the solver's first build at every later solve (~4.5 ms at 500 names), work a
   re-solve does not do, so a ratio to it flatters the re-solve.
2. Full covariance: the default job with ``ledoit_wolf`` on the embedded 500 names.
3. End to end: the default job from its YAML in-process (caches cleared), ``python -m trimtab
   optimize`` and ``--help`` as processes, and 10,000 names from files through the CLI (fundamental
   and PCA) with peak memory.
4. Backtest (10 years monthly, once) and a 12-point MAG7-cap frontier vs a raw CVXPY sweep.
5. A summary shaped like issue 13's targets table.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _speed_problems as sp  # bench/_speed_problems.py (this folder is on sys.path)
from _speed_report import CLARABEL_CAP_ROW, CLARABEL_RESOLVE_ROW, Table, fmt_s, interleave, quiet, timed
from _speed_e2e import clear_caches, compile_checkout, print_summary, section_cli_10k, section_end_to_end
from trimtab.optimizer import (
    _compile_cache,  # private hook, for a bench only: the compile cache, cleared for "cold" runs
    _solver_attempts,  # private, for a bench only: trimtab's Clarabel settings, shown beside the peers'
)

import trimtab

DEFAULT_JOB = ROOT / "examples" / "mag7_value_quality.yaml"
ALL_SIZES = (500, 1000, 3000, 10000)
FRONTIER_CAPS = np.linspace(0.35, 0.08, 12)
#: Peer settings. raw CVXPY and PyPortfolioOpt get trimtab's tolerances (sp.TIGHT: the same answer
#: quality) with Clarabel's own linear algebra. skfolio gets the same tolerances with Ruiz
#: equilibration on (trimtab's second attempt): without it, skfolio's utility form (active variance
#: + a large constant) ends ``optimal_inaccurate`` after ~30 iterations; with it, ``optimal`` in 19,
#: as fast as at skfolio's own defaults (1e-9). trimtab's own first attempt on a quadratic program
#: also turns Clarabel's iterative refinement off (and factors a dense Σ with ``faer``): the row
#: "raw CVXPY, trimtab's settings" gives raw CVXPY exactly that, so what is trimtab's engineering
#: of the solver and what is its overhead over CVXPY can be read apart.
SKFOLIO_SETTINGS = {**sp.TIGHT, "equilibrate_enable": True}
#: trimtab's first Clarabel attempt on a quadratic program (and with a dense Σ).
TRIMTAB_QP = dict(_solver_attempts.QUADRATIC_FIRST)
TRIMTAB_DENSE_QP = {**_solver_attempts.QUADRATIC_FIRST, **_solver_attempts.DENSE_LINEAR_ALGEBRA}


# -- timing -------------------------------------------------------------------------------------
def clarabel_call_seconds(prepared: trimtab.PreparedProblem) -> float:
    """Wall-clock seconds of Clarabel's own calls in the last solve (data update or setup, solve(), reading x and z)."""
    return prepared.problem.session(prepared.problem.solved).clarabel_seconds


def section_size(p: sp.SpeedProblem, repeat: int, agreement: dict, with_pypfopt: bool) -> Table:
    table = Table(f"{p.label}: {p.n} names, {p.risk_model.n_factors} factors — data and risk model given")
    job, snap, model = p.job, p.snapshot, p.risk_model
    mag7_row = None
    te: dict[str, list[float]] = defaultdict(list)
    worst: dict[str, float] = defaultdict(float)
    iters: dict[str, set] = defaultdict(set)
    prepared = trimtab.prepare(job, snapshot=snap, risk_model=model)
    mag7_row = f"constraints[{prepared.constraint_position(0)}].upper"

    def note(row, w, stats=None, cap=None, status=None):
        if w is not None and row != "trimtab re-solve, MAG7 cap 0.19":
            te[row].append(p.te(w))
        if w is not None:
            worst[row] = max(worst[row], p.worst_violation(w, cap))
        if stats is not None:
            iters[row].add((stats.num_iters, status))

    def cold(t):
        _compile_cache._CACHE.clear()
        # = trimtab.optimize(job, snapshot=…, risk_model=…), which is prepare(...).solve(one_shot=True);
        # kept as two calls so Clarabel's statistics of this very solve can be read.
        def run():
            q = trimtab.prepare(job, snapshot=snap, risk_model=model)
            return q, q.solve(one_shot=True)
        seconds, (pp, res) = timed(run)
        if t is not None:
            t.add("trimtab cold", seconds)
            t.add("↳ Clarabel's reported solve_time (cold)", pp.problem.solved.solver_stats.solve_time)
            note("trimtab cold", res.weights.to_numpy(), pp.problem.solved.solver_stats, status=res.diagnostics.attempts)
            te["trimtab (reported)"].append(res.diagnostics.tracking_error)

    def resolve(t):
        prepared.solve()  # back to the job's own bounds (the previous round left 0.19)
        seconds, res = timed(prepared.solve)
        # this solve's statistics (each solve makes new ones) and the wall time of its Clarabel call
        stats, call = prepared.problem.solved.solver_stats, clarabel_call_seconds(prepared)
        seconds2, res2 = timed(lambda: prepared.solve({mag7_row: [0.19]}))
        stats2, call2 = prepared.problem.solved.solver_stats, clarabel_call_seconds(prepared)
        if t is not None:
            t.add("trimtab re-solve", seconds)
            t.add(CLARABEL_RESOLVE_ROW, call)
            t.add("↳ Clarabel's reported solve_time (that re-solve)", stats.solve_time)
            t.add("trimtab re-solve, MAG7 cap 0.19", seconds2)
            t.add(CLARABEL_CAP_ROW, call2)
            note("trimtab re-solve", res.weights.to_numpy(), stats, status=res.diagnostics.attempts)
            note("trimtab re-solve, MAG7 cap 0.19", res2.weights.to_numpy(), stats2, 0.19, res2.diagnostics.attempts)

    def raw_cvxpy(label: str, options: dict):
        """A timed engine: the problem by hand in CVXPY, solved by Clarabel with ``options``."""
        def engine(t):
            def run():
                problem, w = sp.raw_cvxpy_problem(p)
                problem.solve(solver="CLARABEL", **options)
                return problem, w.value
            seconds, (problem, w) = timed(run)
            if t is not None:
                t.add(f"raw CVXPY{label} (cold)", seconds)
                t.add(f"↳ Clarabel's reported solve_time (raw CVXPY{label})", problem.solver_stats.solve_time)
                note(f"raw CVXPY{label} (cold)", w, problem.solver_stats, status=problem.status)
        return engine

    make, X = sp.skfolio_model(p, SKFOLIO_SETTINGS)

    def skfolio(t):
        def run():
            with quiet():
                model_ = make()
                model_.fit(X)
            return model_
        seconds, fitted = timed(run)
        if t is not None:
            t.add("skfolio MeanRisk (factor prior)", seconds)
            t.add("↳ Clarabel's reported solve_time (skfolio)", fitted.problem_.solver_stats.solve_time)
            note("skfolio MeanRisk (factor prior)", fitted.weights_, fitted.problem_.solver_stats, status=fitted.problem_.status)

    engines = {
        "cold": cold, "resolve": resolve, "raw": raw_cvxpy("", sp.TIGHT),
        "raw_as_trimtab": raw_cvxpy(", trimtab's settings", TRIMTAB_QP), "skfolio": skfolio,
    }
    if with_pypfopt:
        covariance = sp.dense_covariance(p)

        def pypfopt(t):
            def run():
                with quiet():
                    return sp.pypfopt_solve(p, covariance, dict(sp.TIGHT))
            seconds, (w, problem) = timed(run)
            if t is not None:
                t.add("PyPortfolioOpt (dense Σ)", seconds)
                note("PyPortfolioOpt (dense Σ)", w, problem.solver_stats, status=problem.status)

        engines["pypfopt"] = pypfopt
    interleave(table, engines, repeat)
    reference = statistics.median(te["trimtab cold"])
    for row in table.times:
        if row in iters:
            it = sorted(iters[row], key=str)
            table.notes[row] = "iters " + ", ".join(f"{i} ({s if isinstance(s, str) else '; '.join(s)})" for i, s in it)
        if row in worst:
            table.notes[row] = "; ".join(filter(None, [table.notes.get(row), f"worst rule violation {worst[row]:.1e}"]))
    agreement[p.label] = {
        row: max(abs(v - reference) for v in values) for row, values in te.items() if row != "trimtab cold"
    }
    agreement[p.label]["_te"] = reference
    table.print("trimtab cold")
    return table


# -- section 2: full covariance -------------------------------------------------------------------
def section_full_covariance(job_text: str, repeat: int, agreement: dict) -> Table:
    job = trimtab.loads_job(job_text.replace("method: fundamental", "method: ledoit_wolf"), base_dir=ROOT / "examples")
    snap = trimtab.load_market_data(job)
    model = trimtab.estimate_risk(job, snap)
    p = sp.from_trimtab("500 ledoit_wolf", job, snap, model)
    covariance = sp.dense_covariance(p)
    table = Table(f"Full covariance: default job, ledoit_wolf, {p.n} embedded names (Σ given)")
    te: dict[str, list[float]] = defaultdict(list)
    worst: dict[str, float] = defaultdict(float)
    prepared = trimtab.prepare(job, snapshot=snap, risk_model=model)

    def note(row, w):
        te[row].append(p.te(w))
        worst[row] = max(worst[row], p.worst_violation(w))

    def cold(t):
        _compile_cache._CACHE.clear()
        seconds, res = timed(lambda: trimtab.optimize(job, snapshot=snap, risk_model=model))
        if t is not None:
            t.add("trimtab cold", seconds)
            note("trimtab cold", res.weights.to_numpy())

    def resolve(t):
        seconds, res = timed(prepared.solve)
        if t is not None:
            t.add("trimtab re-solve", seconds)
            t.add(CLARABEL_RESOLVE_ROW, clarabel_call_seconds(prepared))
            note("trimtab re-solve", res.weights.to_numpy())

    def raw_cvxpy(row: str, options: dict):
        """A timed engine: ``quad_form`` on Σ written by hand in CVXPY, solved by Clarabel with ``options``."""
        def engine(t):
            def run():
                problem, w = sp.raw_cvxpy_dense_problem(p, covariance)
                problem.solve(solver="CLARABEL", **options)
                return w.value
            seconds, w = timed(run)
            if t is not None:
                t.add(row, seconds)
                note(row, w)
        return engine

    def pypfopt(t):
        def run():
            with quiet():
                return sp.pypfopt_solve(p, covariance, dict(sp.TIGHT))[0]
        seconds, w = timed(run)
        if t is not None:
            t.add("PyPortfolioOpt (same Σ)", seconds)
            note("PyPortfolioOpt (same Σ)", w)

    engines = {
        "cold": cold, "resolve": resolve, "raw": raw_cvxpy("raw CVXPY (quad_form on Σ, cold)", sp.TIGHT),
        "raw_as_trimtab": raw_cvxpy("raw CVXPY, trimtab's settings (cold)", TRIMTAB_DENSE_QP), "pypfopt": pypfopt,
    }
    interleave(table, engines, repeat)
    reference = statistics.median(te["trimtab cold"])
    agreement[p.label] = {row: max(abs(v - reference) for v in vals) for row, vals in te.items() if row != "trimtab cold"}
    agreement[p.label]["_te"] = reference
    for row, value in worst.items():
        table.notes[row] = f"worst rule violation {value:.1e}"
    table.print("PyPortfolioOpt (same Σ)")
    return table


# -- section 3: end to end ------------------------------------------------------------------------
def section_backtest() -> tuple[float, str]:
    from trimtab.optimizer import research

    clear_caches()
    seconds, result = timed(lambda: research.backtest(str(DEFAULT_JOB), "2016-10-31", "2026-10-30"))
    r = result.rebalances
    detail = (f"{len(r)} rebalances; risk-model refits {r['risk_seconds'].sum():.1f} s, solves {r['solve_seconds'].sum():.1f} s; "
              f"load average {os.getloadavg()[0]:.1f}")
    print(f"\n### Backtest: default job, 10 years monthly (once)\n{fmt_s(seconds)} — {detail}")
    return seconds, detail


def section_frontier(p: sp.SpeedProblem, repeat: int, agreement: dict) -> Table:
    import cvxpy as cp
    from trimtab.optimizer import research

    table = Table("12-point MAG7-cap frontier (0.35 → 0.08), data and risk model given, cold")
    results: dict[str, list[float]] = {}

    def ours(t):
        _compile_cache._CACHE.clear()
        seconds, f = timed(lambda: research.frontier(p.job, "group_weight:MAG7", FRONTIER_CAPS, snapshot=p.snapshot, risk_model=p.risk_model))
        if t is not None:
            t.add("trimtab research.frontier", seconds)
            results["trimtab"] = f.points["tracking_error"].to_numpy(dtype=float)

    def raw(t):
        def run():
            cap = cp.Parameter(nonneg=True)
            problem, w = sp.raw_cvxpy_problem(p, cap)
            out = []
            for c in FRONTIER_CAPS:
                cap.value = c
                problem.solve(solver="CLARABEL", **sp.TIGHT)
                out.append(p.te(w.value) if problem.status == cp.OPTIMAL else np.nan)
            return np.array(out)
        seconds, tes = timed(run)
        if t is not None:
            t.add("raw CVXPY sweep (one Parameter)", seconds)
            results["raw"] = tes

    interleave(table, {"ours": ours, "raw": raw}, repeat)
    a, b = results["trimtab"], results["raw"]
    same = bool(np.array_equal(np.isnan(a), np.isnan(b)))
    diff = float(np.nanmax(np.abs(a - b))) if same else float("nan")
    table.notes["trimtab research.frontier"] = f"{int(np.isnan(a).sum())} infeasible points; same feasibility as raw: {same}; max abs ΔTE {diff:.1e}"
    agreement["frontier"] = {"raw CVXPY sweep": diff}
    table.print("raw CVXPY sweep (one Parameter)")
    return table


# -- summary --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(ALL_SIZES))
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds per section (default 5)")
    parser.add_argument("--repeat-large", type=int, default=3, help="rounds at 10,000 names, in-process and CLI (default 3)")
    parser.add_argument("--quick", action="store_true", help="500 names only; no 10k CLI, no backtest")
    parser.add_argument("--skip-10k-cli", action="store_true")
    parser.add_argument("--skip-backtest", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "trimtab_bench_speed")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # sections appear as they finish, also into a file
    if args.quick:
        args.sizes, args.skip_10k_cli, args.skip_backtest = [500], True, True
    started = time.perf_counter()
    first = _solver_attempts.SOLVER_ATTEMPTS.get("CLARABEL", ({},))[0]
    import clarabel
    import cvxpy
    import pypfopt
    import skfolio

    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=False).stdout
    print(f"# bench_speed — {' '.join(sys.argv)}")
    print(
        f"trimtab {head}{' + uncommitted changes' if dirty.strip() else ''} · python {platform.python_version()} · "
        f"cvxpy {cvxpy.__version__} · clarabel {clarabel.__version__} · skfolio {skfolio.__version__} · "
        f"pypfopt {pypfopt.__version__} · numpy {np.__version__} · {os.cpu_count()} CPUs · "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    print(f"repeats: {args.repeat} (at 10,000 names: {min(args.repeat, args.repeat_large)}), after one untimed warm-up round; "
          "rows rotate each round;\n"
          "ratios: min ÷ min, and the median over rounds of the per-round ratio (a round's rows run back to back)")
    if {k: first.get(k) for k in sp.TIGHT} != sp.TIGHT:
        print(f"NOTE: trimtab's Clarabel tolerances are now {first}, not {sp.TIGHT} (given to raw CVXPY and PyPortfolioOpt)")
    print(f"peers get trimtab's tolerances {sp.TIGHT}; trimtab's first attempt on a QP: {TRIMTAB_QP} "
          f"(dense Σ: {TRIMTAB_DENSE_QP}), given to the rows 'raw CVXPY, trimtab's settings'")

    job_text = DEFAULT_JOB.read_text()
    job = trimtab.loads_job(job_text, source=str(DEFAULT_JOB), base_dir=DEFAULT_JOB.parent)
    agreement: dict[str, dict[str, float]] = {}
    tables: dict[str, Table] = {}
    snapshots = {}
    for n in args.sizes:
        if n == 500:
            snap = trimtab.load_market_data(job)
            model = trimtab.estimate_risk(job, snap)
            label = "500 (embedded, fundamental)"
        else:
            snap, model = sp.synthetic_inputs(n)
            label = f"{n} (synthetic)"
        snapshots[n] = snap
        p = sp.from_trimtab(label, job, snap, model)
        if n == 500:
            p500 = p
        repeat = min(args.repeat, args.repeat_large) if n >= 10000 else args.repeat
        tables[n] = section_size(p, repeat, agreement, with_pypfopt=n <= 1000)
        del p, model
        gc.collect()
    if 500 not in args.sizes:
        snap = trimtab.load_market_data(job)
        p500 = sp.from_trimtab("500 (embedded, fundamental)", job, snap, trimtab.estimate_risk(job, snap))
    full = section_full_covariance(job_text, args.repeat, agreement)
    with tempfile.TemporaryDirectory(prefix="bench_speed_") as tmp:
        compile_checkout()
        e2e = section_end_to_end(args.repeat, Path(tmp))
        cli10k = None
        if not args.skip_10k_cli:
            snap10k = snapshots.get(10000) or sp.synthetic_inputs(10000)[0]
            cli10k = section_cli_10k(snap10k, job_text, min(args.repeat, args.repeat_large), args.data_dir, Path(tmp))
    frontier = section_frontier(p500, args.repeat, agreement)
    backtest = None if args.skip_backtest else section_backtest()

    print("\n### Agreement: max over repeats of abs(TE_engine − TE_trimtab cold) (annualized TE, fraction; target < 1e-8)")
    print("| problem | TE (trimtab cold) | engine: max abs ΔTE |\n|---|---|---|")
    for label, rows in agreement.items():
        cells = "; ".join(f"{row} {v:.1e}" for row, v in rows.items() if not row.startswith("_"))
        te = rows.get("_te")
        print(f"| {label} | {te:.10f} | {cells} |" if te is not None else f"| {label} | — | {cells} |")

    print_summary(tables, full, e2e, cli10k, backtest, frontier)
    print(f"\nwall time of this run: {time.perf_counter() - started:.0f} s; load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
