"""The evaluation a run stores: JSON-serialisable, its scores round-trip, and reports scored by the report rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tram_core.ml.metrics import evaluate
from tram_core.ml.technique_scores import Scores, predict_sets, score_label_sets
from tram_core.ml.threshold_tuning import tune_thresholds

CLASSES = ["T1005", "T1027", "T1059.003", "T1105"]


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
    assert set(back) == {"at_0_5", "at_tuned", "thresholds", "document", "curves", "by_label_space"}
    at_half = Scores.from_dict(back["at_0_5"])
    assert at_half == score_label_sets(y_true, predict_sets(scores, CLASSES, 0.5), CLASSES)
    assert back["thresholds"]["per_technique"]["T1005"] == per["T1005"]
    assert back["document"]["reports"] == 3
    tuned = score_label_sets(y_true, predict_sets(scores, CLASSES, {"global": global_t, **per}), CLASSES)
    assert Scores.from_dict(back["at_tuned"]) == tuned
    assert back["at_tuned"]["micro_f1"] != back["at_0_5"]["micro_f1"]


def test_report_evidence_sums_the_two_best_sentences_of_each_report():
    from tram_core.ml.thresholds import report_evidence

    scores = np.array([[0.30, 0.9], [0.25, 0.0], [0.10, 0.05], [0.7, 0.2]])
    reports, evidence = report_evidence([5, 5, 5, 9], scores)
    assert reports == [5, 9]
    # report 5: 0.30 + 0.25 and 0.9 + 0.05; report 9 has one sentence, so its evidence is that sentence's score
    assert evidence == pytest.approx(np.array([[0.55, 0.95], [0.7, 0.2]]))


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


def test_scores_on_trams_50_and_on_the_other_techniques_are_told_apart():
    """T1005 and T1105 are two of TRAM's 50, T1566.002 and T1583.001 are not: each side is scored on its own columns,
    sentences and reports alike, so a perfect score on one never lifts the other."""
    classes = ["T1005", "T1566.002", "T1105", "T1583.001"]
    y_true = [{"T1005"}, {"T1105"}, {"T1566.002"}, {"T1583.001"}, set(), {"T1005", "T1583.001"}]
    scores = np.array([  # TRAM's 50 predicted perfectly; the others always missed
        [0.9, 0.0, 0.0, 0.0], [0.0, 0.0, 0.9, 0.0], [0.0, 0.1, 0.0, 0.0], [0.0, 0.0, 0.0, 0.2],
        [0.0, 0.0, 0.0, 0.0], [0.9, 0.0, 0.0, 0.1]])
    result = json.loads(json.dumps(evaluate(y_true, scores, classes, 0.5, report_ids=[1, 1, 1, 2, 2, 2])))
    tram, other = result["by_label_space"]["tram50"], result["by_label_space"]["other"]
    assert tram["techniques"] == 2 and other["techniques"] == 2
    assert tram["at_tuned"]["micro_f1"] == 1.0 and tram["at_0_5"]["macro_f1"] == 1.0
    assert other["at_tuned"]["micro_f1"] == 0.0 and other["at_tuned"]["fn"] == 3
    assert tram["at_tuned"]["sentences"] == other["at_tuned"]["sentences"] == 6
    assert tram["document"]["micro_f1"] == 1.0 and other["document"]["micro_f1"] == 0.0
    # The overall score sits between them, and the per-technique rows stay in the overall record only.
    assert 0.0 < result["at_tuned"]["micro_f1"] < 1.0
    assert "per_technique" not in tram["at_tuned"] and "per_report" not in tram["document"]


def test_a_label_space_the_model_lacks_has_no_scores():
    result = evaluate([{"T1005"}, set()], np.array([[0.9], [0.1]]), ["T1005"], 0.5)
    assert result["by_label_space"]["other"] is None
    assert result["by_label_space"]["tram50"]["at_0_5"]["micro_f1"] == 1.0
    assert result["by_label_space"]["tram50"]["document"] is None  # no report ids, no report-level scores
