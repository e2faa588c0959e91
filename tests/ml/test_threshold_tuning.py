"""Thresholds tuned on validation data: global, per technique (leaning on the global one), report level; curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tram_core.ml.technique_scores import predict_sets, score_label_sets
from tram_core.ml.threshold_tuning import DEFAULT_GRID, threshold_curve, tune_thresholds

CLASSES = ["T1005", "T1027", "T1059.003", "T1105"]


def test_tune_thresholds_global_and_per_technique():
    # T1005 positives score 0.3-0.4 and negatives 0.1: every grid value in [0.10, 0.25] separates them perfectly
    # T1027 positives 0.9, negatives 0.6-0.7: separated from 0.70 up
    # T1059.003 has no validation support -> takes the global threshold
    # T1105 is true once but never scores above its negatives -> best F1 is reached with low thresholds
    y_true = [{"T1005"}, {"T1005"}, set(), set(), {"T1027"}, set(), set()]
    scores = np.array([
        [0.30, 0.1, 0.0, 0.0],
        [0.40, 0.1, 0.0, 0.0],
        [0.10, 0.6, 0.0, 0.0],
        [0.10, 0.7, 0.0, 0.0],
        [0.10, 0.9, 0.0, 0.0],
        [0.10, 0.1, 0.0, 0.0],
        [0.10, 0.1, 0.0, 0.0],
    ])
    global_t, per = tune_thresholds(y_true, scores, CLASSES, prior_weight=0)
    assert global_t in DEFAULT_GRID
    assert 0.10 <= per["T1005"] <= 0.25
    assert 0.70 <= per["T1027"] < 0.90
    assert per["T1059.003"] == global_t
    assert per["T1105"] == global_t  # support 0 in this validation set (T1105 never true)
    tuned = score_label_sets(y_true, predict_sets(scores, CLASSES, per), CLASSES)
    assert tuned.micro_f1 == 1.0
    at_half = score_label_sets(y_true, predict_sets(scores, CLASSES, 0.5), CLASSES)
    assert at_half.micro_f1 < 1.0


def test_per_technique_thresholds_lean_on_the_global_one_in_proportion_to_support():
    # (a sentence is predicted when its score is strictly above the threshold)
    # T1005: 20 positives at 0.35, 20 negatives at 0.25 -> its own best is 0.25-0.30.
    # T1027: 60 positives at 0.90, 60 negatives at 0.60 -> best from 0.60; it dominates micro-F1, so global 0.60.
    # T1105: one positive at 0.20 among negatives at 0.10 -> its own best is 0.10-0.15.
    scores = np.zeros((200, 4))
    y_true = [set() for _ in range(200)]
    for row in range(0, 40):
        scores[row, 0] = 0.35 if row < 20 else 0.25
        if row < 20:
            y_true[row].add("T1005")
    for row in range(40, 160):
        scores[row, 1] = 0.90 if row < 100 else 0.60
        if row < 100:
            y_true[row].add("T1027")
    scores[:, 3] = 0.10
    scores[199, 3] = 0.20
    y_true[199].add("T1105")
    global_t, raw = tune_thresholds(y_true, scores, CLASSES, prior_weight=0)
    global_again, shrunk = tune_thresholds(y_true, scores, CLASSES, prior_weight=5)
    assert global_t == global_again == 0.6
    assert raw["T1005"] == 0.3 and raw["T1105"] == 0.15  # ties: nearest the global value
    # 20 positives: a fifth of the way to the global value; one positive: five sixths of the way
    assert shrunk["T1005"] == pytest.approx(round((20 * 0.30 + 5 * 0.60) / 25, 2))
    assert shrunk["T1105"] == pytest.approx(round((1 * 0.15 + 5 * 0.60) / 6, 2))
    assert shrunk["T1027"] == 0.6 and shrunk["T1059.003"] == 0.6  # at the global value / no support
    for bad in (-1, math.inf, math.nan):
        with pytest.raises(ValueError, match="prior_weight"):
            tune_thresholds(y_true, scores, CLASSES, prior_weight=bad)
    # without shrinking, thresholds stay on the grid given (no rounding off it)
    _, on_grid = tune_thresholds(y_true, scores, CLASSES, grid=[0.125, 0.5], prior_weight=0)
    assert set(on_grid.values()) <= {0.125, 0.5}


def test_tune_thresholds_without_any_positive_falls_back_to_half():
    global_t, per = tune_thresholds([set(), set()], np.full((2, 4), 0.2), CLASSES)
    assert global_t == 0.5 and set(per.values()) == {0.5}


def test_threshold_curve_rows():
    y_true = [{"T1005"}, set()]
    scores = np.array([[0.8, 0, 0, 0], [0.3, 0, 0, 0]])
    rows = threshold_curve(y_true, scores, CLASSES)
    assert len(rows) == len(DEFAULT_GRID) * (len(CLASSES) + 1)
    by_key = {(r["threshold"], r["technique"]): r for r in rows}
    # at 0.2 both sentences predicted T1005: TP 1, FP 1 -> P .5, R 1
    assert by_key[(0.2, "T1005")]["precision"] == pytest.approx(0.5)
    assert by_key[(0.2, "T1005")]["recall"] == 1.0
    # at 0.5 only the true one: P 1, R 1; at 0.85 none: R 0
    assert by_key[(0.5, "micro")]["f1"] == 1.0
    assert by_key[(0.85, "T1005")]["recall"] == 0.0


def test_micro_f1_on_grid_counts_strictly_above():
    from tram_core.ml.threshold_tuning import micro_f1_on_grid

    truth = np.array([[1, 0], [0, 1], [0, 0]])
    scores = np.array([[0.6, 0.2], [0.3, 0.5], [0.6, 0.1]])
    # 0.25: TP 2, FP 2, FN 0 -> 2/3; 0.5: TP 1 (0.5 is not above 0.5), FP 1, FN 1 -> 0.5; 0.7: nothing -> 0
    assert micro_f1_on_grid(truth, scores, [0.25, 0.5, 0.7]).tolist() == pytest.approx([2 / 3, 0.5, 0.0])


def test_report_threshold_is_tuned_on_validation_reports():
    from tram_core.ml.threshold_tuning import tune_report_threshold

    classes = ["T1005"]
    # report 1 has T1005 in two sentences scored 0.3 each; report 2 lacks it but has one sentence at 0.45
    report_ids = [1, 1, 1, 2, 2]
    y_true = [{"T1005"}, {"T1005"}, set(), set(), set()]
    scores = np.array([[0.3], [0.3], [0.0], [0.45], [0.0]])
    # evidence: report 1 0.6, report 2 0.45 -> anything in [0.45, 0.6) separates them; ties go nearest 0.5
    assert tune_report_threshold(report_ids, y_true, scores, classes, grid=[0.2, 0.45, 0.5, 0.55, 0.6]) == 0.5
    assert tune_report_threshold(report_ids, [set()] * 5, scores, classes) is None  # nothing to tune on
    assert tune_report_threshold(report_ids, y_true, scores * 0, classes) is None  # no threshold finds anything
