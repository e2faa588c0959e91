"""Helpers for the report extraction tests: made-up DOCX and PDF files (scans too), an HTML page, sentences."""

from __future__ import annotations

import io
import re
import shutil
import textwrap
from collections import Counter

import docx
from pypdf import PdfWriter

from tram_core.io.ingest import ExtractedText
from tram_core.io.sentences import split_sentences


def sentences_of(extracted: ExtractedText) -> list[str]:
    return [s.text for s in split_sentences(extracted.text)]


def docx_bytes(build) -> bytes:
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def scanned_pdf_bytes(pages: list[list[str]]) -> bytes:
    """An image-only PDF (no text layer), one US-letter page at 300 dpi per entry of ``pages``: its paragraphs
    typeset in 10-point type, as a scanner would deliver them."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=42)  # 10 pt at 300 dpi
    images = []
    for paragraphs in pages:
        image = Image.new("L", (2550, 3300), 255)
        draw = ImageDraw.Draw(image)
        y = 300
        for paragraph in paragraphs:
            for line in textwrap.wrap(paragraph, 72):
                draw.text((250, y), line, font=font, fill=0)
                y += 60
            y += 60
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=300, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def word_recovery(expected: str, found: str) -> float:
    """The share of ``expected``'s words (lower case, counted with repeats) that ``found`` holds."""
    def words(text: str) -> Counter:
        return Counter(re.findall(r"[a-z0-9']+", text.lower()))

    wanted = words(expected)
    return sum((wanted & words(found)).values()) / sum(wanted.values())


def tesseract_or_skip() -> str:
    """The tesseract program, or a skip (a failure in CI) saying how to install it."""
    from tests.conftest import skip_or_fail

    found = shutil.which("tesseract")
    if found is None:
        skip_or_fail("the tesseract program is not installed (apt-get install tesseract-ocr); OCR cannot be tested")
    return found


def blank_pdf_bytes(pages: int = 2) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


HTML_PAGE = """<!doctype html><html><head><title>Lazarus returns | Vendor blog</title>
<style>body { color: red }</style><script>var tracking = "do not keep";</script></head>
<body><nav><a href="/">Home</a> <a href="/blog">Blog</a></nav>
<header>Site banner</header>
<article><h1>Lazarus returns</h1>
<p>The group sent spearphishing   emails with a
macro-enabled document. The macro ran <code>cmd.exe /c whoami</code>.</p>
<ul><li>Drops payload.dll</li><li>beacons to hxxp://evil[.]com/a.php</li></ul>
<table><tr><th>Indicator</th><th>Type</th></tr><tr><td>1.2.3.4:443</td><td>C2</td></tr></table>
<p>Second&nbsp;para<br>on a new line.</p></article>
<aside>Related posts</aside><footer>Copyright 2024</footer></body></html>"""
