"""Predictions with a trained model: suggestions for stored sentences, labels for loose texts, uncertainty order."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tram_core import metrics
from tram_core.errors import UserError
from tram_core.store import UNLABELLED, Store, TrainedModel
from tram_core.training import ProgressEvent

SUGGESTION_MIN_SCORE = 0.05
SUGGESTION_TOP_K = 10
OUTPUT_MIN_SCORE = 0.01
BATCH_SENTENCES = 256


class PredictionCancelled(Exception):
    """Raised between batches when a prediction job's cancel flag is seen; suggestions stored so far stay."""


def thresholds_of(predictor: Any) -> np.ndarray:
    """One tuned threshold per class of a loaded model (per technique, else its global one, else 0.5)."""
    thresholds = dict(getattr(predictor, "thresholds", {}) or {})
    fallback = float(thresholds.get("global", 0.5))
    return np.array([float(thresholds.get(c, fallback)) for c in predictor.classes])


def resolve_model_path(store: Store | None, model: str | int) -> Path:
    """A model given as a folder path, a model id or a model name -> its folder."""
    candidate = Path(str(model)).expanduser()
    if candidate.is_dir():
        return candidate
    if store is None:
        raise UserError(f"Model '{model}' is not a folder, and there is no store to look it up in")
    record = store.get_model(model)
    if not record.path:
        raise UserError(f"Model {record.id} ('{record.name}') has no model folder (it only holds imported "
                        "suggestions)")
    if not Path(record.path).is_dir():
        raise UserError(f"The folder of model {record.id} ('{record.name}') is missing: {record.path}")
    return Path(record.path)


def load_model(path: str | Path, device: str | None = None):
    from tram_core.trained import load_trained

    from tram_core.jobs import resolve_device

    return load_trained(path, device=resolve_device(device))


def top_scores(row: np.ndarray, classes: Sequence[str], k: int = SUGGESTION_TOP_K,
               min_score: float = SUGGESTION_MIN_SCORE) -> dict[str, float]:
    """The ``k`` best techniques of one score row with a score of at least ``min_score``."""
    order = np.argsort(-row, kind="stable")[:k]
    return {classes[j]: round(float(row[j]), 6) for j in order if row[j] >= min_score}


