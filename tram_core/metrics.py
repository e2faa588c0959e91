"""Multi-label scores as in TRAM's seed notebook: per-technique P/R/F1, micro and macro, thresholds, report level."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Iterable, Mapping, Sequence

import numpy as np

from tram_core.thresholds import DEFAULT_THRESHOLD, Thresholds, report_evidence, report_rule_text

# The threshold grid searched by tune_thresholds and drawn by threshold_curve: 0.05, 0.10, ..., 0.95, then 0.97,
# 0.98, 0.99 (a model trained with positive weighting on subsampled negatives can be most accurate above 0.95).
DEFAULT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20)) + (0.97, 0.98, 0.99)


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


def _check_scores(scores: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[1] != len(classes):
        raise ValueError(f"scores must be (n, {len(classes)}), got {scores.shape}")
    return scores


def predict_matrix(scores: np.ndarray, classes: Sequence[str], thresholds: ThresholdsLike) -> np.ndarray:
    """Boolean predictions: score strictly above the threshold (the seed's ``sigmoid().gt(.5)``)."""
    scores = _check_scores(scores, classes)
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


def _counts_on_grid(truth: np.ndarray, scores: np.ndarray, grid: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP, FN of shape (len(grid), k) for predictions ``scores > t`` at each grid threshold."""
    support = truth.sum(axis=0)
    tp = np.empty((len(grid), truth.shape[1]), dtype=np.int64)
    fp = np.empty_like(tp)
    for g, t in enumerate(grid):
        predicted = scores > t
        tp[g] = (predicted & truth).sum(axis=0)
        fp[g] = predicted.sum(axis=0) - tp[g]
    fn = support[None, :] - tp
    return tp, fp, fn


def micro_f1_on_grid(truth: np.ndarray, scores: np.ndarray, grid: Sequence[float] | None = None) -> np.ndarray:
    """Micro-F1 at each grid threshold (predictions strictly above it) for a 0/1 truth matrix and its scores."""
    tp, fp, fn = _counts_on_grid(np.asarray(truth) > 0, scores, grid if grid is not None else DEFAULT_GRID)
    return _prf(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))[2]


def _pick(f1: np.ndarray, grid: np.ndarray, prefer: float) -> float:
    """The grid value with the best F1; ties go to the value closest to ``prefer``."""
    best = f1.max()
    candidates = grid[np.isclose(f1, best, rtol=0, atol=1e-12)]
    return float(candidates[np.argmin(np.abs(candidates - prefer))])


# Per-technique thresholds tuned on a handful of validation sentences overfit: on TRAM 2's unseen test reports the
# raw per-technique choice scored below the single global threshold (TF-IDF baseline: micro-F1 0.413 against
# 0.455). Each technique's best value is therefore pulled toward the global one as if the global value had been
# seen on PRIOR_WEIGHT extra positives: t = (n * t_best + w * t_global) / (n + w) for n validation positives.
PRIOR_WEIGHT = 5.0


def tune_thresholds(
    y_true: Sequence[Iterable[str]], scores: np.ndarray, classes: Sequence[str], grid: Sequence[float] | None = None,
    prior_weight: float = PRIOR_WEIGHT,
) -> tuple[float, dict[str, float]]:
    """Thresholds chosen on validation data.

    Global: the grid value with the best micro-F1 (0.5 when nothing scores above 0). Per technique: the value
    with the best F1 for that technique, shrunk toward the global one by ``prior_weight`` (see PRIOR_WEIGHT; 0
    keeps the raw best value) and rounded to 0.01; techniques without validation support, or whose best F1 is 0,
    take the global threshold. Ties go to the value nearest 0.5 (global) or nearest the global one (per technique).
    """
    if not 0 <= prior_weight < math.inf:
        raise ValueError(f"prior_weight must be a finite number, 0 or more, not {prior_weight}")
    scores = _check_scores(scores, classes)
    grid_arr = np.asarray(grid if grid is not None else DEFAULT_GRID, dtype=float)
    truth = label_matrix(y_true, classes)
    if truth.shape[0] != scores.shape[0]:
        raise ValueError(f"{truth.shape[0]} label sets but {scores.shape[0]} score rows")
    tp, fp, fn = _counts_on_grid(truth, scores, grid_arr)
    _, _, micro_f1 = _prf(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
    global_t = DEFAULT_THRESHOLD if micro_f1.max() <= 0 else _pick(micro_f1, grid_arr, DEFAULT_THRESHOLD)
    _, _, f1 = _prf(tp, fp, fn)
    support = truth.sum(axis=0)
    per_technique: dict[str, float] = {}
    for j, c in enumerate(classes):
        column = f1[:, j]
        if support[j] == 0 or column.max() <= 0:
            per_technique[c] = global_t
        else:
            best = _pick(column, grid_arr, global_t)
            n = float(support[j])
            per_technique[c] = best if prior_weight == 0 else \
                round((n * best + prior_weight * global_t) / (n + prior_weight), 2)
    return global_t, per_technique


def threshold_curve(
    y_true: Sequence[Iterable[str]], scores: np.ndarray, classes: Sequence[str], grid: Sequence[float] | None = None
) -> list[dict]:
    """Rows (threshold, technique, precision, recall, f1, support) per grid value: one 'micro' row, one per technique."""
    scores = _check_scores(scores, classes)
    grid_arr = np.asarray(grid if grid is not None else DEFAULT_GRID, dtype=float)
    truth = label_matrix(y_true, classes)
    tp, fp, fn = _counts_on_grid(truth, scores, grid_arr)
    micro = _prf(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
    per = _prf(tp, fp, fn)
    support = truth.sum(axis=0)
    rows: list[dict] = []
    for g, t in enumerate(grid_arr.tolist()):
        rows.append({"threshold": round(t, 4), "technique": "micro", "precision": float(micro[0][g]),
                     "recall": float(micro[1][g]), "f1": float(micro[2][g]), "support": int(support.sum())})
        for j, c in enumerate(classes):
            rows.append({"threshold": round(t, 4), "technique": c, "precision": float(per[0][g, j]),
                         "recall": float(per[1][g, j]), "f1": float(per[2][g, j]), "support": int(support[j])})
    return rows


# The report rule (the REPORT_TOP_K best sentence scores against the report threshold) lives in tram_core.thresholds;
# this is the grid its threshold is tuned on.
REPORT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 40))  # 0.05 .. 1.95


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


def report_predictions(report_ids: Sequence[int], scores: np.ndarray, classes: Sequence[str],
                       report_threshold: float) -> dict[int, set[str]]:
    """Per report, the techniques whose report evidence (see report_evidence) is strictly above the threshold."""
    scores = _check_scores(scores, classes)
    return Thresholds(report=report_threshold).report_predictions(scores, report_ids, classes)


def _truth_by_report(report_ids: Sequence[int], y_true: Sequence[Iterable[str]], keep: set[str] | None) -> dict:
    truth: dict[int, set[str]] = {}
    for rid, t in zip(report_ids, y_true):
        truth.setdefault(rid, set()).update(x for x in t if keep is None or x in keep)
    return truth


def tune_report_threshold(report_ids: Sequence[int], y_true: Sequence[Iterable[str]], scores: np.ndarray,
                          classes: Sequence[str], grid: Sequence[float] | None = None) -> float | None:
    """The grid value with the best report-level micro-F1 on validation reports (ties: nearest 0.5).

    None when there is nothing to tune on (no true technique, or no grid value finds one): such a model keeps the
    union rule (any sentence above its technique's threshold) rather than an untuned report threshold.
    """
    scores = _check_scores(scores, classes)
    if len(y_true) != scores.shape[0]:
        raise ValueError(f"{len(y_true)} label sets but {scores.shape[0]} score rows")
    grid_arr = np.asarray(grid if grid is not None else REPORT_GRID, dtype=float)
    reports, evidence = report_evidence(report_ids, scores)
    by_report = _truth_by_report(report_ids, y_true, set(classes))
    truth = label_matrix([by_report[r] for r in reports], classes)
    if not truth.any():
        return None
    f1 = micro_f1_on_grid(truth, evidence, grid_arr)
    return None if f1.max() <= 0 else _pick(f1, grid_arr, DEFAULT_THRESHOLD)


def document_scores(
    report_ids: Sequence[int],
    y_true: Sequence[Iterable[str]],
    y_pred: Sequence[Iterable[str]] | None,
    classes: Sequence[str] | None = None,
    predicted_by_report: Mapping[int, Iterable[str]] | None = None,
) -> dict:
    """Report-level scores of each report's predicted technique set against the union of its labels.

    The predicted set is ``predicted_by_report[report_id]`` when given (see report_predictions), else the union
    of the report's sentence predictions ``y_pred``. Per report: TP/FP/FN and P/R/F1. ``micro_*`` pools the
    counts over reports; ``macro_*`` averages per-report scores over reports that have a true or predicted
    technique (a report with neither has nothing to score). ``classes``, when given, limits both sides.
    """
    if predicted_by_report is None and y_pred is None:
        raise ValueError("document_scores needs sentence predictions or predictions per report")
    if len(report_ids) != len(y_true) or (predicted_by_report is None and len(y_pred) != len(y_true)):
        raise ValueError(f"{len(report_ids)} report ids, {len(y_true)} true and "
                         f"{len(y_pred) if y_pred is not None else 0} predicted label sets")
    keep = set(classes) if classes is not None else None
    truth = _truth_by_report(report_ids, y_true, keep)
    if predicted_by_report is None:
        predicted = _truth_by_report(report_ids, y_pred, keep)
    else:
        predicted = {rid: {x for x in predicted_by_report.get(rid, ()) if keep is None or x in keep} for rid in truth}
    per_report = []
    for rid in truth:
        t, p = truth[rid], predicted[rid]
        tp, fp, fn = len(t & p), len(p - t), len(t - p)
        precision, recall, f1 = (float(x) for x in _prf(tp, fp, fn))
        per_report.append({"report_id": rid, "tp": tp, "fp": fp, "fn": fn, "precision": precision,
                           "recall": recall, "f1": f1, "true": sorted(t), "predicted": sorted(p)})
    tps = sum(r["tp"] for r in per_report)
    fps = sum(r["fp"] for r in per_report)
    fns = sum(r["fn"] for r in per_report)
    micro = [float(x) for x in _prf(tps, fps, fns)]
    scored = [r for r in per_report if r["tp"] + r["fp"] + r["fn"] > 0]

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in scored])) if scored else 0.0

    return {
        "per_report": per_report,
        "reports": len(per_report),
        "reports_scored": len(scored),
        "micro_precision": micro[0], "micro_recall": micro[1], "micro_f1": micro[2],
        "macro_precision": mean("precision"), "macro_recall": mean("recall"), "macro_f1": mean("f1"),
    }


def evaluate(
    y_true: Sequence[Iterable[str]],
    scores: np.ndarray,
    classes: Sequence[str],
    thresholds: ThresholdsLike,
    report_ids: Sequence[int] | None = None,
    grid: Sequence[float] | None = None,
    report_threshold: float | None = None,
) -> dict:
    """Everything a run's metrics page needs, JSON-serialisable.

    ``thresholds`` are the tuned ones (tune them on validation data, then evaluate on test data): a Thresholds
    record, a float, or a dict per technique with an optional 'global' key; ``report_threshold``, when given, is
    the report threshold (else the record's own, if any). Returns ``at_0_5`` (the seed's fixed 0.5), ``at_tuned``,
    ``thresholds`` (Thresholds.to_json: 'global', 'per_technique' for every class, 'report' when there is one),
    ``document`` (None without report ids; the reports' techniques by Thresholds.report_predictions, the top-k
    rule with a report threshold, else the union of the sentence predictions; its ``rule`` says which in words)
    and ``curves`` (threshold_curve rows).
    """
    classes = list(classes)
    scores = _check_scores(scores, classes)
    if len(y_true) != scores.shape[0]:
        raise ValueError(f"{len(y_true)} label sets but {scores.shape[0]} score rows")
    truth = label_matrix(y_true, classes)
    at_half = scores_from_matrices(truth, predict_matrix(scores, classes, DEFAULT_THRESHOLD), classes)
    tuned = Thresholds.of(thresholds)
    if report_threshold is not None:
        tuned = replace(tuned, report=report_threshold)
    # Every class gets its value written out, so the stored record alone says how each technique was decided.
    tuned = replace(tuned, per_technique=dict(zip(classes, tuned.vector(classes).tolist())))
    at_tuned = scores_from_matrices(truth, predict_matrix(scores, classes, tuned), classes)
    document = None
    if report_ids is not None:
        by_report = tuned.report_predictions(scores, list(report_ids), classes)
        document = document_scores(list(report_ids), y_true, None, classes, predicted_by_report=by_report)
        document["rule"] = report_rule_text(tuned.report)
    return {
        "at_0_5": at_half.to_dict(),
        "at_tuned": at_tuned.to_dict(),
        "thresholds": tuned.to_json(),
        "document": document,
        "curves": threshold_curve(y_true, scores, classes, grid),
    }
