"""Hand-made evaluation metrics dicts in the shape metrics.evaluate stores, for chart, report and page tests."""

from __future__ import annotations


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def scores_dict(counts: dict[str, tuple[int, int, int]]) -> dict:
    """A Scores dict (micro/macro P/R/F1 and per_technique rows) from per-technique (tp, fp, fn) counts."""
    per = []
    for technique, (tp, fp, fn) in counts.items():
        p, r, f = _prf(tp, fp, fn)
        per.append({"technique": technique, "tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f,
                    "support": tp + fn})
    tp = sum(c[0] for c in counts.values())
    fp = sum(c[1] for c in counts.values())
    fn = sum(c[2] for c in counts.values())
    mp, mr, mf = _prf(tp, fp, fn)
    n = len(per) or 1
    return {
        "micro_precision": mp, "micro_recall": mr, "micro_f1": mf,
        "macro_precision": sum(x["precision"] for x in per) / n,
        "macro_recall": sum(x["recall"] for x in per) / n,
        "macro_f1": sum(x["f1"] for x in per) / n,
        "per_technique": per,
    }


CURVE = {  # threshold -> (precision, recall, f1) of the pooled curve
    0.1: (0.30, 0.95, 0.456),
    0.3: (0.55, 0.85, 0.668),
    0.5: (0.72, 0.64, 0.678),
    0.7: (0.88, 0.41, 0.559),
    0.9: (0.97, 0.12, 0.214),
}


def sample_metrics(variant: int = 0) -> dict:
    """A realistic-looking evaluation dict; ``variant`` shifts the counts so two runs differ."""
    half = {"T1059.001": (30 + variant, 6, 10 - variant), "T1566.001": (12, 4, 8), "T1071.001": (5, 5, 9),
            "T1105": (2, 1, 6)}
    tuned = {"T1059.001": (34 + variant, 8, 6 - variant), "T1566.001": (14, 5, 6), "T1071.001": (8, 6, 6),
             "T1105": (3, 2, 5)}
    if variant:
        tuned.pop("T1105")
        tuned["T1003.001"] = (4, 1, 2)
    curves = []
    for t, (p, r, f) in CURVE.items():
        curves.append({"threshold": t, "technique": "micro", "precision": p, "recall": r, "f1": f})
        for k, technique in enumerate(tuned):
            curves.append({"threshold": t, "technique": technique, "precision": min(1.0, p + 0.02 * k),
                           "recall": r, "f1": max(0.0, f - 0.05 * k)})
    return {
        "at_0_5": scores_dict(half),
        "at_tuned": scores_dict(tuned),
        "thresholds": {"global": 0.3, "per_technique": {t: 0.3 for t in tuned}},
        "document": {
            "per_report": [
                {"report_id": 1, "precision": 0.8, "recall": 0.6, "f1": 0.686},
                {"report_id": 2, "precision": 0.5, "recall": 1.0, "f1": 0.667},
            ],
            "micro_precision": 0.7, "micro_recall": 0.7, "micro_f1": 0.7,
            "macro_precision": 0.65, "macro_recall": 0.8, "macro_f1": 0.676,
        },
        "curves": curves,
    }


def sample_history() -> list[dict]:
    return [
        {"epoch": 1, "train_loss": 0.61, "val_loss": 0.42, "val_micro_f1": 0.31},
        {"epoch": 2, "train_loss": 0.33, "val_loss": 0.29, "val_micro_f1": 0.52},
        {"epoch": 3, "train_loss": 0.21, "val_loss": 0.27, "val_micro_f1": 0.61},
    ]
