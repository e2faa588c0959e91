"""TRAM's JSON datasets: multi-label and single-label rows and report exports, real and hand-made."""

from __future__ import annotations

import json

import pytest

from tests.io.dataset_helpers import check_offsets, corpus, load
from tram_core.attack import TRAM_CLASSES
from tram_core.io.dataset_checks import DatasetError
from tram_core.store import LABELLED, REVIEWED, UNLABELLED


def test_multilabel_groups_by_doc_title_and_keeps_negatives(store):
    rows = [
        {"sentence": "The actor injected code into explorer.exe.", "labels": ["T1055"], "doc_title": "A"},
        {"sentence": "The weather was nice.", "labels": [], "doc_title": "A"},
        {"sentence": "It listed running processes and services.", "labels": ["T1057", "T1007"], "doc_title": "B"},
        {"sentence": "No title on this one uses WMI.", "labels": ["T1047"]},
    ]
    result = load(store, rows, "seed.json")
    assert result.kind == "tram-multilabel"
    assert result.reports_created == 3 and result.sentences == 4 and result.labelled == 4
    assert corpus(store) == [
        ("A", "The actor injected code into explorer.exe.", ("T1055",), LABELLED),
        ("A", "The weather was nice.", (), LABELLED),
        ("B", "It listed running processes and services.", ("T1007", "T1057"), LABELLED),
        ("seed", "No title on this one uses WMI.", ("T1047",), LABELLED),
    ]
    assert any("without doc_title" in w for w in result.warnings)
    report_a = store.get_report(store.list_reports()[0].id)
    assert report_a.text == "The actor injected code into explorer.exe.\nThe weather was nice."
    check_offsets(store)


def test_status_field_keeps_reviewed_and_unlabelled_rows(store):
    rows = [
        {"sentence": "Reviewed.", "labels": ["T1055"], "status": "reviewed"},
        {"sentence": "Not answered yet.", "labels": [], "status": "unlabelled"},
    ]
    load(store, rows, "s.json")
    assert [(s.text, s.status) for s in store.sentences()] == [("Reviewed.", REVIEWED), ("Not answered yet.", UNLABELLED)]
    with pytest.raises(DatasetError, match="row 1: an unlabelled row cannot carry labels"):
        load(store, [{"sentence": "X.", "labels": ["T1055"], "status": "unlabelled"}], "bad-status.json")
    with pytest.raises(DatasetError, match="row 1: 'status' must be one of"):
        load(store, [{"sentence": "X.", "labels": [], "status": "done"}], "bad-status.json")


def test_single_label_rows_merge_labels_per_text_and_document(store):
    rows = [
        {"text": "dumped LSASS and injected code", "label": "T1003.001", "doc_title": "R1"},
        {"text": "dumped LSASS and injected code", "label": "T1055", "doc_title": "R1"},
        {"text": "dumped LSASS and injected code", "label": "T1055", "doc_title": "R2"},
        {"text": "ran whoami", "label": "T1033", "doc_title": "R1"},
    ]
    result = load(store, rows, "single.json")
    assert result.kind == "tram-single-label"
    assert corpus(store) == [
        ("R1", "dumped LSASS and injected code", ("T1003.001", "T1055"), LABELLED),
        ("R1", "ran whoami", ("T1033",), LABELLED),
        ("R2", "dumped LSASS and injected code", ("T1055",), LABELLED),
    ]


def test_single_label_real_export(store, shared_data):
    path = shared_data / "tram2" / "single_label.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    result = load(store, path.read_bytes(), path.name)
    distinct = {(r["doc_title"], r["text"]) for r in rows}
    assert result.sentences == len(distinct) == store.corpus_counts()["labelled"]
    assert result.reports_created == len({r["doc_title"] for r in rows})
    labels = {tech for ex in store.examples() for tech in ex.labels}
    assert labels <= set(TRAM_CLASSES) and "T1574.002" in labels
    check_offsets(store)


def test_single_label_bad_row_names_the_row(store):
    rows = [{"text": "a", "label": "T1055", "doc_title": "R"}, {"text": "b", "doc_title": "R"},
            {"text": "c", "label": 1055, "doc_title": "R"}]
    with pytest.raises(DatasetError) as caught:
        load(store, rows, "single.json")
    assert "row 2: missing 'label'" in str(caught.value) and "row 3: technique ID must be text" in str(caught.value)
    assert store.corpus_counts()["sentences"] == 0


def test_report_export_real_training_data(store, shared_data):
    path = shared_data / "tram1" / "test-training-data.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    result = load(store, path.read_bytes(), path.name)
    assert result.kind == "tram-report" and result.reports_created == 1
    sentences = store.sentences()
    assert len(sentences) == len(data["sentences"])
    accepted = [s for s in data["sentences"] if s["disposition"] == "accept"]
    assert sum(1 for s in sentences if s.status == LABELLED) == len(accepted)
    by_text = {s.text: s for s in sentences}
    first = data["sentences"][0]
    assert by_text[first["text"]].labels == tuple(sorted(m["attack_id"] for m in first["mappings"]))
    # The report's "text" does not hold its sentences, so the stored text is the sentences joined.
    assert store.get_report(sentences[0].report_id).text.startswith(first["text"])
    check_offsets(store)


def test_report_export_with_suggestions_and_old_ids(store, shared_data):
    path = shared_data / "reports" / "report-for-simple-testdocx.json"
    result = load(store, path.read_bytes(), path.name)
    report = store.get_report(result.outcomes[0].report_id)
    assert report.text == "Test data sentence 1. Test data sentence 2. Test sentence 3. Test sentence 4."
    s1, s2, s3, s4 = store.sentences(report_id=report.id)
    assert (s1.status, s2.status, s3.status, s4.status) == (UNLABELLED, LABELLED, UNLABELLED, LABELLED)
    assert s2.labels == ()  # accepted with no mapping: a labelled negative
    assert s4.labels == ("T1003.004", "T1200")  # PRE-ATT&CK T1396 and T1256 dropped with a warning
    assert (s1.start, s1.end) == (0, 21) and report.text[s4.start:s4.end] == "Test sentence 4."
    model = next(m for m in store.list_models() if m.name == "DummyModel")
    suggested = store.suggestions_for([s1.id, s3.id], model_id=model.id)
    assert sorted(suggested[s1.id]) == [("T1053.002", pytest.approx(0.642)), ("T1059.005", pytest.approx(0.928))]
    assert suggested[s3.id] == []  # T1321 and T1345 are retired PRE-ATT&CK IDs
    assert any("T1321" in w and "T1345" in w for w in result.warnings)
    assert any("T1256" in w and "T1396" in w for w in result.warnings)


def test_report_export_unknown_accepted_id_is_an_error(store):
    report = {"name": "R", "text": "One. Two.", "sentences": [
        {"text": "One.", "order": 0, "disposition": "accept", "mappings": [{"attack_id": "T1055", "confidence": "100"}]},
        {"text": "Two.", "order": 1, "disposition": "accept", "mappings": [{"attack_id": "T1999", "confidence": "99"}]},
    ]}
    with pytest.raises(DatasetError, match=r"sentence 2: unknown technique 'T1999'"):
        load(store, report, "r.json")
    assert store.corpus_counts()["reports"] == 0
