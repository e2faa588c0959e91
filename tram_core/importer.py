"""Import anything a user brings: a dataset file, a report document, pasted text or a URL, detected by extension and content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tram_core.errors import UserError
from tram_core.formats import (
    KIND_CSV,
    KIND_MJSON,
    DatasetError,
    ImportOptions,
    ImportResult,
    detect_json_kind,
    load_json,
    parse_dataset,
    parse_json_object,
    store_dataset,
)
from tram_core.sentences import split_sentences
from tram_core.store import NewSentence, Store

DATASET_EXTENSIONS = (".json", ".mjson", ".csv")
REPORT_EXTENSIONS = (".pdf", ".docx", ".html", ".htm", ".txt", ".md", ".text")
SUPPORTED_EXTENSIONS = DATASET_EXTENSIONS + REPORT_EXTENSIONS

KIND_DOCUMENT = "document"
KIND_TEXT = "text"
KIND_URL = "url"
KIND_UNKNOWN_JSON = "json"  # JSON of no known dataset shape: the parser says what was expected


class UnsupportedFileError(UserError):
    """A file that is neither a dataset nor a report document TRAM can read."""


def detect_kind(data: bytes, filename: str) -> str:
    """What an upload is: a dataset kind (tram-multilabel, tram-single-label, tram-report, mat-mjson, csv) or 'document'.

    The extension decides first; a .json (or unknown extension holding JSON) is sniffed by its content.
    """
    return _detect(data, filename)[0]


def _detect(data: bytes, filename: str) -> tuple[str, Any]:
    """(kind, the decoded JSON when the file is JSON) so that a JSON file is parsed once."""
    suffix = Path(filename).suffix.lower()
    if suffix in REPORT_EXTENSIONS:
        return KIND_DOCUMENT, None
    if suffix == ".csv":
        return KIND_CSV, None
    if suffix in (".json", ".mjson"):
        obj = load_json(data, filename)  # raises DatasetError naming the file and where the JSON breaks
        return detect_json_kind(obj) or (KIND_MJSON if suffix == ".mjson" else KIND_UNKNOWN_JSON), obj
    if data.lstrip()[:1] in (b"{", b"["):
        try:
            obj = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            obj = None
        kind = detect_json_kind(obj) if obj is not None else None
        if kind:
            return kind, obj
    raise UnsupportedFileError(
        f"{filename}: unsupported file type '{suffix or 'no extension'}'; TRAM imports datasets "
        f"({', '.join(DATASET_EXTENSIONS)}) and reports ({', '.join(REPORT_EXTENSIONS)})"
    )


def _sentences_of(text: str) -> list[NewSentence]:
    return [NewSentence(text=s.text, start=s.start, end=s.end) for s in split_sentences(text)]


def _store_document(store: Store, title: str, text: str, source: str, user: str, kind: str) -> ImportResult:
    if not text.strip():
        raise UserError(f"{source or title}: no text found to import")
    sentences = _sentences_of(text)
    if not sentences:
        raise UserError(f"{source or title}: no sentences found in the text")
    outcome = store.add_report(title.strip() or "Untitled report", text, sentences, source=source, user=user)
    return ImportResult(source=source or title, kind=kind, outcomes=[outcome])


def import_bytes(store: Store, data: bytes, filename: str, user: str,
                 options: ImportOptions | None = None, max_bytes: int | None = None) -> ImportResult:
    """Import an upload: a dataset file is parsed and checked row by row, a report document becomes unlabelled sentences."""
    options = options or ImportOptions()
    name = Path(filename).name or filename
    if max_bytes is not None and len(data) > max_bytes:
        raise UserError(f"{name}: {len(data) / 1e6:.1f} MB is over the upload limit of {max_bytes / 1e6:.0f} MB")
    if not data.strip():
        raise DatasetError(name, ["the file is empty"])
    kind, obj = _detect(data, name)
    if kind == KIND_DOCUMENT:
        from tram_core.ingest import extract_bytes

        extracted = extract_bytes(data, name, max_bytes=max_bytes)
        return _store_document(store, extracted.title or Path(name).stem, extracted.text,
                               extracted.source or name, user, KIND_DOCUMENT)
    if kind == KIND_CSV:
        parsed = parse_dataset(data, name, options=options, kind=KIND_CSV)
    else:
        parsed = parse_json_object(obj, name, options=options, kind=None if kind == KIND_UNKNOWN_JSON else kind)
    return store_dataset(store, parsed, name, user)


def import_path(store: Store, path: str | Path, user: str, options: ImportOptions | None = None) -> ImportResult:
    """Import a file from disk (dataset or report document), detected by extension and content."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; name the files to import (e.g. {path}/*.mjson)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return import_bytes(store, data, path.name, user, options)


def import_text(store: Store, text: str, title: str, user: str) -> ImportResult:
    """Import pasted text as an unlabelled report titled ``title``."""
    return _store_document(store, title, text, "", user, KIND_TEXT)


def import_url(store: Store, url: str, user: str, settings) -> ImportResult:
    """Fetch a web page or document at ``url`` and import it as an unlabelled report."""
    from tram_core.ingest import fetch_url

    extracted = fetch_url(url, timeout_s=settings.url_timeout_s, max_bytes=settings.max_upload_bytes)
    return _store_document(store, extracted.title or url, extracted.text, extracted.source or url, user, KIND_URL)
