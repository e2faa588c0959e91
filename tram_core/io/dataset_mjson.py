"""MAT ``.mjson`` reports: the signal is the report text, technique asets hold character spans labelling sentences."""

from __future__ import annotations

import bisect
import re
from typing import Any

from tram_core.attack import Catalog
from tram_core.io.dataset_checks import (
    KIND_MJSON,
    DatasetError,
    ImportOptions,
    ParsedDataset,
    ParsedReport,
    RowChecker,
    merge_warnings,
    source_stem,
)
from tram_core.io.sentences import split_sentences
from tram_core.store import LABELLED, UNLABELLED, NewSentence

_MJSON_TECHNIQUE = re.compile(r"\((T\d{4}(?:\.\d{3})?)\)\s*$")
_MJSON_OTHER = "[OTHER]"
_HAS_WORD_CHAR = re.compile(r"[^\W_]")  # a letter or digit, any script

Span = tuple[int, int, str | None]  # (start, end, technique or None when it cannot be used)


def parse_mjson(obj: Any, source: str, catalog: Catalog, options: ImportOptions) -> ParsedDataset:
    """A MAT ``.mjson`` report: the signal is the text, technique asets hold character spans.

    Overlap rule: a sentence carries a technique when one of its spans shares at least one letter or digit with
    the sentence. Spans often cover a fragment of a sentence, and a span that crosses a sentence boundary is
    evidence for both sentences (list items like "PID" inside a span count), but whitespace and punctuation
    clipped at a span's edge do not (in the 121 TRAM reports, 2 spans start with the previous sentence's ". ").
    Every sentence is
    labelled, since the reports were annotated in full: one that no span touches is a labelled negative. A
    sentence touched only by a span whose ID cannot be used (ATT&CK for ICS IDs like T0823, or a bad span that
    was skipped) stays unlabelled rather than becoming a false negative. A third element on a technique aset's
    span is the annotator's note (e.g. 'T1074.002' on a 'Local Data Staging (T1074.001)' span): the aset names
    the technique.
    """
    signal, asets = _signal_and_asets(obj, source, options)
    checker = RowChecker(source, catalog, options)
    spans = _technique_spans(asets, signal, checker)
    warnings, skipped = checker.finish()
    title, url, header_end = _header(signal, source)
    body = [span for span in split_sentences(signal) if span.end > header_end]
    sentences = _label_by_overlap(signal, body, spans)
    report = ParsedReport(title=title, text=signal, sentences=sentences, source=url)
    return ParsedDataset(KIND_MJSON, [report], merge_warnings(warnings, checker), skipped)


def _signal_and_asets(obj: Any, source: str, options: ImportOptions) -> tuple[str, list]:
    """The report text and the annotation sets, or ``DatasetError`` when the file is not a MAT object."""
    if not isinstance(obj, dict):
        raise DatasetError(source, [f"expected a MAT object with 'signal' and 'asets', got {type(obj).__name__}"])
    signal = obj.get("signal")
    if not isinstance(signal, str):
        raise DatasetError(source, ["missing 'signal' (the report text)" if signal is None else "'signal' must be text"])
    if not signal.strip():
        raise DatasetError(source, ["'signal' (the report text) is empty"])
    options.limits.check_text(len(signal), source)  # before the splitter runs over it
    asets = obj.get("asets")
    if not isinstance(asets, list):
        raise DatasetError(source, ["missing 'asets' (the annotations)" if asets is None else "'asets' must be a list"])
    return signal, asets


