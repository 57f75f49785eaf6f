"""Print how long the embedded synthetic dataset takes to generate.

Usage: ``python bench/bench_synthetic.py [seed ...]`` (default seeds 7, 8, 9).
The target is well under 2 s per seed on one core; a cached repeat call only copies.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from trimtab.models._synthetic import _generate, load_synthetic_sp500


def main(seeds: list[int]) -> None:
    for seed in seeds:
        _generate.cache_clear()
        start = time.perf_counter()
        snapshot = load_synthetic_sp500(seed)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        load_synthetic_sp500(seed)
        warm = time.perf_counter() - start
        w = snapshot.benchmark_weights
        index_vol = float((snapshot.returns @ w).std() * np.sqrt(252))
        name_vol = snapshot.returns.std() * np.sqrt(252)
        mag7 = list(snapshot.groups["MAG7"])
        distance = float((snapshot.holdings - w).abs().sum())
        print(
            f"seed {seed:>4}: generate {cold:.3f} s, cached {warm:.3f} s | "
            f"MAG7 {w[mag7].sum():.1%}, top-10 {w.iloc[:10].sum():.1%}, index vol {index_vol:.1%}, "
            f"name vol {name_vol.min():.1%}-{name_vol.max():.1%}, |holdings - benchmark| {distance:.2%}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [7, 8, 9])
