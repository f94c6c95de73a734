#!/usr/bin/env python3
"""Times choix's Bradley-Terry fit on a comparison graph read from standard input.

`cj-assessment bench bt-fit` runs this (embedded in the binary) so that choix and our fit
are timed on the same graph in the same run. Input: JSON {"essays": n, "comparisons":
[[winner, loser], ...], "alpha": a, "repeats": r}. Output: JSON {"median_ms", "min_ms",
"choix_version"}. Needs: pip install choix numpy
"""

import json
import sys
import time
from importlib import metadata

import choix
import numpy as np

# choix raises after max_iter (default 100); ours reports converged=false after 1,000.
MAX_ITER = 1000


def main():
    request = json.load(sys.stdin)
    n, data = request["essays"], request["comparisons"]
    alpha, repeats = request["alpha"], max(1, request["repeats"])
    choix.ilsr_pairwise(n, data, alpha=alpha, max_iter=MAX_ITER)  # warm-up (imports, caches)
    milliseconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        choix.ilsr_pairwise(n, data, alpha=alpha, max_iter=MAX_ITER)
        milliseconds.append((time.perf_counter() - started) * 1e3)
    version = metadata.version("choix")
    json.dump(
        {
            "median_ms": float(np.median(milliseconds)),
            "min_ms": float(np.min(milliseconds)),
            "choix_version": version,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
