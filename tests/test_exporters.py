"""Exports: every format has a file name, and a TRAM report export carries the promoted model's suggestions."""

from __future__ import annotations

import json

import pytest

from tests.dataset_helpers import corpus, fresh_store, load
from tram_core.exporters import EXPORT_FORMATS, export_data
from tram_core.store import LABELLED


def test_every_export_format_has_a_filename_and_unknown_format_fails(store):
    load(store, [{"sentence": "It used WMI.", "labels": ["T1047"], "doc_title": "W"}], "w.json")
    names = {fmt: export_data(store, fmt)[1] for fmt in EXPORT_FORMATS}
    assert len(set(names.values())) == len(EXPORT_FORMATS)
    with pytest.raises(Exception, match="Unknown export format 'xml'"):
        export_data(store, "xml")


def test_tram_report_export_carries_the_promoted_models_suggestions(store, tmp_path):
    report = {"name": "R", "text": "It injected code. It ran whoami.", "sentences": [
        {"text": "It injected code.", "order": 0, "disposition": None, "mappings": []},
        {"text": "It ran whoami.", "order": 1, "disposition": "accept", "mappings": [{"attack_id": "T1033"}]},
    ]}
    load(store, report, "r.json")
    first = store.sentences()[0]
    model_id = store.add_model("scibert-run-3", "transformer", str(tmp_path), "embedded", ["T1055"], {}, {}, {})
    store.replace_suggestions(model_id, {first.id: {"T1055": 0.875}})
    store.promote_model(model_id)
    exported = json.loads(export_data(store, "tram-report", report_id=first.report_id)[0])
    assert exported["ml_model"] == "scibert-run-3"
    assert exported["sentences"][0]["mappings"] == [{"attack_id": "T1055", "confidence": "87.5"}]
    assert exported["sentences"][1] == {"text": "It ran whoami.", "order": 1, "disposition": "accept",
                                        "status": LABELLED, "mappings": [{"attack_id": "T1033", "confidence": "100.0"}]}
    other = fresh_store(tmp_path)
    load(other, json.dumps(exported).encode(), "exported.json")
    again = other.sentences()[0]
    imported = next(m for m in other.list_models() if m.name == "scibert-run-3")
    assert other.suggestions_for([again.id], model_id=imported.id)[again.id] == [("T1055", pytest.approx(0.875))]
    assert corpus(other) == corpus(store)
