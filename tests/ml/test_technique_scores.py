"""Per-technique scores follow the seed notebook's definitions: hand-computed examples and the notebook's own logic."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from tram_core.ml.technique_scores import predict_sets, score_label_sets

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


def test_score_matrix_puts_each_rows_scores_in_column_order():
    from tram_core.ml.technique_scores import score_matrix

    matrix = score_matrix([{"T1105": 0.7, "T9999": 0.9}, {}, {"T1005": 0.2}], ["T1005", "T1105"])
    assert matrix.tolist() == [[0.0, 0.7], [0.0, 0.0], [0.2, 0.0]]  # T9999 is not a column: ignored
