"""Dataset rows checked before anything is stored: the row checker, DatasetError, the import options and results.

Every parser checks every row before anything is stored. Bad rows raise ``DatasetError`` listing them (or, with
``ImportOptions(skip_bad_rows=True)``, are left out and counted). Unknown technique IDs are bad rows; revoked or
deprecated IDs are kept with a warning naming their replacement.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tram_core.attack import TECHNIQUE_ID, Catalog, UnknownTechniqueError
from tram_core.errors import UserError
from tram_core.io.limits import DEFAULT_LIMITS, InputLimits, LimitError, json_depth_and_strings
from tram_core.store import LABELLED, SENTENCE_STATUSES, UNLABELLED, ImportOutcome, NewReport

# What each importer's ``kind`` is called in results and messages.
KIND_MULTILABEL = "tram-multilabel"
KIND_SINGLE_LABEL = "tram-single-label"
KIND_REPORT_EXPORT = "tram-report"
KIND_MJSON = "mat-mjson"
KIND_CSV = "csv"

MAX_LISTED_PROBLEMS = 20

# A technique ID from another ATT&CK domain: known to be an ID, but not in the Enterprise catalog, so not usable
# as a label. ``RowChecker.technique`` returns it for such IDs; a row left with no usable label stays unlabelled.
OTHER_DOMAIN = ""
_ICS_ID = re.compile(r"^T0\d{3}$")
_RETIRED_RANGE = (1224, 1479)  # PRE-ATT&CK (retired in ATT&CK v8) and ATT&CK for Mobile IDs; none is Enterprise


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


class RowChecker:
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


def decode_dataset(data: bytes, source: str) -> str:
    """A dataset file's text (UTF-8, a byte order mark allowed), or ``DatasetError`` for an empty or non-UTF-8 one."""
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
    text = decode_dataset(data, source)
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


def source_stem(source: str) -> str:
    """The file name without folder or extension: the title of a report that names none."""
    return Path(source).stem or source


def status_field(value: Any, has_labels: bool, row: Any, where: str, checker: RowChecker) -> str | None:
    if value is None:
        return LABELLED
    if value not in SENTENCE_STATUSES:
        checker.problem(row, where, f"'status' must be one of {', '.join(SENTENCE_STATUSES)}, got {value!r}")
        return None
    if value == UNLABELLED and has_labels:
        checker.problem(row, where, "an unlabelled row cannot carry labels")
        return None
    return value


def typed_field(item: dict, key: str, kind: type, what: str, row: Any, where: str, checker: RowChecker) -> Any:
    """``item[key]`` when it is there and a ``kind`` (``what`` in words); None after recording a problem."""
    if key not in item:
        checker.problem(row, where, f"missing '{key}'")
        return None
    value = item[key]
    if not isinstance(value, kind):
        checker.problem(row, where, f"'{key}' must be {what}, got {type(value).__name__}")
        return None
    return value


def text_field(item: dict, key: str, row: Any, where: str, checker: RowChecker) -> str | None:
    value = typed_field(item, key, str, "text", row, where, checker)
    if value is None:
        return None
    if not value.strip():
        checker.problem(row, where, f"'{key}' is empty")
        return None
    return value


def title_field(item: dict, row: Any, where: str, checker: RowChecker) -> str | None | bool:
    """The doc_title (None when absent), or False after recording a problem."""
    title = item.get("doc_title")
    if title is None:
        return None
    if not isinstance(title, str):
        checker.problem(row, where, f"'doc_title' must be text, got {type(title).__name__}")
        return False
    return title.strip() or None


def merge_warnings(finished: list[str], checker: RowChecker) -> list[str]:
    """Warnings from ``finish`` plus any the grouping step added afterwards."""
    return finished + [w for w in checker.warnings if w not in finished]


def labels_list(item: dict, key: str, row: Any, where: str,
                checker: RowChecker) -> tuple[tuple[str, ...], bool] | None:
    """(labels, unusable) or None after recording a problem; ``unusable``: every label was from another domain."""
    raw = typed_field(item, key, list, "a list of technique IDs", row, where, checker)
    if raw is None:
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

