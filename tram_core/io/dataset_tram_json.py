"""TRAM's JSON datasets: multi-label rows, single-label rows and report exports (one report or a list of them)."""

from __future__ import annotations

from typing import Any, Iterator

from tram_core.attack import Catalog
from tram_core.io.dataset_checks import (
    KIND_MULTILABEL,
    KIND_REPORT_EXPORT,
    KIND_SINGLE_LABEL,
    OTHER_DOMAIN,
    DatasetError,
    ImportOptions,
    ParsedDataset,
    ParsedReport,
    RowChecker,
    labels_list,
    merge_warnings,
    source_stem,
    status_field,
    text_field,
    title_field,
)
from tram_core.io.dataset_reports import group_by_title, joined_report, locate_sentences
from tram_core.store import LABELLED, REVIEWED, UNLABELLED, NewSentence, NewSuggestion


def parse_multilabel(obj: Any, source: str, catalog: Catalog, options: ImportOptions) -> ParsedDataset:
    """The seed notebook's multi-label JSON: ``[{"sentence", "labels": [...], "doc_title"?, "status"?}]``.

    Empty ``labels`` is a labelled negative. ``status`` (written by our exporter) keeps reviewed and unlabelled rows.
    """
    _check_row_list(obj, source, ("sentence", "labels"), "sentences")
    checker = RowChecker(source, catalog, options)
    rows = []
    for n, where, item in _object_rows(obj, ("sentence", "labels"), checker):
        text = text_field(item, "sentence", n, where, checker)
        title = title_field(item, n, where, checker)
        checked = labels_list(item, "labels", n, where, checker)
        if text is None or title is False or checked is None:
            continue
        labels, unusable = checked
        status = UNLABELLED if unusable else status_field(item.get("status"), bool(labels), n, where, checker)
        if status is None or n in checker.bad_rows:
            continue
        rows.append((title, text, labels, status))
    warnings, skipped = checker.finish()
    reports = group_by_title(rows, source_stem(source), checker) if rows else []
    return ParsedDataset(KIND_MULTILABEL, reports, merge_warnings(warnings, checker), skipped)


def parse_single_label(obj: Any, source: str, catalog: Catalog, options: ImportOptions) -> ParsedDataset:
    """TRAM 2's single-label JSON ``[{"text", "label", "doc_title"}]``; one text in one document merges its labels."""
    _check_row_list(obj, source, ("text", "label"), "rows")
    checker = RowChecker(source, catalog, options)
    merged: dict[tuple[str | None, str], set[str]] = {}
    for n, where, item in _object_rows(obj, ("text", "label"), checker):
        text = text_field(item, "text", n, where, checker)
        title = title_field(item, n, where, checker)
        if "label" not in item:
            checker.problem(n, where, "missing 'label'")
            continue
        tid = checker.technique(item["label"], n, where)
        if text is None or title is False or tid is None:
            continue
        labels = merged.setdefault((title, text), set())
        if tid != OTHER_DOMAIN:
            labels.add(tid)
    warnings, skipped = checker.finish()
    # A text whose only label came from another ATT&CK domain stays unlabelled rather than becoming a negative.
    rows = [(title, text, tuple(sorted(labels)), LABELLED if labels else UNLABELLED)
            for (title, text), labels in merged.items()]
    reports = group_by_title(rows, source_stem(source), checker) if rows else []
    return ParsedDataset(KIND_SINGLE_LABEL, reports, merge_warnings(warnings, checker), skipped)


def _check_row_list(obj: Any, source: str, keys: tuple[str, ...], rows: str) -> None:
    """A row dataset is a non-empty JSON list (of objects with ``keys``); anything else refuses the file."""
    if not isinstance(obj, list):
        wanted = "{" + ", ".join(repr(key) for key in keys) + "}"
        raise DatasetError(source, [f"expected a list of {wanted} objects, got {type(obj).__name__}"])
    if not obj:
        raise DatasetError(source, [f"the list of {rows} is empty"])


