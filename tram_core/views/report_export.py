"""Exports with a model's findings, worked out from the report's summary (report_summary) and handed to io.exporters:
for a Navigator layer, what the model finds in a report and no sentence is labelled with; for a STIX bundle, every
technique the model finds there, with its best sentences."""

from __future__ import annotations

from tram_core.errors import UserError
from tram_core.io.exporters import check_findings_scope, export_data
from tram_core.io.navigator_layer import NAVIGATOR_COMMENT_CHARS, ModelFindings, truncate_comment
from tram_core.io.stix_export import StixFinding, StixFindings
from tram_core.store import Store
from tram_core.views.report_summary import ReportSummary, report_summary


def export_with_findings(store: Store, fmt: str, report_id: int | None = None, include_unlabelled: bool = False,
                         model_findings: bool = False, model_id: int | None = None,
                         labelled: bool = True) -> tuple[bytes, str]:
    """export_data; with ``model_findings``, a Navigator layer of one report adds what ``model_id`` (default: the
    promoted model) finds in the report by its report rule and no sentence is labelled with, and a STIX bundle of
    one report adds every technique the model finds there (``labelled`` False: only those)."""
    findings = None
    if model_findings:
        check_findings_scope(fmt, report_id)
        findings = stix_findings(store, report_id, model_id) if fmt == "stix" else \
            navigator_findings(store, report_id, model_id)
    return export_data(store, fmt, report_id, include_unlabelled, findings, labelled=labelled)


def _scored_summary(store: Store, report_id: int, model_id: int | None) -> ReportSummary:
    """The report's summary by a model with suggestions for it, or a UserError saying what to do first."""
    summary = report_summary(store, report_id, model_id)
    if summary.model is None:
        raise UserError("No model to add findings from: promote a model, or leave the model's findings out")
    if not summary.sentences_scored:
        raise UserError(f"Model #{summary.model.id} has no suggestions for report {report_id} yet: run it over "
                        "the report first, or leave the model's findings out")
    return summary


def stix_findings(store: Store, report_id: int, model_id: int | None) -> StixFindings:
    """Every technique the model finds in the report by its report rule, with its evidence and best sentences."""
    summary = _scored_summary(store, report_id, model_id)
    texts = {s.id: s.text for s in store.sentences(report_id=report_id)}
    found = tuple(StixFinding(row.technique, row.evidence,
                              tuple((texts.get(sid, ""), score) for sid, score in row.best_sentences))
                  for row in summary.techniques if row.model_finds)
    return StixFindings(f"#{summary.model.id} {summary.model.name}", found)


def navigator_findings(store: Store, report_id: int, model_id: int | None) -> ModelFindings:
    """The model and, per technique it finds in the report that no sentence is labelled with, the layer comment:
    its report evidence and its best sentences."""
    summary = _scored_summary(store, report_id, model_id)
    texts = {s.id: s.text for s in store.sentences(report_id=report_id)}
    found = []
    for row in summary.techniques:
        if not row.needs_review:
            continue
        lines = [f"found by model #{summary.model.id} {summary.model.name}, not labelled yet: report evidence "
                 f"{row.evidence:.2f}"]
        lines += [f"- {truncate_comment(texts.get(sid, ''), NAVIGATOR_COMMENT_CHARS)} (score {score:.2f})"
                  for sid, score in row.best_sentences]
        found.append((row.technique, "\n".join(lines)))
    return ModelFindings(f"#{summary.model.id} {summary.model.name}", tuple(found))
