"""A report file or URL to clean text and a title: picks the extractor, checks sizes, normalises, fetches URLs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

from tram_core.io.extract_common import IngestError
from tram_core.io.extract_docx import extract_docx
from tram_core.io.extract_html import extract_html
from tram_core.io.extract_pdf import extract_pdf
from tram_core.io.extract_text import extract_plain
from tram_core.io.limits import DEFAULT_LIMITS, InputLimits

Progress = Callable[[int, int], None]  # progress(pages read by OCR so far, pages to read)
SUPPORTED_EXTENSIONS = (".pdf", ".docx", ".html", ".htm", ".txt", ".md", ".text")
_TEXT_EXTENSIONS = (".txt", ".md", ".text")


@dataclass(frozen=True)
class ExtractedText:
    """The clean text of one report, ready for the sentence splitter. ``source`` is the file name, path or URL;
    ``file_type`` the extension that picked the parser, ``size_bytes`` the file's size, ``warnings`` what the user
    should know about the extraction (pages read by OCR, pages skipped), one line each without the file name."""

    title: str
    text: str
    source: str
    file_type: str = ""
    size_bytes: int = 0
    warnings: tuple[str, ...] = ()


# --- public API -------------------------------------------------------------------------------------------


def extract_bytes(data: bytes, filename: str, max_bytes: int | None = None,
                  limits: InputLimits = DEFAULT_LIMITS, progress: Progress | None = None) -> ExtractedText:
    """Extract the text of an uploaded file; the extension of ``filename`` picks the parser.

    ``progress(done, pages)`` is called after each PDF page read by OCR (the slow part of a scanned document).
    """
    return _extract(data, filename, max_bytes, _title_from_name(filename), limits, progress)


def _extract(data: bytes, filename: str, max_bytes: int | None, fallback_title: str,
             limits: InputLimits = DEFAULT_LIMITS, progress: Progress | None = None) -> ExtractedText:
    _check_size(len(data), max_bytes, filename)
    ext = Path(filename).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise IngestError(
            f"{filename}: unsupported file type {ext or '(no extension)'!r}; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    if not data:
        raise IngestError(f"{filename}: the file is empty")
    warnings: list[str] = []
    if ext == ".pdf":
        title, text, warnings = extract_pdf(data, filename, limits, progress)
    elif ext == ".docx":
        title, text = extract_docx(data, filename, limits)
    elif ext in (".html", ".htm"):
        title, text = extract_html(data, filename, limits)
    else:
        title, text = extract_plain(data, filename, markdown=ext == ".md")
    limits.check_text(len(text), filename)
    text = normalize_text(text)
    if not text:
        raise IngestError(f"{filename}: no text found in the file")
    return ExtractedText(title=_clean_title(title) or fallback_title, text=text, source=filename, file_type=ext,
                         size_bytes=len(data), warnings=tuple(warnings))


def extract_file(path: str | Path, max_bytes: int | None = None, limits: InputLimits = DEFAULT_LIMITS,
                 progress: Progress | None = None) -> ExtractedText:
    """Extract the text of a report file on disk (the size is checked before the file is read)."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: file not found")
    _check_size(path.stat().st_size, max_bytes, str(path))
    extracted = extract_bytes(path.read_bytes(), path.name, max_bytes, limits, progress)
    return replace(extracted, source=str(path))


def fetch_url(url: str, timeout_s: float = 20, max_bytes: int | None = None,
              allowed_networks: tuple[str, ...] = (), limits: InputLimits = DEFAULT_LIMITS,
              progress: Progress | None = None) -> ExtractedText:
    """Download a report and extract its text; the response's content type picks the parser.

    Only public addresses are fetched from, plus ``allowed_networks`` (CIDRs; see tram_core.io.url_fetch).
    """
    from tram_core.io.url_fetch import UrlFetchError, fetch

    try:
        fetched = fetch(url, timeout_s=timeout_s, max_bytes=max_bytes, allowed_networks=allowed_networks)
    except UrlFetchError as exc:
        raise IngestError(str(exc)) from None
    data, content_type, final_url = fetched.body, fetched.content_type, fetched.url
    ext = _extension_for(content_type, final_url, data)
    if ext is None:
        raise IngestError(
            f"{url}: unsupported content type {content_type.split(';')[0].strip() or '(none)'!r}; "
            "supported: HTML, PDF, DOCX, plain text, Markdown"
        )
    if not data:
        raise IngestError(f"{url}: the response is empty")
    if ext in _TEXT_EXTENSIONS:
        charset = _charset(content_type)
        if charset:
            try:
                data = data.decode(charset).encode("utf-8")
            except (LookupError, UnicodeDecodeError):
                pass
    name = Path(unquote(urlparse(final_url).path)).name or "download"
    filename = name if name.lower().endswith(ext) else name + ext
    try:
        extracted = _extract(data, filename, max_bytes, url, limits, progress)
    except IngestError as exc:  # name the URL, not the made-up file name
        raise IngestError(str(exc).replace(f"{filename}:", f"{url}:", 1)) from None
    return replace(extracted, source=url)


def normalize_text(text: str) -> str:
    """NFC, one kind of newline and space, no soft hyphens or zero-width characters, at most one blank line."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\xa0\u2007\u202f\u2000-\u200a\u3000]", " ", text)
    text = re.sub(r"[\xad\u200b\u200c\u200d\u2060\ufeff]", "", text)
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    text = re.sub(r"[\ud800-\udfff]", "\ufffd", text)  # lone surrogates (from HTML entities) cannot be stored as UTF-8
    # Possessive and anchored at the start of a run: a plain [ \t]+\n retried every position of a long run of
    # spaces without a newline (quadratic).
    text = re.sub(r"(?<![ \t])[ \t]++\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# --- checks and small helpers -----------------------------------------------------------------------------


def _check_size(size: int, max_bytes: int | None, where: str, partial: bool = False) -> None:
    if max_bytes is not None and size > max_bytes:
        if partial:
            raise IngestError(
                f"{where}: the download is over the size limit of {_mb(max_bytes)} (stopped after {_mb(size)})"
            )
        raise IngestError(f"{where}: {_mb(size)} is over the size limit of {_mb(max_bytes)}")


def _mb(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n:,} bytes"
    return f"{n / (1024 * 1024):.1f} MB"


def _title_from_name(filename: str) -> str:
    stem = Path(filename).stem
    return re.sub(r"[_]+", " ", stem).strip() or filename


def _clean_title(title: str | None) -> str:
    title = " ".join((title or "").split())
    title = re.sub(r"^Microsoft (?:Word|PowerPoint) - ", "", title)
    return title[:300]


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def _extension_for(content_type: str, url: str, data: bytes) -> str | None:
    mime = content_type.split(";")[0].strip().lower()
    by_mime = {
        "text/html": ".html",
        "application/xhtml+xml": ".html",
        "application/pdf": ".pdf",
        "application/x-pdf": ".pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
        "text/plain": ".txt",
        "text/markdown": ".md",
        "text/x-markdown": ".md",
    }
    if mime in by_mime:
        return by_mime[mime]
    path_ext = Path(urlparse(url).path).suffix.lower()
    if mime in ("", "application/octet-stream", "binary/octet-stream") and path_ext in SUPPORTED_EXTENSIONS:
        return path_ext
    if mime in ("", "application/octet-stream") and data[:5] == b"%PDF-":
        return ".pdf"
    return None

