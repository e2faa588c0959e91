"""CSV datasets: a ``sentence`` column, ``labels`` separated by ';', optional ``doc_title`` and ``status``."""

from __future__ import annotations

import csv
import io

from tram_core.attack import TECHNIQUE_LIST_SEPARATORS, Catalog
from tram_core.io.csv_cells import unquote_cell
from tram_core.io.dataset_checks import (
    KIND_CSV,
    OTHER_DOMAIN,
    DatasetError,
    ImportOptions,
    ParsedDataset,
    RowChecker,
    decode_dataset,
    merge_warnings,
    source_stem,
    status_field,
)
from tram_core.io.dataset_reports import group_by_title
from tram_core.store import UNLABELLED

CsvRow = tuple[str | None, str, tuple[str, ...], str]  # (doc_title, sentence, labels, status)
_COLUMNS = ("sentence", "labels", "doc_title", "status")


def parse_csv(data: bytes, source: str, catalog: Catalog, options: ImportOptions) -> ParsedDataset:
    """CSV with a header ``sentence,labels`` (labels separated by ';'), optional ``doc_title`` and ``status``.

    Column order is free and names are case-insensitive; a UTF-8 byte order mark is fine; empty labels make a
    labelled negative (unless ``status`` says ``unlabelled``). Without a ``labels`` column, rows are unlabelled
    (unless ``status`` says otherwise), with a warning. A cell's leading ``'`` before a formula character, which
    spreadsheet-safe exports add (csv_cells), is taken off.
    """
    text = decode_dataset(data, source)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
    except csv.Error as exc:
        raise DatasetError(source, [f"not valid CSV: {exc}"]) from exc
    idx, n_columns = _columns(header, source)
    checker = RowChecker(source, catalog, options)
    rows, n, unlabelled_for_lack_of_column = _rows(reader, idx, n_columns, source, checker)
    if n == 0:
        raise DatasetError(source, ["the file has a header but no rows"])
    if unlabelled_for_lack_of_column:
        plural = "s" if unlabelled_for_lack_of_column != 1 else ""
        checker.warnings.append(f"no 'labels' column: {unlabelled_for_lack_of_column} sentence{plural} imported "
                                "as unlabelled")
    warnings, skipped = checker.finish()
    reports = group_by_title(rows, source_stem(source), checker) if rows else []
    return ParsedDataset(KIND_CSV, reports, merge_warnings(warnings, checker), skipped)


def _columns(header: list[str] | None, source: str) -> tuple[dict[str, int], int]:
    """(column name -> index for the known columns, number of columns) of the header row."""
    if not header:
        raise DatasetError(source, ["the file is empty"])
    columns = [h.strip().lower() for h in header]
    if "sentence" not in columns:
        raise DatasetError(source, [f"line 1: the header needs a 'sentence' column, and 'labels' for labelled rows "
                                    f"(found {', '.join(columns) or 'none'})"])
    return {name: columns.index(name) for name in _COLUMNS if name in columns}, len(columns)


def _rows(reader, idx: dict[str, int], n_columns: int, source: str,
          checker: RowChecker) -> tuple[list[CsvRow], int, int]:
    """(good rows, rows read, rows unlabelled only for lack of a labels column); blank lines are not rows."""
    rows = []
    n = 0
    unlabelled_for_lack_of_column = 0
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            n += 1
            checked = _row(values, idx, n_columns, n, f"row {n} (line {reader.line_num})", checker)
            if checked is not None:
                rows.append(checked[0])
                unlabelled_for_lack_of_column += checked[1]
    except csv.Error as exc:
        raise DatasetError(source, [f"line {reader.line_num}: not valid CSV: {exc}"]) from exc
    return rows, n, unlabelled_for_lack_of_column


def _row(values: list[str], idx: dict[str, int], n_columns: int, n: int, where: str,
         checker: RowChecker) -> tuple[CsvRow, bool] | None:
    """(row, whether it is unlabelled only for lack of a labels column), or None after recording a problem.

    No labels column says nothing about techniques: such rows are unlabelled, not answered "no technique".
    """
    if len(values) > n_columns:
        checker.problem(n, where, f"{len(values)} fields but the header has {n_columns}")
        return None
    values = [unquote_cell(v) for v in values] + [""] * (n_columns - len(values))
    text_value = values[idx["sentence"]]
    if not text_value.strip():
        checker.problem(n, where, "'sentence' is empty")
        return None
    has_labels_column = "labels" in idx
    labels, dropped = _labels(values[idx["labels"]] if has_labels_column else "", n, where, checker)
    status_raw = values[idx["status"]].strip() if "status" in idx else ""
    defaulted_to_unlabelled = not has_labels_column and not status_raw
    if defaulted_to_unlabelled:
        status_raw = UNLABELLED
    status = status_field(status_raw or None, bool(labels), n, where, checker)
    if dropped and not labels:
        status = UNLABELLED
    if status is None or n in checker.bad_rows:
        return None
    title = values[idx["doc_title"]].strip() if "doc_title" in idx else ""
    return (title or None, text_value, tuple(sorted(set(labels))), status), defaulted_to_unlabelled


def _labels(cell: str, n: int, where: str, checker: RowChecker) -> tuple[list[str], bool]:
    """(checked labels, whether one was dropped as another domain's); ';' as agreed, ',' and spaces forgiven."""
    labels = []
    dropped = False
    for raw in TECHNIQUE_LIST_SEPARATORS.split(cell):
        if raw.strip():
            tid = checker.technique(raw, n, where)
            if tid == OTHER_DOMAIN:
                dropped = True
            elif tid is not None:
                labels.append(tid)
    return labels, dropped
