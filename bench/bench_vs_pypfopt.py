"""Time the default 500-name job in trimtab and in PyPortfolioOpt on the identical problem.

Run from the repository root after ``pip install '.[test]'``::

    python bench/bench_vs_pypfopt.py [--repeat 5]

Both get the same data, the same risk model and the same constraints; PyPortfolioOpt gets
the dense covariance ``B F Bᵀ + D`` (see ``tests/peers.py``), trimtab its factor form.
"Cold" includes building the CVXPY problem; "warm" is a re-solve of the compiled problem
(what a backtest or a frontier does at every step). Risk-model estimation is timed apart.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from trimtab import optimizer
from trimtab.constraints import DataView, UniverseInfo, load_job
from trimtab.optimizer import _compile_cache

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("trimtab_tests_peers", ROOT / "tests" / "peers.py")
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)


def _timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", default=str(ROOT / "examples" / "mag7_value_quality.yaml"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    job = load_job(args.job)
    snapshot = optimizer.load_market_data(job)
    risk_seconds, model = _timed(lambda: optimizer.estimate_risk(job, snapshot), 1)

    def cold():
        _compile_cache._CACHE.clear()
        return optimizer.optimize(job, snapshot=snapshot, risk_model=model)

    cold_seconds, result = _timed(cold, args.repeat)
    problem = optimizer.compiled_problem(UniverseInfo.from_data(snapshot, model), model.n_factors, job.effective_constraints)
    warm_seconds, _ = _timed(lambda: problem.solve(DataView(snapshot, model), job.solver), args.repeat)
    peer_seconds, theirs = _timed(lambda: peers.solve_with_pypfopt(job, snapshot, model), args.repeat)

    a = theirs - snapshot.benchmark_weights.to_numpy()
    their_te = float(np.sqrt(a @ peers.dense_covariance(model) @ a))
    print(f"job: {Path(args.job).name} · {snapshot.n_assets} assets · {model.n_factors} factors · {snapshot.dataset}")
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, median of {args.repeat}")
    print(f"risk model estimation (once)          {risk_seconds:8.3f} s")
    print(f"trimtab   cold (build + solve + check) {cold_seconds:8.3f} s")
    print(f"trimtab   warm (re-solve + check)      {warm_seconds:8.3f} s")
    print(f"PyPortfolioOpt (dense, same problem)   {peer_seconds:8.3f} s")
    print(f"speed-up cold: {peer_seconds / cold_seconds:5.1f}x   warm: {peer_seconds / warm_seconds:5.1f}x")
    print(f"TE trimtab {result.diagnostics.tracking_error:.8f}  PyPortfolioOpt {their_te:.8f}  "
          f"max |Δw| {np.abs(result.weights.to_numpy() - theirs).max():.2e}")


if __name__ == "__main__":
    main()
