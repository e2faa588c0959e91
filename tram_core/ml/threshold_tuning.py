"""Thresholds tuned on validation data (global, per technique, report level), and the curves that show the choice."""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from tram_core.ml.report_scores import truth_by_report
from tram_core.ml.technique_scores import check_scores, label_matrix, precision_recall_f1
from tram_core.ml.thresholds import DEFAULT_THRESHOLD, report_evidence

# The threshold grid searched by tune_thresholds and drawn by threshold_curve: 0.05, 0.10, ..., 0.95, then 0.97,
# 0.98, 0.99 (a model trained with positive weighting on subsampled negatives can be most accurate above 0.95).
DEFAULT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20)) + (0.97, 0.98, 0.99)


def _counts_on_grid(truth: np.ndarray, scores: np.ndarray, grid: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP, FN of shape (len(grid), k) for predictions ``scores > t`` at each grid threshold."""
    support = truth.sum(axis=0)
    tp = np.empty((len(grid), truth.shape[1]), dtype=np.int64)
    fp = np.empty_like(tp)
    for g, t in enumerate(grid):
        predicted = scores > t
        tp[g] = (predicted & truth).sum(axis=0)
        fp[g] = predicted.sum(axis=0) - tp[g]
    fn = support[None, :] - tp
    return tp, fp, fn


def micro_f1_on_grid(truth: np.ndarray, scores: np.ndarray, grid: Sequence[float] | None = None) -> np.ndarray:
    """Micro-F1 at each grid threshold (predictions strictly above it) for a 0/1 truth matrix and its scores."""
    tp, fp, fn = _counts_on_grid(np.asarray(truth) > 0, scores, grid if grid is not None else DEFAULT_GRID)
    return precision_recall_f1(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))[2]


def _pick(f1: np.ndarray, grid: np.ndarray, prefer: float) -> float:
    """The grid value with the best F1; ties go to the value closest to ``prefer``."""
    best = f1.max()
    candidates = grid[np.isclose(f1, best, rtol=0, atol=1e-12)]
    return float(candidates[np.argmin(np.abs(candidates - prefer))])


# Per-technique thresholds tuned on a handful of validation sentences overfit: on TRAM 2's unseen test reports the
# raw per-technique choice scored below the single global threshold (TF-IDF baseline: micro-F1 0.413 against
# 0.455). Each technique's best value is therefore pulled toward the global one as if the global value had been
# seen on PRIOR_WEIGHT extra positives: t = (n * t_best + w * t_global) / (n + w) for n validation positives.
PRIOR_WEIGHT = 5.0


def tune_thresholds(
    y_true: Sequence[Iterable[str]], scores: np.ndarray, classes: Sequence[str], grid: Sequence[float] | None = None,
    prior_weight: float = PRIOR_WEIGHT,
) -> tuple[float, dict[str, float]]:
    """Thresholds chosen on validation data.

    Global: the grid value with the best micro-F1 (0.5 when nothing scores above 0). Per technique: the value
    with the best F1 for that technique, shrunk toward the global one by ``prior_weight`` (see PRIOR_WEIGHT; 0
    keeps the raw best value) and rounded to 0.01; techniques without validation support, or whose best F1 is 0,
    take the global threshold. Ties go to the value nearest 0.5 (global) or nearest the global one (per technique).
    """
    if not 0 <= prior_weight < math.inf:
        raise ValueError(f"prior_weight must be a finite number, 0 or more, not {prior_weight}")
    scores = check_scores(scores, classes)
    grid_arr = np.asarray(grid if grid is not None else DEFAULT_GRID, dtype=float)
    truth = label_matrix(y_true, classes)
    if truth.shape[0] != scores.shape[0]:
        raise ValueError(f"{truth.shape[0]} label sets but {scores.shape[0]} score rows")
    tp, fp, fn = _counts_on_grid(truth, scores, grid_arr)
    _, _, micro_f1 = precision_recall_f1(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
    global_t = DEFAULT_THRESHOLD if micro_f1.max() <= 0 else _pick(micro_f1, grid_arr, DEFAULT_THRESHOLD)
    _, _, f1 = precision_recall_f1(tp, fp, fn)
    support = truth.sum(axis=0)
    per_technique: dict[str, float] = {}
    for j, c in enumerate(classes):
        column = f1[:, j]
        if support[j] == 0 or column.max() <= 0:
            per_technique[c] = global_t
        else:
            best = _pick(column, grid_arr, global_t)
            n = float(support[j])
            per_technique[c] = best if prior_weight == 0 else \
                round((n * best + prior_weight * global_t) / (n + prior_weight), 2)
    return global_t, per_technique


def threshold_curve(
    y_true: Sequence[Iterable[str]], scores: np.ndarray, classes: Sequence[str], grid: Sequence[float] | None = None
) -> list[dict]:
    """Rows (threshold, technique, precision, recall, f1, support) per grid value: one 'micro' row, one per technique."""
    scores = check_scores(scores, classes)
    grid_arr = np.asarray(grid if grid is not None else DEFAULT_GRID, dtype=float)
    truth = label_matrix(y_true, classes)
    tp, fp, fn = _counts_on_grid(truth, scores, grid_arr)
    micro = precision_recall_f1(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
    per = precision_recall_f1(tp, fp, fn)
    support = truth.sum(axis=0)
    rows: list[dict] = []
    for g, t in enumerate(grid_arr.tolist()):
        rows.append({"threshold": round(t, 4), "technique": "micro", "precision": float(micro[0][g]),
                     "recall": float(micro[1][g]), "f1": float(micro[2][g]), "support": int(support.sum())})
        for j, c in enumerate(classes):
            rows.append({"threshold": round(t, 4), "technique": c, "precision": float(per[0][g, j]),
                         "recall": float(per[1][g, j]), "f1": float(per[2][g, j]), "support": int(support[j])})
    return rows


# The report rule (the REPORT_TOP_K best sentence scores against the report threshold) lives in tram_core.ml.thresholds;
# this is the grid its threshold is tuned on.
REPORT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 40))  # 0.05 .. 1.95


def tune_report_threshold(report_ids: Sequence[int], y_true: Sequence[Iterable[str]], scores: np.ndarray,
                          classes: Sequence[str], grid: Sequence[float] | None = None) -> float | None:
    """The grid value with the best report-level micro-F1 on validation reports (ties: nearest 0.5).

    None when there is nothing to tune on (no true technique, or no grid value finds one): such a model keeps the
    union rule (any sentence above its technique's threshold) rather than an untuned report threshold.
    """
    scores = check_scores(scores, classes)
    if len(y_true) != scores.shape[0]:
        raise ValueError(f"{len(y_true)} label sets but {scores.shape[0]} score rows")
    grid_arr = np.asarray(grid if grid is not None else REPORT_GRID, dtype=float)
    reports, evidence = report_evidence(report_ids, scores)
    by_report = truth_by_report(report_ids, y_true, set(classes))
    truth = label_matrix([by_report[r] for r in reports], classes)
    if not truth.any():
        return None
    f1 = micro_f1_on_grid(truth, evidence, grid_arr)
    return None if f1.max() <= 0 else _pick(f1, grid_arr, DEFAULT_THRESHOLD)

