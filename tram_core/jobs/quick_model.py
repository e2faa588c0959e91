"""The quick model: a TF-IDF baseline trained on every labelled sentence by the idle worker, promoted only while
it is the best model on a shared test split, so the Annotate page has suggestions early; before the first labels,
the same model trained on ATT&CK's procedure examples alone (the cold-start quick model). When to retrain it, and
the retrain itself."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

from tram_core.jobs.like_for_like import Matchup, matchup
from tram_core.jobs.options import JobError, options_dict, split_dict
from tram_core.store import Store, TrainedModel, utcnow

QUICK_MODEL_EVERY = 50
QUICK_MODEL_MIN_LABELLED = 10
QUICK_MODEL_SINGLE_FIT_ABOVE = 5000  # labelled sentences: above this, one fit on the split (TF-IDF fits get slow)
QUICK_MIN_COUNT = 3  # the quick model's label space: techniques with at least this many labelled sentences
# Before QUICK_MODEL_MIN_LABELLED sentences carry techniques: the label space of the cold-start quick model,
# techniques with at least this many ATT&CK procedure examples (172 in ATT&CK v18.1; 5-9 s of TF-IDF on 2 cores).
# On TRAM 2's test reports (split seeds 13/14/15) it scored report-level micro-F1 0.710/0.695/0.653 on TRAM's 50
# against 0.694/0.668/0.624 for TF-IDF trained on 20 labelled reports (benchmarks/quality.py --base baseline
# --procedure-modes only --cold-start-classes attack --baseline-reports 20).
QUICK_COLD_START_MIN_COUNT = 20
QUICK_MODEL_RIVALS = 5  # the newest scored models (other than quick ones) a new quick model must not lose to
PROMOTION_NOTE = "quick_model_promotion"  # setting: the last retrain's promotion decision, as JSON
FAILED_AT_EVENT = "quick_model_failed_at_event"  # setting: the label watermark of the last failed labelled retrain
COLD_START_FAILED_AT = "quick_model_cold_start_failed_at_reports"  # setting: the report count of a failed cold start


def quick_model_every() -> int:
    """New label changes between two quick-model retrains (``TRAM_QUICK_MODEL_EVERY``, default 50)."""
    try:
        return max(1, int(os.environ.get("TRAM_QUICK_MODEL_EVERY", QUICK_MODEL_EVERY)))
    except ValueError:
        return QUICK_MODEL_EVERY


def quick_model(store: Store) -> TrainedModel | None:
    """The newest quick model (TF-IDF on every labelled sentence, or the cold-start one on ATT&CK), if any."""
    for model in store.list_models(include_imported=False):
        if model.options.get("quick"):
            return model
    return None


def should_retrain_quick_model(store: Store) -> bool:
    """Whether the idle worker should retrain the quick model now.

    Never while a model other than a quick one is promoted (its suggestions are the ones shown). Before 10
    sentences carry techniques: the cold-start quick model, when there are reports it has not seen (see
    cold_start_due). Otherwise: when the quick model is still the cold-start one or there is none, or when enough
    label changes happened since the last quick model (or since a failed try): ``quick_model_every()`` (50), or a
    tenth of the labelled sentences when that is more, so a large corpus is not refitted every few minutes. A
    quick model saved in the old pickle format (which is refused when loaded) is retrained as soon as it may be.
    """
    promoted = store.promoted_model()
    if promoted is not None and not promoted.options.get("quick"):
        return False
    counts = store.corpus_counts()
    last = quick_model(store)
    if counts["with_technique"] < QUICK_MODEL_MIN_LABELLED:
        return cold_start_due(store, counts, last)
    every = retrain_every(counts)
    watermark = store.label_event_watermark()
    failed_at = store.get_setting(FAILED_AT_EVENT)
    if failed_at is not None and watermark - int(failed_at) < every:
        return False
    if last is None or quick_model_in_pickle_format(last) or is_cold_start_quick_model(last):
        return True
    return watermark - int(last.options.get("label_event_id", 0)) >= every


def cold_start_due(store: Store, counts: dict, last: TrainedModel | None) -> bool:
    """Before the first 10 labelled sentences with techniques: whether to (re)train the cold-start quick model.
    When there are sentences and no quick model yet, or the cold-start one was trained before the latest reports
    came in (the retrain suggests for them too); never twice for the same reports after a failure."""
    if counts["sentences"] == 0 or store.get_setting(COLD_START_FAILED_AT) == str(counts["reports"]):
        return False
    if last is None or quick_model_in_pickle_format(last):
        return True
    return is_cold_start_quick_model(last) and int(last.options.get("reports", -1)) != counts["reports"]


def record_quick_model_failure(store: Store) -> None:
    """Note a failed retrain so the idle worker does not retry it at once: a cold start is retried when the
    reports change, a labelled retrain after ``retrain_every`` more label changes (the first stays independent of
    the second, so a failed cold start never delays the first labelled quick model)."""
    counts = store.corpus_counts()
    if counts["with_technique"] < QUICK_MODEL_MIN_LABELLED:
        store.set_setting(COLD_START_FAILED_AT, str(counts["reports"]))
    else:
        store.set_setting(FAILED_AT_EVENT, str(store.label_event_watermark()))


def is_cold_start_quick_model(model: TrainedModel | None) -> bool:
    """Whether ``model`` is the quick model trained on ATT&CK's procedure examples alone, before any label."""
    return model is not None and bool((model.options or {}).get("quick")) and bool(model.options.get("cold_start"))


