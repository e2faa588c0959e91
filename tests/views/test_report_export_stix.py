"""A report's STIX bundle with a model's findings: every technique the model finds there by its report rule, each
best sentence a note with its score as confidence; alone, or beside the labelled sentences."""

from __future__ import annotations

import json

import pytest
from stix2validator import ValidationOptions, validate_instance

from tests.views.test_annotation import TEXTS, add_model, add_report
from tram_core.errors import UserError
from tram_core.io.stix_export import FINDING_NOTE, LABELLED_NOTE
from tram_core.views.report_export import export_with_findings


def notes_of(content: bytes) -> list[tuple[str, str, str]]:
    bundle = json.loads(content)
    assert validate_instance(bundle, ValidationOptions(version="2.1")).is_valid
    patterns = {o["id"]: o["external_references"][0]["external_id"] for o in bundle["objects"]
                if o["type"] == "attack-pattern"}
    return sorted((n["labels"][0], patterns[n["object_refs"][1]], n["content"]) for n in bundle["objects"]
                  if n["type"] == "note")


def test_a_report_bundle_adds_every_technique_the_model_finds_with_its_best_sentences(store):
    report_id, ids = add_report(store, labels={3: ("T1003.001",)})
    with pytest.raises(UserError, match="No model to add findings from"):
        export_with_findings(store, "stix", report_id=report_id, model_findings=True)
    add_model(store, ids, {0: {"T1566.001": 0.93}, 2: {"T1055": 0.3}, 4: {"T1055": 0.25}, 3: {"T1003.001": 0.9}},
              thresholds={"global": 0.5, "report": 0.5})
    found = [(FINDING_NOTE, "T1003.001", TEXTS[3]), (FINDING_NOTE, "T1055", TEXTS[2]),
             (FINDING_NOTE, "T1055", TEXTS[4]), (FINDING_NOTE, "T1566.001", TEXTS[0])]
    only, filename = export_with_findings(store, "stix", report_id=report_id, model_findings=True, labelled=False)
    assert notes_of(only) == found and filename.endswith("-stix.json")
    both = export_with_findings(store, "stix", report_id=report_id, model_findings=True)[0]
    assert notes_of(both) == [(LABELLED_NOTE, "T1003.001", TEXTS[3])] + found
    assert notes_of(export_with_findings(store, "stix", report_id=report_id)[0]) == [
        (LABELLED_NOTE, "T1003.001", TEXTS[3])]
    with pytest.raises(UserError, match="STIX bundle of one"):
        export_with_findings(store, "stix", model_findings=True)
