"""What an import tells the user beyond its counts: a low sentence yield, pages read by OCR, OCR progress, and a
refused scan named once."""

from __future__ import annotations

import pytest

from tests.io.html_pages import government_advisory
from tests.io.ingest_helpers import scanned_pdf_bytes, tesseract_or_skip
from tram_core.cli import main
from tram_core.io.dataset_checks import ImportOptions
from tram_core.io.importer import import_batch, prepare_bytes
from tram_core.store import Store


def script_app_page() -> bytes:
    """95 KB of a page that builds its text with JavaScript: the server sends a loading line and the script."""
    script = "window.__STATE__ = " + '{"k": "v"}, ' * 8_090
    page = (f"<!doctype html><html><head><title>Threat report</title><script>{script}</script></head>"
            "<body><div id='app'>Loading the report viewer.</div></body></html>")
    assert 94 * 1024 < len(page) < 96 * 1024
    return page.encode()


@pytest.fixture()
def sqlite_store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'import.sqlite3'}")


def _import(store, data: bytes, name: str, **kwargs):
    batch = import_batch(store, [(name, lambda: prepare_bytes(data, name, ImportOptions(), **kwargs))], "ana")
    assert not batch.failures, batch.failures
    return batch.results[0]


def test_a_big_page_that_gives_one_sentence_is_imported_with_a_warning(sqlite_store):
    result = _import(sqlite_store, script_app_page(), "viewer.html")
    assert result.sentences == 1
    assert result.warnings == [
        "only 1 sentence from 95 KB of HTML, where a file this size usually gives 5 or more; the page may build its "
        "text with JavaScript or hide it from the extractor; paste the report's text instead"]


def test_a_real_report_page_has_no_warning(sqlite_store):
    result = _import(sqlite_store, government_advisory().encode(), "aa20-302a.html")
    assert result.sentences >= 18 and result.warnings == []


def test_the_command_line_prints_the_warning(store, tmp_path, capsys):
    path = tmp_path / "viewer.html"
    path.write_bytes(script_app_page())
    assert main(["--user", "ana", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "viewer.html: created report" in out
    assert "  warning: only 1 sentence from 95 KB of HTML" in out


def test_a_scan_reports_ocr_progress_and_a_warning(sqlite_store):
    tesseract_or_skip()
    progress = []
    result = _import(sqlite_store, scanned_pdf_bytes([["The actors ran a loader.", "It stole passwords."]]),
                     "scan.pdf", progress=lambda done, pages: progress.append((done, pages)))
    assert progress == [(1, 1)]
    assert result.sentences == 2
    assert result.warnings == ["page 1 had no text layer and was read by OCR: check their sentences for "
                               "recognition errors"]


def test_a_scan_without_tesseract_is_refused_naming_the_file_once(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRAM_TESSERACT", "/nonexistent/tesseract")
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf_bytes([["The actors ran a loader."]]))
    assert main(["--user", "ana", "import", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == ("error: scan.pdf: no extractable text: no page has a text layer (a scanned document?) and OCR "
                   "needs Tesseract, which is not installed (install the tesseract-ocr package)")
    assert store.list_reports() == []
