"""A report file or URL to clean text and a title: PDF, DOCX, HTML, plain text and Markdown."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from tram_core.errors import UserError
from tram_core.limits import DEFAULT_LIMITS, InputLimits

SUPPORTED_EXTENSIONS = (".pdf", ".docx", ".html", ".htm", ".txt", ".md", ".text")
_TEXT_EXTENSIONS = (".txt", ".md", ".text")


class IngestError(UserError):
    """A report could not be read; the message names the file (or URL) and the reason."""


@dataclass(frozen=True)
class ExtractedText:
    """The clean text of one report, ready for the sentence splitter. ``source`` is the file name, path or URL."""

    title: str
    text: str
    source: str


# --- public API -------------------------------------------------------------------------------------------


def extract_bytes(data: bytes, filename: str, max_bytes: int | None = None,
                  limits: InputLimits = DEFAULT_LIMITS) -> ExtractedText:
    """Extract the text of an uploaded file; the extension of ``filename`` picks the parser."""
    return _extract(data, filename, max_bytes, _title_from_name(filename), limits)


def _extract(data: bytes, filename: str, max_bytes: int | None, fallback_title: str,
             limits: InputLimits = DEFAULT_LIMITS) -> ExtractedText:
    _check_size(len(data), max_bytes, filename)
    ext = Path(filename).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise IngestError(
            f"{filename}: unsupported file type {ext or '(no extension)'!r}; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    if not data:
        raise IngestError(f"{filename}: the file is empty")
    if ext == ".pdf":
        title, text = _extract_pdf(data, filename, limits)
    elif ext == ".docx":
        title, text = _extract_docx(data, filename, limits)
    elif ext in (".html", ".htm"):
        title, text = _extract_html(data, filename, limits)
    else:
        title, text = _extract_plain(data, filename, markdown=ext == ".md")
    limits.check_text(len(text), filename)
    text = normalize_text(text)
    if not text:
        raise IngestError(f"{filename}: no text found in the file")
    return ExtractedText(title=_clean_title(title) or fallback_title, text=text, source=filename)


def extract_file(path: str | Path, max_bytes: int | None = None, limits: InputLimits = DEFAULT_LIMITS) -> ExtractedText:
    """Extract the text of a report file on disk (the size is checked before the file is read)."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: file not found")
    _check_size(path.stat().st_size, max_bytes, str(path))
    extracted = extract_bytes(path.read_bytes(), path.name, max_bytes, limits)
    return ExtractedText(title=extracted.title, text=extracted.text, source=str(path))


def fetch_url(url: str, timeout_s: float = 20, max_bytes: int | None = None,
              allowed_networks: tuple[str, ...] = (), limits: InputLimits = DEFAULT_LIMITS) -> ExtractedText:
    """Download a report and extract its text; the response's content type picks the parser.

    Only public addresses are fetched from, plus ``allowed_networks`` (CIDRs; see tram_core.url_fetch).
    """
    from tram_core.url_fetch import UrlFetchError, fetch

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
        extracted = _extract(data, filename, max_bytes, url, limits)
    except IngestError as exc:  # name the URL, not the made-up file name
        raise IngestError(str(exc).replace(f"{filename}:", f"{url}:", 1)) from None
    return ExtractedText(title=extracted.title, text=extracted.text, source=url)


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


_BULLET_LINE = re.compile(r"\s*(?:[•◦▪▫■□●○‣⁃∙·➢➤►*–-]|o(?=\s)|\(?\d{1,2}[.)]\s|\(?[a-z][.)]\s)")
_TERMINAL = re.compile(r"""[.!?:;]["'”’)\]]*$""")


# --- PDF --------------------------------------------------------------------------------------------------


def _extract_pdf(data: bytes, filename: str, limits: InputLimits = DEFAULT_LIMITS) -> tuple[str, str]:
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
        next_is_bullet = _BULLET_LINE.match(nxt) is not None
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


# --- DOCX -------------------------------------------------------------------------------------------------


