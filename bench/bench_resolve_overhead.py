"""Where a 500-name re-solve spends its time around Clarabel, and what leaving pieces out would save.

Run from the repository root::

    python bench/bench_resolve_overhead.py [--solves 300] [--rounds 3]

The default job on the embedded data is prepared once and re-solved ``--solves`` times per
variant. Each re-solve's *overhead* is its wall time minus the wall time of Clarabel's own calls
in it (data update, ``solve()``, reading the answer vectors: ``ClarabelSession.clarabel_seconds``).
Variants, interleaved over ``--rounds`` rounds (the machine is shared: min and median):

- ``as shipped``: the re-solve as ``PreparedProblem.solve`` runs it;
- ``no objective value``: the gather leaves the problem's value unset instead of evaluating the
  objective as CVXPY does (the largest single piece of the gather; an experiment only);
- ``no verification``: the numeric check of every rule skipped (an experiment only: never do this);
- ``no report``: the ``TargetPortfolio`` (pandas series, sector table, diagnostics) not built;
- ``neither``: both skipped — the floor of what CVXPY and trimtab's solve path cost.

It also times, in the shipped variant, the pieces of that overhead: applying the parameters
(``_kept_data``), putting the answer in place (``SolutionGather.unpack``), the verification and
the report, and the gather's unpacking called a second time at once (warm caches), which shows
how much of the first call is the memory the solve evicted; within both, the objective's walk.
A piece's time is not what leaving it out saves: the first work after the solve pays for
bringing the evicted memory back, and without a piece the next one pays (on 2026-12-03 the
objective's walk took 0.16 ms first, 0.04 ms warm, and leaving it out saved 0.05 ms).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import trimtab
from trimtab.optimizer import _clarabel_session, _compiled, _prepared, _solution_gather

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "examples" / "mag7_value_quality.yaml"


def timed_pieces(acc: dict[str, list[float]]) -> list:
    """Wrap the pieces so each call's wall time lands in ``acc``; returns what to undo."""
    undo = []
    pieces = [
        (_clarabel_session.ClarabelSession, "_kept_data", "apply the parameters"),
        (_solution_gather.SolutionGather, "unpack", "gather the answer (first call after the solve)"),
        (_compiled.CompiledProblem, "_verify", "verify every rule"),
        (_prepared, "_target_portfolio", "build the report"),
    ]
    for owner, name, label in pieces:
        original = getattr(owner, name)

        def wrapper(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            result = _original(*args, **kwargs)
            acc[_label].append(time.perf_counter() - started)
            if _label.startswith("gather"):
                again = time.perf_counter()
                _original(*args, **kwargs)
                acc["gather the answer again at once (warm)"].append(time.perf_counter() - again)
            return result

        setattr(owner, name, wrapper)
        undo.append((owner, name, original))
    return undo


def run_variant(prepared: trimtab.PreparedProblem, variant: str, solves: int) -> list[float]:
    """Overheads (s) of ``solves`` re-solves with the variant's pieces left out."""
    verify, report = _compiled.CompiledProblem._verify, _prepared._target_portfolio
    session = prepared.problem.session(prepared.problem.problem)
    objective = session.gather._objective
    if variant == "no objective value":
        session.gather._objective = lambda: None
    if variant in ("no verification", "neither"):
        _compiled.CompiledProblem._verify = lambda self, weights, relaxed=frozenset(), *, cone=False: ((), [])
    if variant in ("no report", "neither"):
        _prepared._target_portfolio = lambda prepared, solution: solution
    overheads = []
    try:
        for _ in range(solves):
            started = time.perf_counter()
            prepared.solve()
            overheads.append(time.perf_counter() - started - session.clarabel_seconds)
    finally:
        _compiled.CompiledProblem._verify, _prepared._target_portfolio = verify, report
        session.gather._objective = objective
    return overheads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solves", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    job = trimtab.loads_job(JOB.read_text(), source=str(JOB), base_dir=JOB.parent)
    snapshot = trimtab.load_market_data(job)
    prepared = trimtab.prepare(job, snapshot=snapshot, risk_model=trimtab.estimate_risk(job, snapshot))
    for _ in range(20):
        prepared.solve()
    variants = ("as shipped", "no objective value", "no verification", "no report", "neither")
    overheads: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.rounds):
        for variant in variants:
            overheads[variant] += run_variant(prepared, variant, args.solves)
    session = prepared.problem.session(prepared.problem.problem)
    clarabel = []
    pieces: dict[str, list[float]] = defaultdict(list)
    undo = timed_pieces(pieces)
    objective = session.gather._objective

    walks: list[float] = []  # the objective's walks: after each solve, then in the warm call again at once

    def timed_objective():
        started = time.perf_counter()
        value = objective()
        walks.append(time.perf_counter() - started)
        return value

    session.gather._objective = timed_objective
    try:
        for _ in range(args.solves):
            prepared.solve()
            clarabel.append(session.clarabel_seconds)
    finally:
        for owner, name, original in undo:
            setattr(owner, name, original)
        session.gather._objective = objective
    # the objective's walk, inside the gather's first and warm calls, printed after them
    walk_rows = {"  of which the objective's value, CVXPY's tree walk (first call)": walks[0::2],
                 "  of which the objective's value (warm)": walks[1::2]}
    ordered: dict[str, list[float]] = {}
    for label, seconds in pieces.items():
        ordered[label] = seconds
        if label.startswith("gather the answer again"):
            ordered.update(walk_rows)
    floor = min(clarabel)
    print(f"500-name re-solve, {args.solves} solves × {args.rounds} rounds; Clarabel's own calls: "
          f"min {floor * 1e3:.2f} ms, median {statistics.median(clarabel) * 1e3:.2f} ms\n")
    print("| variant | overhead min | median | (Clarabel min + overhead min) ÷ Clarabel min |\n|---|---|---|---|")
    for variant in variants:
        low, mid = min(overheads[variant]), statistics.median(overheads[variant])
        print(f"| {variant} | {low * 1e3:.3f} ms | {mid * 1e3:.3f} ms | {(floor + low) / floor:.3f}× |")
    print("\n| piece of the shipped re-solve | min | median |\n|---|---|---|")
    for label, seconds in ordered.items():
        print(f"| {label} | {min(seconds) * 1e3:.3f} ms | {statistics.median(seconds) * 1e3:.3f} ms |")


if __name__ == "__main__":
    main()
