"""ModelCard: tram_model.json read and written in one place, old layouts upgraded, bad cards refused, key scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tram_core.errors import UserError
from tram_core.ml.model_card import (
    FORMAT_VERSION,
    MODEL_INFO_FILE,
    ModelCard,
    ModelCardError,
    TrainingJobInfo,
    evaluated_thresholds,
    key_scores,
)
from tram_core.ml.thresholds import Thresholds

from .test_training import settings_for, toy_examples

CLASSES = ["T1003.001", "T1059.003", "T1105"]
SPLIT = {"train": [1, 2], "validation": [3], "test": [4], "seed": 13, "test_reports": [3]}
DATA = {"split_seed": 13, "sentence_ids": {"train": [1, 2], "validation": [3], "test": [4]},
        "counts": {"train": {"sentences": 2, "reports": 1}, "validation": {"sentences": 1, "reports": 1},
                   "test": {"sentences": 1, "reports": 1}}}
EVALUATION = {"at_0_5": {"micro_f1": 0.6, "macro_f1": 0.4}, "at_tuned": {"micro_f1": 0.75, "macro_f1": 0.5},
              "document": {"micro_f1": 0.8}, "thresholds": {"global": 0.45, "per_technique": {"T1105": 0.3}}}


def full_card() -> ModelCard:
    return ModelCard(kind="transformer", classes=tuple(CLASSES),
                     thresholds=Thresholds(0.45, {c: 0.4 for c in CLASSES}, report=0.7),
                     base_model={"spec": "embedded", "kind": "embedded", "name": "MiniLM", "path": "/m"},
                     pooling="mean", max_length=64, options={"epochs": 3}, data=DATA,
                     history=[{"epoch": 1, "train_loss": 0.5}], best_epoch=1, evaluation=EVALUATION,
                     timings={"total_s": 3.5}, device={"device": "cpu", "bf16": False, "threads": 4},
                     job=TrainingJobInfo(7, label_event_id=11, examples=4, reports=3, split=SPLIT))


def write_raw(folder: Path, obj) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_INFO_FILE).write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return folder


# --------------------------------------------------------------------------------------------------- round trips


def test_a_card_written_reads_back_equal_and_whole(tmp_path):
    card = full_card()
    path = card.write(tmp_path)
    assert path == tmp_path / MODEL_INFO_FILE
    assert ModelCard.read(tmp_path) == card
    assert [p.name for p in tmp_path.iterdir()] == [MODEL_INFO_FILE]  # the temporary file is gone
    stored = json.loads(path.read_text())
    assert list(stored)[:4] == ["format", "kind", "classes", "thresholds"]
    assert stored["format"] == FORMAT_VERSION
    assert stored["thresholds"] == {"global": 0.45, "per_technique": {c: 0.4 for c in CLASSES}, "report": 0.7}
    assert stored["job"] == {"id": 7, "label_event_id": 11, "examples": 4, "reports": 3, "split": SPLIT}


def test_a_baseline_card_keeps_the_keys_training_wrote_for_it(tmp_path):
    card = ModelCard(kind="baseline", classes=tuple(CLASSES), thresholds=Thresholds(), base_model="baseline",
                     options={"min_count": 3}, data=DATA, evaluation=None, timings={}, device="cpu")
    card.write(tmp_path)
    stored = json.loads((tmp_path / MODEL_INFO_FILE).read_text())
    assert set(stored) == {"format", "kind", "classes", "thresholds", "base_model", "pooling", "options", "data",
                           "history", "evaluation", "timings", "device"}
    assert stored["pooling"] is None and stored["evaluation"] is None
    assert ModelCard.read(tmp_path) == card


def test_keys_this_version_does_not_know_survive_a_rewrite(tmp_path):
    write_raw(tmp_path, {**full_card().to_json(), "name": "run 7", "notes": {"by": "ana"}})
    card = ModelCard.read(tmp_path)
    assert card.extra == {"name": "run 7", "notes": {"by": "ana"}}
    card.write(tmp_path)
    stored = json.loads((tmp_path / MODEL_INFO_FILE).read_text())
    assert stored["name"] == "run 7" and stored["notes"] == {"by": "ana"}


def test_numpy_values_training_hands_over_are_written_as_json(tmp_path):
    import numpy as np

    card = ModelCard(kind="baseline", classes=("T1105",), timings={"total_s": np.float64(1.5)},
                     history=[{"epoch": np.int64(1), "ids": np.array([1, 2]), "seen": {3}}])
    card.write(tmp_path)
    assert ModelCard.read(tmp_path).history == [{"epoch": 1, "ids": [1, 2], "seen": [3]}]


def test_a_trained_folder_is_read_back_as_training_returned_it(tmp_path):
    from tram_core.ml.trained import load_trained
    from tram_core.ml.training import TrainOptions, train_model

    provenance = {"id": 42, "label_event_id": 9, "examples": 96, "reports": 8}
    result = train_model(toy_examples(), TrainOptions(base="baseline", min_count=1, seed=3), settings_for(tmp_path),
                         tmp_path / "run-42", provenance=provenance)
    card = ModelCard.read(result.model_dir)
    assert card == result.card and card.kind == "baseline"
    assert card.thresholds == result.thresholds and card.classes == tuple(result.classes)
    assert card.job == TrainingJobInfo(42, 9, 96, 8, result.split.to_dict())
    assert card.recorded_split() == result.split.to_dict() and card.trained_on() == (96, 8)
    assert card.sentence_ids("test") == list(result.split.test)
    assert card.key_scores()["micro_f1"] == result.metrics["at_tuned"]["micro_f1"]
    predictor = load_trained(result.model_dir)
    assert predictor.card == card and predictor.thresholds == card.thresholds
    assert predictor.report_threshold == card.thresholds.report and predictor.classes == list(card.classes)


# --------------------------------------------------------------------------------------------------- old layouts


def test_a_card_from_before_format_kind_and_thresholds_were_written(tmp_path):
    # as tests/ml/test_baseline_storage.py and tests/ml/test_local_base_model.py write them by hand
    write_raw(tmp_path, {"kind": "baseline", "classes": CLASSES})
    card = ModelCard.read(tmp_path)
    assert card.format == FORMAT_VERSION and card.kind == "baseline" and card.thresholds == Thresholds()
    assert card.job is None and card.evaluation is None and card.options == {} and card.history == []
    write_raw(tmp_path, {"classes": ["T1005", "T1027"], "name": "run 7", "pooling": "mean"})
    card = ModelCard.read(tmp_path)
    assert card.kind == "transformer" and card.pooling == "mean" and card.extra == {"name": "run 7"}


def test_the_legacy_baseline_card_with_a_global_threshold_only(tmp_path):
    write_raw(tmp_path, {"format": 1, "kind": "baseline", "classes": CLASSES, "thresholds": {"global": 0.5}})
    card = ModelCard.read(tmp_path)
    assert card.thresholds == Thresholds(0.5) and card.thresholds.for_technique("T1105") == 0.5


@pytest.mark.parametrize("stored, expected", [
    ({"global": 0.4, "T1105": 0.3}, Thresholds(0.4, {"T1105": 0.3})),
    ({"global": 0.4, "techniques": {"T1105": 0.3}}, Thresholds(0.4, {"T1105": 0.3})),
    ({"global": 0.4, "per_technique": {"T1105": 0.3}, "report": 0.6}, Thresholds(0.4, {"T1105": 0.3}, 0.6)),
])
def test_thresholds_in_any_older_layout_are_upgraded_on_read_and_written_in_the_current_one(tmp_path, stored,
                                                                                           expected):
    write_raw(tmp_path, {"format": 1, "kind": "baseline", "classes": CLASSES, "thresholds": stored})
    card = ModelCard.read(tmp_path)
    assert card.thresholds == expected
    card.write(tmp_path)
    assert json.loads((tmp_path / MODEL_INFO_FILE).read_text())["thresholds"] == expected.to_json()


def test_a_card_from_before_it_named_its_job_falls_back_to_its_data_snapshot(tmp_path):
    # as training wrote it before provenance (tests/jobs/test_model_folders.py's folder without a job)
    write_raw(tmp_path, {"format": 1, "kind": "baseline", "classes": CLASSES, "base_model": "baseline",
                         "pooling": None, "thresholds": {"global": 0.5, "per_technique": {c: 0.4 for c in CLASSES}},
                         "evaluation": {"at_tuned": {"micro_f1": 0.75, "macro_f1": 0.5}}, "history": [],
                         "data": DATA})
    card = ModelCard.read(tmp_path)
    assert card.job is None
    assert card.recorded_split() == {"train": [1, 2], "validation": [3], "test": [4], "seed": 13}
    assert card.trained_on() == (4, 3)  # summed over the split's parts
    assert card.sentence_ids("test") == [4] and card.sentence_ids("nope") == []
    with_job = full_card()
    assert with_job.recorded_split() == SPLIT and with_job.trained_on() == (4, 3)


def test_job_info_that_names_no_job_is_kept_without_an_id(tmp_path):
    write_raw(tmp_path, {"classes": CLASSES, "job": {"id": "seven", "examples": 4}})
    card = ModelCard.read(tmp_path)
    assert card.job == TrainingJobInfo(None, examples=4) and card.trained_on() == (4, 0)


# --------------------------------------------------------------------------------------------------- bad cards


def test_a_folder_without_a_card_is_not_a_trained_model(tmp_path):
    with pytest.raises(ModelCardError, match=f"{tmp_path} is not a trained TRAM model folder: tram_model.json"):
        ModelCard.read(tmp_path)
    assert ModelCard.read_if_present(tmp_path) is None


@pytest.mark.parametrize("content, message", [
    ('{"classes": [', "is not valid JSON"),
    ("[1, 2]", "should hold a JSON object, not list"),
    ({"kind": "transformer"}, "lacks 'classes'"),
    ({"classes": "T1105"}, "'classes' should be a list of technique IDs"),
    ({"classes": ["T1105", 7]}, "'classes' should be a list of technique IDs"),
    ({"classes": ["T1105", "T1105"]}, "'classes' lists a technique twice"),
    ({"classes": CLASSES, "kind": "svm"}, "'kind' should be one of transformer, baseline, not 'svm'"),
    ({"classes": CLASSES, "format": 2}, "has format 2, written by a newer TRAM"),
    ({"classes": CLASSES, "format": "1"}, "'format' should be a whole number"),
    ({"classes": CLASSES, "thresholds": {"global": "high"}}, "thresholds: 'global' should be a number"),
    ({"classes": CLASSES, "thresholds": [0.5]}, "thresholds should be a JSON object"),
    ({"classes": CLASSES, "options": []}, "'options' should be a JSON object, not list"),
    ({"classes": CLASSES, "history": {}}, "'history' should be a JSON list"),
    ({"classes": CLASSES, "max_length": "64"}, "'max_length' should be a whole number or null, not '64'"),
    ({"classes": CLASSES, "job": [7]}, "'job' should be a JSON object"),
])
def test_a_malformed_card_is_refused_naming_the_file_and_the_problem(tmp_path, content, message):
    write_raw(tmp_path, content)
    with pytest.raises(ModelCardError, match=message) as raised:
        ModelCard.read(tmp_path)
    assert str(raised.value).startswith(str(tmp_path / MODEL_INFO_FILE)) and "\n" not in str(raised.value)
    assert isinstance(raised.value, UserError)


# --------------------------------------------------------------------------------------------------- key scores


def test_key_scores_of_metrics_evaluate_layout():
    assert key_scores(EVALUATION) == {"micro_f1": 0.75, "macro_f1": 0.5, "micro_f1_at_0_5": 0.6,
                                      "macro_f1_at_0_5": 0.4, "report_f1": 0.8}
    assert full_card().key_scores() == key_scores(EVALUATION)


def test_key_scores_of_the_other_layouts_and_of_nothing():
    assert key_scores({"test": EVALUATION}) == key_scores(EVALUATION)
    assert key_scores({"micro_f1": 0.7, "macro_f1": 0.3}) == {"micro_f1": 0.7, "macro_f1": 0.3,
                                                              "micro_f1_at_0_5": None, "macro_f1_at_0_5": None,
                                                              "report_f1": None}
    assert set(key_scores(None).values()) == {None} and set(key_scores({}).values()) == {None}
    assert key_scores({"at_tuned": {"micro_f1": True}})["micro_f1"] is None  # a flag is no score
    assert ModelCard(kind="baseline", classes=("T1105",)).key_scores()["micro_f1"] is None


def test_evaluated_thresholds():
    assert evaluated_thresholds(EVALUATION) == Thresholds(0.45, {"T1105": 0.3})
    assert evaluated_thresholds({}) is None and evaluated_thresholds(None) is None
    assert evaluated_thresholds({"thresholds": {}}) is None
