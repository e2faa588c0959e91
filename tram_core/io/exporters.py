"""Exports of one report or the corpus: TRAM multi-label JSON, TRAM report JSON, CSV, ATT&CK Navigator layers and
STIX 2.1 bundles."""

from __future__ import annotations

import json
import re
from typing import Any

from tram_core.errors import UserError
from tram_core.io.csv_cells import csv_bytes
from tram_core.io.navigator_coverage import model_coverage_layer
from tram_core.io.navigator_layer import ModelFindings, navigator_export
from tram_core.io.stix_export import StixFindings, stix_export
from tram_core.store import UNLABELLED, Store

EXPORT_FORMATS = ("tram-multilabel", "tram-report", "csv", "navigator")  # the export form's formats
STIX = "stix"
ALL_EXPORT_FORMATS = EXPORT_FORMATS + (STIX,)  # every format export_data writes
FINDINGS_FORMATS = ("navigator", STIX)  # the formats that can carry a model's findings in one report


def export_data(store: Store, fmt: str, report_id: int | None = None, include_unlabelled: bool = False,
                findings: ModelFindings | StixFindings | None = None, labelled: bool = True) -> tuple[bytes, str]:
    """Export one report (``report_id``) or the whole corpus as ``fmt``; returns (content, suggested filename).

    tram-multilabel and csv hold labelled and reviewed sentences (a row's ``status`` says which); with
    ``include_unlabelled`` they add unlabelled rows, marked ``"status": "unlabelled"`` so nobody reads them as
    negatives. tram-report holds every sentence (one report as an object, the corpus as a list). navigator is an
    ATT&CK Navigator layer scoring each technique by the number of sentences labelled with it; for one report it
    adds ``findings``, in their own colour: what a model finds in the report and no sentence is labelled with
    (views.report_export works them out). stix is a STIX 2.1 bundle (io.stix_export): the labelled sentences as
    evidence of ATT&CK's attack-patterns, plus, for one report, a model's ``findings`` (``StixFindings``); with
    ``labelled`` False only the findings.
    """
    if findings is not None:
        check_findings_scope(fmt, report_id)
        expected = StixFindings if fmt == STIX else ModelFindings
        if not isinstance(findings, expected):
            raise TypeError(f"{fmt} findings must be {expected.__name__}, not {type(findings).__name__}")
    if fmt not in ALL_EXPORT_FORMATS:
        raise UserError(f"Unknown export format '{fmt}'; use one of {', '.join(ALL_EXPORT_FORMATS)}")
    if not labelled and fmt != STIX:
        raise UserError("Only a STIX bundle can leave the labelled sentences out (with the model's findings only)")
    if report_id is not None:
        stem = f"report-{report_id}-{_slug(store.get_report(report_id).title)}"
    else:
        stem = "tram-corpus"
    if fmt in ("tram-multilabel", "csv"):
        return _sentence_rows(store, fmt, stem, report_id, include_unlabelled)
    if fmt == "tram-report":
        if report_id is not None:
            return _json_bytes(_report_export(store, report_id)), f"{stem}.json"
        return _json_bytes([_report_export(store, r.id) for r in store.list_reports()]), f"{stem}-reports.json"
    if fmt == STIX:
        return stix_export(store, report_id, labelled=labelled, findings=findings), f"{stem}-stix.json"
    layer = navigator_export(store, report_id, findings)
    return _json_bytes(layer), f"{stem}-navigator-layer.json"


def export_model_coverage(store: Store, model_id: int, by: str = "f1") -> tuple[bytes, str]:
    """The Navigator layer of a trained model's label space scored ``by`` test F1 or training support
    (io.navigator_coverage), and its suggested file name."""
    layer = model_coverage_layer(store, model_id, by)
    return _json_bytes(layer), f"model-{model_id}-{by}-navigator-layer.json"


def check_findings_scope(fmt: str, report_id: int | None) -> None:
    """A model's findings go into a Navigator layer or a STIX bundle of one report, nowhere else."""
    if fmt not in FINDINGS_FORMATS or report_id is None:
        raise UserError("The model's findings go into a Navigator layer of one report or a STIX bundle of one: "
                        "choose the navigator or stix format and a report")


def _sentence_rows(store: Store, fmt: str, stem: str, report_id: int | None,
                   include_unlabelled: bool) -> tuple[bytes, str]:
    """tram-multilabel or csv: one row per sentence with its labels, document title and status."""
    examples = store.examples(include_unlabelled=include_unlabelled, report_id=report_id)
    if fmt == "tram-multilabel":
        rows = [{"sentence": ex.text, "labels": list(ex.labels), "doc_title": ex.doc_title, "status": ex.status}
                for ex in examples]
        return _json_bytes(rows), f"{stem}-multilabel.json"
    # Cells a spreadsheet would run as formulas get a leading ' (csv_cells); parse_csv takes it off again.
    rows = ([ex.doc_title, ex.text, ";".join(ex.labels), ex.status] for ex in examples)
    return csv_bytes(["doc_title", "sentence", "labels", "status"], rows), f"{stem}.csv"


def _slug(text: str, limit: int = 60) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[:limit].strip("-") or "report"


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _suggestions(store: Store, sentence_ids: list[int]) -> dict[int, list[tuple[str, float]]]:
    """Model suggestions per sentence where the store offers them (added by the jobs module); else none."""
    lookup = getattr(store, "suggestions_for", None)
    if lookup is None or not sentence_ids:
        return {}
    try:
        return dict(lookup(sentence_ids))
    except Exception:  # pragma: no cover - a store without suggestions for these sentences
        return {}


def _report_export(store: Store, report_id: int) -> dict:
    report = store.get_report(report_id)
    sentences = store.sentences(report_id=report_id)
    suggestions = _suggestions(store, [s.id for s in sentences if s.status == UNLABELLED])
    out_sentences = []
    for s in sentences:
        answered = s.status != UNLABELLED
        if answered:
            mappings = [{"attack_id": t, "confidence": "100.0"} for t in s.labels]
        else:
            mappings = [{"attack_id": t, "confidence": f"{100 * score:.1f}"}
                        for t, score in sorted(suggestions.get(s.id, []), key=lambda ts: -ts[1])]
        out_sentences.append({
            "text": s.text, "order": s.position, "disposition": "accept" if answered else None,
            "status": s.status, "mappings": mappings,
        })
    # TRAM's "ml_model" names who made the mappings of unaccepted sentences: the promoted model here.
    model_name = "humans"
    if any(suggestions.values()):
        promoted = store.promoted_model()
        model_name = promoted.name if promoted is not None else "model"
    return {
        "name": report.title, "text": report.text, "url": report.source, "ml_model": model_name,
        "created_on": report.created_at.isoformat() + "Z", "sentences": out_sentences,
    }

