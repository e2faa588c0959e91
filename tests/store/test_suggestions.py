"""Suggestions (store/suggestions.py): replaced per model and sentence, read best first."""

from __future__ import annotations

from tests.engine_helpers import fill_store
from tests.store.samples import add_sample_model


def test_suggestions_are_replaced_per_model_and_sentence_and_come_best_first(store):
    fill_store(store, reports=2, per_technique=1, unlabelled=2)
    s1, s2, s3 = [s.id for s in store.sentences()][:3]
    a = add_sample_model(store, "run 1")
    b = add_sample_model(store, "run 2")
    store.replace_suggestions(a, {s1: {"T1105": 0.2, "T1059.003": 0.9}, s2: {"T1105": 0.6}})
    store.replace_suggestions(b, {s1: {"T1105": 0.99}})
    assert store.suggestions_for([s1, s2, s3]) == {s1: [], s2: [], s3: []}  # nothing promoted yet

    store.promote_model(a)
    got = store.suggestions_for([s1, s2, s3])
    assert got[s1] == [("T1059.003", 0.9), ("T1105", 0.2)]
    assert got[s2] == [("T1105", 0.6)] and got[s3] == []

    store.replace_suggestions(a, {s1: {"T1105": 0.4}})  # s1 replaced, s2 untouched
    got = store.suggestions_for([s1, s2])
    assert got == {s1: [("T1105", 0.4)], s2: [("T1105", 0.6)]}
    assert store.suggestions_for([s1], model_id=b) == {s1: [("T1105", 0.99)]}

    store.delete_model(a)
    assert store.suggestions_for([s1, s2], model_id=a) == {s1: [], s2: []}
    assert store.promoted_model() is None
