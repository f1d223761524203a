"""Timing shared by the benchmarks: the best of a few runs, on a machine that may be shared."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(run: Callable[[], object], repeat: int = 5) -> float:
    """Seconds of the fastest of ``repeat`` runs, after one to warm up (imports, caches)."""
    run()
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return best
