"""ATT&CK Navigator layers: their shape (format 4.5), the catalog's ATT&CK version, and revoked IDs shown as their
replacement (a model's findings: tests/views/test_report_export.py)."""

from __future__ import annotations

import json

import pytest

from tests.attack_bundles import remap_bundle
from tests.io.dataset_helpers import load
from tests.io.navigator_format import assert_layer_format
from tram_core.io.exporters import export_data
from tram_core.errors import UserError
from tram_core.io.navigator_layer import NAVIGATOR_MODEL_COLOR, NAVIGATOR_VERSIONS, ModelFindings


def test_navigator_layer_shape(store, shared_data):
    rows = [{"sentence": f"Side-loading number {i} with a very long tail " + "x" * 400, "labels": ["T1574.002"],
             "doc_title": "R"} for i in range(7)]
    rows += [{"sentence": "Injected into lsass.", "labels": ["T1055.001", "T1003.001"], "doc_title": "R"},
             {"sentence": "Unlabelled.", "labels": [], "status": "unlabelled", "doc_title": "R"}]
    load(store, rows, "nav.json")
    layer = json.loads(export_data(store, "navigator")[0])
    assert_layer_format(layer)
    assert layer["versions"] == NAVIGATOR_VERSIONS == {"attack": "18", "navigator": "5.1.0", "layer": "4.5"}
    assert {"name": "ATT&CK version", "value": "18.1"} in layer["metadata"]
    assert layer["domain"] == "enterprise-attack"
    entries = {t["techniqueID"]: t for t in layer["techniques"]}
    # T1574.002 is revoked in ATT&CK 18: the layer shows its replacement, and says so.
    assert "T1574.002" not in entries and entries["T1574.001"]["score"] == 7
    comment = entries["T1574.001"]["comment"]
    assert "T1574.002" in comment and "(and 2 more sentences)" in comment and len(comment) < 2000
    assert entries["T1055.001"]["score"] == 1 and entries["T1055"]["showSubtechniques"] is True
    assert "score" not in entries["T1055"]  # a parent shown only to expand its sub-technique
    assert layer["gradient"]["maxValue"] == 7 and len(layer["gradient"]["colors"]) >= 2
    assert layer["legendItems"] and all({"label", "color"} <= set(item) for item in layer["legendItems"])

    report_id = store.list_reports()[0].id
    per_report, filename = export_data(store, "navigator", report_id=report_id)
    assert json.loads(per_report)["name"] == "R" and filename.endswith("navigator-layer.json")


def test_given_findings_join_a_report_layer_in_their_own_colour_and_nothing_else(store):
    load(store, [{"sentence": "Injected into lsass.", "labels": ["T1055.001"], "doc_title": "R"}], "nav.json")
    report_id = store.list_reports()[0].id
    findings = ModelFindings("#7 run 7", (("T1003.001", "found by model #7 run 7"),))
    layer = json.loads(export_data(store, "navigator", report_id=report_id, findings=findings)[0])
    entries = {t["techniqueID"]: t for t in layer["techniques"]}
    assert entries["T1003.001"]["color"] == NAVIGATOR_MODEL_COLOR and "score" not in entries["T1003.001"]
    assert entries["T1055.001"]["score"] == 1 and "model #7 run 7" in layer["description"]
    with pytest.raises(UserError, match="Navigator layer of one report"):
        export_data(store, "csv", report_id=report_id, findings=findings)
    with pytest.raises(UserError, match="Navigator layer of one report"):
        export_data(store, "navigator", findings=findings)


def test_a_layer_carries_the_attack_version_the_setting_names(store, tmp_path, monkeypatch):
    load(store, [{"sentence": "Side-loaded a DLL.", "labels": ["T1574.002"], "doc_title": "R"},
                 {"sentence": "Ran PowerShell.", "labels": ["T1086"], "doc_title": "R"}], "nav.json")
    monkeypatch.setenv("TRAM_ATTACK_STIX", str(remap_bundle(tmp_path / "enterprise-attack.json")))
    layer = json.loads(export_data(store, "navigator")[0])
    assert_layer_format(layer)
    assert layer["versions"]["attack"] == "19" and {"name": "ATT&CK version", "value": "19.0"} in layer["metadata"]
    entries = {t["techniqueID"]: t for t in layer["techniques"]}
    assert entries["T1574.001"]["score"] == 1 and "T1574.002" not in entries
    assert entries["T1059.001"]["score"] == 1 and "revoked in favour of T1059.001" in entries["T1059.001"]["comment"]


def test_the_legend_names_only_the_sentence_counts_the_layer_holds(store):
    load(store, [{"sentence": "Injected into lsass.", "labels": ["T1055.001"], "doc_title": "R"},
                 {"sentence": "Dumped credentials.", "labels": ["T1003.001"], "doc_title": "R"}], "nav.json")
    single = json.loads(export_data(store, "navigator")[0])
    labels = [item["label"] for item in single["legendItems"]]
    assert labels == ["labelled in 1 sentence"]  # never "1 sentences", nor a "2 sentences" no technique has
    assert single["gradient"]["minValue"] < single["gradient"]["maxValue"]  # Navigator still gets a range
    load(store, [{"sentence": "Injected again.", "labels": ["T1055.001"], "doc_title": "S"},
                 {"sentence": "And again.", "labels": ["T1055.001"], "doc_title": "S"}], "nav2.json")
    labels = [item["label"] for item in json.loads(export_data(store, "navigator")[0])["legendItems"]]
    assert labels == ["labelled in 1 sentence", "labelled in 3 sentences"]