def _technique_spans(asets: list, signal: str, checker: RowChecker) -> list[Span]:
    """Every span of a technique aset or of an [OTHER] aset naming an ID; bad asets and spans are problems."""
    spans: list[Span] = []
    for a, aset in enumerate(asets, start=1):
        if not isinstance(aset, dict) or not isinstance(aset.get("type"), str):
            checker.problem(("aset", a), f"aset {a}", "expected an object with a 'type'")
            continue
        kind = aset["type"]
        match = _MJSON_TECHNIQUE.search(kind)
        if match is None and kind != _MJSON_OTHER:
            continue  # zone, lex, SEGMENT, [WUZZA]: tool bookkeeping, not techniques
        annots = aset.get("annots") or []
        if not isinstance(annots, list):
            checker.problem(("aset", a), f"aset '{kind}'", "'annots' must be a list of [start, end] spans")
            continue
        aset_id = None
        if match:
            # None when the aset's ID is unknown: with skip_bad_rows its spans then leave sentences unlabelled.
            aset_id = checker.technique(match.group(1), ("aset", a), f"aset '{kind}'")
        spans.extend(_aset_spans(a, kind, match is not None, aset_id, annots, signal, checker))
    return spans


def _aset_spans(a: int, kind: str, names_technique: bool, aset_id: str | None, annots: list, signal: str,
                checker: RowChecker) -> list[Span]:
    """The spans of aset ``a``: a technique aset's carry its ID, an [OTHER] aset's the ID noted on each span."""
    spans: list[Span] = []
    for k, annot in enumerate(annots, start=1):
        row = ("span", a, k)
        where = f"span {k} of aset '{kind}'"
        if not _valid_span(annot, len(signal)):
            checker.problem(row, where, f"expected [start, end] or [start, end, \"note\"] within the text "
                                        f"(0-{len(signal)}), got {_short_repr(annot)}")
            continue
        start, end = annot[0], annot[1]
        if names_technique:
            # A third element on a technique aset is the annotator's note; the aset names the technique.
            spans.append((start, end, aset_id or None))
            continue
        extra = annot[2] if len(annot) > 2 else None
        if not isinstance(extra, str) or not extra.strip():
            continue  # an [OTHER] span without an ID is not a technique
        technique = checker.technique(extra, row, f"{where} ({extra.strip()})")
        spans.append((start, end, technique or None))
    return spans


def _valid_span(annot: Any, length: int) -> bool:
    """Whether ``annot`` is [start, end] or [start, end, "note"] with 0 <= start < end <= ``length``."""
    return (isinstance(annot, list) and 2 <= len(annot) <= 3
            and all(isinstance(x, int) and not isinstance(x, bool) for x in annot[:2])
            and (len(annot) != 3 or isinstance(annot[2], str))
            and 0 <= annot[0] < annot[1] <= length)


def _header(signal: str, source: str) -> tuple[str, str, int]:
    """(title, url, where the body starts): the "title:" and "url:" lines are metadata, not report sentences."""
    lines = signal.split("\n", 2)
    title = source_stem(source).replace("_", " ").strip()
    url = ""
    header_end = 0
    if lines and lines[0].lower().startswith("title:"):
        title = lines[0][len("title:"):].strip() or title
        header_end = len(lines[0])
        if len(lines) > 1 and lines[1].lower().startswith("url:"):
            url = lines[1][len("url:"):].strip()
            header_end += 1 + len(lines[1])
    return title, url, header_end


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label_by_overlap(signal: str, spans_of_sentences, spans: list[Span]) -> list[NewSentence]:
    """Each sentence with the techniques of the spans sharing a letter or digit with it (see ``parse_mjson``)."""
    sents = list(spans_of_sentences)
    starts = [s.start for s in sents]
    labels: list[set[str]] = [set() for _ in sents]
    unusable: list[bool] = [False] * len(sents)
    for start, end, technique in spans:
        i = max(bisect.bisect_right(starts, start) - 1, 0)
        while i < len(sents) and sents[i].start < end:
            sent = sents[i]
            lo, hi = max(start, sent.start), min(end, sent.end)
            if lo < hi and _HAS_WORD_CHAR.search(signal, lo, hi):
                if technique is None:
                    unusable[i] = True
                else:
                    labels[i].add(technique)
            i += 1
    out = []
    for sent, techs, bad in zip(sents, labels, unusable):
        status = UNLABELLED if (bad and not techs) else LABELLED
        out.append(NewSentence(text=sent.text, start=sent.start, end=sent.end, labels=tuple(sorted(techs)),
                               status=status))
    return out
