"""Load a trained model folder (transformer with cls or mean pooling, or TF-IDF baseline) and score sentences."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from tram_core.errors import UserError
from tram_core.ml.model_card import MODEL_INFO_FILE, ModelCard
from tram_core.ml.thresholds import Thresholds
from tram_core.ml.training_model import HEAD_FILE

DEFAULT_MAX_LENGTH = 128  # tokens per sentence for a card that does not say (cards from before it did)


@dataclass
class Predictor:
    """A trained model ready to score: ``predict_scores`` returns sigmoid scores, column j is ``classes[j]``."""

    path: Path
    card: ModelCard  # the folder's tram_model.json
    _model: object = field(default=None, repr=False)
    _tokenizer: object = field(default=None, repr=False)
    device: str = "cpu"
    bf16: bool = False  # bf16 autocast when scoring (see cpu_features.cpu_has_fast_bf16)
    classes: list[str] = field(init=False)
    # One scoring at a time: a worker's lanes share a kept model (predict.loaded_model). Two at once would only
    # split the same cores, and a fast tokenizer whose truncation settings change between calls from two threads
    # raises "Already borrowed".
    _scoring: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.classes = list(self.card.classes)

    @property
    def kind(self) -> str:
        return self.card.kind

    @property
    def thresholds(self) -> Thresholds:
        return self.card.thresholds

    @property
    def report_threshold(self) -> float | None:
        """See Thresholds.report_predictions; None: a model from before report thresholds existed."""
        return self.card.thresholds.report

    @property
    def max_length(self) -> int:
        return self.card.max_length or DEFAULT_MAX_LENGTH

    def predict_scores(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        if self.kind == "baseline":
            return np.asarray(self._model.predict_scores(texts), dtype=np.float32)
        from tram_core.ml.training_data import tokenize
        from tram_core.ml.training_loop import score_texts

        with self._scoring:
            ids = tokenize(self._tokenizer, texts, self.max_length)
            pad_id = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
            return score_texts(self._model, ids, pad_id, self.device, batch_size, bf16=self.bf16)

    def predict_sets(self, texts: Sequence[str], per_technique: bool = True) -> list[set[str]]:
        """Techniques whose score reaches the stored (per-technique or global) threshold."""
        scores = self.predict_scores(texts)
        cut = self.thresholds.vector(self.classes) if per_technique else \
            np.full(len(self.classes), self.thresholds.global_)
        return [{c for c, hit in zip(self.classes, row) if hit} for row in scores > cut]  # strictly above, as metrics.predict_matrix


def load_trained(path: str | Path, device: str = "cpu") -> Predictor:
    """Load a folder written by training.train_model."""
    path = Path(path)
    card = ModelCard.read(path)
    classes = list(card.classes)
    if card.kind == "baseline":
        from tram_core.ml.baseline import BaselineModel

        return Predictor(path, card, _model=BaselineModel.load(path))
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    from tram_core.ml.training_model import cls_classifier, head_classifier

    tokenizer = AutoTokenizer.from_pretrained(path)
    if card.pooling == "cls":
        model = cls_classifier(AutoModelForSequenceClassification.from_pretrained(path))
    else:
        from safetensors.torch import load_file

        from transformers import AutoConfig

        bert_like = AutoConfig.from_pretrained(path).model_type == "bert"
        extra = {"add_pooling_layer": False} if bert_like else {}
        encoder = AutoModel.from_pretrained(path, **extra)
        model = head_classifier(card.pooling or "mean", encoder, len(classes))
        model.classifier.load_state_dict(load_file(str(path / HEAD_FILE)))
    model.to(device).eval()
    if getattr(model.classifier, "out_features", len(classes)) != len(classes):
        raise UserError(f"{path}: the classifier has {model.classifier.out_features} outputs but "
                        f"{MODEL_INFO_FILE} lists {len(classes)} classes")
    return Predictor(path, card, _model=model, _tokenizer=tokenizer, device=device)
