"""HTML reports: the main content of real page shapes, chrome dropped, the plain walker as fallback, the title."""

from __future__ import annotations

import re
import time

from tests.io.html_pages import (ADVISORY_ITEMS, ADVISORY_PARAGRAPHS, BLOG_PARAGRAPHS, NEWS_PARAGRAPHS,
                                 government_advisory, news_story, vendor_blog)
from tests.io.ingest_helpers import HTML_PAGE, sentences_of
from tram_core.io.extract_html import choose_html_text
from tram_core.io.extract_html_main import MAIN_CONTENT_MAX_TAGS
from tram_core.io.ingest import extract_bytes
from tram_core.io.sentences import split_sentences


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


# --- main content: real page shapes -------------------------------------------------------------------------


def _sentences_of_page(page: str, name: str) -> tuple[list[str], str, float]:
    started = time.monotonic()
    extracted = extract_bytes(page.encode("utf-8"), name)
    return sentences_of(extracted), extracted.text, time.monotonic() - started


def test_an_advisory_inside_a_complementary_aside_gives_its_paragraphs():
    """The page shape that gave one sentence, "Skip to main content": the <article> sits in <aside role=complementary>."""
    sentences, text, seconds = _sentences_of_page(government_advisory(), "aa20-302a.html")
    print(f"advisory page: {len(sentences)} sentences in {seconds:.2f} s")
    for paragraph in ADVISORY_PARAGRAPHS:
        for sentence in split_sentences(paragraph):
            assert sentence.text in sentences
    for heading in ("Ransomware Activity Targeting the Healthcare and Public Health Sector", "Summary",
                    "Technical Details", "Mitigations"):
        assert heading in sentences  # headings are sentence boundaries
    assert "Scheduled Task | T1053.005" in sentences  # a table row, its cells apart
    assert [item for item in ADVISORY_ITEMS if item in sentences] == list(ADVISORY_ITEMS)  # list items
    for chrome in ("Skip to main content", "official website", "Topics", "Related Advisories", "Emotet",
                   "Return to top", "CISA Central", "dataLayer", "structured data", "display: none"):
        assert chrome not in text
    assert len(sentences) >= 18


def test_a_vendor_blog_loses_its_menu_sidebar_comments_and_cookie_banner():
    sentences, text, _ = _sentences_of_page(vendor_blog(), "nighthawk.html")
    assert [s for s in BLOG_PARAGRAPHS if s in sentences] == list(BLOG_PARAGRAPHS)
    assert "The DLL is signed with a stolen certificate." in sentences
    assert "198.51.100.23 | C2 address" in sentences
    for chrome in ("cookies", "Accept all", "Products", "Contact sales", "newsletter", "Popular posts",
                   "Great write-up", "Leave a comment", "Reply", "Share this post", "Copyright", "trackingId",
                   "do not keep", "font-family"):
        assert chrome not in text


def test_a_news_story_loses_its_ads_ticker_and_link_boxes():
    sentences, text, _ = _sentences_of_page(news_story(), "hospitals.html")
    assert sentences[0] == "Hospitals hit by ransomware attack"
    assert [s for s in NEWS_PARAGRAPHS if s in sentences] == list(NEWS_PARAGRAPHS)
    assert "We are working around the clock to restore services, a spokesperson said." in sentences  # a quote
    for chrome in ("Subscribe", "Sign in", "Breaking", "Markets", "Advertisement", "Most read", "Celebrity",
                   "Related stories", "Water utility", "morning briefing", "All rights reserved"):
        assert chrome not in text


def test_scripts_and_styles_never_become_text_and_the_text_is_plain():
    inside = ("<script>var secret = 'script text';</script><style>p { color: red }</style>"
              "<noscript>Enable JavaScript to see this.</noscript><template><p>Template text.</p></template>"
              "<!-- an HTML comment -->")
    prose = "".join(f"<p>The <b>actor</b> ran <code>whoami</code> on host <a href='/h{i}'>number {i}</a> to "
                    f"learn who was logged in.</p>" for i in range(12))
    for page in (f"<html><body><article><h1>Findings</h1>{inside}{prose}</article>{inside}</body></html>",
                 f"<div>{inside}<p>Short page.</p></div>"):  # the main content, and the plain walker
        text = extract_bytes(page.encode(), "page.html").text
        for leaked in ("secret", "script text", "color", "JavaScript", "Template text", "comment"):
            assert leaked not in text
        assert re.search(r"</?[a-zA-Z][^>]*>|&[a-z]+;", text) is None  # no tags, no entities
    assert "The actor ran whoami on host number 0 to learn who was logged in." in text_of(
        f"<html><body><article>{prose}</article></body></html>")


def test_the_whole_page_is_kept_when_the_main_content_is_too_little():
    """A forum thread whose report sits in the comments area: main-content detection finds only the opening
    line, so the page's every block (page chrome still dropped) is used instead."""
    report = [f"The actor used tool number {n} to move laterally across the network." for n in range(30)]
    page = ("<html><body><nav><a href='/'>Forum home</a></nav><article><h1>Incident write-up</h1>"
            "<p>Read the full report below.</p></article><div id='comments' class='comments'>"
            + "".join(f"<p>{line}</p>" for line in report) + "</div><footer>Forum footer</footer></body></html>")
    sentences = sentences_of(extract_bytes(page.encode(), "thread.html"))
    assert sentences == ["Incident write-up", "Read the full report below.", *report]


def test_the_main_content_is_chosen_unless_it_is_short_and_a_small_part_of_the_page():
    page = "x" * 20_000
    assert choose_html_text("", page) == page  # nothing found
    assert choose_html_text("a" * 500, page) == page  # too little: short, and 2.5% of the page
    assert choose_html_text("a" * 500, "x" * 2_000) == "a" * 500  # short, but a quarter of a small page
    assert choose_html_text("a" * 1_500, page) == "a" * 1_500  # a real article beside a huge comment thread


def test_a_page_with_more_tags_than_main_content_detection_takes_uses_the_walker():
    lines = "".join(f"<p>Step {n} ran.</p>" for n in range(MAIN_CONTENT_MAX_TAGS // 4 + 10))
    page = f"<html><body><nav>Menu</nav>{lines}</body></html>".encode()
    started = time.monotonic()
    text = extract_bytes(page, "big.html").text
    assert time.monotonic() - started < 20
    assert "Menu" not in text and text.count("ran.") == MAIN_CONTENT_MAX_TAGS // 4 + 10


def text_of(page: str) -> str:
    return extract_bytes(page.encode(), "page.html").text
