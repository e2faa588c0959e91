"""Predictions with a trained model: suggestions for stored sentences and labels for loose texts."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tram_core.errors import UserError
from tram_core.ml.device import resolve_device
from tram_core.ml.technique_scores import score_matrix
from tram_core.ml.thresholds import Thresholds
from tram_core.ml.training_run import ProgressEvent
from tram_core.store import UNLABELLED, Store

SUGGESTION_MIN_SCORE = 0.05
SUGGESTION_TOP_K = 10
OUTPUT_MIN_SCORE = 0.01
BATCH_SENTENCES = 256


class PredictionCancelled(Exception):
    """Raised between batches when a prediction job's cancel flag is seen; suggestions stored so far stay."""


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
    """A model folder loaded fresh, scoring in bf16 where the device does that fast (see scoring_bf16)."""
    from tram_core.ml.trained import load_trained

    device = resolve_device(device)
    predictor = load_trained(path, device=device)
    predictor.bf16 = scoring_bf16(device)
    return predictor


def scoring_bf16(device: str) -> bool:
    """bf16 autocast for scoring on CPUs with AMX or AVX512-BF16 and on GPUs with native bf16 (compute capability
    8.0 and later); TRAM_PREDICT_BF16=0 turns it off, =1 forces it.

    benchmarks/predict_speed.py measures what it changes: the share of sentences whose stored suggestions differ.
    """
    from tram_core.ml.training_loop import use_bf16

    setting = os.environ.get("TRAM_PREDICT_BF16", "auto").strip().lower()
    if setting in ("0", "off", "false", "no"):
        return False
    if setting in ("1", "on", "true", "yes"):
        return True
    if device.startswith("cuda"):
        import torch

        return torch.cuda.is_available() and torch.cuda.get_device_capability(device)[0] >= 8
    return use_bf16(device, "auto")


MODELS_KEPT_LOADED = 2
_loaded: OrderedDict[tuple, Any] = OrderedDict()
_loaded_lock = threading.Lock()


def loaded_model(path: str | Path, device: str | None = None):
    """The model at ``path``, loaded once per process and kept for the next job (the last MODELS_KEPT_LOADED).

    Only CPU models are kept: a model kept on a GPU would take memory the next training run needs. The key is the
    folder, the device and every file's name, size, inode and times: a folder changed in any way (written again,
    a file swapped) is loaded afresh and checked again, never served from memory.
    """
    folder = Path(path).resolve()
    device = resolve_device(device)
    stamp = _folder_stamp(folder)
    if device != "cpu" or not stamp:
        return load_model(folder, device)
    key = (str(folder), device, stamp)
    with _loaded_lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        predictor = load_model(folder, device)
        _loaded[key] = predictor
        while len(_loaded) > MODELS_KEPT_LOADED:
            _loaded.popitem(last=False)
        return predictor


def _folder_stamp(folder: Path) -> tuple:
    """(name, size, inode, mtime, ctime) of each file in ``folder``, sorted; empty when it cannot be read."""
    try:
        entries = [(e.name, e.stat()) for e in os.scandir(folder)]
    except OSError:
        return ()
    return tuple(sorted((name, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns) for name, st in entries))


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
    predictor = loaded_model(resolve_model_path(store, record.id), getattr(settings, "device", None))
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
    cut = predictor.thresholds.vector(classes)
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


def report_findings(results: Sequence[dict], classes: Sequence[str], thresholds: Thresholds | float | None
                    ) -> list[tuple[str, float]]:
    """Techniques the sentences of ``results`` (predict_texts output, one report) show as a whole, most evidence first.

    Decided by the model's report rule (Thresholds.report_strength) on the output scores, as ``(technique, value
    the rule weighed)``: the top-k evidence with a report threshold, else the best sentence score (the union of
    the sentence labels). ``thresholds`` is the model's record; a bare number is a report threshold alone, and
    None a model without one at the untuned sentence threshold.
    """
    classes = list(classes)
    if not len(results):
        return []
    if not isinstance(thresholds, Thresholds):
        thresholds = Thresholds(report=thresholds)
    scores = score_matrix([row["scores"] for row in results], classes)
    strength, found = thresholds.report_strength(scores, classes)
    return sorted(((c, float(strength[j])) for j, c in enumerate(classes) if found[j]),
                  key=lambda pair: (-pair[1], pair[0]))
