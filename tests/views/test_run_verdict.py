"""A run's verdict against a real quick model and the promoted model on the same test sentences, the promotion that
asks first, and the quick model's line on the Train page."""

from __future__ import annotations

import pytest

from tests.engine_helpers import fill_store
from tests.views.verdict_helpers import confuse_labels, scored_run, zero_signal_run
from tram_core.errors import UserError
from tram_core.jobs import like_for_like, queue, quick_model
from tram_core.jobs.runner import run_job
from tram_core.store import JOB_DONE
from tram_core.views import run_history
from tram_core.views.run_verdict import check_promotion, quick_model_line, run_verdict


@pytest.fixture
def quick(store, settings):
    """A real quick model on a corpus where TF-IDF gets some test sentences wrong (promoted: nothing else is)."""
    fill_store(store)
    confuse_labels(store)
    return store.get_model(quick_model.retrain_quick_model(store, settings))


def _baseline_run(store, settings, seed: int) -> int:
    job_id = queue.submit_training(store, {"base": "baseline", "min_count": 2, "seed": seed}, "tester")
    assert run_job(store, settings, store.claim_job(job_id, "w", "cpu")) == JOB_DONE
    return store.get_job(job_id).model_id


def test_a_run_that_learned_nothing_is_worse_than_the_quick_model(store, settings, quick):
    zero = store.get_model(zero_signal_run(store, quick))
    verdict = run_verdict(store, settings, zero)
    tested = len(quick.options["split"]["test"])
    quick_f1 = quick.metrics["at_tuned"]["micro_f1"]
    assert 0 < quick_f1 < 1
    assert verdict.lines == (
        "scores 0.000 at 0.5: the model has not learned yet",
        "the tuned threshold sits at the grid's edge (0.05): train longer or with more data",
        f"worse than the promoted quick model on the same {tested} test sentences (micro-F1 0.000 vs "
        f"{quick_f1:.3f}): do not promote")
    assert verdict.sentence.startswith("Scores 0.000 at 0.5") and verdict.sentence.endswith("do not promote.")


def test_a_better_run_says_by_how_much_and_a_tie_says_so(store, settings, quick):
    hand_picked = zero_signal_run(store, quick, "run 3 · embedded")
    store.promote_model(hand_picked)
    good = store.get_model(scored_run(store, quick, "run 4 · embedded"))
    verdict = run_verdict(store, settings, good)
    tested = len(quick.options["split"]["test"])
    quick_f1 = quick.metrics["at_tuned"]["micro_f1"]
    assert verdict.lines == (
        f"better than the quick model by {1 - quick_f1:+.3f} micro-F1 on the same {tested} test sentences "
        f"(micro-F1 1.000 vs {quick_f1:.3f})",
        f"better than the promoted model #{hand_picked} by +1.000 micro-F1 on the same {tested} test sentences "
        "(micro-F1 1.000 vs 0.000)")
    assert not verdict.worse
    store.promote_model(good.id)
    twin = store.get_model(scored_run(store, quick, "run 5 · embedded"))
    assert run_verdict(store, settings, twin).lines[-1] == (
        f"on a par with the promoted model #{good.id} on the same {tested} test sentences (micro-F1 1.000 vs 1.000)")


def test_a_run_on_other_test_reports_meets_the_quick_recipe_refitted_on_its_split(store, settings, quick,
                                                                                  monkeypatch):
    own = store.get_model(_baseline_run(store, settings, seed=5))
    assert set(own.options["split"]["test"]) != set(quick.options["split"]["test"])
    verdict = run_verdict(store, settings, own)
    [line] = verdict.lines
    assert f"on this run's {len(own.options['split']['test'])} test sentences" in line
    assert "its TF-IDF recipe refitted here" in line
    from tram_core.ml import training

    monkeypatch.setattr(training, "train_model", lambda *a, **k: pytest.fail("the refit is cached"))
    assert run_verdict(store, settings, own).lines == verdict.lines


def test_two_transformers_on_different_test_reports_are_not_comparable(store, settings, quick):
    split = dict(quick.options["split"])
    shown = [e.sentence_id for e in store.examples() if e.sentence_id not in set(split["test"])][:12]
    other = store.get_model(scored_run(store, quick, "run 6 · bert", split={**split, "test": shown}))
    store.promote_model(other.id)
    run = store.get_model(scored_run(store, quick, "run 7 · embedded"))
    line = next(l for l in run_verdict(store, settings, run).lines if "promoted" in l)
    tested = len(split["test"])
    assert line == (f"not comparable with the promoted model #{other.id}: scored on different test sentences "
                    f"({tested} vs 12) (micro-F1 1.000 vs 1.000); train with the same test reports to compare them")