def _object_rows(obj: list, keys: tuple[str, ...], checker: RowChecker) -> Iterator[tuple[int, str, dict]]:
    """(row number, where, row) for each row that is an object; any other row is a problem of its own."""
    for n, item in enumerate(obj, start=1):
        where = f"row {n}"
        if isinstance(item, dict):
            yield n, where, item
        else:
            checker.problem(n, where, f"expected an object with {' and '.join(repr(key) for key in keys)}, "
                                      f"got {type(item).__name__}")


def _confidence(value: Any) -> float | None:
    """TRAM's confidence (a percentage, as text or number) as a score in 0..1; None when it is not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number:  # NaN
        return None
    if number > 1.0:
        number /= 100.0
    return min(max(number, 0.0), 1.0)


def parse_report_export(obj: Any, source: str, catalog: Catalog, options: ImportOptions) -> ParsedDataset:
    """TRAM's report export ``{"name", "text", "sentences": [{"text", "order", "disposition", "mappings"}]}``.

    Accepted sentences are labelled with their mappings (none = a labelled negative); the mappings of other
    sentences become suggestions of the report's ``ml_model``. A list of such reports is read as a corpus.
    """
    items = obj if isinstance(obj, list) else [obj]
    if not items:
        raise DatasetError(source, ["the list of reports is empty"])
    checker = RowChecker(source, catalog, options)
    reports = []
    multi = len(items) > 1
    for r, item in enumerate(items, start=1):
        prefix = f"report {r} " if multi else ""
        if not isinstance(item, dict):
            checker.problem((r, None), f"report {r}", f"expected a report object, got {type(item).__name__}")
            continue
        report = _parse_one_report(item, source, prefix, r, checker)
        if report is not None:
            reports.append(report)
    warnings, skipped = checker.finish()
    return ParsedDataset(KIND_REPORT_EXPORT, reports, merge_warnings(warnings, checker), skipped)


def _parse_one_report(item: dict, source: str, prefix: str, r: int, checker: RowChecker) -> ParsedReport | None:
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        checker.problem((r, None), f"{prefix}'name'".strip(), f"must be text, got {type(name).__name__}")
        return None
    title = (name or "").strip() or source_stem(source)
    sentences = item.get("sentences")
    if not isinstance(sentences, list):
        checker.problem((r, None), f"{prefix}'{title}'".strip(), "'sentences' must be a list")
        return None
    model = item.get("ml_model") if isinstance(item.get("ml_model"), str) and item.get("ml_model") else "tram-import"
    parsed = []  # (order, text, labels, status, suggestions)
    unknown_suggestions: dict[str, int] = {}
    for n, sent in enumerate(sentences, start=1):
        one = _read_sentence(sent, n, (r, n), f"{prefix}sentence {n}", checker, unknown_suggestions)
        if one is not None:
            parsed.append(one)
    if unknown_suggestions:
        listed = ", ".join(sorted(unknown_suggestions))
        checker.warnings.append(
            f"{prefix}'{title}': skipped {sum(unknown_suggestions.values())} suggestions whose ID is not in "
            f"ATT&CK {checker.catalog.version} or has no confidence ({listed}); they are model output, not answers")
    parsed.sort(key=lambda p: p[0])
    if not parsed:
        if sentences:
            return None
        checker.problem((r, None), f"{prefix}'{title}'".strip(), "the report has no sentences")
        return None
    return _report_of_sentences(item, title, model, parsed)


def _read_sentence(sent: Any, n: int, row: tuple, where: str, checker: RowChecker,
                   unknown_suggestions: dict[str, int]) -> tuple | None:
    """(order, text, labels, status, suggestions) of one exported sentence, or None when it is bad.

    An accepted (or labelled/reviewed) sentence is labelled with its mappings; another one's mappings are the
    model's suggestions, and a suggestion with an unknown ID or no confidence is counted in ``unknown_suggestions``.
    """
    if not isinstance(sent, dict):
        checker.problem(row, where, f"expected a sentence object, got {type(sent).__name__}")
        return None
    fields = _sentence_fields(sent, n, row, where, checker)
    if fields is None:
        return None
    text, order, mappings, disposition = fields
    status_raw = sent.get("status")
    labels: list[str] = []
    suggestions: list[tuple[str, float]] = []
    if disposition == "accept" or status_raw in (LABELLED, REVIEWED):
        labels, status = _accepted_labels(mappings, status_raw, row, where, checker)
    else:
        status = status_field(status_raw, False, row, where, checker) if status_raw is not None else UNLABELLED
        suggestions = _suggested_mappings(mappings, checker, unknown_suggestions)
    if status is None or row in checker.bad_rows:
        return None
    return order, text, tuple(sorted(set(labels))), status, suggestions


def _sentence_fields(sent: dict, n: int, row: tuple, where: str,
                     checker: RowChecker) -> tuple[str, int, list[dict], str | None] | None:
    """(text, order, mappings, disposition) of one exported sentence, or None after recording its problems."""
    text = text_field(sent, "text", row, where, checker)
    order = sent.get("order", n - 1)
    if not isinstance(order, int) or isinstance(order, bool):
        checker.problem(row, where, f"'order' must be a whole number, got {order!r}")
        return None
    mappings = sent.get("mappings") or []
    if not isinstance(mappings, list) or not all(isinstance(m, dict) for m in mappings):
        checker.problem(row, where, "'mappings' must be a list of {'attack_id', 'confidence'} objects")
        return None
    disposition = sent.get("disposition")
    if disposition is not None and not isinstance(disposition, str):
        checker.problem(row, where, f"'disposition' must be text or null, got {type(disposition).__name__}")
        return None
    if text is None:
        return None
    return text, order, mappings, disposition


def _accepted_labels(mappings: list[dict], status_raw: Any, row: tuple, where: str,
                     checker: RowChecker) -> tuple[list[str], str | None]:
    """(labels, status) of an answered sentence; one whose only labels are from another domain stays unlabelled."""
    labels: list[str] = []
    dropped = False
    for m in mappings:
        tid = checker.technique(m.get("attack_id"), row, where)
        if tid == OTHER_DOMAIN:
            dropped = True
        elif tid is not None:
            labels.append(tid)
    status = status_field(status_raw, bool(labels), row, where, checker)
    if dropped and not labels:
        status = UNLABELLED
    return labels, status


def _suggested_mappings(mappings: list[dict], checker: RowChecker,
                        unknown_suggestions: dict[str, int]) -> list[tuple[str, float]]:
    """The (technique, score) suggestions of an unanswered sentence; unusable ones are counted, not problems."""
    suggestions = []
    for m in mappings:
        raw = m.get("attack_id")
        tid = raw.strip().upper() if isinstance(raw, str) else ""
        tech = checker.catalog.get(tid) if tid else None
        score = _confidence(m.get("confidence"))
        if tech is None or score is None:
            unknown_suggestions[str(raw)] = unknown_suggestions.get(str(raw), 0) + 1
            continue
        suggestions.append((tech.id, score))
    return suggestions


def _report_of_sentences(item: dict, title: str, model: str, parsed: list[tuple]) -> ParsedReport:
    """The report: its own text when every sentence is found in it, else the sentences joined; with suggestions."""
    texts = [p[1] for p in parsed]
    full_text = item.get("text") if isinstance(item.get("text"), str) else ""
    offsets = locate_sentences(full_text, texts) if full_text.strip() else None
    if offsets is None:
        report = joined_report(title, [(p[1], p[2], p[3]) for p in parsed])
    else:
        report = ParsedReport(title=title, text=full_text, sentences=[
            NewSentence(text=p[1], start=s, end=e, labels=p[2], status=p[3]) for p, (s, e) in zip(parsed, offsets)])
    report.source = item.get("url") if isinstance(item.get("url"), str) else ""
    report.suggestions = [NewSuggestion(i, tid, score) for i, p in enumerate(parsed) for tid, score in p[4]]
    report.suggestion_model = model if report.suggestions else None
    return report
