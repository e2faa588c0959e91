"""Thresholds: the lookup rule, every stored layout read (old ones upgraded), bad input refused, the report rule."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from tram_core.errors import UserError
from tram_core.ml.report_scores import report_predictions
from tram_core.ml.technique_scores import predict_sets
from tram_core.ml.thresholds import REPORT_TOP_K, Thresholds, ThresholdsError, report_evidence

CLASSES = ["T1003", "T1055", "T1105"]


# --------------------------------------------------------------------------------------------------- lookup


def test_a_technique_uses_its_own_threshold_else_the_global_one():
    tuned = Thresholds(0.6, {"T1055": 0.35})
    assert tuned.for_technique("T1055") == 0.35
    assert tuned.for_technique("T1105") == 0.6  # no value of its own
    assert tuned.vector(CLASSES).tolist() == [0.6, 0.35, 0.6]
    assert tuned.vector(CLASSES).dtype == np.float64
    untuned = Thresholds()
    assert untuned.global_ == 0.5 and untuned.report is None and untuned.vector(CLASSES).tolist() == [0.5] * 3


def test_the_flat_lookups_of_older_scripts_still_answer_but_dict_refuses():
    tuned = Thresholds(0.6, {"T1055": 0.35}, report=0.8)
    assert tuned["global"] == 0.6 and tuned["T1055"] == 0.35
    assert tuned.get("T1105", tuned["global"]) == 0.6 and tuned.get("T1055") == 0.35
    with pytest.raises(KeyError):
        tuned["T1105"]  # noqa: B018 - as the flat dict: only techniques with a value of their own
    with pytest.raises(TypeError):  # dict() would have dropped the report threshold without a word
        dict(tuned)


def test_a_record_is_immutable_and_independent_of_the_dict_it_was_built_from():
    given = {"T1055": 0.35}
    tuned = Thresholds(0.6, given)
    given["T1055"] = 0.9
    assert tuned.for_technique("T1055") == 0.35
    with pytest.raises(TypeError):
        tuned.per_technique["T1055"] = 0.1  # type: ignore[index]
    with pytest.raises(AttributeError):
        tuned.global_ = 0.1  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------- JSON


@pytest.mark.parametrize("tuned", [Thresholds(), Thresholds(0.45, {"T1055": 0.3, "T1105": 0.55}),
                                   Thresholds(0.45, {"T1055": 0.3}, report=0.65)])
def test_json_and_pickle_round_trips(tuned):
    assert Thresholds.from_json(tuned.to_json()) == tuned
    assert pickle.loads(pickle.dumps(tuned)) == tuned


def test_json_layout_is_what_training_writes():
    assert Thresholds(0.45, {"T1055": 0.3}).to_json() == {"global": 0.45, "per_technique": {"T1055": 0.3}}
    assert Thresholds(0.45, {"T1055": 0.3}, 0.65).to_json() == {"global": 0.45, "per_technique": {"T1055": 0.3},
                                                                "report": 0.65}


# Every layout stored in model folders and model rows today, as the code and tests write them.
LAYOUTS = [
    pytest.param({"global": 0.45, "per_technique": {"T1055": 0.3, "T1105": 0.45}, "report": 0.65},
                 Thresholds(0.45, {"T1055": 0.3, "T1105": 0.45}, 0.65), id="nested with report (training)"),
    pytest.param({"global": 0.45, "per_technique": {"T1055": 0.3}},
                 Thresholds(0.45, {"T1055": 0.3}), id="nested without report (untuned report rule)"),
    pytest.param({"global": 0.5, "techniques": {"T1055": 0.4}},
                 Thresholds(0.5, {"T1055": 0.4}), id="early rows: 'techniques' map"),
    pytest.param({"global": 0.4, "T1105": 0.3},
                 Thresholds(0.4, {"T1105": 0.3}), id="flat (quick model manifest, loaded models)"),
    pytest.param({"global": 0.5, "report": 0.5},
                 Thresholds(0.5, {}, 0.5), id="global and report only"),
    pytest.param({"global": 0.3}, Thresholds(0.3), id="global only"),
    pytest.param({"T1055": 0.4}, Thresholds(0.5, {"T1055": 0.4}), id="no global: 0.5"),
    pytest.param({}, Thresholds(), id="empty (imported suggestions)"),
    pytest.param(None, Thresholds(), id="absent (hand-written cards)"),
    pytest.param({"global": 1, "per_technique": {"T1055": 0}}, Thresholds(1.0, {"T1055": 0.0}), id="integers"),
]


@pytest.mark.parametrize("stored, expected", LAYOUTS)
def test_every_stored_layout_is_read_and_written_back_in_the_current_one(stored, expected):
    tuned = Thresholds.from_json(stored)
    assert tuned == expected
    assert isinstance(tuned.global_, float) and all(isinstance(v, float) for v in tuned.per_technique.values())
    upgraded = tuned.to_json()
    assert set(upgraded) <= {"global", "per_technique", "report"} and "per_technique" in upgraded
    assert Thresholds.from_json(upgraded) == expected


def test_of_takes_what_the_scoring_functions_take():
    tuned = Thresholds(0.45, {"T1055": 0.3})
    assert Thresholds.of(tuned) is tuned
    assert Thresholds.of(0.7) == Thresholds(0.7)
    assert Thresholds.of(np.float32(0.25)).global_ == pytest.approx(0.25)
    assert Thresholds.of(None) == Thresholds()
    assert Thresholds.of({"global": 0.45, "T1055": 0.3}) == tuned
    scores = np.array([[0.5, 0.32, 0.46]])
    for given in (tuned, {"global": 0.45, "T1055": 0.3}, {"global": 0.45, "per_technique": {"T1055": 0.3}}):
        assert predict_sets(scores, CLASSES, given) == [{"T1003", "T1055", "T1105"}]


MALFORMED = [
    pytest.param([0.5], "should be a JSON object, not list", id="a list"),
    pytest.param("0.5", "should be a JSON object, not str", id="a string"),
    pytest.param({"global": "high"}, "'global' should be a number, not 'high'", id="text"),
    pytest.param({"global": True}, "'global' should be a number, not True", id="JSON true"),
    pytest.param({"global": None}, "'global' should be a number, not None", id="null"),
    pytest.param({"global": 1.5}, "'global' should lie between 0 and 1, not 1.5", id="above 1"),
    pytest.param({"global": -0.1}, "'global' should lie between 0 and 1", id="negative"),
    pytest.param({"global": math.nan}, "'global' should lie between 0 and 1, not nan", id="NaN"),
    pytest.param({"global": 0.5, "report": 2.5}, "'report' should lie between 0 and 2", id="report above top-k"),
    pytest.param({"global": 0.5, "report": "x"}, "'report' should be a number", id="report text"),
    pytest.param({"per_technique": [0.3]}, "'per_technique' should map techniques to numbers, not list",
                 id="per_technique a list"),
    pytest.param({"per_technique": {"T1055": "0.3"}}, "technique 'T1055' should be a number, not '0.3'",
                 id="per-technique text"),
    pytest.param({"per_technique": {"": 0.3}}, "technique keys should be non-empty strings", id="empty key"),
    pytest.param({"global": 0.5, "T1055": [1]}, "technique 'T1055' should be a number", id="flat junk"),
    pytest.param({"per_technique": {"T1055": 0.3}, "T1105": 0.4}, "mix the 'per_technique' map with 'T1105'",
                 id="nested and flat at once"),
    pytest.param({"per_technique": {}, "techniques": {}}, "mix the 'per_technique' map with 'techniques'",
                 id="two nested maps"),
]


@pytest.mark.parametrize("stored, message", MALFORMED)
def test_malformed_thresholds_are_refused_naming_the_key(stored, message):
    with pytest.raises(ThresholdsError, match=message.replace("(", r"\(")) as raised:
        Thresholds.from_json(stored)
    assert isinstance(raised.value, UserError) and isinstance(raised.value, ValueError)
    assert "\n" not in str(raised.value)


def test_a_record_built_in_code_is_checked_too():
    with pytest.raises(ThresholdsError, match="'global' should lie between 0 and 1"):
        Thresholds(global_=3)
    with pytest.raises(ThresholdsError, match="technique 'T1055'"):
        Thresholds(0.5, {"T1055": math.inf})


# --------------------------------------------------------------------------------------------------- report rule


def test_with_a_report_threshold_the_two_best_sentences_must_add_up_to_more_than_it():
    rule = Thresholds(0.5, {}, report=0.5)
    assert REPORT_TOP_K == 2
    assert rule.report_has_technique("T1055", [0.30, 0.25, 0.10])  # 0.30 + 0.25 = 0.55 > 0.5: two moderate
    assert rule.report_has_technique("T1055", [0.9])  # one confident sentence
    assert not rule.report_has_technique("T1055", [0.5])  # 0.5 is not more than 0.5
    assert not rule.report_has_technique("T1055", [0.2, 0.2, 0.2])  # only the two best count: 0.4
    assert not rule.report_has_technique("T1055", [])


def test_without_a_report_threshold_any_sentence_above_its_techniques_threshold_finds_it():
    union = Thresholds(0.5, {"T1055": 0.4})
    assert union.report_has_technique("T1055", [0.1, 0.45])  # above T1055's own 0.4
    assert not union.report_has_technique("T1105", [0.1, 0.45])  # below the global 0.5
    assert not union.report_has_technique("T1055", [0.35, 0.35, 0.35])  # sums do not count here
    assert not union.report_has_technique("T1055", [0.4])  # strictly above


def test_report_predictions_by_hand():
    # report 5: three sentences, report 9: one
    scores = np.array([[0.30, 0.90, 0.05],
                       [0.25, 0.00, 0.45],
                       [0.10, 0.05, 0.20],
                       [0.50, 0.20, 0.41]])
    report_ids = [5, 5, 5, 9]
    ruled = Thresholds(0.5, {"T1105": 0.4}, report=0.5)
    # report 5: T1003 0.30+0.25 = 0.55, T1055 0.90+0.05 = 0.95, T1105 0.45+0.20 = 0.65; report 9: 0.5, 0.2, 0.41
    assert ruled.report_predictions(scores, report_ids, CLASSES) == {5: {"T1003", "T1055", "T1105"}, 9: set()}
    union = Thresholds(0.5, {"T1105": 0.4})
    # report 5: T1003 best 0.30, T1055 0.90, T1105 0.45 (> its 0.4); report 9: T1105 0.41 > 0.4
    assert union.report_predictions(scores, report_ids, CLASSES) == {5: {"T1055", "T1105"}, 9: {"T1105"}}
    assert list(ruled.report_predictions(scores, report_ids, CLASSES)) == [5, 9]  # first-seen order
    # report_scores.report_predictions is this rule with the report threshold alone
    assert report_predictions(report_ids, scores, CLASSES, 0.5) == \
        Thresholds(report=0.5).report_predictions(scores, report_ids, CLASSES)


def test_report_strength_is_what_the_rule_weighs():
    scores = np.array([[0.30, 0.90, 0.05], [0.25, 0.00, 0.45], [0.10, 0.05, 0.20]])
    strength, found = Thresholds(report=0.6).report_strength(scores, CLASSES)
    assert strength.tolist() == pytest.approx([0.55, 0.95, 0.65]) and found.tolist() == [False, True, True]
    strength, found = Thresholds(0.5, {"T1105": 0.4}).report_strength(scores, CLASSES)
    assert strength.tolist() == pytest.approx([0.30, 0.90, 0.45]) and found.tolist() == [False, True, True]
    _, evidence = report_evidence([1, 1, 1], scores)
    assert evidence[0].tolist() == pytest.approx([0.55, 0.95, 0.65])
    strength, found = Thresholds(report=0.6).report_strength(np.zeros((0, 3)), CLASSES)
    assert strength.tolist() == [0.0] * 3 and not found.any()


def test_the_report_rule_checks_the_shape_of_the_scores():
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        Thresholds().report_predictions(np.zeros((2, 2)), [1, 1], CLASSES)
    with pytest.raises(ValueError, match="3 report ids"):
        Thresholds(report=0.5).report_predictions(np.zeros((2, 3)), [1, 1, 2], CLASSES)
