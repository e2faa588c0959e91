"""How sure a difference between two models is: a paired bootstrap over test reports of micro, macro and report F1."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse

from tram_core.ml.technique_scores import precision_recall_f1

METRICS = ("micro_f1", "macro_f1", "doc_micro_f1")


@dataclass(frozen=True)
class PairedDifference:
    """Model A against model B on one metric: full-sample values, and bootstrap intervals of A - B and A / B.

    ``a_ahead`` is the share of resamples in which A scored strictly higher than B, ``tied`` the share with equal
    scores (B is ahead in the rest). ``ratio_low``/``ratio_high``
    are None when B scored 0 in some resample.
    """

    metric: str
    a: float
    b: float
    difference_low: float
    difference_high: float
    ratio_low: float | None
    ratio_high: float | None
    a_ahead: float
    tied: float
    resamples: int
    reports: int
    confidence: float

    @property
    def difference(self) -> float:
        return self.a - self.b

    @property
    def ratio(self) -> float | None:
        return self.a / self.b if self.b else None

    def to_dict(self) -> dict:
        return {**asdict(self), "difference": self.difference, "ratio": self.ratio}

    def line(self, a_name: str = "A", b_name: str = "B") -> str:
        """One printable line, e.g. ``micro_f1: 0.525 vs 0.452, +0.073 [+0.041, +0.104], 1.16x [1.09x, 1.24x], ...``."""
        ratio = "" if self.ratio is None else f", {self.ratio:.2f}x"
        tied = f" (tied in {100 * self.tied:.1f}%)" if self.tied else ""
        if self.ratio is not None and self.ratio_low is not None and self.ratio_high is not None:
            ratio += f" [{self.ratio_low:.2f}x, {self.ratio_high:.2f}x]"
        return (f"{self.metric}: {a_name} {self.a:.3f} vs {b_name} {self.b:.3f}, difference {self.difference:+.3f} "
                f"[{self.difference_low:+.3f}, {self.difference_high:+.3f}]{ratio}; {a_name} ahead in "
                f"{100 * self.a_ahead:.1f}%{tied} of {self.resamples} resamples of {self.reports} reports "
                f"({100 * self.confidence:.0f}% intervals)")


def _bool_matrix(name: str, matrix: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be a (sentences, techniques) matrix, not shape {matrix.shape}")
    if shape is not None and matrix.shape != shape:
        raise ValueError(f"{name} has shape {matrix.shape} but the truth has {shape}")
    return matrix.astype(bool)


def _counts_per_report(membership: sparse.csr_matrix, truth: np.ndarray, predicted: np.ndarray,
                       doc_predicted: np.ndarray | None) -> np.ndarray:
    """(reports, 6, techniques): sentence TP, FP, FN, then report-level TP, FP, FN, per report and technique.

    ``doc_predicted`` (reports, techniques) is each report's predicted set; None: the union of its sentences'.
    """
    as_int = lambda m: membership @ m.astype(np.int64)  # noqa: E731 - one line, used five times
    sentence = [as_int(truth & predicted), as_int(~truth & predicted), as_int(truth & ~predicted)]
    doc_truth = as_int(truth) > 0
    if doc_predicted is None:
        doc_predicted = as_int(predicted) > 0
    document = [doc_truth & doc_predicted, ~doc_truth & doc_predicted, doc_truth & ~doc_predicted]
    return np.stack([np.asarray(m, dtype=np.int64) for m in sentence + document], axis=1)


def _metric_values(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics from pooled counts of shape (resamples, 6, techniques); one value per resample."""
    tp, fp, fn, doc_tp, doc_fp, doc_fn = (counts[:, i, :] for i in range(6))
    micro = precision_recall_f1(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))[2]
    macro = precision_recall_f1(tp, fp, fn)[2].mean(axis=1) if tp.shape[1] else np.zeros(len(tp))
    doc_micro = precision_recall_f1(doc_tp.sum(axis=1), doc_fp.sum(axis=1), doc_fn.sum(axis=1))[2]
    return {"micro_f1": micro, "macro_f1": macro, "doc_micro_f1": doc_micro}


