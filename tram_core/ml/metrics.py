"""The evaluation a run stores: sentence scores at 0.5 and at tuned thresholds, report-level scores, curves, and
the same headline scores apart for TRAM's 50 techniques and for the others.

The scores themselves live in technique_scores, report_scores and threshold_tuning; import them from there.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np

from tram_core.attack import TRAM_CLASSES
from tram_core.ml.report_scores import document_scores
from tram_core.ml.technique_scores import (
    ThresholdsLike, check_scores, label_matrix, predict_matrix, scores_from_matrices,
)
from tram_core.ml.threshold_tuning import threshold_curve
from tram_core.ml.thresholds import DEFAULT_THRESHOLD, Thresholds, report_rule_text


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
    rule with a report threshold, else the union of the sentence predictions; its ``rule`` says which in words),
    ``curves`` (threshold_curve rows) and ``by_label_space`` (label_space_scores: TRAM's 50 apart from the other
    techniques).
    """
    classes = list(classes)
    scores = check_scores(scores, classes)
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
    document, by_report = None, None
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
        "by_label_space": label_space_scores(y_true, scores, classes, tuned, report_ids, by_report),
    }


# The two label spaces scores are told apart by: TRAM's released model's 50 techniques, and every other one.
LABEL_SPACES = {"tram50": "TRAM's 50 techniques", "other": "the other techniques"}


def label_space_scores(y_true: Sequence[Iterable[str]], scores: np.ndarray, classes: Sequence[str],
                       thresholds: Thresholds, report_ids: Sequence[int] | None = None,
                       predicted_by_report: dict | None = None) -> dict:
    """Headline scores on TRAM's 50 techniques and on the others, apart (None for one the classes lack).

    Each holds ``techniques`` (how many of the classes are in it), ``at_0_5`` and ``at_tuned`` (the Scores
    fields without per-technique rows) and ``document`` (report-level micro/macro, or None without report ids),
    all computed on that label space's columns only: a model's score on TRAM's 50 is never mixed with its score
    on techniques TRAM's model never had.
    """
    tram = set(TRAM_CLASSES)
    out: dict[str, dict | None] = {}
    for name, keep in (("tram50", lambda c: c in tram), ("other", lambda c: c not in tram)):
        columns = [j for j, c in enumerate(classes) if keep(c)]
        if not columns:
            out[name] = None
            continue
        chosen = [classes[j] for j in columns]
        truth = label_matrix(y_true, chosen)
        part = scores[:, columns]
        row = {"techniques": len(chosen)}
        for key, rule in (("at_0_5", DEFAULT_THRESHOLD), ("at_tuned", thresholds)):
            summary = scores_from_matrices(truth, predict_matrix(part, chosen, rule), chosen).to_dict()
            row[key] = {k: v for k, v in summary.items() if k != "per_technique"}
        row["document"] = None
        if report_ids is not None and predicted_by_report is not None:
            document = document_scores(list(report_ids), y_true, None, chosen, predicted_by_report=predicted_by_report)
            row["document"] = {k: v for k, v in document.items() if k != "per_report"}
        out[name] = row
    return out
