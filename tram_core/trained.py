"""Load a trained model folder (transformer with cls or mean pooling, or TF-IDF baseline) and score sentences."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import UserError
from .training import HEAD_FILE, MODEL_INFO_FILE


@dataclass
class Predictor:
    """A trained model ready to score: ``predict_scores`` returns sigmoid scores, column j is ``classes[j]``."""

    path: Path
    kind: str
    classes: list[str]
    thresholds: dict  # technique -> threshold, plus 'global'
    metadata: dict
    _model: object = field(default=None, repr=False)
    _tokenizer: object = field(default=None, repr=False)
    max_length: int = 128
    device: str = "cpu"
    report_threshold: float | None = None  # see metrics.report_predictions; None: a model from before it existed

    def predict_scores(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        if self.kind == "baseline":
            return np.asarray(self._model.predict_scores(texts), dtype=np.float32)
        from .training import score_texts, tokenize

        ids = tokenize(self._tokenizer, texts, self.max_length)
        pad_id = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        return score_texts(self._model, ids, pad_id, self.device, batch_size)

    def predict_sets(self, texts: Sequence[str], per_technique: bool = True) -> list[set[str]]:
        """Techniques whose score reaches the stored (per-technique or global) threshold."""
        scores = self.predict_scores(texts)
        cut = np.array([self.thresholds.get(c, self.thresholds["global"]) if per_technique
                        else self.thresholds["global"] for c in self.classes])
        return [{c for c, hit in zip(self.classes, row) if hit} for row in scores > cut]  # strictly above, as metrics.predict_matrix


def read_model_info(path: str | Path) -> dict:
    """The folder's tram_model.json; a clear error when the folder is not a trained model."""
    info_path = Path(path) / MODEL_INFO_FILE
    if not info_path.is_file():
        raise UserError(f"{path} is not a trained TRAM model folder: {MODEL_INFO_FILE} is missing")
    try:
        return json.loads(info_path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{info_path} is not valid JSON: {exc}") from exc


def load_trained(path: str | Path, device: str = "cpu") -> Predictor:
    """Load a folder written by training.train_model."""
    path = Path(path)
    info = read_model_info(path)
    classes = list(info["classes"])
    stored = info.get("thresholds") or {}
    thresholds = {**(stored.get("per_technique") or {}), "global": float(stored.get("global", 0.5))}
    report_threshold = float(stored["report"]) if isinstance(stored.get("report"), (int, float)) else None
    kind = info.get("kind", "transformer")
    if kind == "baseline":
        from .baseline import BaselineModel

        return Predictor(path, kind, classes, thresholds, info, _model=BaselineModel.load(path),
                         report_threshold=report_threshold)
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    from .training import cls_classifier, mean_pool_classifier

    tokenizer = AutoTokenizer.from_pretrained(path)
    if info.get("pooling") == "cls":
        model = cls_classifier(AutoModelForSequenceClassification.from_pretrained(path))
    else:
        from safetensors.torch import load_file

        from transformers import AutoConfig

        bert_like = AutoConfig.from_pretrained(path).model_type == "bert"
        extra = {"add_pooling_layer": False} if bert_like else {}
        encoder = AutoModel.from_pretrained(path, **extra)
        model = mean_pool_classifier(encoder, len(classes))
        model.classifier.load_state_dict(load_file(str(path / HEAD_FILE)))
    model.to(device).eval()
    if getattr(model.classifier, "out_features", len(classes)) != len(classes):
        raise UserError(f"{path}: the classifier has {model.classifier.out_features} outputs but "
                        f"{MODEL_INFO_FILE} lists {len(classes)} classes")
    return Predictor(path, kind, classes, thresholds, info, _model=model, _tokenizer=tokenizer,
                     max_length=int(info.get("max_length") or 128), device=device, report_threshold=report_threshold)
