"""How long the metrics take on a corpus-sized evaluation: 30,000 sentences x 100 classes (target: well under 1 s)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tram_core.ml.metrics import evaluate  # noqa: E402
from tram_core.ml.technique_scores import predict_sets, score_label_sets  # noqa: E402
from tram_core.ml.threshold_tuning import tune_thresholds  # noqa: E402  # noqa: E402


def main() -> None:
    rng = np.random.default_rng(0)
    n, k = 30_000, 100
    classes = [f"T{1000 + j}" for j in range(k)]
    truth = rng.random((n, k)) < 0.01
    scores = np.clip(truth * 0.5 + rng.random((n, k)) * 0.6, 0, 1)
    y_true = [{classes[j] for j in np.flatnonzero(row)} for row in truth]
    report_ids = (np.arange(n) // 250).tolist()
    timings = {}
    start = time.perf_counter()
    sets = predict_sets(scores, classes, 0.5)
    timings["predict_sets"] = time.perf_counter() - start
    start = time.perf_counter()
    score_label_sets(y_true, sets, classes)
    timings["score_label_sets"] = time.perf_counter() - start
    start = time.perf_counter()
    global_t, per = tune_thresholds(y_true, scores, classes)
    timings["tune_thresholds"] = time.perf_counter() - start
    start = time.perf_counter()
    evaluate(y_true, scores, classes, {"global": global_t, **per}, report_ids=report_ids)
    timings["evaluate"] = time.perf_counter() - start
    for name, seconds in timings.items():
        print(f"{name:18s} {seconds * 1000:8.1f} ms  ({n} sentences x {k} classes)")
    print(f"total              {sum(timings.values()) * 1000:8.1f} ms; ratio to the 1 s budget: {sum(timings.values()):.2f}")


if __name__ == "__main__":
    main()
