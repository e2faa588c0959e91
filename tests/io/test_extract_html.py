"""HTML reports: content kept, page chrome dropped, list items one bullet each, the title and its fallbacks."""

from __future__ import annotations

from tests.io.ingest_helpers import HTML_PAGE, sentences_of
from tram_core.io.ingest import extract_bytes


def test_html_keeps_content_and_drops_page_chrome():
    extracted = extract_bytes(HTML_PAGE.encode("utf-8"), "post.html")
    assert extracted.title == "Lazarus returns | Vendor blog"
    for chrome in ("tracking", "color: red", "Home", "Site banner", "Related posts", "Copyright"):
        assert chrome not in extracted.text
    assert sentences_of(extracted) == [
        "Lazarus returns",
        "The group sent spearphishing emails with a macro-enabled document.",
        "The macro ran cmd.exe /c whoami.",
        "Drops payload.dll",
        "beacons to hxxp://evil[.]com/a.php",
        "Indicator | Type",
        "1.2.3.4:443 | C2",
        "Second para",
        "on a new line.",
    ]


def test_html_list_items_holding_blocks_stay_one_bullet():
    page = b"<ul><li><p>First item.</p></li><li><div>Second</div><ul><li>nested one</li></ul></li></ul><p>A &amp; B</p>"
    extracted = extract_bytes(page, "list.html")
    assert sentences_of(extracted) == ["First item.", "Second", "nested one", "A & B"]
    assert "\u2022\n" not in extracted.text


def test_html_title_falls_back_to_h1_then_file_name():
    assert extract_bytes(b"<html><body><h1>Only H1</h1><p>Text.</p></body></html>", "a.htm").title == "Only H1"
    assert extract_bytes(b"<p>Just text.</p>", "my_report.html").title == "my report"