def run_prediction(
    store: Store,
    settings,
    model_id: int,
    report_id: int | None = None,
    progress: Callable[[Any], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> int:
    """Score one report's sentences (or every unlabelled sentence) and store the top suggestions; returns the count.

    Per sentence the best ``SUGGESTION_TOP_K`` techniques with a score of at least ``SUGGESTION_MIN_SCORE`` are
    stored (so a page can show deselected candidates too); earlier suggestions of this model for those sentences
    are replaced. Stored in batches: a cancelled run keeps what it finished.
    """
    record = store.get_model(model_id)
    emit = progress or (lambda event: None)
    cancelled = should_cancel or (lambda: False)
    if report_id is not None:
        sentences = store.sentences(report_id=report_id)
    else:
        sentences = store.sentences(status=UNLABELLED)
    total = len(sentences)
    emit(ProgressEvent("loading", 0, total, message=f"loading model {record.id} ('{record.name}')"))
    predictor = load_model(resolve_model_path(store, record.id), getattr(settings, "device", None))
    classes = list(predictor.classes)
    done = 0
    for start in range(0, total, BATCH_SENTENCES):
        if cancelled():
            raise PredictionCancelled(f"cancelled after {done} of {total} sentences")
        batch = sentences[start : start + BATCH_SENTENCES]
        scores = predictor.predict_scores([s.text for s in batch])
        store.replace_suggestions(record.id, {s.id: top_scores(row, classes) for s, row in zip(batch, scores)})
        done += len(batch)
        emit(ProgressEvent("predicting", done, total, message=f"{done} of {total} sentences scored"))
    return done


def predict_texts(model_path: str | Path, texts: Sequence[str], device: str | None = None,
                  predictor: Any = None) -> list[dict]:
    """``[{"sentence", "labels", "scores"}]`` in input order: labels at the model's tuned thresholds, scores of
    at least ``OUTPUT_MIN_SCORE`` best first."""
    predictor = predictor or load_model(model_path, device)
    texts = list(texts)
    classes = list(predictor.classes)
    cut = thresholds_of(predictor)
    out: list[dict] = []
    for start in range(0, len(texts), BATCH_SENTENCES):
        chunk = texts[start : start + BATCH_SENTENCES]
        scores = predictor.predict_scores(chunk)
        for text, row in zip(chunk, scores):
            labels = [classes[j] for j in np.argsort(-row, kind="stable") if row[j] > cut[j]]
            out.append({
                "sentence": text,
                "labels": labels,
                "scores": top_scores(row, classes, k=len(classes), min_score=OUTPUT_MIN_SCORE),
            })
    return out


def report_findings(results: Sequence[dict], classes: Sequence[str], report_threshold: float | None
                    ) -> list[tuple[str, float]]:
    """Techniques the sentences of ``results`` (predict_texts output, one report) show as a whole, most evidence first.

    With a report threshold: metrics' report rule on the output scores, as ``(technique, evidence)``. Without one
    (a model from before report thresholds): every technique of any sentence's labels, with its best score.
    """
    classes = list(classes)
    if not len(results):
        return []
    column = {c: j for j, c in enumerate(classes)}
    scores = metrics.score_matrix([row["scores"] for row in results], classes)
    if report_threshold is None:
        labelled = {t for row in results for t in row["labels"]}
        found = [(c, float(scores[:, column[c]].max())) for c in labelled]
    else:
        _, evidence = metrics.report_evidence([0] * len(results), scores)
        found = [(c, float(evidence[0, j])) for j, c in enumerate(classes) if evidence[0, j] > report_threshold]
    return sorted(found, key=lambda pair: (-pair[1], pair[0]))


def _threshold_map(model: TrainedModel) -> tuple[dict[str, float], float]:
    """Per-technique thresholds of a model record (flat or {'global', 'per_technique'} form) and its global one."""
    stored = dict(model.thresholds or {})
    global_t = float(stored.get("global", 0.5))
    per = stored.get("per_technique")
    if isinstance(per, dict):
        return {k: float(v) for k, v in per.items()}, global_t
    return {k: float(v) for k, v in stored.items()
            if k not in ("global", "report") and isinstance(v, (int, float))}, global_t


def uncertainty_order(store: Store, report_id: int | None, model_id: int | None = None) -> list[int]:
    """Unlabelled sentence ids of a report (all reports with None), most uncertain first.

    Uncertainty is the smallest margin between a stored suggestion score and that technique's tuned threshold
    (least-margin sampling: the model is least sure whether to add that technique). Sentences without a stored
    suggestion of ``model_id`` (the promoted model by default) scored below ``SUGGESTION_MIN_SCORE`` for every
    technique, or were not scored yet: they come last, in report order. Ties keep report order.
    """
    if model_id is None:
        promoted = store.promoted_model()
        if promoted is None:
            return [s.id for s in store.sentences(report_id=report_id, status=UNLABELLED)]
        model_id = promoted.id
    model = store.get_model(model_id)
    per_technique, global_t = _threshold_map(model)
    sentences = store.sentences(report_id=report_id, status=UNLABELLED)
    suggestions = store.suggestions_for([s.id for s in sentences], model_id=model_id)
    ranked: list[tuple[float, int, int]] = []
    for order, sentence in enumerate(sentences):
        pairs = suggestions.get(sentence.id) or []
        if pairs:
            margin = min(abs(score - per_technique.get(tech, global_t)) for tech, score in pairs)
        else:
            margin = float("inf")
        ranked.append((margin, order, sentence.id))
    ranked.sort()
    return [sid for _, _, sid in ranked]
