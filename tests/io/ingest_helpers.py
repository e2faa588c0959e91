"""Helpers for the report extraction tests: made-up DOCX and PDF files, an HTML page, and sentences of a result."""

from __future__ import annotations

import io

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
