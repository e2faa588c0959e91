"""Exports: every format has a file name, a TRAM report export carries the promoted model's suggestions, and what
each export writes the parsers read back the same (TRAM JSON, CSV with formula cells, reports)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.io.dataset_helpers import MJSON_SAMPLE, corpus, fresh_store, import_sample, load
from tram_core.io.exporters import ALL_EXPORT_FORMATS, export_data
from tram_core.store import LABELLED, REVIEWED, UNLABELLED, Store

FORMULA_SENTENCES = ['=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(A1)", "\tstart"]


def test_every_export_format_has_a_filename_and_unknown_format_fails(store):
    load(store, [{"sentence": "It used WMI.", "labels": ["T1047"], "doc_title": "W"}], "w.json")
    names = {fmt: export_data(store, fmt)[1] for fmt in ALL_EXPORT_FORMATS}
    assert len(set(names.values())) == len(ALL_EXPORT_FORMATS)
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


def _report_of(store: Store, title: str, rows: list[tuple[str, tuple[str, ...]]]) -> None:
    from tram_core.store import NewSentence

    text, sentences = "", []
    for sentence, labels in rows:
        start = len(text)
        text += sentence + "\n"
        sentences.append(NewSentence(sentence, start, start + len(sentence), labels, LABELLED))
    store.add_report(title, text, sentences, user="tester")


def test_csv_export_quotes_formula_cells_and_import_restores_them(store, tmp_path):
    import pandas as pd

    rows = [(text, ("T1059",) if i % 2 else ()) for i, text in enumerate(FORMULA_SENTENCES)]
    rows += [("'=already quoted", ()), ("'plain quote", ()), ("Plain - text", ())]
    _report_of(store, "=cmd|' /C calc'!A0", rows)
    content, filename = export_data(store, "csv")

    frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    sentences = list(frame["sentence"])
    for original in FORMULA_SENTENCES:
        assert "'" + original in sentences  # the text intact after the quote: a spreadsheet shows it, runs nothing
    assert "''=already quoted" in sentences and "'plain quote" in sentences and "Plain - text" in sentences
    assert set(frame["doc_title"]) == {"'=cmd|' /C calc'!A0"}
    assert not any(str(cell).startswith(tuple("=+-@\t\r")) for cell in frame.to_numpy().ravel())

    other = fresh_store(tmp_path)
    load(other, content, filename)
    assert corpus(other) == corpus(store)
    assert [ex.text for ex in other.examples()][:len(FORMULA_SENTENCES)] == FORMULA_SENTENCES


def test_mjson_round_trip_through_multilabel(store, shared_data, tmp_path):
    import_sample(store, shared_data)
    # A reviewed answer and an unlabelled sentence must survive too.
    first, second = store.sentences()[:2]
    store.set_labels(first.id, ["T1059.001"], "tester", status=REVIEWED)
    store.set_labels(second.id, [], "tester", status=UNLABELLED)
    content, filename = export_data(store, "tram-multilabel", include_unlabelled=True)
    assert filename.endswith(".json")
    rows = json.loads(content)
    assert {r["status"] for r in rows} == {LABELLED, REVIEWED, UNLABELLED}
    other = fresh_store(tmp_path)
    load(other, content, filename)
    assert corpus(other) == corpus(store)

    default_rows = json.loads(export_data(store, "tram-multilabel")[0])
    assert len(default_rows) == len(rows) - 1 and all(r["status"] != UNLABELLED for r in default_rows)
    assert set(default_rows[0]) == {"sentence", "labels", "doc_title", "status"}


def test_round_trip_through_csv(store, shared_data, tmp_path):
    import_sample(store, shared_data)
    store.set_labels(store.sentences()[0].id, ["T1055"], "tester", status=REVIEWED)
    content, filename = export_data(store, "csv")
    header = next(csv.reader(io.StringIO(content.decode("utf-8"))))
    assert header == ["doc_title", "sentence", "labels", "status"]
    other = fresh_store(tmp_path)
    load(other, content, filename)
    assert corpus(other) == corpus(store)


def test_round_trip_through_tram_report(store, shared_data, tmp_path):
    import_sample(store, shared_data)
    path = shared_data / "reports" / "report-for-simple-testdocx.json"
    load(store, path.read_bytes(), path.name)
    store.set_labels(store.sentences()[3].id, ["T1055"], "tester", status=REVIEWED)
    content, filename = export_data(store, "tram-report")
    reports = json.loads(content)
    assert isinstance(reports, list) and len(reports) == len(MJSON_SAMPLE) + 1
    other = fresh_store(tmp_path)
    result = load(other, content, filename)
    assert result.reports_created == len(reports)
    assert corpus(other) == corpus(store)
    # Same texts and offsets: the report text came back whole.
    for a, b in zip(store.list_reports(), other.list_reports()):
        assert store.get_report(a.id).text == other.get_report(b.id).text
        assert [(s.start, s.end) for s in store.sentences(report_id=a.id)] == \
               [(s.start, s.end) for s in other.sentences(report_id=b.id)]

    one, one_name = export_data(store, "tram-report", report_id=store.list_reports()[0].id)
    single = json.loads(one)
    assert isinstance(single, dict) and single["name"] == store.list_reports()[0].title
    assert one_name.startswith("report-1-")
