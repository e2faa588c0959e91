"""PDF reports to text: page text without repeated headers, footers and page numbers, wrapped lines rejoined."""

from __future__ import annotations

import io
import re
from collections import Counter

from tram_core.errors import UserError
from tram_core.io.extract_common import BULLET_LINE, IngestError
from tram_core.io.limits import DEFAULT_LIMITS, InputLimits

_TERMINAL = re.compile(r"""[.!?:;]["'”’)\]]*$""")


def extract_pdf(data: bytes, filename: str, limits: InputLimits = DEFAULT_LIMITS) -> tuple[str, str]:
    """(title, text) of a PDF: its metadata title or first line; encrypted, broken and scanned files are refused."""
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
    if not any(page.strip() for page in pages):
        raise IngestError(
            f"{filename}: no extractable text; it may be a scanned image — run OCR first"
        )
    lines = _drop_repeated_lines(pages)
    text = _join_wrapped_lines(lines)
    first_line = next((line.strip() for line in lines if len(line.strip()) > 3), "")
    title = str(meta_title) if meta_title and str(meta_title).strip() else first_line
    return title, text


_PAGE_NUMBER = re.compile(
    r"(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?|[-–—]\s*\d{1,4}\s*[-–—]|page\s+\d{1,4}\s+of\s+\d{1,4}\b.*",
    re.IGNORECASE,
)


def _drop_repeated_lines(pages: list[str]) -> list[str]:
    """All lines of all pages, without page numbers and the headers/footers that repeat on most pages."""
    def key(line: str) -> str:
        return re.sub(r"\d+", "#", " ".join(line.split()))

    page_lines = [page.split("\n") for page in pages]
    counts = Counter(k for lines in page_lines for k in {key(line) for line in lines if line.strip()})
    repeated = {k for k, n in counts.items() if len(pages) >= 3 and n >= max(3, 0.4 * len(pages))}
    out: list[str] = []
    for lines in page_lines:
        for line in lines:
            stripped = line.strip()
            if not stripped:
                continue
            if key(stripped) in repeated or _PAGE_NUMBER.fullmatch(stripped):
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
        continues = nxt[:1].islower() or nxt[:1] in "([,;)"
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

