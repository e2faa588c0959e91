"""Import anything a user brings: a dataset file, a report document, pasted text or a URL, detected by extension and content."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from tram_core.errors import UserError, is_user_error
from tram_core.io.dataset_checks import KIND_CSV, KIND_MJSON, DatasetError, ImportOptions, ImportResult, load_json
from tram_core.io.dataset_parsers import detect_json_kind, parse_dataset, parse_json_object
from tram_core.io.limits import DEFAULT_LIMITS, InputLimits
from tram_core.io.report_split import sentence_kinds, split_marked
from tram_core.store import NewReport, NewSentence, Store

DATASET_EXTENSIONS = (".json", ".mjson", ".csv")
REPORT_EXTENSIONS = (".pdf", ".docx", ".html", ".htm", ".txt", ".md", ".text")
SUPPORTED_EXTENSIONS = DATASET_EXTENSIONS + REPORT_EXTENSIONS

KIND_DOCUMENT = "document"
KIND_TEXT = "text"
KIND_URL = "url"
KIND_UNKNOWN_JSON = "json"  # JSON of no known dataset shape: the parser says what was expected


class UnsupportedFileError(UserError):
    """A file that is neither a dataset nor a report document TRAM can read."""


class UnreadableFileError(UserError):
    """A file a parser failed on in an unexpected way (malformed on purpose, or a parser's own bug); nothing stored."""


def detect_kind(data: bytes, filename: str) -> str:
    """What an upload is: a dataset kind (tram-multilabel, tram-single-label, tram-report, mat-mjson, csv) or 'document'.

    The extension decides first; a .json (or unknown extension holding JSON) is sniffed by its content.
    """
    return _detect(data, filename)[0]


def _detect(data: bytes, filename: str, limits: InputLimits = DEFAULT_LIMITS) -> tuple[str, Any]:
    """(kind, the decoded JSON when the file is JSON) so that a JSON file is parsed once."""
    suffix = Path(filename).suffix.lower()
    if suffix in REPORT_EXTENSIONS:
        return KIND_DOCUMENT, None
    if suffix == ".csv":
        return KIND_CSV, None
    if suffix in (".json", ".mjson"):
        obj = load_json(data, filename, limits)  # raises DatasetError naming the file and where the JSON breaks
        return detect_json_kind(obj) or (KIND_MJSON if suffix == ".mjson" else KIND_UNKNOWN_JSON), obj
    if data.lstrip()[:1] in (b"{", b"["):
        try:
            obj = load_json(data, filename, limits)
        except UserError:
            obj = None
        kind = detect_json_kind(obj) if obj is not None else None
        if kind:
            return kind, obj
    raise UnsupportedFileError(
        f"{filename}: unsupported file type '{suffix or 'no extension'}'; TRAM imports datasets "
        f"({', '.join(DATASET_EXTENSIONS)}) and reports ({', '.join(REPORT_EXTENSIONS)})"
    )


@dataclass
class PreparedFile:
    """One file parsed and checked, nothing stored yet: its reports, warnings and skipped bad rows."""

    name: str
    kind: str
    reports: list[NewReport]
    warnings: list[str] = field(default_factory=list)
    skipped_rows: int = 0


@dataclass
class BatchResult:
    """What one import command did: a result per stored file and, per refused file, its one-line reason."""

    results: list[ImportResult] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def stored(self) -> bool:
        return bool(self.results)


def _document(title: str, text: str, source: str, limits: InputLimits) -> NewReport:
    """A report document as unlabelled sentences, within the limits."""
    where = source or title
    if not text.strip():
        raise UserError(f"{where}: no text found to import")
    limits.check_text(len(text), where)
    # Code, rules and indicator lists stay in the report as one marked sentence each (report_split)
    sentences = [NewSentence(text=s.text, start=s.start, end=s.end, kind=s.kind) for s in split_marked(text)]
    if not sentences:
        raise UserError(f"{where}: no sentences found in the text")
    limits.check_sentences(len(sentences), where)
    return NewReport(title=title.strip() or "Untitled report", text=text, sentences=sentences, source=source)


def prepare_bytes(data: bytes, filename: str, options: ImportOptions | None = None,
                  max_bytes: int | None = None, progress: Callable[[int, int], None] | None = None) -> PreparedFile:
    """Parse and check an upload without storing anything; every failure is a ``UserError`` naming the file.

    A parser that crashes on a hostile file (RecursionError, a library's internal error) becomes
    ``UnreadableFileError``: one line naming the file and the kind of failure, never a traceback.
    ``progress(done, pages)`` is called after each PDF page read by OCR.
    """
    name = Path(filename).name or filename
    try:
        return _prepare(data, name, options or ImportOptions(), max_bytes, progress)
    except Exception as exc:
        if is_user_error(exc):
            raise
        raise UnreadableFileError(
            f"{name}: could not be read ({type(exc).__name__}: {str(exc)[:150] or 'no detail'}); "
            "the file may be corrupt or deliberately malformed"
        ) from None


def _prepare(data: bytes, name: str, options: ImportOptions, max_bytes: int | None,
             progress: Callable[[int, int], None] | None = None) -> PreparedFile:
    limits = options.limits
    if max_bytes is not None and len(data) > max_bytes:
        raise UserError(f"{name}: {len(data) / 1e6:.1f} MB is over the upload limit of {max_bytes / 1e6:.0f} MB")
    if not data.strip():
        raise DatasetError(name, ["the file is empty"])
    kind, obj = _detect(data, name, limits)
    if kind == KIND_DOCUMENT:
        from tram_core.io.ingest import extract_bytes
        from tram_core.io.yield_check import extraction_warnings

        extracted = extract_bytes(data, name, max_bytes=max_bytes, limits=limits, progress=progress)
        report = _document(extracted.title or Path(name).stem, extracted.text, extracted.source or name, limits)
        return PreparedFile(name, KIND_DOCUMENT, [report], extraction_warnings(extracted, len(report.sentences)))
    if kind == KIND_CSV:
        parsed = parse_dataset(data, name, options=options, kind=KIND_CSV)
    else:
        parsed = parse_json_object(obj, name, options=options, kind=None if kind == KIND_UNKNOWN_JSON else kind)
    for report in parsed.reports:
        where = f"{name} (report '{report.title[:60]}')" if len(parsed.reports) > 1 else name
        limits.check_text(len(report.text), where)
        limits.check_sentences(len(report.sentences), where)
        report.source = report.source or name
        mark_noise(report)
    return PreparedFile(name, parsed.kind, parsed.reports, list(parsed.warnings), parsed.skipped_rows)


def mark_noise(report: NewReport) -> None:
    """Mark a dataset report's sentences that lie inside a noise block (code, a rule, an indicator list) with the
    block's kind: the dataset split them already, so they stay separate sentences, but they leave the training
    negatives unless an analyst answers them in TRAM."""
    kinds = sentence_kinds(report.text, [(s.start, s.end) for s in report.sentences])
    report.sentences = [replace(s, kind=kind) if kind != s.kind else s for s, kind in zip(report.sentences, kinds)]


def prepare_path(path: str | Path, options: ImportOptions | None = None, max_bytes: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> PreparedFile:
    """Read and prepare a file from disk (dataset or report document); nothing is stored."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; name the files to import (e.g. {path}/*.mjson)")
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise UserError(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB is over the upload limit of "
                            f"{max_bytes / 1e6:.0f} MB")
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return prepare_bytes(data, path.name, options, max_bytes, progress)


def store_prepared(store: Store, files: Sequence[PreparedFile], user: str) -> list[ImportResult]:
    """Store every report of every prepared file in ONE transaction: all of them, or (on any error) none."""
    outcomes = store.add_reports([report for prepared in files for report in prepared.reports], user)
    results, i = [], 0
    for prepared in files:
        mine = outcomes[i : i + len(prepared.reports)]
        i += len(prepared.reports)
        results.append(ImportResult(source=prepared.name, kind=prepared.kind, outcomes=list(mine),
                                    warnings=prepared.warnings, skipped_rows=prepared.skipped_rows))
    return results


def prepare_sources(sources: Sequence[tuple[str, Callable[[], PreparedFile]]],
                    on_prepared: Callable[[int, str, str | None], None] | None = None
                    ) -> tuple[list[PreparedFile], list[tuple[str, str]]]:
    """Prepare every ``(name, prepare)`` source: the prepared files, and (name, one-line reason) per refused one."""
    prepared, failures = [], []
    for i, (name, prepare) in enumerate(sources, start=1):
        error = None
        try:
            prepared.append(prepare())
        except Exception as exc:
            if not is_user_error(exc):
                raise
            error = str(exc)
            failures.append((name, error))
        if on_prepared is not None:
            on_prepared(i, name, error)
    return prepared, failures


def import_batch(store: Store, sources: Sequence[tuple[str, Callable[[], PreparedFile]]], user: str,
                 skip_bad_files: bool = False,
                 on_prepared: Callable[[int, str, str | None], None] | None = None) -> BatchResult:
    """Prepare every source, then store them all in one transaction: the import is all-or-nothing.

    ``sources`` are (name, prepare) pairs. When any file is refused nothing is stored, unless
    ``skip_bad_files``: then the good files are stored (still in one transaction) and the bad ones listed.
    ``on_prepared(i, name, error or None)`` reports progress after each file is read.
    """
    prepared, failures = prepare_sources(sources, on_prepared)
    if failures and not skip_bad_files:
        return BatchResult(results=[], failures=failures)
    return BatchResult(results=store_prepared(store, prepared, user) if prepared else [], failures=failures)


def import_bytes(store: Store, data: bytes, filename: str, user: str,
                 options: ImportOptions | None = None, max_bytes: int | None = None) -> ImportResult:
    """Import an upload: a dataset file is parsed and checked row by row, a report document becomes unlabelled sentences."""
    return store_prepared(store, [prepare_bytes(data, filename, options, max_bytes)], user)[0]


def import_path(store: Store, path: str | Path, user: str, options: ImportOptions | None = None) -> ImportResult:
    """Import a file from disk (dataset or report document), detected by extension and content."""
    return store_prepared(store, [prepare_path(path, options)], user)[0]


def prepare_text(text: str, title: str, limits: InputLimits = DEFAULT_LIMITS) -> PreparedFile:
    """Pasted text as an unlabelled report titled ``title``; nothing stored."""
    return PreparedFile(title or "Pasted text", KIND_TEXT, [_document(title, text, "", limits)])


def prepare_url(url: str, settings, progress: Callable[[int, int], None] | None = None) -> PreparedFile:
    """Fetch a web page or document at ``url`` as an unlabelled report; nothing stored.

    Only public addresses, plus the networks in ``settings.url_allowed_networks`` (TRAM_URL_ALLOW_NETWORKS).
    """
    from tram_core.io.ingest import fetch_url
    from tram_core.io.yield_check import extraction_warnings

    limits = getattr(settings, "limits", DEFAULT_LIMITS)
    extracted = fetch_url(url, timeout_s=settings.url_timeout_s, max_bytes=settings.max_upload_bytes,
                          allowed_networks=settings.url_allowed_networks, limits=limits, progress=progress)
    report = _document(extracted.title or url, extracted.text, extracted.source or url, limits)
    return PreparedFile(url, KIND_URL, [report], extraction_warnings(extracted, len(report.sentences)))


def import_text(store: Store, text: str, title: str, user: str, limits: InputLimits = DEFAULT_LIMITS) -> ImportResult:
    """Import pasted text as an unlabelled report titled ``title``."""
    return store_prepared(store, [prepare_text(text, title, limits)], user)[0]


def import_url(store: Store, url: str, user: str, settings) -> ImportResult:
    """Fetch a web page or document at ``url`` and import it as an unlabelled report (public addresses only)."""
    return store_prepared(store, [prepare_url(url, settings)], user)[0]
