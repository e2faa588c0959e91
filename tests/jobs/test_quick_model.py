"""The quick model: when the idle worker retrains it, what it is trained on, and when it is promoted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine_helpers import fill_store
from tram_core.jobs import quick_model


@pytest.fixture
def filled(store):
    fill_store(store)
    return store


def test_quick_model_is_trained_on_all_labels_promoted_and_suggests(filled, settings, store, monkeypatch):
    monkeypatch.setenv("TRAM_QUICK_MODEL_EVERY", "5")
    assert quick_model.should_retrain_quick_model(filled)
    model_id = quick_model.retrain_quick_model(filled, settings)
    model = filled.get_model(model_id)
    assert model.promoted and model.kind == "baseline" and model.options["quick"]
    assert model.options["examples"] == 64 and model.metrics["at_tuned"]["micro_f1"] >= 0
    unlabelled = [s.id for s in filled.sentences(status="unlabelled")]
    suggested = filled.suggestions_for(unlabelled)
    assert any(suggested[sid] for sid in unlabelled)
    assert not quick_model.should_retrain_quick_model(filled)

    labelled = filled.sentences(status="labelled")
    every = max(5, len(labelled) // 10)  # TRAM_QUICK_MODEL_EVERY, or a tenth of the labelled sentences
    for sentence in labelled[: every - 1]:
        filled.set_labels(sentence.id, [], "ana")
    assert not quick_model.should_retrain_quick_model(filled)
    filled.set_labels(labelled[every].id, [], "ana")
    assert quick_model.should_retrain_quick_model(filled)
    newer = quick_model.retrain_quick_model(filled, settings)
    assert filled.promoted_model().id == newer
    with pytest.raises(Exception):
        filled.get_model(model_id)  # the previous quick model is replaced
    assert not Path(model.path).exists()


def test_quick_model_leaves_a_promoted_trained_model_alone(filled, settings):
    other = filled.add_model("run 9", "transformer", "/nowhere", "embedded", ["T1105"], {}, {}, {}, None)
    filled.promote_model(other)
    quick = quick_model.retrain_quick_model(filled, settings)
    assert filled.promoted_model().id == other and not filled.get_model(quick).promoted


def test_no_quick_model_retrain_while_a_trained_model_is_promoted(filled, settings):
    assert quick_model.should_retrain_quick_model(filled)
    other = filled.add_model("run 9", "transformer", "/nowhere", "embedded", ["T1105"], {}, {}, {}, None)
    filled.promote_model(other)
    assert not quick_model.should_retrain_quick_model(filled)


def test_a_large_corpus_gets_one_quick_fit_on_the_split(filled, settings, monkeypatch):
    monkeypatch.setattr(quick_model, "QUICK_MODEL_SINGLE_FIT_ABOVE", 10)
    model = filled.get_model(quick_model.retrain_quick_model(filled, settings))
    assert model.options["split"]["test"] and model.metrics["at_tuned"]["micro_f1"] >= 0
    assert model.options["validation_fraction"] > 0 and model.promoted


def test_of_two_idle_workers_one_retrains_the_quick_model(filled, settings, monkeypatch):
    from tram_core.jobs import worker

    monkeypatch.setenv("TRAM_QUICK_MODEL_EVERY", "5")
    filled.register_worker("box-a:10", 10, "box-a", "cpu")
    filled.register_worker("box-b:20", 20, "box-b", "cpu")
    assert filled.take_lease(worker.QUICK_MODEL_LEASE, "box-a:10", stale_after_s=30)  # box-a is retraining it
    said = []
    worker._when_idle(filled, settings, "box-b:20", said.append)
    assert quick_model.quick_model(filled) is None and said == []  # box-b leaves it to box-a
    filled.release_lease(worker.QUICK_MODEL_LEASE, "box-a:10")
    worker._when_idle(filled, settings, "box-b:20", said.append)
    assert quick_model.quick_model(filled) is not None and said[0].startswith("quick model retrained")
    assert filled.take_lease(worker.QUICK_MODEL_LEASE, "box-a:10", stale_after_s=30)  # box-b gave it back


# --------------------------------------------------------------------------------------------------- promoted only when best


def _confused_quick(store, settings):
    from tests.views.verdict_helpers import confuse_labels

    confuse_labels(store)  # TF-IDF gets some test sentences wrong: a better model can exist
    return store.get_model(quick_model.retrain_quick_model(store, settings))


def test_the_quick_model_does_not_displace_a_better_promoted_model(filled, settings):
    from tests.views.verdict_helpers import scored_run

    first = _confused_quick(filled, settings)
    better = scored_run(filled, first, "run 4 · embedded")  # every test sentence right, on the same split
    filled.promote_model(better)
    newer = quick_model.retrain_quick_model(filled, settings)
    assert filled.promoted_model().id == better and not filled.get_model(newer).promoted
    assert [m.id for m in filled.list_models() if m.options.get("quick")] == [newer]  # the old one is gone
    promotion = json.loads(filled.get_setting(quick_model.PROMOTION_NOTE))
    assert promotion == {"model": newer, "promoted": False,
                         "why": f"model #{better} was promoted by hand and stays the source of suggestions"}


def test_the_quick_model_is_not_promoted_while_a_better_model_exists(filled, settings):
    from tests.views.verdict_helpers import scored_run
    from tram_core.jobs.options import split_dict
    from tram_core.ml.splits import grouped_split

    first = _confused_quick(filled, settings)
    assert first.promoted
    other_split = split_dict(grouped_split(filled.examples(), seed=5))
    assert other_split["test"] != first.options["split"]["test"]
    better = scored_run(filled, first, "run 4 · embedded", split=other_split)  # unpromoted, other test reports
    newer = filled.get_model(quick_model.retrain_quick_model(filled, settings))
    assert not newer.promoted and filled.promoted_model().id == first.id  # no person asked: suggestions stay
    why = json.loads(filled.get_setting(quick_model.PROMOTION_NOTE))["why"]
    assert why.startswith(f"model #{better} 'run 4 · embedded' scores better on its test sentences than the quick "
                          "recipe refitted there (micro-F1 1.000 vs ")
    assert why.endswith("): promote it to use its suggestions")


def test_the_quick_model_is_promoted_over_a_worse_model(filled, settings):
    from tests.views.verdict_helpers import zero_signal_run

    first = _confused_quick(filled, settings)
    zero_signal_run(filled, first)
    newer = quick_model.retrain_quick_model(filled, settings)
    assert filled.promoted_model().id == newer
    assert json.loads(filled.get_setting(quick_model.PROMOTION_NOTE)) == {"model": newer, "promoted": True,
                                                                          "why": ""}


def test_before_any_label_the_quick_model_learns_from_attack_and_suggests(store, settings):
    """A team that imported a report and labelled nothing gets suggestions from ATT&CK's procedure examples; its
    first 10 labelled sentences with techniques replace that model with one trained on their labels."""
    from tram_core.store import NewSentence

    assert not quick_model.should_retrain_quick_model(store)  # nothing to suggest for yet
    texts = ["The attackers used PowerShell to execute encoded commands.",
             "A registry Run key started the implant each time the user logged on.",
             "The company reported record revenue in the third quarter."]
    body = " ".join(texts)
    starts = [body.index(t) for t in texts]
    store.add_report("first report", body, [NewSentence(t, a, a + len(t), (), "unlabelled")
                                            for t, a in zip(texts, starts)], source="test://first", user="ana")
    assert quick_model.should_retrain_quick_model(store)
    cold = store.get_model(quick_model.retrain_quick_model(store, settings))
    assert cold.promoted and cold.options["cold_start"] and cold.options["examples"] == 0
    assert len(cold.classes) > 100 and {"T1059.001", "T1547.001"} <= set(cold.classes)
    suggested = store.suggestions_for([s.id for s in store.sentences(status="unlabelled")])
    best = {s.text: suggested[s.id][0] for s in store.sentences(status="unlabelled")}
    assert best[texts[0]][0] == "T1059.001" and best[texts[1]][0] == "T1547.001"
    assert min(best[texts[0]][1], best[texts[1]][1]) > 0.5 > best[texts[2]][1]  # and nothing for the revenue line
    assert not quick_model.should_retrain_quick_model(store)  # once for these reports, until the labels come
    from tram_core.views.run_verdict import quick_model_line

    assert quick_model_line(store).startswith(f"Quick model #{cold.id} (TF-IDF on ATT&CK's procedure examples "
                                              f"alone, {len(cold.classes)} techniques, no label needed)")
    assert "(10 more to go)" in quick_model_line(store) and quick_model_line(store).endswith("the suggestions.")

    # a report imported later gets suggestions too: the cold start is retrained for it (seconds)
    later = "Mimikatz dumped credentials from LSASS memory."
    store.add_report("second report", later, [NewSentence(later, 0, len(later), (), "unlabelled")],
                     source="test://second", user="ana")
    assert quick_model.should_retrain_quick_model(store)
    again = store.get_model(quick_model.retrain_quick_model(store, settings))
    assert again.options["cold_start"] and again.options["reports"] == 2 and again.promoted
    new_id = next(s.id for s in store.sentences(status="unlabelled") if s.text == later)
    assert store.suggestions_for([new_id])[new_id][0][0] == "T1003.001"
    assert not quick_model.should_retrain_quick_model(store)

    # a cold start that fails is not retried on the same reports, and never holds back the labelled quick model
    store.add_report("third report", later, [NewSentence(later, 0, len(later), (), "unlabelled")],
                     source="test://third", user="ana")
    quick_model.record_quick_model_failure(store)
    assert not quick_model.should_retrain_quick_model(store)
    cold = again

    fill_store(store)  # 64 labelled sentences
    assert quick_model.should_retrain_quick_model(store)
    labelled = store.get_model(quick_model.retrain_quick_model(store, settings))
    assert labelled.promoted and not labelled.options.get("cold_start") and labelled.options["examples"] > 60
    with pytest.raises(Exception):
        store.get_model(cold.id)  # replaced, folder and all
    assert not Path(cold.path).exists()
