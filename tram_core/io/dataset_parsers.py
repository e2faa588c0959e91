"""Which parser reads a dataset file: by kind, extension or JSON shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tram_core.attack import Catalog, load_catalog
from tram_core.io.dataset_checks import (
    KIND_CSV,
    KIND_MJSON,
    KIND_MULTILABEL,
    KIND_REPORT_EXPORT,
    KIND_SINGLE_LABEL,
    DatasetError,
    ImportOptions,
    ParsedDataset,
    load_json,
)
from tram_core.io.dataset_csv import parse_csv
from tram_core.io.dataset_mjson import parse_mjson
from tram_core.io.dataset_tram_json import parse_multilabel, parse_report_export, parse_single_label


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
