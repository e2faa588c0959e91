"""DOCX reports to text: body paragraphs, list items, table rows and headings in order, running headers dropped."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections import Counter
from typing import Iterator

from tram_core.io.extract_common import BULLET_LINE, PAGE_NUMBER, IngestError, repetition_key
from tram_core.io.limits import DEFAULT_LIMITS, InputLimits

Block = tuple[str, str]  # (kind, text): kind is para, item, row, heading
_RUNNING_LINE_CHARS = 150  # running headers and footers are short; a repeated long paragraph is content
_RUNNING_LINE_WORDS = 8
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def extract_docx(data: bytes, filename: str, limits: InputLimits = DEFAULT_LIMITS) -> tuple[str, str]:
    """(title, text) of a DOCX: the document's title property, else its first heading; blocks one per line.

    Only the body counts: the header and footer parts are page furniture, and so are lines that a conversion from
    PDF left in the body on most pages ("TLP:WHITE", "Page 3 of 22 | Product ID ...").
    """
    import docx

    stated_pages = _check_archive(data, filename, limits)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise IngestError(f"{filename}: not a valid DOCX file ({type(exc).__name__}: {str(exc)[:150]})") from None
    blocks = _blocks(document, filename, limits)
    blocks = _drop_running_lines(blocks, max(stated_pages, _page_breaks(document) + 1))
    heading = next((text for kind, text in blocks if kind == "heading"), "")
    title = (document.core_properties.title or "").strip() or heading
    return title, _joined(blocks)


def _check_archive(data: bytes, filename: str, limits: InputLimits) -> int:
    """A zip archive within the limits on unpacked bytes and markup, before python-docx opens it; returns the page
    count its properties state (0 when they state none)."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise IngestError(f"{filename}: not a valid DOCX file (not a zip archive); the file may be corrupt or mislabelled")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            limits.check_archive(archive, filename)
            limits.check_archive_markup(archive, filename)
            names = set(archive.namelist())
            properties = archive.read("docProps/app.xml")[:1_000_000] if "docProps/app.xml" in names else b""
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise IngestError(f"{filename}: not a valid DOCX file ({str(exc)[:150]})") from None
    pages = re.search(rb"<(?:\w+:)?Pages>\s*(\d{1,6})\s*<", properties)
    return int(pages.group(1)) if pages else 0


def _page_breaks(document) -> int:
    """The page breaks in the body: those Word noted when it last laid the pages out, or else the explicit ones."""
    body = document.element.body
    rendered = sum(1 for _ in body.iter(f"{_W}lastRenderedPageBreak"))
    explicit = sum(1 for br in body.iter(f"{_W}br") if br.get(f"{_W}type") == "page")
    return max(rendered, explicit)


def _drop_running_lines(blocks: list[Block], pages: int) -> list[Block]:
    """Blocks without page numbers and without the short lines that repeat on most pages, as for a PDF: on at
    least 3 pages' worth and 40% of the pages, in a document of 3 pages or more."""
    repeated: set[str] = set()
    if pages >= 3:
        counts = Counter(_running_key(text) for _, text in blocks if len(text) <= _RUNNING_LINE_CHARS)
        repeated = {key for key, count in counts.items() if count >= max(3, 0.4 * pages)}
    return [(kind, text) for kind, text in blocks
            if not (len(text) <= _RUNNING_LINE_CHARS and _running_key(text) in repeated)
            and not (kind in ("para", "heading") and PAGE_NUMBER.fullmatch(text))]


def _running_key(text: str) -> str:
    """What makes two blocks the same running line: a short one may differ in its numbers ("Page 3 of 22"), a
    sentence must be the very same (findings that differ only in numbers are content)."""
    return repetition_key(text) if len(text.split()) <= _RUNNING_LINE_WORDS else " ".join(text.split())


def _blocks(document, filename: str, limits: InputLimits) -> list[Block]:
    """The body's blocks in order."""
    blocks: list[Block] = []
    style_name = _docx_style_names(document)
    length, counted = 0, 0
    for index, child in enumerate(document.element.body.iterchildren()):
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
            block = _paragraph_block(child, document, style_name)
            if block is not None:
                blocks.append(block)
        elif tag == "tbl":
            for row in _table_rows(child, document):
                blocks.append(("row", row))
                limits.check_sentences(len(blocks), filename)
    return blocks


def _paragraph_block(child, document, style_name) -> Block | None:
    """A paragraph as a heading, list item or plain paragraph block; None when it holds no text."""
    from docx.text.paragraph import Paragraph

    text = Paragraph(child, document).text.strip()
    if not text:
        return None
    style = style_name(child)
    is_item = style.lower().startswith("list") or child.find(f".//{_W}numPr") is not None
    if style.lower().startswith(("heading", "title")):
        return "heading", text
    return ("item" if is_item else "para"), text


def _table_rows(child, document) -> Iterator[str]:
    """Each table row with text as its cells joined by " | " (a merged cell, repeated by python-docx, once)."""
    from docx.table import Table

    for row in Table(child, document).rows:
        cells: list[str] = []
        for cell in row.cells:
            value = " ".join(cell.text.split())
            if value and (not cells or cells[-1] != value):  # merged cells repeat
                cells.append(value)
        if cells:
            yield " | ".join(cells)


def _joined(blocks: list[Block]) -> str:
    """Blocks a blank line apart, a run of list items or table rows a line apart; items get a bullet."""
    parts: list[str] = []
    for i, (kind, text) in enumerate(blocks):
        if i:
            same_run = kind in ("item", "row") and blocks[i - 1][0] == kind
            parts.append("\n" if same_run else "\n\n")
        parts.append(f"• {text}" if kind == "item" and not BULLET_LINE.match(text) else text)
    return "".join(parts)


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

