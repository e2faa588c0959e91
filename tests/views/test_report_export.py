"""Exports with a model's findings: a report's Navigator layer adds what the model finds there and no sentence is
labelled with, in their own colour; findings go nowhere else."""

from __future__ import annotations

import json

import pytest

from tests.views.test_annotation import TEXTS, add_model, add_report
from tram_core.errors import UserError
from tram_core.io.navigator_layer import NAVIGATOR_MODEL_COLOR
from tram_core.views.report_export import export_with_findings


def test_a_report_layer_can_add_the_models_findings_in_their_own_colour(store):
    report_id, ids = add_report(store, labels={3: ("T1003.001",)})
    with pytest.raises(UserError, match="No model to add findings from"):
        export_with_findings(store, "navigator", report_id=report_id, model_findings=True)
    add_model(store, ids, {0: {"T1566.001": 0.93}, 2: {"T1055": 0.3}, 4: {"T1055": 0.25}, 3: {"T1003.001": 0.9}},
              thresholds={"global": 0.5, "report": 0.5})
    plain = json.loads(export_with_findings(store, "navigator", report_id=report_id)[0])
    assert [t["techniqueID"] for t in plain["techniques"] if "score" in t] == ["T1003.001"]
    layer = json.loads(export_with_findings(store, "navigator", report_id=report_id, model_findings=True)[0])
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
        export_with_findings(store, "navigator", report_id=other_id, model_findings=True)
    with pytest.raises(UserError, match="Navigator layer of one report"):
        export_with_findings(store, "csv", report_id=report_id, model_findings=True)
    with pytest.raises(UserError, match="Navigator layer of one report"):
        export_with_findings(store, "navigator", model_findings=True)