def _extract_docx(data: bytes, filename: str, limits: InputLimits = DEFAULT_LIMITS) -> tuple[str, str]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise IngestError(f"{filename}: not a valid DOCX file (not a zip archive); the file may be corrupt or mislabelled")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            limits.check_archive(archive, filename)
            limits.check_archive_markup(archive, filename)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise IngestError(f"{filename}: not a valid DOCX file ({str(exc)[:150]})") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise IngestError(f"{filename}: not a valid DOCX file ({type(exc).__name__}: {str(exc)[:150]})") from None
    blocks: list[tuple[str, str]] = []  # (kind, text): kind is para, item, row, heading
    heading = ""
    body = document.element.body
    style_name = _docx_style_names(document)
    length, counted = 0, 0
    for index, child in enumerate(body.iterchildren()):
        # Each block becomes at least one sentence: stop at the limits rather than after a million of them
        # (empty paragraphs count a tenth each, so a body of nothing but empty ones stops too).
        length += sum(len(text) for _, text in blocks[counted:])
        counted = len(blocks)
        limits.check_text(length, filename)
        limits.check_sentences(max(len(blocks), index // 10), filename)
        if not isinstance(child.tag, str):  # comments and processing instructions
            continue
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            text = paragraph.text.strip()
            if not text:
                continue
            style = style_name(child)
            is_item = style.lower().startswith("list") or child.find(
                ".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}numPr"
            ) is not None
            if style.lower().startswith(("heading", "title")):
                heading = heading or text
                blocks.append(("heading", text))
            else:
                blocks.append(("item" if is_item else "para", text))
        elif tag == "tbl":
            for row in Table(child, document).rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = " ".join(cell.text.split())
                    if value and (not cells or cells[-1] != value):  # merged cells repeat
                        cells.append(value)
                if cells:
                    blocks.append(("row", " | ".join(cells)))
                    limits.check_sentences(len(blocks), filename)
    parts: list[str] = []
    for i, (kind, text) in enumerate(blocks):
        if i:
            same_run = kind in ("item", "row") and blocks[i - 1][0] == kind
            parts.append("\n" if same_run else "\n\n")
        parts.append(f"• {text}" if kind == "item" and not _BULLET_LINE.match(text) else text)
    title = (document.core_properties.title or "").strip() or heading
    return title, "".join(parts)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_style_names(document):
    """A paragraph element -> its style's name, from a table built once.

    python-docx's ``paragraph.style`` scans every style for the default on each call (0.7 ms a paragraph), which
    made a 20,000-paragraph file take 14 s.
    """
    from docx.enum.style import WD_STYLE_TYPE

    names = {style.style_id: style.name or "" for style in document.styles}
    default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    default_name = (default.name or "") if default is not None else ""

    def style_name(paragraph_element) -> str:
        style = paragraph_element.find(f"{_W}pPr/{_W}pStyle")
        style_id = style.get(f"{_W}val") if style is not None else None
        return names.get(style_id, default_name) if style_id else default_name

    return style_name


# --- HTML -------------------------------------------------------------------------------------------------

_DROP_TAGS = ("script", "style", "nav", "header", "footer", "aside", "noscript", "template", "svg", "iframe", "form", "button")
_BLOCK_TAGS = frozenset(
    "p div section article main h1 h2 h3 h4 h5 h6 ul ol dl dt dd blockquote pre table thead tbody tfoot "
    "figure figcaption address hr details summary caption body html center".split()
)
_LINE_TAGS = frozenset(["tr"])


def _extract_html(data: bytes, filename: str, limits: InputLimits = DEFAULT_LIMITS) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    if _looks_binary(data):
        raise IngestError(f"{filename}: this is a binary file, not HTML; the file may be corrupt or mislabelled")
    limits.check_markup(data.count(b"<"), filename)
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as exc:
        raise IngestError(f"{filename}: could not parse the HTML ({type(exc).__name__}: {str(exc)[:150]})") from None
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else ""
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    root = soup.body or soup
    text = _html_text(root, filename, limits)
    text = re.sub(r"(?<![ \t])[ \t]*+\n[ \t]*+", "\n", text)  # linear: see normalize_text
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"^ ?\| ", "", text, flags=re.MULTILINE)  # the first cell of a table row
    text = re.sub(r"^• *\n+(?=[^\n•])", "• ", text, flags=re.MULTILINE)  # <li><p>item</p></li>
    text = re.sub(r"^• *$\n?", "", text, flags=re.MULTILINE)  # an item holding only a nested list
    return title, text


def _html_text(root, filename: str, limits: InputLimits) -> str:
    """The text of an HTML tree with block, line, list and cell breaks; an explicit stack, so no depth recursion."""
    from bs4 import Comment, NavigableString, Tag

    out: list[str] = []
    # Entries are a node to visit (node, in_pre, depth) or a string to emit once its children are done.
    stack: list = [(child, False, 1) for child in reversed(list(root.children))]
    while stack:
        entry = stack.pop()
        if isinstance(entry, str):
            out.append(entry)
            continue
        child, in_pre, depth = entry
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            if type(child) is not NavigableString:  # CData, Doctype, declarations
                continue
            out.append(str(child) if in_pre else re.sub(r"\s+", " ", str(child)))
            continue
        if not isinstance(child, Tag):
            continue
        limits.check_nesting(depth, filename)
        name = child.name.lower()
        if name == "br":
            out.append("\n")
            continue
        before, after = "", ""
        if name in ("td", "th"):
            before = " | "
        elif name == "li":
            before, after = "\n• ", "\n"
        elif name in _LINE_TAGS:
            before, after = "\n", "\n"
        elif name in _BLOCK_TAGS:
            before, after = "\n\n", "\n\n"
            in_pre = in_pre or name == "pre"
        out.append(before)
        if after:
            stack.append(after)
        stack.extend((grandchild, in_pre, depth + 1) for grandchild in reversed(list(child.children)))
    return "".join(out)


def _looks_binary(data: bytes) -> bool:
    """Whether bytes are binary rather than text: a NUL, or many control characters, in the first 8 KB."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NULs
        return False
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return b"\x00" in head or controls > 0.02 * len(head)

# --- plain text and Markdown ------------------------------------------------------------------------------


def _extract_plain(data: bytes, filename: str, markdown: bool) -> tuple[str, str]:
    text = decode_text(data)
    if "\x00" in text or _looks_binary(data):
        raise IngestError(f"{filename}: this is a binary file, not text; the file may be corrupt or mislabelled")
    title = ""
    if markdown:
        title, text = _markdown_to_text(text)
    return title, text


def _markdown_heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line (``## Title ##``), else None; string methods only, linear in the line."""
    body = line.lstrip(" ")
    if len(line) - len(body) > 3 or not body.startswith("#"):
        return None
    level = len(body) - len(body.lstrip("#"))
    rest = body[level:]
    if level > 6 or (rest and not rest[0].isspace()):
        return None
    heading = rest.strip()
    return level, heading.rstrip("#").rstrip() or heading  # "## Title ##" -> "Title"


def _markdown_to_text(text: str) -> tuple[str, str]:
    """The first level-1 heading as the title; headings become their own paragraphs; code fences are dropped.

    Line by line with string methods: the regular expression this replaces backtracked on a heading followed by
    spaces ("# a" + 2,000 spaces + "!" took 70 s) and held the interpreter lock for every other user.
    """
    title = ""
    lines = []
    for line in text.split("\n"):
        heading = _markdown_heading(line)
        if heading is not None and heading[1]:
            if not title and heading[0] == 1:
                title = heading[1]
            lines.append(f"\n{heading[1]}\n")
        elif line.lstrip(" \t").startswith("```"):
            lines.append("")
        else:
            lines.append(line)
    return title, "\n".join(lines)


def decode_text(data: bytes) -> str:
    """Decode text bytes: UTF-8 (with or without a BOM), UTF-16 with a BOM, else Windows-1252, else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")