def paired_bootstrap(
    report_ids: Sequence[int],
    truth: np.ndarray,
    predicted_a: np.ndarray,
    predicted_b: np.ndarray,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    report_predicted_a: Mapping[int, Iterable[int]] | None = None,
    report_predicted_b: Mapping[int, Iterable[int]] | None = None,
) -> dict[str, PairedDifference]:
    """Resample the test reports with replacement and rescore both models on each resample.

    ``truth`` and the predictions are boolean (sentences, techniques) matrices in one column order; a sentence's
    report is ``report_ids[i]``. Reports, not sentences, are resampled because sentences of one report are not
    independent. Micro and macro F1 are the sentence-level scores of ``technique_scores.scores_from_matrices``
    (macro over every column); ``doc_micro_f1`` is ``report_scores.document_scores``' pooled report-level F1. A
    model's report sets are the union of its sentence predictions, or ``report_predicted_a/b``: ``{report_id:
    column indices}`` as ``report_scores.report_predictions`` decides them (a report missing from the mapping
    predicts nothing).
    """
    truth = _bool_matrix("truth", truth, None)
    predicted_a = _bool_matrix("predicted_a", predicted_a, truth.shape)
    predicted_b = _bool_matrix("predicted_b", predicted_b, truth.shape)
    _check_settings(len(report_ids), truth.shape[0], resamples, confidence)
    reports, row_report = np.unique(np.asarray(report_ids), return_inverse=True)
    if len(reports) < 2:
        raise ValueError(f"a bootstrap over reports needs at least 2 reports, not {len(reports)}")
    n = truth.shape[0]
    membership = sparse.csr_matrix((np.ones(n, dtype=np.int64), (row_report, np.arange(n))), shape=(len(reports), n))
    counts_a = _counts_per_report(membership, truth, predicted_a,
                                  _report_matrix(reports, report_predicted_a, truth.shape[1]))
    counts_b = _counts_per_report(membership, truth, predicted_b,
                                  _report_matrix(reports, report_predicted_b, truth.shape[1]))
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(reports), np.full(len(reports), 1 / len(reports)), size=resamples)
    full = (_metric_values(counts_a.sum(axis=0)[None]), _metric_values(counts_b.sum(axis=0)[None]))
    resampled = (_metric_values(np.einsum("br,rmk->bmk", weights, counts_a)),
                 _metric_values(np.einsum("br,rmk->bmk", weights, counts_b)))
    return {metric: _difference(metric, full, resampled, confidence, len(reports)) for metric in METRICS}


def _check_settings(report_ids: int, sentences: int, resamples: int, confidence: float) -> None:
    if report_ids != sentences:
        raise ValueError(f"{report_ids} report ids for {sentences} sentences")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")


def _report_matrix(reports: np.ndarray, chosen: Mapping[int, Iterable[int]] | None, columns: int
                   ) -> np.ndarray | None:
    """(reports, techniques): each report's predicted columns from ``{report_id: column indices}``; None for None."""
    if chosen is None:
        return None
    unknown = set(chosen) - set(reports.tolist())
    if unknown:
        raise ValueError(f"report predictions for reports without test sentences: {sorted(unknown)[:5]}")
    matrix = np.zeros((len(reports), columns), dtype=bool)
    for r, rid in enumerate(reports.tolist()):
        matrix[r, list(chosen.get(rid, ()))] = True
    return matrix


def _difference(metric: str, full: tuple[dict, dict], resampled: tuple[dict, dict], confidence: float,
                reports: int) -> PairedDifference:
    """One metric's full-sample values of A and B and the bootstrap intervals of A - B and A / B."""
    a, b = resampled[0][metric], resampled[1][metric]
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(a - b, [tail, 100 - tail])
    ratio_low = ratio_high = None
    if (b > 0).all():
        ratio_low, ratio_high = (float(x) for x in np.percentile(a / b, [tail, 100 - tail]))
    return PairedDifference(
        metric=metric, a=float(full[0][metric][0]), b=float(full[1][metric][0]),
        difference_low=float(low), difference_high=float(high), ratio_low=ratio_low, ratio_high=ratio_high,
        a_ahead=float((a > b).mean()), tied=float((a == b).mean()), resamples=len(a), reports=reports,
        confidence=confidence)