def test_a_run_without_test_scores_is_not_judged(store, settings):
    model_id = store.add_model("no test", "transformer", "/nowhere", "embedded", ["T1105"], {}, {}, {}, None)
    assert run_verdict(store, settings, store.get_model(model_id)).lines == (
        "no test scores (no test reports): nothing to judge it by",)


def test_promoting_a_worse_run_needs_the_confirmation(store, settings, quick):
    zero = zero_signal_run(store, quick)
    with pytest.raises(UserError) as refused:
        check_promotion(store, settings, zero, anyway=False, confirm="add --anyway")
    message = str(refused.value)
    assert message.startswith(f"Not promoted: model #{zero} is worse than the promoted quick model on the same ")
    assert message.endswith("; add --anyway to promote it anyway.") and "\n" not in message
    assert check_promotion(store, settings, zero, anyway=True, confirm="add --anyway").worse
    good = scored_run(store, quick, "run 4 · embedded")
    assert not check_promotion(store, settings, good, anyway=False, confirm="add --anyway").worse
    with pytest.raises(UserError, match="There is no trained model 999"):
        check_promotion(store, settings, 999, anyway=False, confirm="add --anyway")


def test_the_history_shows_each_run_s_verdict(store, settings, quick, monkeypatch):
    monkeypatch.setattr(run_history, "REFITTED_RUNS", 1)
    older = _baseline_run(store, settings, seed=5)
    newer = _baseline_run(store, settings, seed=7)
    history = run_history.run_history(store, settings=settings).set_index("model")
    assert "its TF-IDF recipe refitted here" in history.loc[newer, "verdict"]
    assert history.loc[older, "verdict"].startswith("not comparable with the promoted quick model: scored on "
                                                    "different test sentences")
    assert history.loc[older, "verdict"].endswith("open it on Evaluate to compare them like-for-like")
    run_verdict(store, settings, store.get_model(older))  # as Evaluate does: the refit is made, and kept
    history = run_history.run_history(store, settings=settings).set_index("model")
    assert "its TF-IDF recipe refitted here" in history.loc[older, "verdict"]


def test_the_quick_model_line_says_when_on_what_and_whether_it_suggests(store, settings):
    assert quick_model_line(store).startswith("Quick model: once a report is imported, the worker trains a TF-IDF "
                                              "model on ATT&CK's procedure examples")
    fill_store(store)
    assert quick_model_line(store).endswith("it has not done so yet (is a worker running?).")
    confuse_labels(store)
    quick = store.get_model(quick_model.retrain_quick_model(store, settings))
    line = quick_model_line(store)
    assert line.startswith(f"Quick model #{quick.id} (TF-IDF, retrained by the worker on its own): last retrained "
                           f"{quick.created_at:%Y-%m-%d %H:%M} UTC on 64 labelled sentences from 4 reports, test "
                           f"micro-F1 {quick.metrics['at_tuned']['micro_f1']:.3f}; 0 label changes since")
    assert line.endswith("It is promoted: it makes the suggestions.")
    better = scored_run(store, quick, "run 4 · embedded")
    newer = quick_model.retrain_quick_model(store, settings)
    line = quick_model_line(store)
    assert line.startswith(f"Quick model #{newer} ") and f"Not promoted: model #{better} 'run 4 · embedded' " \
        "scores better on the same test sentences (micro-F1 1.000 vs " in line


def test_matchups_tell_ties_from_wins():
    assert like_for_like.Matchup(0.5, 0.503, 10, "stored").like_for_like
    assert not like_for_like.Matchup(0.5, 0.503, 10, "stored").worse
    assert like_for_like.Matchup(0.5, 0.51, 10, "stored").worse
    assert not like_for_like.Matchup(0.5, 0.1, note="different").better


def test_a_threshold_at_either_end_of_the_run_s_curve_says_to_train_more():
    from tests.views.run_samples import sample_metrics
    from tram_core.views.run_verdict import learning_lines

    healthy = sample_metrics()
    assert learning_lines(healthy) == []
    for edge in (0.1, 0.9):  # the ends of this run's curve, not of the default grid
        metrics = {**healthy, "thresholds": {**healthy["thresholds"], "global": edge}}
        assert learning_lines(metrics) == [f"the tuned threshold sits at the grid's edge ({edge:.2f}): train longer "
                                           "or with more data"]


def test_a_refit_that_cannot_be_made_says_why(store, settings, quick):
    zero = store.get_model(zero_signal_run(store, quick))
    gone = store.add_model("run 8 · embedded", "transformer", "/nowhere", "embedded", list(zero.classes),
                           zero.thresholds, zero.metrics, {"split": {"test": [99999], "seed": 13}}, None)
    [line] = [l for l in run_verdict(store, settings, store.get_model(gone)).lines if "quick" in l]
    assert line.startswith("not comparable with the promoted quick model: the TF-IDF refit failed: ")
    assert line.endswith("train with the same test reports to compare them")
