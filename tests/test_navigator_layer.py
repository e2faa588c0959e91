"""ATT&CK Navigator layers: their shape, revoked IDs shown as their replacement, and a model's findings."""

from __future__ import annotations

import json

import pytest

from tests.dataset_helpers import load
from tram_core.exporters import export_data
from tram_core.navigator_layer import NAVIGATOR_MODEL_COLOR, NAVIGATOR_VERSIONS


def test_navigator_layer_shape(store, shared_data):
    rows = [{"sentence": f"Side-loading number {i} with a very long tail " + "x" * 400, "labels": ["T1574.002"],
             "doc_title": "R"} for i in range(7)]
    rows += [{"sentence": "Injected into lsass.", "labels": ["T1055.001", "T1003.001"], "doc_title": "R"},
             {"sentence": "Unlabelled.", "labels": [], "status": "unlabelled", "doc_title": "R"}]
    load(store, rows, "nav.json")
    layer = json.loads(export_data(store, "navigator")[0])
    assert layer["versions"] == NAVIGATOR_VERSIONS == {"attack": "18", "navigator": "5.1.0", "layer": "4.5"}
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


def test_a_report_layer_can_add_the_models_findings_in_their_own_colour(store):
    from tests.test_annotation import TEXTS, add_model, add_report
    from tram_core.errors import UserError

    report_id, ids = add_report(store, labels={3: ("T1003.001",)})
    with pytest.raises(UserError, match="No model to add findings from"):
        export_data(store, "navigator", report_id=report_id, model_findings=True)
    add_model(store, ids, {0: {"T1566.001": 0.93}, 2: {"T1055": 0.3}, 4: {"T1055": 0.25}, 3: {"T1003.001": 0.9}},
              thresholds={"global": 0.5, "report": 0.5})
    plain = json.loads(export_data(store, "navigator", report_id=report_id)[0])
    assert [t["techniqueID"] for t in plain["techniques"] if "score" in t] == ["T1003.001"]
    layer = json.loads(export_data(store, "navigator", report_id=report_id, model_findings=True)[0])
    entries = {t["techniqueID"]: t for t in layer["techniques"]}
    assert set(entries) == {"T1003", "T1003.001", "T1055", "T1566", "T1566.001"}  # parents expand their subs
    assert entries["T1003.001"]["score"] == 1 and "color" not in entries["T1003.001"]  # labelled: on the gradient
    finding = entries["T1055"]
    assert finding["color"] == NAVIGATOR_MODEL_COLOR and "score" not in finding
    assert finding["comment"].splitlines() == [
        "found by model #1 run-1, not labelled yet: report evidence 0.55",
        f"- {TEXTS[2]} (score 0.30)", f"- {TEXTS[4]} (score 0.25)"]
    assert {"label": "found by the model, not labelled yet", "color": NAVIGATOR_MODEL_COLOR} in layer["legendItems"]
    assert {"name": "model findings", "value": "2"} in layer["metadata"]
    other_id, _ = add_report(store, title="Not scored", texts=[t.upper() for t in TEXTS])
    with pytest.raises(UserError, match=f"Model #1 has no suggestions for report {other_id} yet"):
        export_data(store, "navigator", report_id=other_id, model_findings=True)
    with pytest.raises(UserError, match="Navigator layer of one report"):
        export_data(store, "csv", report_id=report_id, model_findings=True)
    with pytest.raises(UserError, match="Navigator layer of one report"):
        export_data(store, "navigator", model_findings=True)
