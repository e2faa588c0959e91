"""Metrics follow the seed notebook's definitions: hand-computed examples and the notebook's own logic as reference."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import numpy as np
import pytest

from tram_core.metrics import (
    DEFAULT_GRID,
    Scores,
    document_scores,
    evaluate,
    predict_sets,
    score_label_sets,
    threshold_curve,
    tune_thresholds,
)

CLASSES = ["T1005", "T1027", "T1059.003", "T1105"]


def seed_reference(actual: list[set[str]], predicted: list[set[str]]) -> dict:
    """The seed notebook's metric cell (fine_tune_multi_label.ipynb) in plain Python.

    tp/fp/fn are ``predicted & actual``, ``predicted - actual``, ``actual - predicted`` exploded and counted;
    p and r fill NaN with 0; macro is the mean over the techniques that appear in those counts; micro pools them.
    """
    tp, fp, fn = Counter(), Counter(), Counter()
    for a, p in zip(actual, predicted):
        tp.update(p & a)
        fp.update(p - a)
        fn.update(a - p)
    support = Counter(t for a in actual for t in a)
    techniques = set(tp) | set(fp) | set(fn)
    rows = {}
    for t in techniques:
        p = tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else 0.0
        r = tp[t] / (tp[t] + fn[t]) if tp[t] + fn[t] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows[t] = (p, r, f1, support[t])
    macro = tuple(sum(v[i] for v in rows.values()) / len(rows) for i in range(3))
    mtp, mfp, mfn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    m_p = mtp / (mtp + mfp)
    m_r = mtp / (mtp + mfn)
    return {"rows": rows, "macro": macro, "micro": (m_p, m_r, 2 * m_p * m_r / (m_p + m_r))}


def test_hand_computed_example():
    y_true = [{"T1005", "T1027"}, {"T1027"}, set(), {"T1105"}, {"T1005"}]
    y_pred = [{"T1005"}, {"T1027", "T1105"}, {"T1027"}, set(), {"T1005"}]
    # T1005: sentence 0 and 4 in both -> TP 2, FP 0, FN 0, support 2 -> P 1, R 1, F1 1
    # T1027: sentence 1 in both -> TP 1; sentence 2 predicted not true -> FP 1; sentence 0 true not predicted -> FN 1
    #        P 1/2, R 1/2, F1 1/2, support 2
    # T1059.003: never true nor predicted -> all 0, support 0
    # T1105: sentence 1 predicted not true -> FP 1; sentence 3 true not predicted -> FN 1 -> P 0, R 0, F1 0
    scores = score_label_sets(y_true, y_pred, CLASSES)
    rows = {row.technique: row for row in scores.per_technique}
    assert [row.technique for row in scores.per_technique] == CLASSES
    assert (rows["T1005"].tp, rows["T1005"].fp, rows["T1005"].fn, rows["T1005"].support) == (2, 0, 0, 2)
    assert (rows["T1027"].tp, rows["T1027"].fp, rows["T1027"].fn, rows["T1027"].support) == (1, 1, 1, 2)
    assert (rows["T1105"].tp, rows["T1105"].fp, rows["T1105"].fn, rows["T1105"].support) == (0, 1, 1, 1)
    assert (rows["T1059.003"].tp, rows["T1059.003"].fp, rows["T1059.003"].fn) == (0, 0, 0)
    assert rows["T1005"].f1 == 1.0
    assert rows["T1027"].precision == pytest.approx(0.5) and rows["T1027"].recall == pytest.approx(0.5)
    assert rows["T1105"].f1 == 0.0 and rows["T1059.003"].f1 == 0.0
    # micro: TP 3, FP 2, FN 2 -> P 3/5, R 3/5, F1 3/5
    assert (scores.tp, scores.fp, scores.fn) == (3, 2, 2)
    assert scores.micro_precision == pytest.approx(0.6)
    assert scores.micro_recall == pytest.approx(0.6)
    assert scores.micro_f1 == pytest.approx(0.6)
    # macro over all 4 classes: P (1 + .5 + 0 + 0) / 4, F1 the same
    assert scores.macro_precision == pytest.approx(1.5 / 4)
    assert scores.macro_f1 == pytest.approx(1.5 / 4)
    # the seed's table only lists the 3 techniques seen: (1 + .5 + 0) / 3
    assert scores.macro_seen_f1 == pytest.approx(0.5)


def test_labels_outside_classes_are_ignored_like_the_binarizer():
    scores = score_label_sets([{"T1005", "T9999"}], [{"T1005"}], CLASSES)
    assert (scores.tp, scores.fp, scores.fn) == (1, 0, 0)


def test_empty_input_scores_zero_without_errors():
    scores = score_label_sets([], [], CLASSES)
    assert scores.micro_f1 == 0.0 and scores.macro_f1 == 0.0
    assert all(row.support == 0 for row in scores.per_technique)


def test_matches_the_seed_notebook_logic_on_random_data():
    rng = random.Random(7)
    classes = [f"T{1000 + i}" for i in range(12)]
    for _ in range(20):
        n = rng.randint(20, 80)
        actual = [set(rng.sample(classes, rng.choice([0, 0, 1, 1, 2, 3]))) for _ in range(n)]
        predicted = [set(rng.sample(classes, rng.choice([0, 1, 1, 2]))) for _ in range(n)]
        ref = seed_reference(actual, predicted)
        ours = score_label_sets(actual, predicted, classes)
        for row in ours.per_technique:
            if row.technique in ref["rows"]:
                p, r, f1, support = ref["rows"][row.technique]
                assert (row.precision, row.recall, row.f1, row.support) == pytest.approx((p, r, f1, support))
            else:
                assert (row.tp, row.fp, row.fn, row.f1) == (0, 0, 0, 0.0)
        assert (ours.micro_precision, ours.micro_recall, ours.micro_f1) == pytest.approx(ref["micro"])
        assert (ours.macro_seen_precision, ours.macro_seen_recall, ours.macro_seen_f1) == pytest.approx(ref["macro"])
        # macro over all classes = the seed's macro scaled by seen / all (unseen classes score 0)
        seen = len(ref["rows"])
        assert ours.macro_f1 == pytest.approx(ref["macro"][2] * seen / len(classes))


def test_predict_sets_global_and_per_technique_thresholds():
    scores = np.array([[0.9, 0.5, 0.2, 0.51], [0.1, 0.7, 0.6, 0.0]])
    # strictly above 0.5, as the seed's sigmoid().gt(.5): 0.5 itself is not predicted
    assert predict_sets(scores, CLASSES, 0.5) == [{"T1005", "T1105"}, {"T1027", "T1059.003"}]
    per = {"T1005": 0.95, "T1027": 0.3, "global": 0.55}
    assert predict_sets(scores, CLASSES, per) == [{"T1027"}, {"T1027", "T1059.003"}]
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        predict_sets(np.zeros((2, 3)), CLASSES, 0.5)


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


def test_document_scores_union_per_report():
    report_ids = [1, 1, 1, 2, 2, 3]
    y_true = [{"T1005"}, {"T1027"}, set(), {"T1105"}, set(), set()]
    y_pred = [set(), {"T1027"}, {"T1005", "T1059.003"}, set(), set(), set()]
    # report 1: true {T1005, T1027}, predicted {T1005, T1027, T1059.003} -> TP 2, FP 1, FN 0 -> P 2/3, R 1
    # report 2: true {T1105}, predicted {} -> TP 0, FP 0, FN 1 -> 0, 0, 0
    # report 3: nothing true, nothing predicted -> not counted in macro
    doc = document_scores(report_ids, y_true, y_pred)
    rows = {r["report_id"]: r for r in doc["per_report"]}
    assert (rows[1]["tp"], rows[1]["fp"], rows[1]["fn"]) == (2, 1, 0)
    assert rows[1]["precision"] == pytest.approx(2 / 3) and rows[1]["recall"] == 1.0
    assert (rows[2]["tp"], rows[2]["fp"], rows[2]["fn"]) == (0, 0, 1)
    assert doc["reports"] == 3 and doc["reports_scored"] == 2
    # micro: TP 2, FP 1, FN 1 -> P 2/3, R 2/3
    assert doc["micro_precision"] == pytest.approx(2 / 3) and doc["micro_recall"] == pytest.approx(2 / 3)
    assert doc["macro_recall"] == pytest.approx(0.5)
    assert doc["macro_precision"] == pytest.approx(1 / 3)


def test_evaluate_is_json_serialisable_and_round_trips_scores():
    rng = np.random.default_rng(3)
    y_true = [{"T1005"} if i % 3 == 0 else set() for i in range(30)]
    scores = rng.random((30, 4))
    scores[::3, 0] += 0.6
    scores = np.clip(scores, 0, 1)
    global_t, per = tune_thresholds(y_true, scores, CLASSES)
    result = evaluate(y_true, scores, CLASSES, {"global": global_t, **per}, report_ids=[i // 10 for i in range(30)])
    text = json.dumps(result)
    back = json.loads(text)
    assert set(back) == {"at_0_5", "at_tuned", "thresholds", "document", "curves"}
    at_half = Scores.from_dict(back["at_0_5"])
    assert at_half == score_label_sets(y_true, predict_sets(scores, CLASSES, 0.5), CLASSES)
    assert back["thresholds"]["per_technique"]["T1005"] == per["T1005"]
    assert back["document"]["reports"] == 3
    tuned = score_label_sets(y_true, predict_sets(scores, CLASSES, {"global": global_t, **per}), CLASSES)
    assert Scores.from_dict(back["at_tuned"]) == tuned
    assert back["at_tuned"]["micro_f1"] != back["at_0_5"]["micro_f1"]


def test_micro_f1_on_grid_counts_strictly_above():
    from tram_core.metrics import micro_f1_on_grid

    truth = np.array([[1, 0], [0, 1], [0, 0]])
    scores = np.array([[0.6, 0.2], [0.3, 0.5], [0.6, 0.1]])
    # 0.25: TP 2, FP 2, FN 0 -> 2/3; 0.5: TP 1 (0.5 is not above 0.5), FP 1, FN 1 -> 0.5; 0.7: nothing -> 0
    assert micro_f1_on_grid(truth, scores, [0.25, 0.5, 0.7]).tolist() == pytest.approx([2 / 3, 0.5, 0.0])


def test_report_evidence_sums_the_two_best_sentences_of_each_report():
    from tram_core.metrics import report_evidence

    scores = np.array([[0.30, 0.9], [0.25, 0.0], [0.10, 0.05], [0.7, 0.2]])
    reports, evidence = report_evidence([5, 5, 5, 9], scores)
    assert reports == [5, 9]
    # report 5: 0.30 + 0.25 and 0.9 + 0.05; report 9 has one sentence, so its evidence is that sentence's score
    assert evidence == pytest.approx(np.array([[0.55, 0.95], [0.7, 0.2]]))


def test_report_predictions_need_one_confident_or_two_moderate_sentences():
    from tram_core.metrics import report_predictions

    classes = ["T1005", "T1027"]
    scores = np.array([[0.30, 0.9], [0.25, 0.0], [0.10, 0.05], [0.5, 0.2]])
    predicted = report_predictions([5, 5, 5, 9], scores, classes, report_threshold=0.5)
    # report 5: T1005 has no sentence above 0.5 but two at 0.30 + 0.25; report 9: 0.5 is not above 0.5
    assert predicted == {5: {"T1005", "T1027"}, 9: set()}


def test_report_threshold_is_tuned_on_validation_reports():
    from tram_core.metrics import tune_report_threshold

    classes = ["T1005"]
    # report 1 has T1005 in two sentences scored 0.3 each; report 2 lacks it but has one sentence at 0.45
    report_ids = [1, 1, 1, 2, 2]
    y_true = [{"T1005"}, {"T1005"}, set(), set(), set()]
    scores = np.array([[0.3], [0.3], [0.0], [0.45], [0.0]])
    # evidence: report 1 0.6, report 2 0.45 -> anything in [0.45, 0.6) separates them; ties go nearest 0.5
    assert tune_report_threshold(report_ids, y_true, scores, classes, grid=[0.2, 0.45, 0.5, 0.55, 0.6]) == 0.5
    assert tune_report_threshold(report_ids, [set()] * 5, scores, classes) is None  # nothing to tune on
    assert tune_report_threshold(report_ids, y_true, scores * 0, classes) is None  # no threshold finds anything


def test_evaluate_scores_reports_by_the_report_rule_when_given():
    classes = ["T1005", "T1027"]
    report_ids = [1, 1, 2]
    y_true = [{"T1005"}, {"T1005"}, set()]
    scores = np.array([[0.3, 0.0], [0.3, 0.0], [0.0, 0.0]])
    union = evaluate(y_true, scores, classes, 0.5, report_ids=report_ids)
    assert union["document"]["micro_recall"] == 0.0  # no sentence above 0.5
    assert "any of its sentences" in union["document"]["rule"]
    assert "report" not in union["thresholds"]
    ruled = evaluate(y_true, scores, classes, 0.5, report_ids=report_ids, report_threshold=0.5)
    assert ruled["document"]["micro_f1"] == 1.0  # 0.3 + 0.3 > 0.5
    assert ruled["document"]["rule"].endswith("add up to more than 0.50")
    assert ruled["thresholds"]["report"] == 0.5
    assert ruled["at_tuned"] == union["at_tuned"]  # sentence scores do not change


def test_document_scores_take_report_level_predictions():
    doc = document_scores([1, 1, 2], [{"T1005"}, set(), {"T1027"}], None,
                          predicted_by_report={1: {"T1005", "T1105"}})
    rows = {r["report_id"]: r for r in doc["per_report"]}
    assert (rows[1]["tp"], rows[1]["fp"], rows[1]["fn"]) == (1, 1, 0)
    assert (rows[2]["tp"], rows[2]["fp"], rows[2]["fn"]) == (0, 0, 1)  # a report left out predicts nothing
    with pytest.raises(ValueError, match="needs sentence predictions or predictions per report"):
        document_scores([1], [set()], None)


def test_score_matrix_puts_each_rows_scores_in_column_order():
    from tram_core.metrics import score_matrix

    matrix = score_matrix([{"T1105": 0.7, "T9999": 0.9}, {}, {"T1005": 0.2}], ["T1005", "T1105"])
    assert matrix.tolist() == [[0.0, 0.7], [0.0, 0.0], [0.2, 0.0]]  # T9999 is not a column: ignored
