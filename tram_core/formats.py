"""Dataset formats: parse TRAM JSON, MAT .mjson and CSV files into reports with labelled sentences, and export them.

Every parser checks every row before anything is stored. Bad rows raise ``DatasetError`` listing them (or, with
``ImportOptions(skip_bad_rows=True)``, are left out and counted). Unknown technique IDs are bad rows; revoked or
deprecated IDs are kept with a warning naming their replacement.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tram_core.attack import (
    TECHNIQUE_ID,
    TECHNIQUE_LIST_SEPARATORS,
    Catalog,
    UnknownTechniqueError,
    load_catalog,
    parent_of,
)
from tram_core.csv_cells import csv_bytes, unquote_cell
from tram_core.errors import UserError
from tram_core.limits import DEFAULT_LIMITS, InputLimits, LimitError, json_depth_and_strings
from tram_core.sentences import split_sentences
from tram_core.store import (
    LABELLED,
    REVIEWED,
    SENTENCE_STATUSES,
    UNLABELLED,
    ImportOutcome,
    NewReport,
    NewSentence,
    NewSuggestion,
    Store,
)

EXPORT_FORMATS = ("tram-multilabel", "tram-report", "csv", "navigator")

# What each importer's ``kind`` is called in results and messages.
KIND_MULTILABEL = "tram-multilabel"
KIND_SINGLE_LABEL = "tram-single-label"
KIND_REPORT_EXPORT = "tram-report"
KIND_MJSON = "mat-mjson"
KIND_CSV = "csv"

MAX_LISTED_PROBLEMS = 20

# A technique ID from another ATT&CK domain: known to be an ID, but not in the Enterprise catalog, so not usable
# as a label. ``_RowChecker.technique`` returns it for such IDs; a row left with no usable label stays unlabelled.
OTHER_DOMAIN = ""
_ICS_ID = re.compile(r"^T0\d{3}$")
_RETIRED_RANGE = (1224, 1479)  # PRE-ATT&CK (retired in ATT&CK v8) and ATT&CK for Mobile IDs; none is Enterprise

# ATT&CK Navigator layer format written by export_data(..., "navigator").
NAVIGATOR_VERSIONS = {"attack": "18", "navigator": "5.1.0", "layer": "4.5"}
NAVIGATOR_MODEL_COLOR = "#66b1ffff"  # techniques a model finds in a report that no sentence is labelled with
NAVIGATOR_COMMENT_SENTENCES = 5
NAVIGATOR_COMMENT_CHARS = 240


@dataclass
class ImportOptions:
    """How strict an import is and whether sub-techniques roll up to a parent in a class list (TRAM's 50)."""

    skip_bad_rows: bool = False
    roll_up_to: tuple[str, ...] | None = None
    limits: InputLimits = DEFAULT_LIMITS  # how far one file may expand (settings.limits)


@dataclass
class ImportResult:
    """What one import did: a store outcome per report, warnings for the user, and how many bad rows were skipped."""

    source: str
    kind: str
    outcomes: list[ImportOutcome]
    warnings: list[str] = field(default_factory=list)
    skipped_rows: int = 0

    @property
    def reports_created(self) -> int:
        return sum(1 for o in self.outcomes if o.created)

    @property
    def duplicates(self) -> int:
        """Reports whose text was already stored (not stored again)."""
        return sum(1 for o in self.outcomes if not o.created)

    @property
    def sentences(self) -> int:
        """Sentences stored by this import (a duplicate report adds none)."""
        return sum(o.sentences for o in self.outcomes if o.created)

    @property
    def labelled(self) -> int:
        """Sentences stored with an analyst's answer (a technique list, possibly empty)."""
        return sum(o.labelled for o in self.outcomes if o.created)

    def summary(self) -> str:
        """One line for a person: what was created, what was already there, how many rows were skipped."""
        parts = []
        if len(self.outcomes) == 1:
            o = self.outcomes[0]
            if o.created:
                parts.append(f"created report {o.report_id} '{o.title}': {o.sentences} sentences, {o.labelled} labelled")
            else:
                parts.append(f"duplicate: {o.message}")
        else:
            parts.append(f"{self.reports_created} reports created, {self.duplicates} duplicates, "
                         f"{self.sentences} sentences, {self.labelled} labelled")
        if self.skipped_rows:
            parts.append(f"{self.skipped_rows} bad rows skipped")
        return "; ".join(parts)


class DatasetError(UserError):
    """A dataset file with bad rows; nothing of it was stored. ``problems`` lists every bad row."""

    def __init__(self, source: str, problems: Sequence[str], hint: str = "", bad_rows: int | None = None):
        self.source = source
        self.problems = list(problems)
        self.bad_rows = len(self.problems) if bad_rows is None else bad_rows
        listed = "; ".join(self.problems[:MAX_LISTED_PROBLEMS])
        more = len(self.problems) - MAX_LISTED_PROBLEMS
        if more > 0:
            listed += f"; and {more} more"
        if len(self.problems) == 1:
            message = f"{source}: {listed}"
        else:
            count = f"{self.bad_rows} bad rows" if self.bad_rows == len(self.problems) else \
                f"{self.bad_rows} bad rows ({len(self.problems)} problems)"
            message = f"{source}: {count}: {listed}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


ParsedReport = NewReport  # one report ready for ``Store.add_reports``: offsets of every sentence point into ``text``


@dataclass
class ParsedDataset:
    """What a parser made of one file: its reports, warnings, and how many bad rows were skipped."""

    kind: str
    reports: list[ParsedReport]
    warnings: list[str] = field(default_factory=list)
    skipped_rows: int = 0


# --------------------------------------------------------------------------------------------------- row checks


class _RowChecker:
    """Collects bad rows, revoked-ID warnings and roll-ups while one file is parsed."""

    def __init__(self, source: str, catalog: Catalog, options: ImportOptions):
        self.source = source
        self.catalog = catalog
        self.options = options
        self.problems: list[str] = []
        self.bad_rows: set[Any] = set()
        self.warnings: list[str] = []
        self._notes: dict[str, tuple[str, list[str]]] = {}
        self._rolled: dict[tuple[str, str], int] = {}
        self._other_domain: dict[str, list[str]] = {}
        self._roll_classes = tuple(options.roll_up_to) if options.roll_up_to else None

    def problem(self, row: Any, where: str, message: str) -> None:
        self.bad_rows.add(row)
        self.problems.append(f"{where}: {message}")

    def technique(self, raw: Any, row: Any, where: str) -> str | None:
        """The checked (and possibly rolled-up) technique ID, or None after recording a problem.

        An ATT&CK for ICS ID (T0xxx) or a retired PRE-ATT&CK / Mobile ID (T1224-T1479) that the Enterprise
        catalog lacks is not an error: it gives ``OTHER_DOMAIN`` and a warning, and the caller drops it.
        """
        if not isinstance(raw, str):
            self.problem(row, where, f"technique ID must be text, got {type(raw).__name__} {raw!r}")
            return None
        tid = raw.strip().upper()
        if tid not in self.catalog and TECHNIQUE_ID.match(tid):
            number = int(tid[1:5])
            if _ICS_ID.match(tid) or _RETIRED_RANGE[0] <= number <= _RETIRED_RANGE[1]:
                self._other_domain.setdefault(tid, []).append(where)
                return OTHER_DOMAIN
        try:
            tech = self.catalog.require(tid)
        except UnknownTechniqueError:
            if TECHNIQUE_ID.match(tid):
                self.problem(row, where, f"unknown technique '{raw.strip()}' (not in ATT&CK {self.catalog.version})")
            else:
                self.problem(row, where, f"'{raw}' is not an ATT&CK technique ID (like T1055 or T1055.001)")
            return None
        if tech.status_note:
            self._notes.setdefault(tid, (tech.status_note, []))[1].append(where)
        if self._roll_classes:
            rolled = self.catalog.roll_up(tid, self._roll_classes)
            if rolled != tid:
                self._rolled[(tid, rolled)] = self._rolled.get((tid, rolled), 0) + 1
                return rolled
        return tid

    def finish(self) -> tuple[list[str], int]:
        """Raise ``DatasetError`` for bad rows (unless skipping); return the warnings and the skipped-row count."""
        if self.problems and not self.options.skip_bad_rows:
            raise DatasetError(self.source, self.problems, "nothing was imported; fix the rows or skip bad rows",
                               bad_rows=len(self.bad_rows))
        warnings = list(self.warnings)
        for tid, (note, wheres) in self._notes.items():
            listed = ", ".join(wheres[:5]) + (f" and {len(wheres) - 5} more" if len(wheres) > 5 else "")
            warnings.append(f"{note}; kept as {tid} ({listed})")
        if self._other_domain:
            ids = sorted(self._other_domain)
            wheres = sorted({w for ws in self._other_domain.values() for w in ws})
            listed = ", ".join(wheres[:5]) + (f" and {len(wheres) - 5} more" if len(wheres) > 5 else "")
            warnings.append(
                f"dropped {', '.join(ids)}: ATT&CK for ICS, PRE-ATT&CK or Mobile IDs, not in the Enterprise catalog "
                f"({listed}); a sentence with no other label stays unlabelled rather than becoming a negative")
        if self._rolled:
            pairs = ", ".join(f"{a} -> {b} ({n})" for (a, b), n in sorted(self._rolled.items()))
            warnings.append(f"rolled sub-techniques up to a parent in the class list: {pairs}")
        if self.problems:
            shown = "; ".join(self.problems[:MAX_LISTED_PROBLEMS])
            more = len(self.problems) - MAX_LISTED_PROBLEMS
            warnings.append(f"skipped {len(self.bad_rows)} bad rows: {shown}" + (f"; and {more} more" if more > 0 else ""))
        return warnings, len(self.bad_rows)


def _decode(data: bytes, source: str) -> str:
    if not data.strip():
        raise DatasetError(source, ["the file is empty"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(source, [f"not UTF-8 text (byte {exc.start})"]) from exc


def load_json(data: bytes, source: str, limits: InputLimits = DEFAULT_LIMITS) -> Any:
    """Parse JSON bytes, or raise ``DatasetError`` saying where the JSON breaks.

    Also refused, each with one line: nesting past the limit (Python's parser itself gives up with a
    RecursionError near 1,000 levels), integers too long to convert, and lone surrogates in strings.
    """
    text = _decode(data, source)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = exc.msg[:-3] if exc.msg.endswith(" at") else exc.msg  # "Invalid control character at"
        raise DatasetError(source, [f"not valid JSON: {reason} at line {exc.lineno} column {exc.colno}"]) from exc
    except RecursionError:
        raise LimitError(f"{source}: nested deeper than the limit of {limits.max_nesting} levels "
                         "(the setting is TRAM_MAX_NESTING)") from None
    except ValueError as exc:
        if "digits" in str(exc):  # Python refuses to convert integers of over 4,300 digits
            raise DatasetError(source, ["not valid JSON for TRAM: a number with more than 4,300 digits"]) from None
        raise DatasetError(source, [f"not valid JSON: {str(exc)[:120]}"]) from None
    json_depth_and_strings(obj, source, limits)
    return obj


def detect_json_kind(obj: Any) -> str | None:
    """Which dataset a parsed JSON value is: multi-label, single-label, report export or MAT; None if none."""
    if isinstance(obj, dict):
        if "signal" in obj and "asets" in obj:
            return KIND_MJSON
        if "sentences" in obj:
            return KIND_REPORT_EXPORT
        return None
    if isinstance(obj, list):
        first = next((item for item in obj if isinstance(item, dict)), None)
        if first is None:
            return None
        if "sentences" in first and ("name" in first or "text" in first):
            return KIND_REPORT_EXPORT
        if "sentence" in first or "labels" in first:
            return KIND_MULTILABEL
        if "label" in first or ("text" in first and "doc_title" in first):
            return KIND_SINGLE_LABEL
    return None


def _stem(source: str) -> str:
    return Path(source).stem or source


# --------------------------------------------------------------------------------------------------- building reports


def _joined_report(title: str, rows: list[tuple[str, tuple[str, ...], str]], source: str = "") -> ParsedReport:
    """A report whose text is its sentences joined with newlines; ``rows`` are (text, labels, status)."""
    parts = []
    sentences = []
    pos = 0
    for text, labels, status in rows:
        if parts:
            pos += 1  # the newline
        parts.append(text)
        sentences.append(NewSentence(text=text, start=pos, end=pos + len(text), labels=labels, status=status))
        pos += len(text)
    return ParsedReport(title=title, text="\n".join(parts), sentences=sentences, source=source)


def locate_sentences(text: str, sentences: Sequence[str]) -> list[tuple[int, int]] | None:
    """Offsets of each sentence in ``text``, in order (whitespace may differ); None when one is not found.

    Linear in the text: an exact ``str.find`` first, else a find in the text with its whitespace squeezed. (A
    regular expression of the words joined by ``\\s+`` cost text length x sentence length on a near miss.)
    """
    out = []
    cursor = 0
    squeezed: _SqueezedText | None = None
    for sentence in sentences:
        words = sentence.split()
        if not words:
            return None
        start = text.find(sentence, cursor)
        if start >= 0:
            end = start + len(sentence)
        else:
            squeezed = squeezed or _SqueezedText(text)
            found = squeezed.find(" ".join(words), cursor)
            if found is None:
                return None
            start, end = found
        out.append((start, end))
        cursor = end
    return out


class _SqueezedText:
    """A text with every run of whitespace squeezed to one space, and the way back to the original offsets."""

    def __init__(self, text: str):
        tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
        self.text_starts = [start for start, _ in tokens]
        self.lengths = [len(token) for _, token in tokens]
        self.squeezed_starts = []
        position = 0
        for _, token in tokens:
            self.squeezed_starts.append(position)
            position += len(token) + 1
        self.squeezed = " ".join(token for _, token in tokens)

    def _original(self, k: int) -> int:
        """The original offset of squeezed character ``k`` (a non-space character)."""
        import bisect

        i = bisect.bisect_right(self.squeezed_starts, k) - 1
        return self.text_starts[i] + (k - self.squeezed_starts[i])

    def find(self, needle: str, cursor: int) -> tuple[int, int] | None:
        """(start, end) in the original text of the first match of ``needle`` starting at or after ``cursor``."""
        import bisect

        i = bisect.bisect_right(self.text_starts, cursor) - 1  # the token holding the cursor, or the one before it
        if i >= 0 and cursor < self.text_starts[i] + self.lengths[i]:
            begin = self.squeezed_starts[i] + (cursor - self.text_starts[i])  # "cmdlet.Storing": mid-token
        else:
            begin = self.squeezed_starts[i + 1] if i + 1 < len(self.squeezed_starts) else len(self.squeezed)
        k = self.squeezed.find(needle, begin)
        if k < 0:
            return None
        return self._original(k), self._original(k + len(needle) - 1) + 1


def _group_by_title(
    rows: list[tuple[str | None, str, tuple[str, ...], str]], default_title: str, checker: _RowChecker,
) -> list[ParsedReport]:
    """One report per document title (in order of first appearance); rows without a title go under the file's name."""
    groups: dict[str, list[tuple[str, tuple[str, ...], str]]] = {}
    untitled = 0
    for title, text, labels, status in rows:
        if not title:
            untitled += 1
        groups.setdefault(title or default_title, []).append((text, labels, status))
    if untitled:
        checker.warnings.append(f"{untitled} rows without doc_title went into report '{default_title}'")
    return [_joined_report(title, group) for title, group in groups.items()]


def _status_field(value: Any, has_labels: bool, row: Any, where: str, checker: _RowChecker) -> str | None:
    if value is None:
        return LABELLED
    if value not in SENTENCE_STATUSES:
        checker.problem(row, where, f"'status' must be one of {', '.join(SENTENCE_STATUSES)}, got {value!r}")
        return None
    if value == UNLABELLED and has_labels:
        checker.problem(row, where, "an unlabelled row cannot carry labels")
        return None
    return value


def _text_field(item: dict, key: str, row: Any, where: str, checker: _RowChecker) -> str | None:
    if key not in item:
        checker.problem(row, where, f"missing '{key}'")
        return None
    value = item[key]
    if not isinstance(value, str):
        checker.problem(row, where, f"'{key}' must be text, got {type(value).__name__}")
        return None
    if not value.strip():
        checker.problem(row, where, f"'{key}' is empty")
        return None
    return value


def _title_field(item: dict, row: Any, where: str, checker: _RowChecker) -> str | None | bool:
    """The doc_title (None when absent), or False after recording a problem."""
    title = item.get("doc_title")
    if title is None:
        return None
    if not isinstance(title, str):
        checker.problem(row, where, f"'doc_title' must be text, got {type(title).__name__}")
        return False
    return title.strip() or None


# --------------------------------------------------------------------------------------------------- parsers


def parse_multilabel(obj: Any, source: str, catalog: Catalog, options: ImportOptions) -> ParsedDataset:
    """The seed notebook's multi-label JSON: ``[{"sentence", "labels": [...], "doc_title"?, "status"?}]``.

    Empty ``labels`` is a labelled negative. ``status`` (written by our exporter) keeps reviewed and unlabelled rows.
    """
    if not isinstance(obj, list):
        raise DatasetError(source, [f"expected a list of {{'sentence', 'labels'}} objects, got {type(obj).__name__}"])
    if not obj:
        raise DatasetError(source, ["the list of sentences is empty"])
    checker = _RowChecker(source, catalog, options)
    rows = []
    for n, item in enumerate(obj, start=1):
        where = f"row {n}"
        if not isinstance(item, dict):
            checker.problem(n, where, f"expected an object with 'sentence' and 'labels', got {type(item).__name__}")
            continue
        text = _text_field(item, "sentence", n, where, checker)
        title = _title_field(item, n, where, checker)
        checked = _labels_list(item, "labels", n, where, checker)
        if text is None or title is False or checked is None:
            continue
        labels, unusable = checked
        status = UNLABELLED if unusable else _status_field(item.get("status"), bool(labels), n, where, checker)
        if status is None or n in checker.bad_rows:
            continue
        rows.append((title, text, labels, status))
    warnings, skipped = checker.finish()
    reports = _group_by_title(rows, _stem(source), checker) if rows else []
    return ParsedDataset(KIND_MULTILABEL, reports, _merge_warnings(warnings, checker), skipped)


def _merge_warnings(finished: list[str], checker: _RowChecker) -> list[str]:
    """Warnings from ``finish`` plus any the grouping step added afterwards."""
    return finished + [w for w in checker.warnings if w not in finished]


def _labels_list(item: dict, key: str, row: Any, where: str,
                 checker: _RowChecker) -> tuple[tuple[str, ...], bool] | None:
    """(labels, unusable) or None after recording a problem; ``unusable``: every label was from another domain."""
    if key not in item:
        checker.problem(row, where, f"missing '{key}'")
        return None
    raw = item[key]
    if not isinstance(raw, list):
        checker.problem(row, where, f"'{key}' must be a list of technique IDs, got {type(raw).__name__}")
        return None
    out = []
    dropped = False
    failed = False
    for value in raw:
        tid = checker.technique(value, row, where)  # every ID is checked, so a row lists all its bad IDs
        if tid is None:
            failed = True
        elif tid == OTHER_DOMAIN:
            dropped = True
        else:
            out.append(tid)
    if failed:
        return None
    return tuple(sorted(set(out))), dropped and not out


def parse_single_label(obj: Any, source: str, catalog: Catalog, options: ImportOptions) -> ParsedDataset:
    """TRAM 2's single-label JSON ``[{"text", "label", "doc_title"}]``; one text in one document merges its labels."""
    if not isinstance(obj, list):
        raise DatasetError(source, [f"expected a list of {{'text', 'label'}} objects, got {type(obj).__name__}"])
    if not obj:
        raise DatasetError(source, ["the list of rows is empty"])
    checker = _RowChecker(source, catalog, options)
    merged: dict[tuple[str | None, str], set[str]] = {}
    for n, item in enumerate(obj, start=1):
        where = f"row {n}"
        if not isinstance(item, dict):
            checker.problem(n, where, f"expected an object with 'text' and 'label', got {type(item).__name__}")
            continue
        text = _text_field(item, "text", n, where, checker)
        title = _title_field(item, n, where, checker)
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
    reports = _group_by_title(rows, _stem(source), checker) if rows else []
    return ParsedDataset(KIND_SINGLE_LABEL, reports, _merge_warnings(warnings, checker), skipped)


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
    checker = _RowChecker(source, catalog, options)
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
    return ParsedDataset(KIND_REPORT_EXPORT, reports, _merge_warnings(warnings, checker), skipped)


def _parse_one_report(item: dict, source: str, prefix: str, r: int, checker: _RowChecker) -> ParsedReport | None:
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        checker.problem((r, None), f"{prefix}'name'".strip(), f"must be text, got {type(name).__name__}")
        return None
    title = (name or "").strip() or _stem(source)
    sentences = item.get("sentences")
    if not isinstance(sentences, list):
        checker.problem((r, None), f"{prefix}'{title}'".strip(), "'sentences' must be a list")
        return None
    model = item.get("ml_model") if isinstance(item.get("ml_model"), str) and item.get("ml_model") else "tram-import"
    parsed = []  # (order, text, labels, status, suggestions)
    unknown_suggestions: dict[str, int] = {}
    for n, sent in enumerate(sentences, start=1):
        row = (r, n)
        where = f"{prefix}sentence {n}"
        if not isinstance(sent, dict):
            checker.problem(row, where, f"expected a sentence object, got {type(sent).__name__}")
            continue
        text = _text_field(sent, "text", row, where, checker)
        order = sent.get("order", n - 1)
        if not isinstance(order, int) or isinstance(order, bool):
            checker.problem(row, where, f"'order' must be a whole number, got {order!r}")
            continue
        mappings = sent.get("mappings") or []
        if not isinstance(mappings, list) or not all(isinstance(m, dict) for m in mappings):
            checker.problem(row, where, "'mappings' must be a list of {'attack_id', 'confidence'} objects")
            continue
        disposition = sent.get("disposition")
        if disposition is not None and not isinstance(disposition, str):
            checker.problem(row, where, f"'disposition' must be text or null, got {type(disposition).__name__}")
            continue
        if text is None:
            continue
        accepted = disposition == "accept"
        status_raw = sent.get("status")
        labels: list[str] = []
        suggestions: list[tuple[str, float]] = []
        if accepted or status_raw in (LABELLED, REVIEWED):
            dropped = False
            for m in mappings:
                tid = checker.technique(m.get("attack_id"), row, where)
                if tid == OTHER_DOMAIN:
                    dropped = True
                elif tid is not None:
                    labels.append(tid)
            status = _status_field(status_raw, bool(labels), row, where, checker)
            if dropped and not labels:
                status = UNLABELLED
        else:
            status = _status_field(status_raw, False, row, where, checker) if status_raw is not None else UNLABELLED
            for m in mappings:
                raw = m.get("attack_id")
                tid = raw.strip().upper() if isinstance(raw, str) else ""
                tech = checker.catalog.get(tid) if tid else None
                score = _confidence(m.get("confidence"))
                if tech is None or score is None:
                    unknown_suggestions[str(raw)] = unknown_suggestions.get(str(raw), 0) + 1
                    continue
                suggestions.append((tech.id, score))
        if status is None or row in checker.bad_rows:
            continue
        parsed.append((order, text, tuple(sorted(set(labels))), status, suggestions))
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
    texts = [p[1] for p in parsed]
    full_text = item.get("text") if isinstance(item.get("text"), str) else ""
    offsets = locate_sentences(full_text, texts) if full_text.strip() else None
    if offsets is None:
        report = _joined_report(title, [(p[1], p[2], p[3]) for p in parsed])
    else:
        report = ParsedReport(title=title, text=full_text, sentences=[
            NewSentence(text=p[1], start=s, end=e, labels=p[2], status=p[3]) for p, (s, e) in zip(parsed, offsets)])
    report.source = item.get("url") if isinstance(item.get("url"), str) else ""
    report.suggestions = [NewSuggestion(i, tid, score) for i, p in enumerate(parsed) for tid, score in p[4]]
    report.suggestion_model = model if report.suggestions else None
    return report


_MJSON_TECHNIQUE = re.compile(r"\((T\d{4}(?:\.\d{3})?)\)\s*$")
_MJSON_OTHER = "[OTHER]"
_HAS_WORD_CHAR = re.compile(r"[^\W_]")  # a letter or digit, any script


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
    checker = _RowChecker(source, catalog, options)
    spans: list[tuple[int, int, str | None]] = []  # (start, end, technique or None when it cannot be used)
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
        for k, annot in enumerate(annots, start=1):
            row = ("span", a, k)
            where = f"span {k} of aset '{kind}'"
            if (not isinstance(annot, list) or not 2 <= len(annot) <= 3
                    or not all(isinstance(x, int) and not isinstance(x, bool) for x in annot[:2])
                    or (len(annot) == 3 and not isinstance(annot[2], str))
                    or not 0 <= annot[0] < annot[1] <= len(signal)):
                checker.problem(row, where, f"expected [start, end] or [start, end, \"note\"] within the text "
                                            f"(0-{len(signal)}), got {_short_repr(annot)}")
                continue
            start, end = annot[0], annot[1]
            if match:
                # A third element on a technique aset is the annotator's note; the aset names the technique.
                spans.append((start, end, aset_id or None))
                continue
            extra = annot[2] if len(annot) > 2 else None
            if not isinstance(extra, str) or not extra.strip():
                continue  # an [OTHER] span without an ID is not a technique
            technique = checker.technique(extra, row, f"{where} ({extra.strip()})")
            spans.append((start, end, technique or None))
    warnings, skipped = checker.finish()
    lines = signal.split("\n", 2)
    title = _stem(source).replace("_", " ").strip()
    url = ""
    header_end = 0  # the "title:" and "url:" lines are metadata, not report sentences
    if lines and lines[0].lower().startswith("title:"):
        title = lines[0][len("title:"):].strip() or title
        header_end = len(lines[0])
        if len(lines) > 1 and lines[1].lower().startswith("url:"):
            url = lines[1][len("url:"):].strip()
            header_end += 1 + len(lines[1])
    body = [span for span in split_sentences(signal) if span.end > header_end]
    sentences = _label_by_overlap(signal, body, spans)
    report = ParsedReport(title=title, text=signal, sentences=sentences, source=url)
    return ParsedDataset(KIND_MJSON, [report], _merge_warnings(warnings, checker), skipped)


def _label_by_overlap(signal: str, spans_of_sentences, spans: list[tuple[int, int, str | None]]) -> list[NewSentence]:
    """Each sentence with the techniques of the spans sharing a letter or digit with it (see ``parse_mjson``)."""
    import bisect

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


def parse_csv(data: bytes, source: str, catalog: Catalog, options: ImportOptions) -> ParsedDataset:
    """CSV with a header ``sentence,labels`` (labels separated by ';'), optional ``doc_title`` and ``status``.

    Column order is free and names are case-insensitive; a UTF-8 byte order mark is fine; empty labels make a
    labelled negative (unless ``status`` says ``unlabelled``). Without a ``labels`` column, rows are unlabelled
    (unless ``status`` says otherwise), with a warning. A cell's leading ``'`` before a formula character, which
    spreadsheet-safe exports add (csv_cells), is taken off.
    """
    text = _decode(data, source)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
    except csv.Error as exc:
        raise DatasetError(source, [f"not valid CSV: {exc}"]) from exc
    if not header:
        raise DatasetError(source, ["the file is empty"])
    columns = [h.strip().lower() for h in header]
    if "sentence" not in columns:
        raise DatasetError(source, [f"line 1: the header needs a 'sentence' column, and 'labels' for labelled rows "
                                    f"(found {', '.join(columns) or 'none'})"])
    idx = {name: columns.index(name) for name in ("sentence", "labels", "doc_title", "status") if name in columns}
    # No labels column says nothing about techniques: such rows are unlabelled, not answered "no technique".
    has_labels_column = "labels" in idx
    unlabelled_for_lack_of_column = 0
    checker = _RowChecker(source, catalog, options)
    rows = []
    n = 0
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            n += 1
            where = f"row {n} (line {reader.line_num})"
            if len(values) > len(columns):
                checker.problem(n, where, f"{len(values)} fields but the header has {len(columns)}")
                continue
            values = [unquote_cell(v) for v in values] + [""] * (len(columns) - len(values))
            text_value = values[idx["sentence"]]
            if not text_value.strip():
                checker.problem(n, where, "'sentence' is empty")
                continue
            labels = []
            dropped = False
            labels_cell = values[idx["labels"]] if has_labels_column else ""
            for raw in TECHNIQUE_LIST_SEPARATORS.split(labels_cell):  # ';' as agreed; ',' and spaces forgiven
                if raw.strip():
                    tid = checker.technique(raw, n, where)
                    if tid == OTHER_DOMAIN:
                        dropped = True
                    elif tid is not None:
                        labels.append(tid)
            status_raw = values[idx["status"]].strip() if "status" in idx else ""
            defaulted_to_unlabelled = not has_labels_column and not status_raw
            if defaulted_to_unlabelled:
                status_raw = UNLABELLED
            status = _status_field(status_raw or None, bool(labels), n, where, checker)
            if dropped and not labels:
                status = UNLABELLED
            if status is None or n in checker.bad_rows:
                continue
            title = values[idx["doc_title"]].strip() if "doc_title" in idx else ""
            rows.append((title or None, text_value, tuple(sorted(set(labels))), status))
            unlabelled_for_lack_of_column += defaulted_to_unlabelled
    except csv.Error as exc:
        raise DatasetError(source, [f"line {reader.line_num}: not valid CSV: {exc}"]) from exc
    if n == 0:
        raise DatasetError(source, ["the file has a header but no rows"])
    if unlabelled_for_lack_of_column:
        plural = "s" if unlabelled_for_lack_of_column != 1 else ""
        checker.warnings.append(f"no 'labels' column: {unlabelled_for_lack_of_column} sentence{plural} imported "
                                "as unlabelled")
    warnings, skipped = checker.finish()
    reports = _group_by_title(rows, _stem(source), checker) if rows else []
    return ParsedDataset(KIND_CSV, reports, _merge_warnings(warnings, checker), skipped)


def parse_dataset(data: bytes, filename: str, catalog: Catalog | None = None,
                  options: ImportOptions | None = None, kind: str | None = None) -> ParsedDataset:
    """Parse a dataset file by ``kind`` or, when None, by extension and content (JSON is sniffed)."""
    catalog = catalog or load_catalog()
    options = options or ImportOptions()
    suffix = Path(filename).suffix.lower()
    if kind == KIND_CSV or (kind is None and suffix == ".csv"):
        return parse_csv(data, filename, catalog, options)
    return parse_json_object(load_json(data, filename), filename, catalog, options, kind)


def parse_json_object(obj: Any, filename: str, catalog: Catalog | None = None,
                      options: ImportOptions | None = None, kind: str | None = None) -> ParsedDataset:
    """Parse an already decoded JSON dataset by ``kind`` or, when None, by its shape (and a .mjson name)."""
    catalog = catalog or load_catalog()
    options = options or ImportOptions()
    detected = kind or detect_json_kind(obj)
    if detected is None and Path(filename).suffix.lower() == ".mjson":
        detected = KIND_MJSON
    parsers = {
        KIND_MULTILABEL: parse_multilabel,
        KIND_SINGLE_LABEL: parse_single_label,
        KIND_REPORT_EXPORT: parse_report_export,
        KIND_MJSON: parse_mjson,
    }
    if detected not in parsers:
        if isinstance(obj, list) and not obj:
            raise DatasetError(filename, ["the list is empty: nothing to import"])
        raise DatasetError(filename, [
            "not a known dataset: expected TRAM multi-label rows [{sentence, labels}], single-label rows "
            "[{text, label, doc_title}], a TRAM report export {name, text, sentences} or a MAT .mjson {signal, asets}"])
    return parsers[detected](obj, filename, catalog, options)


def store_dataset(store: Store, parsed: ParsedDataset, source: str, user: str) -> ImportResult:
    """Store every parsed report in one transaction (a report already stored is a duplicate, not stored again)."""
    for report in parsed.reports:
        report.source = report.source or source
    outcomes = store.add_reports(parsed.reports, user)
    return ImportResult(source=source, kind=parsed.kind, outcomes=outcomes, warnings=list(parsed.warnings),
                        skipped_rows=parsed.skipped_rows)


# --------------------------------------------------------------------------------------------------- exports


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def _model_findings(store: Store, report_id: int, model_id: int | None) -> tuple[str, list[tuple[str, str]]]:
    """The model's name and, per technique it finds in the report that no sentence is labelled with, a comment."""
    from tram_core.report_summary import report_summary  # here: report_summary imports this module's neighbours

    summary = report_summary(store, report_id, model_id)
    if summary.model is None:
        raise UserError("No model to add findings from: promote a model, or leave the model's findings out")
    if not summary.sentences_scored:
        raise UserError(f"Model #{summary.model.id} has no suggestions for report {report_id} yet: run it over "
                        "the report first, or leave the model's findings out")
    texts = {s.id: s.text for s in store.sentences(report_id=report_id)}
    found = []
    for row in summary.techniques:
        if not row.needs_review:
            continue
        lines = [f"found by model #{summary.model.id} {summary.model.name}, not labelled yet: report evidence "
                 f"{row.evidence:.2f}"]
        lines += [f"- {_truncate(texts.get(sid, ''), NAVIGATOR_COMMENT_CHARS)} (score {score:.2f})"
                  for sid, score in row.best_sentences]
        found.append((row.technique, "\n".join(lines)))
    return f"#{summary.model.id} {summary.model.name}", found


def _navigator_layer(store: Store, name: str, description: str, report_id: int | None,
                     findings: list[tuple[str, str]] | None = None) -> dict:
    catalog = load_catalog()
    examples = store.examples(include_unlabelled=False, report_id=report_id)
    by_technique: dict[str, list[str]] = {}
    for ex in examples:
        for tech in ex.labels:
            by_technique.setdefault(tech, []).append(ex.text)
    techniques = []
    parents_to_expand = set()

    def shown(tid: str, how: str) -> tuple[str, str]:
        tech = catalog.get(tid)
        if tech is not None and tech.revoked and tech.replaced_by:
            return tech.replaced_by, f"{how} as {tid}, which ATT&CK revoked in favour of {tech.replaced_by}\n"
        return tid, ""

    for tid in sorted(by_technique, key=_id_sort):
        texts = by_technique[tid]
        shown_id, note = shown(tid, "labelled")
        comment_lines = [_truncate(t, NAVIGATOR_COMMENT_CHARS) for t in texts[:NAVIGATOR_COMMENT_SENTENCES]]
        if len(texts) > NAVIGATOR_COMMENT_SENTENCES:
            comment_lines.append(f"(and {len(texts) - NAVIGATOR_COMMENT_SENTENCES} more sentences)")
        techniques.append({
            "techniqueID": shown_id, "score": len(texts), "comment": note + "\n".join(f"- {c}" for c in comment_lines),
            "enabled": True, "metadata": [], "links": [], "showSubtechniques": False,
        })
        if "." in shown_id:
            parents_to_expand.add(parent_of(shown_id))
    for tid, comment in findings or []:  # no score: drawn in their own colour, not on the labelled gradient
        shown_id, note = shown(tid, "found")
        techniques.append({
            "techniqueID": shown_id, "color": NAVIGATOR_MODEL_COLOR, "comment": note + comment, "enabled": True,
            "metadata": [{"name": "source", "value": "model"}], "links": [], "showSubtechniques": False,
        })
        if "." in shown_id:
            parents_to_expand.add(parent_of(shown_id))
    # Merge entries that now share an ID (a revoked ID and its replacement both labelled); labels win over findings.
    merged: dict[str, dict] = {}
    for entry in techniques:
        current = merged.get(entry["techniqueID"])
        if current is None:
            merged[entry["techniqueID"]] = entry
        elif "score" in current and "score" in entry:
            current["score"] += entry["score"]
            current["comment"] += "\n" + entry["comment"]
    for parent in sorted(parents_to_expand):
        if parent in merged:
            merged[parent]["showSubtechniques"] = True
        else:
            merged[parent] = {"techniqueID": parent, "enabled": True, "metadata": [], "links": [],
                              "showSubtechniques": True}
    max_score = max((e.get("score", 0) for e in merged.values()), default=1) or 1
    return {
        "name": name,
        "versions": dict(NAVIGATOR_VERSIONS),
        "domain": "enterprise-attack",
        "description": description,
        "filters": {"platforms": ["Windows", "Linux", "macOS", "Network", "PRE", "Containers", "IaaS", "SaaS",
                                  "Office Suite", "Identity Provider", "ESXi"]},
        "sorting": 3,  # by score, descending
        "layout": {"layout": "side", "aggregateFunction": "average", "showID": True, "showName": True,
                   "showAggregateScores": False, "countUnscored": False, "expandedSubtechniques": "annotated"},
        "hideDisabled": False,
        "techniques": sorted(merged.values(), key=lambda e: _id_sort(e["techniqueID"])),
        "gradient": {"colors": ["#ffe766ff", "#ff6666ff"], "minValue": 1, "maxValue": max(max_score, 1)},
        "legendItems": [
            {"label": "labelled in 1 sentence", "color": "#ffe766ff"},
            {"label": f"labelled in {max_score} sentences", "color": "#ff6666ff"},
        ] + ([{"label": "found by the model, not labelled yet", "color": NAVIGATOR_MODEL_COLOR}] if findings else []),
        "metadata": [{"name": "generated by", "value": "TRAM dashboard"},
                     {"name": "labelled sentences", "value": str(len(examples))}]
        + ([{"name": "model findings", "value": str(sum(1 for e in merged.values() if "color" in e))}]
           if findings else []),
        "links": [],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }


def _id_sort(tid: str) -> tuple[int, int]:
    base, _, sub = tid[1:].partition(".")
    return (int(base) if base.isdigit() else 0, int(sub) if sub.isdigit() else 0)


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def export_data(store: Store, fmt: str, report_id: int | None = None,
                include_unlabelled: bool = False, model_findings: bool = False,
                model_id: int | None = None) -> tuple[bytes, str]:
    """Export one report (``report_id``) or the whole corpus as ``fmt``; returns (content, suggested filename).

    tram-multilabel and csv hold labelled and reviewed sentences (a row's ``status`` says which); with
    ``include_unlabelled`` they add unlabelled rows, marked ``"status": "unlabelled"`` so nobody reads them as
    negatives. tram-report holds every sentence (one report as an object, the corpus as a list). navigator is an
    ATT&CK Navigator layer scoring each technique by the number of sentences labelled with it; for one report and
    with ``model_findings`` it adds, in their own colour, the techniques that ``model_id`` (default: the promoted
    model) finds in the report by its report rule and no sentence is labelled with (report_summary).
    """
    if model_findings and (fmt != "navigator" or report_id is None):
        raise UserError("The model's findings go into a Navigator layer of one report: choose the navigator "
                        "format and a report")
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"Unknown export format '{fmt}'; use one of {', '.join(EXPORT_FORMATS)}")
    title = "corpus"
    if report_id is not None:
        title = _slug(store.get_report(report_id).title)
        stem = f"report-{report_id}-{title}"
    else:
        stem = "tram-corpus"
    if fmt in ("tram-multilabel", "csv"):
        examples = store.examples(include_unlabelled=include_unlabelled, report_id=report_id)
        if fmt == "tram-multilabel":
            rows = [{"sentence": ex.text, "labels": list(ex.labels), "doc_title": ex.doc_title, "status": ex.status}
                    for ex in examples]
            return _json_bytes(rows), f"{stem}-multilabel.json"
        # Cells a spreadsheet would run as formulas get a leading ' (csv_cells); parse_csv takes it off again.
        rows = ([ex.doc_title, ex.text, ";".join(ex.labels), ex.status] for ex in examples)
        return csv_bytes(["doc_title", "sentence", "labels", "status"], rows), f"{stem}.csv"
    if fmt == "tram-report":
        if report_id is not None:
            return _json_bytes(_report_export(store, report_id)), f"{stem}.json"
        return _json_bytes([_report_export(store, r.id) for r in store.list_reports()]), f"{stem}-reports.json"
    # navigator
    if report_id is not None:
        report = store.get_report(report_id)
        description = f"Techniques labelled in '{report.title}' (TRAM)"
        findings = None
        if model_findings:
            model_name, findings = _model_findings(store, report_id, model_id)
            description += f", and techniques model {model_name} finds there that are not labelled yet"
        layer = _navigator_layer(store, report.title[:100], description, report_id, findings)
    else:
        layer = _navigator_layer(store, "TRAM corpus", "Techniques labelled in every TRAM report", None)
    return _json_bytes(layer), f"{stem}-navigator-layer.json"
