"""The pages' ATT&CK exports: a STIX bundle of a report or the corpus (labelled, the model's findings, or both), a
model's coverage layer, the ATT&CK version caption; any role that may export gets them."""

from __future__ import annotations

import json

import pytest

from tests.attack_bundles import stored_report
from tests.views.test_annotation import add_model, add_report
from tram_core.access import Actor, PermissionDenied
from tram_core.errors import UserError
from tram_core.services import exports as svc

VIEWER = Actor("vic", "viewer")


def note_kinds(prepared: svc.ExportFile) -> list[str]:
    bundle = json.loads(prepared.content)
    return sorted(o["labels"][0] for o in bundle["objects"] if o["type"] == "note")


def test_a_viewer_exports_stix_of_a_report_or_the_corpus(ctx):
    report_id, ids = add_report(ctx.store, labels={3: ("T1003.001",)})
    stored_report(ctx.store)
    corpus = svc.stix_export(ctx, VIEWER, None)
    assert corpus.filename == "tram-corpus-stix.json" and corpus.mime == "application/json"
    assert corpus.button.startswith("Download tram-corpus-stix.json (")
    assert len([o for o in json.loads(corpus.content)["objects"] if o["type"] == "report"]) == 2
    with pytest.raises(UserError, match="No model to add findings from"):
        svc.stix_export(ctx, VIEWER, report_id, "both")
    add_model(ctx.store, ids, {0: {"T1566.001": 0.93}, 3: {"T1003.001": 0.9}}, thresholds={"global": 0.5})
    assert note_kinds(svc.stix_export(ctx, VIEWER, report_id, "model")) == ["tram-model-finding"] * 2
    assert note_kinds(svc.stix_export(ctx, VIEWER, report_id, "both")) == ["tram-labelled"] + ["tram-model-finding"] * 2
    assert svc.stix_possible("labelled", None) and not svc.stix_possible("model", None)
    with pytest.raises(UserError, match="Unknown STIX content 'all'"):
        svc.stix_export(ctx, VIEWER, report_id, "all")


def test_a_models_coverage_layer_and_the_attack_version(ctx, monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "local")  # team mode: only a signed-in user acts
    model_id = ctx.store.add_model("run-3", "transformer", "/nowhere", "embedded", ["T1055", "T1027"],
                                   {"global": 0.5}, {"at_tuned": {"per_technique": [
                                       {"technique": "T1055", "f1": 0.9, "precision": 1.0, "recall": 0.82,
                                        "support": 11}]}}, {})
    assert model_id in svc.coverage_models(ctx).ids
    layer = json.loads(svc.coverage_layer(ctx, VIEWER, model_id, "f1").content)
    assert {t["techniqueID"]: t.get("score") for t in layer["techniques"]} == {"T1055": 0.9, "T1027": None}
    support = svc.coverage_layer(ctx, VIEWER, model_id, "support")
    assert support.filename == f"model-{model_id}-support-navigator-layer.json"
    with pytest.raises(PermissionDenied, match="sign in first"):
        svc.coverage_layer(ctx, "vic", model_id)
    assert svc.attack_version(ctx) == "ATT&CK v18.1 (embedded)"
