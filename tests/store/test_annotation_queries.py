"""The Annotate page's narrow reads (store/annotation_queries.py) agree with the general ones."""

from __future__ import annotations

from tests.store.samples import TEXT, add_sample_model, three_sentences
from tram_core.store import LABELLED, UNLABELLED, NewSentence

OTHER = "Other text here."


def test_titles_counts_and_sentences_match_the_general_reads(store):
    a = store.add_report("A", TEXT, three_sentences(((), ("T1003.001",), ())), user="ana")
    b = store.add_report("B", OTHER, [NewSentence(OTHER, 0, len(OTHER))])
    assert store.annotation_report_titles() == {a.report_id: "A", b.report_id: "B"}
    assert store.annotation_status_counts() == {UNLABELLED: 3, LABELLED: 1}
    assert store.annotation_status_counts(b.report_id) == {UNLABELLED: 1}
    assert store.annotation_report_sentences(a.report_id) == store.sentences(a.report_id)
    ids = [s.id for s in store.sentences()]
    assert store.annotation_sentences_by_id([ids[3], 999, ids[1]]) == [store.get_sentence(ids[3]),
                                                                        store.get_sentence(ids[1])]


def test_change_marker_moves_on_labels_suggestions_and_imports(store):
    assert store.annotation_change_marker() == (0, 0, 0)
    store.add_report("A", TEXT, three_sentences(), user="ana")
    labels, suggestions, reports = store.annotation_change_marker()
    assert (labels, suggestions) == (0, 0) and reports > 0
    sid = store.sentences()[0].id
    store.set_labels(sid, ["T1003"], "ana")
    assert store.annotation_change_marker()[0] == store.label_event_watermark() > 0
    store.replace_suggestions(add_sample_model(store), {sid: {"T1003": 0.9}})
    assert store.annotation_change_marker()[1] > 0


def test_suggested_with_gives_the_best_scored_sentences_of_one_model_and_technique(store):
    store.add_report("A", TEXT, three_sentences(), user="ana")
    s1, s2, s3 = [s.id for s in store.sentences()]
    model = add_sample_model(store)
    store.replace_suggestions(model, {s1: {"T1105": 0.2}, s2: {"T1105": 0.9, "T1059.003": 0.95}, s3: {"T1105": 0.5}})
    assert store.annotation_suggested_with("T1105", model, limit=2) == {s2: 0.9, s3: 0.5}
    assert store.annotation_suggested_with("T1059.003", model) == {s2: 0.95}
    assert store.annotation_suggested_with("T1105", model + 1) == {}
