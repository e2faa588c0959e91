"""Report-level scores: each report's predicted technique set against the union of its sentences' labels."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from tram_core.ml.technique_scores import check_scores, precision_recall_f1
from tram_core.ml.thresholds import Thresholds


def report_predictions(report_ids: Sequence[int], scores: np.ndarray, classes: Sequence[str],
                       report_threshold: float) -> dict[int, set[str]]:
    """Per report, the techniques whose report evidence (see report_evidence) is strictly above the threshold."""
    scores = check_scores(scores, classes)
    return Thresholds(report=report_threshold).report_predictions(scores, report_ids, classes)


def truth_by_report(report_ids: Sequence[int], y_true: Sequence[Iterable[str]], keep: set[str] | None) -> dict:
    """Per report, the union of its rows' label sets (only labels in ``keep``, when given)."""
    truth: dict[int, set[str]] = {}
    for rid, t in zip(report_ids, y_true):
        truth.setdefault(rid, set()).update(x for x in t if keep is None or x in keep)
    return truth


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
    truth = truth_by_report(report_ids, y_true, keep)
    if predicted_by_report is None:
        predicted = truth_by_report(report_ids, y_pred, keep)
    else:
        predicted = {rid: {x for x in predicted_by_report.get(rid, ()) if keep is None or x in keep} for rid in truth}
    per_report = []
    for rid in truth:
        t, p = truth[rid], predicted[rid]
        tp, fp, fn = len(t & p), len(p - t), len(t - p)
        precision, recall, f1 = (float(x) for x in precision_recall_f1(tp, fp, fn))
        per_report.append({"report_id": rid, "tp": tp, "fp": fp, "fn": fn, "precision": precision,
                           "recall": recall, "f1": f1, "true": sorted(t), "predicted": sorted(p)})
    tps = sum(r["tp"] for r in per_report)
    fps = sum(r["fp"] for r in per_report)
    fns = sum(r["fn"] for r in per_report)
    micro = [float(x) for x in precision_recall_f1(tps, fps, fns)]
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
