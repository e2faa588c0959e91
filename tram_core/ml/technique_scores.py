"""Multi-label scores per technique, micro and macro, as in TRAM's seed notebook; predictions above thresholds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from tram_core.ml.thresholds import DEFAULT_THRESHOLD, Thresholds


@dataclass
class TechniqueScore:
    """One technique's counts and scores; ``support`` is how many sentences truly carry it."""

    technique: str
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Scores:
    """Micro scores pool TP/FP/FN over techniques; macro scores average the per-technique scores.

    ``macro_*`` averages over every class given (a class never seen scores 0). ``macro_seen_*`` is the seed
    notebook's own table: the mean over techniques that occur in the truth or the predictions.
    """

    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    per_technique: list[TechniqueScore]
    macro_seen_precision: float = 0.0
    macro_seen_recall: float = 0.0
    macro_seen_f1: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    sentences: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> "Scores":
        values = dict(data)
        values["per_technique"] = [TechniqueScore(**row) for row in values.get("per_technique", [])]
        return cls(**values)

    def technique(self, technique: str) -> TechniqueScore:
        for row in self.per_technique:
            if row.technique == technique:
                return row
        raise KeyError(technique)


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.zeros(np.broadcast(num, den).shape, dtype=float)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _prf(tp, fp, fn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    precision = _div(tp, np.asarray(tp) + fp)
    recall = _div(tp, np.asarray(tp) + fn)
    f1 = _div(2 * precision * recall, precision + recall)
    return precision, recall, f1


def precision_recall_f1(tp, fp, fn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from counts (scalars or arrays), 0 wherever a denominator is 0."""
    return _prf(tp, fp, fn)


def label_matrix(label_sets: Sequence[Iterable[str]], classes: Sequence[str]) -> np.ndarray:
    """(n, len(classes)) boolean matrix; labels outside ``classes`` are ignored (as MultiLabelBinarizer drops them)."""
    index = {c: j for j, c in enumerate(classes)}
    matrix = np.zeros((len(label_sets), len(classes)), dtype=bool)
    rows: list[int] = []
    cols: list[int] = []
    for i, labels in enumerate(label_sets):
        for label in labels:
            j = index.get(label)
            if j is not None:
                rows.append(i)
                cols.append(j)
    matrix[rows, cols] = True
    return matrix


def scores_from_matrices(truth: np.ndarray, predicted: np.ndarray, classes: Sequence[str]) -> Scores:
    """Scores from boolean (n, k) truth and prediction matrices, columns in ``classes`` order."""
    truth = np.asarray(truth, dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
    if truth.shape != predicted.shape or truth.shape[1:] != (len(classes),):
        raise ValueError(f"truth {truth.shape} and predictions {predicted.shape} must both be (n, {len(classes)})")
    tp = (truth & predicted).sum(axis=0)
    fp = (~truth & predicted).sum(axis=0)
    fn = (truth & ~predicted).sum(axis=0)
    support = truth.sum(axis=0)
    precision, recall, f1 = _prf(tp, fp, fn)
    per_technique = [
        TechniqueScore(
            technique=str(c), tp=int(tp[j]), fp=int(fp[j]), fn=int(fn[j]), precision=float(precision[j]),
            recall=float(recall[j]), f1=float(f1[j]), support=int(support[j]),
        )
        for j, c in enumerate(classes)
    ]
    t, p, n = int(tp.sum()), int(fp.sum()), int(fn.sum())
    micro_p, micro_r, micro_f1 = (float(x) for x in _prf(t, p, n))
    k = len(classes)
    seen = (tp + fp + fn) > 0

    def mean(values: np.ndarray, mask: np.ndarray | None = None) -> float:
        chosen = values if mask is None else values[mask]
        return float(chosen.mean()) if chosen.size else 0.0

    return Scores(
        micro_precision=micro_p, micro_recall=micro_r, micro_f1=micro_f1,
        macro_precision=mean(precision) if k else 0.0, macro_recall=mean(recall) if k else 0.0,
        macro_f1=mean(f1) if k else 0.0, per_technique=per_technique,
        macro_seen_precision=mean(precision, seen), macro_seen_recall=mean(recall, seen),
        macro_seen_f1=mean(f1, seen), tp=t, fp=p, fn=n, sentences=int(truth.shape[0]),
    )


def score_label_sets(y_true: Sequence[Iterable[str]], y_pred: Sequence[Iterable[str]], classes: Sequence[str]) -> Scores:
    """The seed notebook's scores for per-sentence true and predicted technique sets."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true label sets but {len(y_pred)} predicted ones")
    return scores_from_matrices(label_matrix(y_true, classes), label_matrix(y_pred, classes), classes)


# What the scoring functions take as thresholds: a Thresholds record, any stored layout of one, one number for
# every technique, or None for the untuned 0.5 (see Thresholds.of).
ThresholdsLike = Thresholds | Mapping[str, float] | float | None


def check_scores(scores: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """``scores`` as an (n, len(classes)) float array, or ValueError naming the shape it has."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[1] != len(classes):
        raise ValueError(f"scores must be (n, {len(classes)}), got {scores.shape}")
    return scores


def predict_matrix(scores: np.ndarray, classes: Sequence[str], thresholds: ThresholdsLike) -> np.ndarray:
    """Boolean predictions: score strictly above the threshold (the seed's ``sigmoid().gt(.5)``)."""
    scores = check_scores(scores, classes)
    return scores > Thresholds.of(thresholds).vector(classes)[None, :]


def predict_sets(scores: np.ndarray, classes: Sequence[str], thresholds: ThresholdsLike = DEFAULT_THRESHOLD
                 ) -> list[set[str]]:
    """Per-sentence predicted technique sets from an (n, k) score matrix."""
    matrix = predict_matrix(scores, classes, thresholds)
    out: list[set[str]] = [set() for _ in range(matrix.shape[0])]
    rows, cols = np.nonzero(matrix)
    for i, j in zip(rows.tolist(), cols.tolist()):
        out[i].add(classes[j])
    return out


def score_matrix(score_maps: Sequence[Mapping[str, float]], columns: Sequence[str]) -> np.ndarray:
    """(rows, columns) scores from one ``{technique: score}`` map per row (stored suggestions, predict output);
    techniques outside ``columns`` are ignored, and one a row lacks scores 0 there."""
    index = {c: j for j, c in enumerate(columns)}
    matrix = np.zeros((len(score_maps), len(index)))
    for i, scores in enumerate(score_maps):
        for technique, score in scores.items():
            j = index.get(technique)
            if j is not None:
                matrix[i, j] = score
    return matrix

