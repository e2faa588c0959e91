"""Sentence reads (store/sentences.py): filters, literal text search, examples and corpus counts."""

from __future__ import annotations

from tests.store.samples import TEXT, three_sentences
from tram_core.store import UNLABELLED, NewSentence


def test_no_technique_is_a_labelled_negative_distinct_from_unlabelled(store):
    out = store.add_report("A", TEXT, three_sentences(), user="ana")
    s = store.sentences(out.report_id)
    store.set_labels(s[2].id, [], "ana")
    examples = store.examples()
    assert [(e.text, e.labels) for e in examples] == [("Nothing else happened.", ())]
    assert len(store.examples(include_unlabelled=True)) == 3
    assert store.corpus_counts()["labelled"] == 1


def test_filters_by_status_technique_and_text(store):
    out = store.add_report("A", TEXT, three_sentences(((), ("T1003.001",), ())), user="ana")
    assert [s.position for s in store.sentences(out.report_id, status=UNLABELLED)] == [0, 2]
    assert [s.position for s in store.sentences(technique="T1003.001")] == [1]
    assert [s.position for s in store.sentences(search="CMD.EXE")] == [0]


def test_text_search_takes_percent_and_underscore_literally(store):
    texts = ["Uptime was 100% all year.", "Uptime was 1000 days.", "The a_b flag was set.", "The axb flag was set.",
             "A back\\slash path."]
    text, sentences = "", []
    for sentence in texts:
        start = len(text)
        text += sentence + " "
        sentences.append(NewSentence(sentence, start, start + len(sentence)))
    store.add_report("Wildcards", text, sentences, user="ana")
    assert [s.text for s in store.sentences(search="100%")] == [texts[0]]
    assert [s.text for s in store.sentences(search="a_b")] == [texts[2]]
    assert [s.text for s in store.sentences(search="%")] == [texts[0]]
    assert [s.text for s in store.sentences(search="_")] == [texts[2]]
    assert [s.text for s in store.sentences(search="back\\slash")] == [texts[4]]
    assert len(store.sentences(search="UPTIME")) == 2
