"""Plain-text and Markdown reports: encodings, normalisation, a Markdown title and headings."""

from __future__ import annotations

from tests.io.ingest_helpers import sentences_of
from tram_core.io.ingest import extract_bytes


def test_text_with_bom_and_cp1252_and_normalisation():
    utf8 = "\ufeffThe actor\u00a0used caf\u00e9 Wi\u00adFi.\r\nIt left.\r\n\r\n\r\n\r\nDone.".encode("utf-8")
    extracted = extract_bytes(utf8, "notes.txt")
    assert extracted.text == "The actor used café WiFi.\nIt left.\n\nDone."
    assert extracted.title == "notes"

    cp1252 = "The \u201cloader\u201d cost \u20ac5 \u2014 caf\u00e9.".encode("cp1252")
    assert extract_bytes(cp1252, "old.txt").text == "The \u201cloader\u201d cost \u20ac5 \u2014 caf\u00e9."

    decomposed = "cafe\u0301".encode("utf-8")  # NFC turns e + combining accent into é
    assert extract_bytes(decomposed, "x.text").text == "caf\u00e9"


def test_markdown_title_and_headings():
    extracted = extract_bytes(b"# Campaign X\n\nThe actor ran mshta.exe.\n## Indicators\nevil[.]com\n", "r.md")
    assert extracted.title == "Campaign X"
    assert sentences_of(extracted) == ["Campaign X", "The actor ran mshta.exe.", "Indicators", "evil[.]com"]
