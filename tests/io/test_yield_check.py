"""The low-yield rule: far fewer sentences than a file's size suggests gives one warning line, else nothing."""

from __future__ import annotations

import pytest

from tram_core.io.yield_check import low_yield_warning


def test_a_big_page_with_one_sentence_is_flagged():
    warning = low_yield_warning(".html", 95 * 1024, 1)
    assert warning == ("only 1 sentence from 95 KB of HTML, where a file this size usually gives 5 or more; the page "
                       "may build its text with JavaScript or hide it from the extractor; paste the report's text "
                       "instead")
    assert "\n" not in warning


@pytest.mark.parametrize("file_type, size, sentences", [
    (".html", 95 * 1024, 40),  # a real report page
    (".html", 30 * 1024, 1),  # too small to expect much
    (".pdf", int(1.4 * 2**20), 460),  # the AA20-302A advisory
    (".pdf", 3 * 2**20, 30),  # an image-heavy brochure still clears the bar
    (".docx", 15 * 1024, 12),
    (".txt", 20 * 1024, 120),
    (".csv", 10 * 2**20, 1),  # datasets are not reports: the rule does not apply
])
def test_ordinary_files_are_not_flagged(file_type, size, sentences):
    assert low_yield_warning(file_type, size, sentences) is None


@pytest.mark.parametrize("file_type, size, sentences, start", [
    (".pdf", 2 * 2**20, 3, "only 3 sentences from 2.0 MB of PDF, where a file this size usually gives 16 or more"),
    (".docx", 640 * 1024, 2, "only 2 sentences from 640 KB of DOCX, where a file this size usually gives 10 or more"),
    (".md", 40 * 1024, 1, "only 1 sentence from 40 KB of text, where a file this size usually gives 20 or more"),
])
def test_every_report_format_has_a_bar(file_type, size, sentences, start):
    assert low_yield_warning(file_type, size, sentences).startswith(start)
