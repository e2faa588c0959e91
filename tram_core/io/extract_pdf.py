"""PDF reports to text: text layer or OCR, repeated headers, footers and page numbers dropped, lines rejoined."""

from __future__ import annotations

import io
import re
from typing import Callable

from tram_core.errors import UserError
from tram_core.io.extract_common import BULLET_LINE, PAGE_NUMBER, IngestError, repeated_line_keys, repetition_key
from tram_core.io.limits import DEFAULT_LIMITS, InputLimits
from tram_core.io.sentences import wrapped_number

_TERMINAL = re.compile(r"""[.!?:;]["'”’)\]]*$""")
# A page with fewer letters and digits than this in its text layer (none, or a stamped page number) is read by OCR
# too; OCR's text replaces the layer's when it finds more than twice as much.
_SPARSE_PAGE_CHARS = 30


def extract_pdf(data: bytes, filename: str, limits: InputLimits = DEFAULT_LIMITS,
                progress: Callable[[int, int], None] | None = None) -> tuple[str, str, list[str]]:
    """(title, text, warnings) of a PDF: its metadata title or first line; encrypted and broken files are refused.

    Pages without a text layer are read by OCR (Tesseract), with ``progress(done, pages)`` after each of them.
    """
    pages, meta_title = _text_layer(data, filename, limits)
    warnings: list[str] = []
    sparse = [i for i, page in enumerate(pages) if _alnum(page) < _SPARSE_PAGE_CHARS]
    if sparse:
        pages = _read_sparse_pages(data, filename, pages, sparse, limits, progress, warnings)
    if not any(page.strip() for page in pages):
        raise IngestError(f"{filename}: no extractable text, not even by OCR; "
                          "the pages are blank or hold no readable text")
    lines = _drop_repeated_lines(pages)
    text = _join_wrapped_lines(lines)
    first_line = next((line.strip() for line in lines if len(line.strip()) > 3), "")
    title = str(meta_title) if meta_title and str(meta_title).strip() else first_line
    return title, text, warnings


def _text_layer(data: bytes, filename: str, limits: InputLimits) -> tuple[list[str], object]:
    """The text layer of every page (pypdf) and the metadata title; encrypted and broken files are refused."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    if b"%PDF" not in data[:1024]:
        raise IngestError(f"{filename}: not a valid PDF file (no PDF header); the file may be corrupt or mislabelled")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception:
                opened = 0
            if not opened:  # PasswordType.NOT_DECRYPTED: it needs a password to be opened
                raise IngestError(f"{filename}: the PDF is password-protected; remove the password first")
        pages: list[str] = []
        length = 0
        for page in reader.pages:  # page by page, so a PDF of many pages stops at the text limit
            pages.append(page.extract_text() or "")
            length += len(pages[-1])
            limits.check_text(length, filename)
        meta_title = (reader.metadata or {}).get("/Title") if reader.metadata is not None else None
    except UserError:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise IngestError(f"{filename}: the PDF is encrypted and cannot be opened without its password") from None
    except Exception as exc:  # pypdf raises many kinds on broken files
        raise IngestError(f"{filename}: not a valid PDF file ({type(exc).__name__}: {str(exc)[:150]}); the file may be corrupt") from None
    return pages, meta_title


def _read_sparse_pages(data: bytes, filename: str, pages: list[str], sparse: list[int], limits: InputLimits,
                       progress, warnings: list[str]) -> list[str]:
    """``pages`` with OCR's text on the pages whose text layer is (nearly) empty, within the OCR page cap.

    Without Tesseract, a file of text-less pages is refused and a file with some text imports with a warning.
    """
    from tram_core.io.pdf_ocr import missing_tesseract_hint, ocr_pages, tesseract_path

    textless = [i for i in sparse if not _alnum(pages[i])]
    if tesseract_path() is None:
        if len(textless) == len(pages):
            raise IngestError(f"{filename}: no extractable text: no page has a text layer (a scanned document?) and "
                              f"{missing_tesseract_hint()}")
        if textless:
            warnings.append(f"{_pages_phrase(textless)} no text layer and {'was' if len(textless) == 1 else 'were'} "
                            f"not read: {missing_tesseract_hint()}")
        return pages
    chosen = sparse[: limits.max_ocr_pages]
    if len(chosen) < len(sparse):
        warnings.append(f"OCR read only the first {len(chosen)} of {len(sparse)} pages without a text layer "
                        "(the setting is TRAM_MAX_OCR_PAGES)")
    texts = ocr_pages(data, chosen, filename, limits, progress)
    pages = list(pages)
    read = []
    for index, text in texts.items():
        if _alnum(text) > 2 * _alnum(pages[index]):
            pages[index] = text
            read.append(index)
    limits.check_text(sum(len(page) for page in pages), filename)
    if read:
        warnings.append(f"{_pages_phrase(read)} no text layer and {'was' if len(read) == 1 else 'were'} read by OCR: "
                        "check their sentences for recognition errors")
    return pages


def _alnum(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def _pages_phrase(indexes: list[int]) -> str:
    """'page 3 had' or 'pages 1-4, 7 had' for 0-based ``indexes`` (at most ten runs named)."""
    runs: list[list[int]] = []
    for number in sorted(index + 1 for index in indexes):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    named = ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs[:10])
    more = ", ..." if len(runs) > 10 else ""
    return f"page {named} had" if len(indexes) == 1 else f"pages {named}{more} had"


def _drop_repeated_lines(pages: list[str]) -> list[str]:
    """All lines of all pages, without page numbers and the headers/footers that repeat on most pages."""
    page_lines = [page.split("\n") for page in pages]
    repeated = repeated_line_keys(page_lines)
    out: list[str] = []
    for lines in page_lines:
        for line in lines:
            stripped = line.strip()
            if not stripped:
                continue
            if repetition_key(stripped) in repeated or PAGE_NUMBER.fullmatch(stripped):
                continue
            out.append(stripped)
    return out


def _join_wrapped_lines(lines: list[str]) -> str:
    """Rejoin lines that a PDF wrapped mid-paragraph; headings, bullets and short last lines end a paragraph."""
    lengths = sorted(len(line) for line in lines if len(line.split()) >= 4)
    width = lengths[int(0.9 * (len(lengths) - 1))] if lengths else 80
    parts: list[str] = []
    for i, line in enumerate(lines):
        parts.append(line)
        if i + 1 == len(lines):
            break
        nxt = lines[i + 1]
        next_is_bullet = BULLET_LINE.match(nxt) is not None
        full = len(line) >= 0.7 * width
        continues = nxt[:1].islower() or nxt[:1] in "([,;)" or wrapped_number(line, nxt)
        ends = _TERMINAL.search(line) is not None
        if not next_is_bullet and ((full and not ends) or (continues and not ends and len(line.split()) >= 2)):
            if re.search(r"[A-Za-z]-$", line) and nxt[:1].islower():
                parts[-1] = line[:-1]  # hyphenation at the line end: "organi-\nzations"
            elif not line.endswith(("-", "/")):
                parts.append(" ")
        elif full and ends and not next_is_bullet and not _looks_like_heading(nxt):
            parts.append(" ")  # a new sentence in the same paragraph
        elif next_is_bullet:
            parts.append("\n")
        else:
            parts.append("\n\n")
    return "".join(parts)


def _looks_like_heading(line: str) -> bool:
    return len(line) < 60 and _TERMINAL.search(line) is None and not line[:1].islower()

