"""A trained model's coverage as Navigator layers: each class scored by its test F1 (the Evaluate page's figures) or
by its training sentences, on a red-to-green gradient, with a comment giving both; in the layer format v4.5."""

from __future__ import annotations

import json

import pytest

from tests.io.navigator_format import assert_layer_format
from tram_core.errors import UserError
from tram_core.io.exporters import export_model_coverage
from tram_core.io.navigator_coverage import COVERAGE_COLORS, NOT_MEASURED_COLOR
from tram_core.store import LABELLED, NewSentence

CLASSES = ["T1055", "T1003.001", "T1574.002", "T1566.001", "T1027"]
PER_TECHNIQUE = [
    {"technique": "T1055", "precision": 0.75, "recall": 6 / 7, "f1": 0.8, "support": 7, "tp": 6, "fp": 2, "fn": 1},
    {"technique": "T1003.001", "precision": 0.5, "recall": 1 / 3, "f1": 0.4, "support": 3, "tp": 1, "fp": 1, "fn": 2},
    {"technique": "T1574.002", "precision": 0.6, "recall": 0.6, "f1": 0.6, "support": 2, "tp": 1, "fp": 1, "fn": 1},
    {"technique": "T1566.001", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "tp": 0, "fp": 0, "fn": 0},
]
LABELS = [("T1055",), ("T1055",), ("T1055",), ("T1003.001",), ("T1574.002", "T1055")]


def stored_sentences(store) -> list[int]:
    text, sentences = "", []
    for i, labels in enumerate(LABELS):
        sentence = f"Sentence {i} about {' and '.join(labels)}."
        sentences.append(NewSentence(sentence, len(text), len(text) + len(sentence), labels, LABELLED))
        text += sentence + " "
    report_id = store.add_report("Training report", text, sentences, user="importer").report_id
    return [s.id for s in store.sentences(report_id=report_id)]


def add_model(store, metrics: dict, train_ids: list[int] | None) -> int:
    options = {"split": {"train": train_ids, "validation": [], "test": []}} if train_ids is not None else {}
    return store.add_model("run-7", "transformer", "/nowhere", "embedded", CLASSES,
                           {"global": 0.5, "per_technique": {"T1055": 0.4}}, metrics, options)


def layer_of(store, model_id: int, by: str) -> tuple[dict, dict[str, dict]]:
    content, filename = export_model_coverage(store, model_id, by)
    layer = json.loads(content)
    assert_layer_format(layer)
    assert filename == f"model-{model_id}-{by}-navigator-layer.json"
    return layer, {t["techniqueID"]: t for t in layer["techniques"]}


def test_the_f1_layer_scores_each_class_by_its_test_f1_and_greys_the_unmeasured(store):
    ids = stored_sentences(store)
    model_id = add_model(store, {"at_tuned": {"per_technique": PER_TECHNIQUE}}, ids[:2] + ids[3:])
    layer, entries = layer_of(store, model_id, "f1")
    assert layer["versions"]["attack"] == "18" and layer["name"] == f"TRAM model #{model_id} test F1"
    assert layer["gradient"] == {"colors": COVERAGE_COLORS, "minValue": 0, "maxValue": 1}
    assert entries["T1055"]["score"] == 0.8 and entries["T1003.001"]["score"] == 0.4
    assert entries["T1055"]["comment"] == ("test F1 0.80 (precision 0.75, recall 0.86) on 7 test sentence(s) · "
                                           "threshold 0.40 · 3 training sentence(s)")
    for unmeasured in ("T1566.001", "T1027"):  # no test sentence: not 0, but not measured
        assert "score" not in entries[unmeasured] and entries[unmeasured]["color"] == NOT_MEASURED_COLOR
        assert entries[unmeasured]["comment"].startswith("not measured: no test sentence carries it")
    replaced = entries["T1574.001"]  # a revoked class, shown as its replacement
    assert "T1574.002" not in entries and replaced["score"] == 0.6
    assert replaced["comment"].startswith("a class as T1574.002, which ATT&CK revoked in favour of T1574.001")
    assert all(entries[parent]["showSubtechniques"] for parent in ("T1003", "T1566", "T1574"))
    assert {"label": "no test sentence: F1 not measured", "color": NOT_MEASURED_COLOR} in layer["legendItems"]


def test_the_support_layer_counts_the_models_training_sentences(store):
    ids = stored_sentences(store)
    model_id = add_model(store, {"at_tuned": {"per_technique": PER_TECHNIQUE}}, ids[:2] + ids[3:])
    layer, entries = layer_of(store, model_id, "support")
    scores = {tid: e.get("score") for tid, e in entries.items() if "score" in e}
    assert scores == {"T1055": 3, "T1003.001": 1, "T1574.001": 1, "T1566.001": 0, "T1027": 0}
    assert layer["gradient"]["maxValue"] == 3 and "test F1 0.80" in entries["T1055"]["comment"]
    assert "the model's training sentences" in layer["description"]
    whole = add_model(store, {}, None)  # no recorded split: every labelled sentence counts, and the layer says so
    layer, entries = layer_of(store, whole, "support")
    assert entries["T1055"]["score"] == 4 and "training split is not recorded" in layer["description"]


def test_a_model_without_test_scores_gets_a_support_layer_only(store):
    model_id = add_model(store, {}, None)
    with pytest.raises(UserError, match=f"Model #{model_id} has no test scores per technique"):
        export_model_coverage(store, model_id, "f1")
    with pytest.raises(UserError, match="Unknown coverage 'recall'; use one of f1, support"):
        export_model_coverage(store, model_id, "recall")