def retrain_every(counts: dict) -> int:
    """Label changes between two retrains for a corpus of ``counts`` (store.corpus_counts()):
    ``quick_model_every()``, or a tenth of the labelled sentences when that is more."""
    return max(quick_model_every(), (counts["labelled"] + counts["reviewed"]) // 10)


def quick_model_in_pickle_format(model: TrainedModel | None) -> bool:
    """Whether ``model`` is a quick model whose folder holds the old pickled baseline (never loaded; retrain it)."""
    if model is None or not model.options.get("quick") or not model.path:
        return False
    from tram_core.ml.baseline_storage import saved_with_pickle

    return saved_with_pickle(model.path)


def retrain_quick_model(store: Store, settings, user: str = "worker") -> int:
    """Train the TF-IDF baseline on the labelled sentences now and record it as the quick model; returns its id.
    Before ``QUICK_MODEL_MIN_LABELLED`` sentences carry techniques, it is the cold-start quick model instead:
    TF-IDF on ATT&CK's procedure examples alone (_fit_cold_start_quick_model), recorded with ``cold_start``.

    Up to ``QUICK_MODEL_SINGLE_FIT_ABOVE`` labelled sentences: with 3 or more reports, a first fit on
    train_model's grouped split gives the scores and tuned thresholds, then the quick model itself is fitted on
    every labelled sentence (no holdout: it is for suggestions) and keeps those thresholds; with fewer reports
    it is fitted on everything at threshold 0.5 and has no scores. Above that size one fit on the grouped split
    serves both (the TF-IDF fit takes minutes there, and 70% of a large corpus suggests as well). The model is
    promoted only as ``quick_promotion`` decides (never over a model a person promoted, never when a scored model
    beats it on the same test sentences), and then suggestions for every unlabelled sentence are refreshed; the
    decision is kept in the ``PROMOTION_NOTE`` setting for the Train page. Older quick models are deleted (record
    and folder) unless promoted: one the new one did not replace keeps making the suggestions.
    """
    from tram_core.ml.predict import run_prediction

    examples = store.examples()
    watermark = store.label_event_watermark()
    stamp = utcnow()
    reports = len({e.report_id for e in examples})
    counts = store.corpus_counts()
    cold_start = counts["with_technique"] < QUICK_MODEL_MIN_LABELLED
    if cold_start:
        reports = counts["reports"]  # the reports it suggests for (cold_start_due compares them)
        options, result, metrics, thresholds, split = _fit_cold_start_quick_model(settings, stamp)
    elif not any(e.labels for e in examples):
        raise JobError("Nothing to train the quick model on: no sentence carries a technique yet")
    else:
        options, result, metrics, thresholds, split = _fit_quick_model(store, settings, examples, reports, stamp)
    record_options = {
        **options_dict(options), "quick": True, "examples": 0 if cold_start else len(examples), "reports": reports,
        "label_event_id": watermark, "split": split_dict(split), "history": [],
    }
    record_options["procedure_examples"] = result.card.options.get("procedure_examples") or "off"
    if cold_start:
        record_options["cold_start"] = True
    name = "quick model · TF-IDF on ATT&CK" if cold_start else "quick model · TF-IDF"
    model_id = store.add_model(f"{name} · {stamp:%Y-%m-%d %H:%M}", "baseline",
                               str(result.model_dir), "baseline", list(result.classes), thresholds.to_json(),
                               metrics, record_options, None)
    promote, why = quick_promotion(store, settings, store.get_model(model_id))
    store.set_setting(PROMOTION_NOTE, json.dumps({"model": model_id, "promoted": promote, "why": why}))
    if promote:
        store.promote_model(model_id)
        run_prediction(store, settings, model_id, None)
    for older in store.list_models(include_imported=False):
        if older.id != model_id and (older.options or {}).get("quick") and not older.promoted:
            delete_model(store, settings, older.id)
    return model_id


def quick_promotion(store: Store, settings, quick: TrainedModel) -> tuple[bool, str]:
    """Whether the worker promotes the new quick model, and why not: never over a model a person promoted, and
    not when one of the newest ``QUICK_MODEL_RIVALS`` scored models scores better on the same test sentences
    (like_for_like.matchup: stored scores, or the quick recipe refitted on that model's split)."""
    promoted = store.promoted_model()
    if promoted is not None and not promoted.options.get("quick"):
        return False, f"model #{promoted.id} was promoted by hand and stays the source of suggestions"
    found = better_rival(store, settings, quick)
    if found is not None:
        rival, score = found
        where = ("on its test sentences than the quick recipe refitted there" if score.basis == "refitted own"
                 else "on the same test sentences")
        return False, (f"model #{rival.id} '{rival.name}' scores better {where} (micro-F1 {score.other:.3f} vs "
                       f"{score.own:.3f}): promote it to use its suggestions")
    return True, ""


def better_rival(store: Store, settings, quick: TrainedModel) -> tuple[TrainedModel, Matchup] | None:
    """The first of the newest ``QUICK_MODEL_RIVALS`` scored models other than quick ones that beats ``quick`` on
    the same test sentences, with the scores; None when none does."""
    rivals = [m for m in store.list_models(include_imported=False)
              if m.metrics and not (m.options or {}).get("quick")][:QUICK_MODEL_RIVALS]
    for rival in rivals:
        score = matchup(store, settings, quick, rival)
        if score.worse:
            return rival, score
    return None


def _fit_quick_model(store: Store, settings, examples: list, reports: int, stamp):
    """(options, result, metrics, thresholds, split) of the quick model's fit into models/quick-<stamp>, as
    retrain_quick_model describes: one fit on the split for a large corpus, else a scoring fit and a fit on all."""
    from tram_core.ml.training import TrainOptions, train_model

    models_dir = Path(settings.models_dir)
    output_dir = models_dir / f"quick-{stamp:%Y%m%d-%H%M%S-%f}"
    if reports >= 3 and len(examples) > QUICK_MODEL_SINGLE_FIT_ABOVE:
        options = TrainOptions(base="baseline", min_count=QUICK_MIN_COUNT)
        result = train_model(examples, options, settings, output_dir, store=store)
        return options, result, dict(result.metrics), result.thresholds, result.split
    metrics, tuned, scored, split = {}, None, None, None
    if reports >= 3:
        scored_dir = models_dir / f".quick-eval-{stamp:%Y%m%d-%H%M%S-%f}"
        try:
            scored = train_model(examples, TrainOptions(base="baseline", min_count=QUICK_MIN_COUNT), settings,
                                 scored_dir, store=store)
            metrics, tuned, split = dict(scored.metrics), scored.thresholds, scored.split
        finally:
            shutil.rmtree(scored_dir, ignore_errors=True)
    options = TrainOptions(base="baseline", min_count=QUICK_MIN_COUNT, validation_fraction=0.0, test_fraction=0.0)
    result = train_model(examples, options, settings, output_dir, store=store)
    thresholds = result.thresholds
    if tuned is not None and scored is not None and list(result.classes) == list(scored.classes):
        thresholds = tuned
        # The folder's card must decide as the model row does: the scoring fit's thresholds and scores.
        dataclasses.replace(result.card, thresholds=tuned, evaluation=metrics).write(result.model_dir)
    return options, result, metrics, thresholds, split


def _fit_cold_start_quick_model(settings, stamp):
    """(options, result, metrics, thresholds, split) of the cold-start quick model: TF-IDF on ATT&CK's procedure
    examples alone, every technique with ``QUICK_COLD_START_MIN_COUNT`` of them; no analyst's sentence is read, so
    there is no test split and no score."""
    from tram_core.ml.training import TrainOptions, train_model

    options = TrainOptions(base="baseline", procedure_examples="only", min_count=QUICK_COLD_START_MIN_COUNT)
    result = train_model([], options, settings, Path(settings.models_dir) / f"quick-{stamp:%Y%m%d-%H%M%S-%f}")
    return options, result, {}, result.thresholds, None


def delete_model(store: Store, settings, model_id: int) -> TrainedModel:
    """Delete a model record, its suggestions and (when it lies in the models folder, TRAM_MODELS_DIR) its folder."""
    record = store.delete_model(model_id)
    if record.path:
        path = Path(record.path).resolve()
        models_dir = Path(settings.models_dir).resolve()
        if models_dir in path.parents and path.exists():
            shutil.rmtree(path, ignore_errors=True)
    return record
