#!/usr/bin/env python3
"""Cross-check our Bradley-Terry fit (aggregates/src/stats/bradley_terry/) against choix.

Generates a fixed-seed family of comparison graphs (sizes 2..200; sparse, dense, disconnected,
repeated pairs, one essay winning everything), fits each with
`choix.ilsr_pairwise(n, data, alpha=0.01)` and with our harness (all graphs through one process),
and fails (exit 1) when any score differs by more than 1e-6 logits. Standard errors are checked
against numpy's pseudo-inverse of the Fisher information at choix's scores. Also times one
200-essay x 4,000-comparison fit in both.

Usage (from anywhere):  python3 scripts/crosscheck_choix.py
Override the harness:   BT_HARNESS="/path/to/bt_fit_jsonl" python3 scripts/crosscheck_choix.py
Needs: pip install choix numpy scipy
"""

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

try:
    import choix
    import numpy as np
except ImportError as error:  # pragma: no cover - environment problem, not a check failure
    sys.exit(f"crosscheck: {error}; run `pip install choix numpy scipy`")

SEED = 20240601
ALPHA = 0.01
SCORE_TOLERANCE = 1e-6  # logits; the contract with choix
SE_RELATIVE_TOLERANCE = 1e-5  # SEs inherit the 1e-6 score tolerance, amplified a little
UNIDENTIFIED_STANDARD_ERROR = 10.0  # must equal the Rust constant
# choix raises after max_iter (default 100); ours reports converged=false after 1,000.
CHOIX_MAX_ITER = 1000
TIMING_ESSAYS, TIMING_COMPARISONS, TIMING_REPEATS = 200, 4000, 5
DEFAULT_HARNESS = "cargo run --release -q -p cj-aggregates --example bt_fit_jsonl"
REPO_ROOT = Path(__file__).resolve().parent.parent


def judge(rng, abilities, a, b):
    """One Bradley-Terry outcome [winner, loser] for essays a and b."""
    p_a = 1.0 / (1.0 + np.exp(abilities[b] - abilities[a]))
    return [int(a), int(b)] if rng.random() < p_a else [int(b), int(a)]


def random_pairs(rng, essays, count):
    """`count` random pairs of distinct essays drawn from the list `essays`."""
    pairs = []
    for _ in range(count):
        a, b = rng.choice(essays, size=2, replace=False)
        pairs.append((a, b))
    return pairs


def simulated(rng, n, pairs, spread=1.5):
    abilities = rng.normal(0.0, spread, n)
    return [judge(rng, abilities, a, b) for a, b in pairs]


def sparse_graph(rng):
    n = int(rng.integers(2, 201))
    m = int(n * rng.uniform(0.5, 4.0))
    return "sparse", n, simulated(rng, n, random_pairs(rng, list(range(n)), m))


def dense_graph(rng):
    n = int(rng.integers(2, 41))
    rounds = int(rng.integers(1, 4))
    pairs = [(a, b) for _ in range(rounds) for a in range(n) for b in range(a + 1, n)]
    return "dense", n, simulated(rng, n, pairs)


def disconnected_graph(rng):
    n = int(rng.integers(4, 201))
    groups = int(rng.integers(2, 5))
    labels = rng.integers(0, groups + 1, n)  # label `groups` = never compared
    pairs = []
    for group in range(groups):
        members = [i for i in range(n) if labels[i] == group]
        if len(members) >= 2:
            pairs += random_pairs(rng, members, int(len(members) * rng.uniform(1.0, 4.0)))
    return "disconnected", n, simulated(rng, n, pairs)


