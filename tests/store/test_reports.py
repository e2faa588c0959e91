"""Reports (store/reports.py): stored once per text, checked before any write, summarised and deleted."""

from __future__ import annotations

import pytest

from tests.store.samples import TEXT, three_sentences
from tram_core.store import (
    LABELLED,
    REVIEWED,
    UNLABELLED,
    NewReport,
    NewSentence,
    NewSuggestion,
    NotFoundError,
    StoreError,
)


def test_same_report_twice_is_not_duplicated_and_says_so(store):
    first = store.add_report("A", TEXT, three_sentences(), user="ana")
    again = store.add_report("A copy", "  " + TEXT.replace(" ", "  ") + "\n", [], user="bo")
    assert first.created and not again.created
    assert again.report_id == first.report_id
    assert "already imported" in again.message
    assert len(store.list_reports()) == 1


def test_report_summary_counts_progress_and_techniques(store):
    out = store.add_report("A", TEXT, three_sentences(((), ("T1003.001",), ())), user="ana")
    sentences = store.sentences(out.report_id)
    store.set_labels(sentences[0].id, ["T1059.003"], "ana", status=REVIEWED)
    summary = store.list_reports()[0]
    assert (summary.sentences, summary.labelled, summary.reviewed) == (3, 1, 1)
    assert summary.techniques == ("T1003.001", "T1059.003")
    assert summary.progress == pytest.approx(2 / 3)


def test_bad_input_is_rejected_and_leaves_data_untouched(store):
    with pytest.raises(StoreError, match="offsets"):
        store.add_report("Bad", "short", [NewSentence("short", 0, 99)])
    with pytest.raises(StoreError, match="no text"):
        store.add_report("Empty", "   ", [])
    assert store.list_reports() == []
    out = store.add_report("A", TEXT, three_sentences(), user="ana")
    sid = store.sentences(out.report_id)[0].id
    with pytest.raises(StoreError, match="status"):
        store.set_labels(sid, ["T1003"], "ana", status="done")
    with pytest.raises(NotFoundError):
        store.set_labels(999, ["T1003"], "ana")
    assert store.get_sentence(sid).labels == ()


def test_delete_report_removes_its_sentences_but_keeps_history(store):
    out = store.add_report("A", TEXT, three_sentences(((), ("T1003.001",), ())), user="ana")
    store.delete_report(out.report_id, user="ana")
    assert store.list_reports() == [] and store.sentences() == []
    assert store.technique_counts() == {}
    assert any(e.action == "delete-report" for e in store.label_history())


def test_a_labelled_import_keeps_its_labels_one_history_row_and_its_suggestions(store):
    labels = ((), ("T1003.001", "T1003.001", "T1003"), ())
    suggestions = [NewSuggestion(0, "T1059.003", 0.2), NewSuggestion(0, "T1059.003", 0.7),
                   NewSuggestion(2, "T1105", 0.4)]
    report = NewReport("A", TEXT, three_sentences(labels), source="file.json", suggestions=suggestions,
                       suggestion_model="from file")
    [out] = store.add_reports([report], user="ana")
    assert (out.created, out.sentences, out.labelled, out.message) == (True, 3, 1, "imported")
    s0, s1, s2 = store.sentences(out.report_id)
    assert s1.labels == ("T1003", "T1003.001") and (s1.status, s1.version, s1.updated_by) == (LABELLED, 1, "ana")
    assert (s0.status, s0.version, s0.updated_by, s0.updated_at) == (UNLABELLED, 0, "", None)
    [event] = store.label_history()
    assert (event.action, event.report_id, event.user) == ("import-report", out.report_id, "ana")
    assert event.after_labels == ("1 answered sentences, 2 labels",)
    holder = store.get_model("from file")
    assert holder.kind == "imported" and not holder.promoted
    assert store.suggestions_for([s0.id, s2.id], model_id=holder.id) == {s0.id: [("T1059.003", 0.7)],
                                                                         s2.id: [("T1105", 0.4)]}

    other = "Other text here."
    store.add_report("B", other, [NewSentence(other, 0, len(other))], suggestions=[NewSuggestion(0, "T1105", 0.5)],
                     suggestion_model="from file")
    assert [m.name for m in store.list_models()] == ["from file"]  # one holder per imported model name
    assert len(store.label_history()) == 1  # an import without answers writes no history


def test_a_report_with_a_dangling_suggestion_or_a_lone_surrogate_is_refused_before_any_write(store):
    dangling = NewReport("A", TEXT, three_sentences(), suggestions=[NewSuggestion(3, "T1105", 0.5)])
    with pytest.raises(StoreError, match="points at sentence 3"):
        store.add_reports([NewReport("Fine", "Fine text.", []), dangling])
    with pytest.raises(StoreError, match="lone surrogate"):
        store.add_report("Broken", "Bad \ud800 text", [])
    assert store.list_reports() == [] and store.list_models() == []