def repeated_pairs_graph(rng):
    n = int(rng.integers(2, 31))
    distinct = random_pairs(rng, list(range(n)), max(1, n // 2))
    pairs = [pair for pair in distinct for _ in range(int(rng.integers(2, 12)))]
    return "repeated", n, simulated(rng, n, pairs)


def champion_graph(rng):
    """One essay wins every comparison it takes part in (perfect separation)."""
    n = int(rng.integers(2, 121))
    champion = int(rng.integers(0, n))
    data = simulated(rng, n, random_pairs(rng, list(range(n)), int(n * rng.uniform(1.0, 5.0))))
    for comparison in data:
        if champion in comparison:
            comparison[:] = [champion, comparison[0] + comparison[1] - champion]
    return "champion", n, data


def timing_graph(rng):
    n = TIMING_ESSAYS
    return "timing", n, simulated(rng, n, random_pairs(rng, list(range(n)), TIMING_COMPARISONS))


def graphs():
    rng = np.random.default_rng(SEED)
    cases = [
        ("reference", 2, [[0, 1], [0, 1], [0, 1], [1, 0]]),
        ("reference", 4, [[h, l] for l in range(4) for h in range(l + 1, 4)]),
        ("reference", 3, [[0, 1], [1, 2], [2, 0], [0, 1]]),
        ("empty", 5, []),
        ("sparse", 200, simulated(rng, 200, random_pairs(rng, list(range(200)), 150))),
    ]
    makers = [sparse_graph, dense_graph, disconnected_graph, repeated_pairs_graph, champion_graph]
    for round_ in range(11):
        cases += [make(rng) for make in makers]
    cases.append(timing_graph(rng))
    return cases


def harness_command():
    return shlex.split(os.environ.get("BT_HARNESS", DEFAULT_HARNESS))


def run_harness(requests):
    """Fits every request in one harness process; returns the parsed replies in order."""
    payload = "".join(json.dumps(r) + "\n" for r in requests)
    completed = subprocess.run(
        harness_command(), input=payload, capture_output=True, text=True, cwd=REPO_ROOT
    )
    if completed.returncode != 0:
        sys.exit(f"crosscheck: harness failed ({completed.returncode}):\n{completed.stderr}")
    replies = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    if len(replies) != len(requests):
        sys.exit(f"crosscheck: harness answered {len(replies)} of {len(requests)} requests")
    return replies


def expected_standard_errors(n, data, scores):
    """SE from the Moore-Penrose pseudo-inverse of the Fisher information on compared essays."""
    information = np.zeros((n, n))
    for winner, loser in data:
        p = 1.0 / (1.0 + np.exp(scores[loser] - scores[winner]))
        q = p * (1.0 - p)
        information[winner, winner] += q
        information[loser, loser] += q
        information[winner, loser] -= q
        information[loser, winner] -= q
    compared = np.array(sorted({e for pair in data for e in pair}), dtype=int)
    errors = np.full(n, UNIDENTIFIED_STANDARD_ERROR)
    if len(compared):
        block = np.linalg.pinv(information[np.ix_(compared, compared)], hermitian=True)
        errors[compared] = np.sqrt(np.diag(block))
    return errors


def time_choix(n, data):
    seconds = []
    for _ in range(TIMING_REPEATS):
        started = time.perf_counter()
        choix.ilsr_pairwise(n, data, alpha=ALPHA, max_iter=CHOIX_MAX_ITER)
        seconds.append(time.perf_counter() - started)
    return float(np.median(seconds))


def main():
    cases = graphs()
    timing_case = cases[-1]
    requests = [{"n": n, "comparisons": data, "alpha": ALPHA} for _, n, data in cases]
    requests += [requests[-1]] * (TIMING_REPEATS - 1)
    replies = run_harness(requests)

    passed, failed = 0, 0
    worst = (0.0, None)
    worst_se = 0.0
    iteration_mismatches = 0
    for index, ((kind, n, data), reply) in enumerate(zip(cases, replies)):
        if "error" in reply:
            print(f"graph {index} ({kind}, n={n}, m={len(data)}): harness error {reply['error']}")
            failed += 1
            continue
        expected = choix.ilsr_pairwise(n, data, alpha=ALPHA, max_iter=CHOIX_MAX_ITER)
        ours = np.array(reply["scores"])
        difference = float(np.max(np.abs(ours - expected))) if n else 0.0
        if difference > worst[0]:
            worst = (difference, (index, kind, n, len(data), expected, ours))
        errors = expected_standard_errors(n, data, expected)
        se_difference = float(np.max(np.abs(np.array(reply["standard_errors"]) - errors) / errors))
        worst_se = max(worst_se, se_difference)
        if difference <= SCORE_TOLERANCE and se_difference <= SE_RELATIVE_TOLERANCE:
            passed += 1
        else:
            failed += 1
            print(
                f"FAIL graph {index} ({kind}, n={n}, m={len(data)}): "
                f"max |dtheta| = {difference:.3e}, max relative dSE = {se_difference:.3e}"
            )

    _, n, data = timing_case
    timing_replies = replies[len(cases) - 1 :]
    ours_seconds = float(np.median([reply["seconds"] for reply in timing_replies]))
    choix_seconds = time_choix(n, data)
    print(
        f"timing {n} essays x {len(data)} comparisons ({timing_replies[0]['iterations']} iterations), "
        f"median of {TIMING_REPEATS}: choix {choix_seconds * 1e3:.1f} ms, "
        f"ours {ours_seconds * 1e3:.2f} ms, ours is {choix_seconds / ours_seconds:.1f}x faster"
    )
    if worst[1] is not None and failed:
        index, kind, n, m, expected, ours = worst[1]
        at = int(np.argmax(np.abs(ours - expected)))
        print(
            f"worst case: graph {index} ({kind}, n={n}, m={m}), essay {at}: "
            f"choix {expected[at]:.9f}, ours {ours[at]:.9f}"
        )
    print(
        f"crosscheck: {len(cases)} graphs, max |Δθ| = {worst[0]:.1e}, "
        f"max relative ΔSE = {worst_se:.1e}, {passed} passed, {failed} failed"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
