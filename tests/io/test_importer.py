"""Importing whatever a user brings: detection by extension and content, report documents, pasted text and URLs."""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading

import pytest

from tram_core.errors import UserError
from tram_core.io.dataset_checks import DatasetError, ImportOptions
from tram_core.io.importer import (
    UnsupportedFileError,
    detect_kind,
    import_bytes,
    import_path,
    import_text,
    import_url,
)
from tram_core.store import LABELLED, UNLABELLED

MULTI = [{"sentence": "It injected code.", "labels": ["T1055"], "doc_title": "D"}]
SINGLE = [{"text": "It injected code.", "label": "T1055", "doc_title": "D"}]
REPORT = {"name": "R", "text": "One. Two.", "sentences": [{"text": "One.", "order": 0, "disposition": None,
                                                        "mappings": []}]}
MJSON = {"signal": "title: T\nurl: u\n\nIt injected code.", "asets": [], "version": 2}


def as_bytes(obj) -> bytes:
    return json.dumps(obj).encode("utf-8")


@pytest.mark.parametrize("data, filename, kind", [
    (as_bytes(MULTI), "seed.json", "tram-multilabel"),
    (as_bytes(SINGLE), "single.json", "tram-single-label"),
    (as_bytes(REPORT), "report.json", "tram-report"),
    (as_bytes([REPORT, REPORT]), "corpus.json", "tram-report"),
    (as_bytes(MJSON), "renamed.json", "mat-mjson"),
    (as_bytes(MJSON), "report.mjson", "mat-mjson"),
    (as_bytes(MULTI), "no-extension", "tram-multilabel"),
    (b"sentence,labels\nx,T1055\n", "labels.csv", "csv"),
    (b"%PDF-1.4 ...", "report.pdf", "document"),
    (b"<html></html>", "page.HTML", "document"),
    (b"Some text.", "notes.md", "document"),
])
def test_detect_kind_by_extension_and_content(data, filename, kind):
    assert detect_kind(data, filename) == kind


def test_unsupported_file_names_the_file(store):
    with pytest.raises(UnsupportedFileError, match=r"picture.png: unsupported file type '.png'"):
        import_bytes(store, b"\x89PNG\r\n\x1a\n....", "picture.png", "tester")
    assert store.corpus_counts()["reports"] == 0


def test_bad_json_dataset_names_the_file(store):
    with pytest.raises(DatasetError, match=r"seed.json: not valid JSON: .* line 1"):
        import_bytes(store, b'[{"sentence": ', "seed.json", "tester")
    with pytest.raises(DatasetError, match=r"seed.json: the file is empty"):
        import_bytes(store, b"", "seed.json", "tester")


def test_import_path_dataset_with_options(store, tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(MULTI + [{"sentence": "Bad.", "labels": ["T9999"], "doc_title": "D"}]))
    with pytest.raises(DatasetError, match="row 2: unknown technique 'T9999'"):
        import_path(store, path, "tester")
    result = import_path(store, path, "tester", ImportOptions(skip_bad_rows=True))
    assert result.skipped_rows == 1 and result.sentences == 1 and result.source == "rows.json"


def test_missing_file_and_folder_are_clear_errors(store, tmp_path):
    with pytest.raises(UserError, match="nothere.json: no such file"):
        import_path(store, tmp_path / "nothere.json", "tester")
    with pytest.raises(UserError, match="is a folder"):
        import_path(store, tmp_path, "tester")


def check_offsets(store, report_id: int) -> None:
    text = store.get_report(report_id).text
    for sent in store.sentences(report_id=report_id):
        assert " ".join(text[sent.start:sent.end].split()) == sent.text


def test_real_docx_gives_the_sentences_tram_found(store, shared_data):
    result = import_path(store, shared_data / "reports" / "simple-test.docx", "tester")
    assert result.kind == "document" and result.reports_created == 1
    sentences = store.sentences(report_id=result.outcomes[0].report_id)
    tram = json.loads((shared_data / "reports" / "report-for-simple-testdocx.json").read_text(encoding="utf-8"))
    assert [s.text for s in sentences] == [s["text"] for s in tram["sentences"]]
    assert all(s.status == UNLABELLED and s.labels == () for s in sentences)
    check_offsets(store, result.outcomes[0].report_id)


def test_real_pdf_becomes_an_unlabelled_report(store, shared_data):
    path = shared_data / "reports" / "AA20-302A.pdf"
    result = import_path(store, path, "tester")
    outcome = result.outcomes[0]
    assert outcome.created and outcome.sentences > 100 and outcome.labelled == 0
    assert "AA20-302A" in outcome.title
    assert store.get_report(outcome.report_id).source == "AA20-302A.pdf"
    check_offsets(store, outcome.report_id)
    again = import_bytes(store, path.read_bytes(), "copy-of-advisory.pdf", "tester")
    assert again.reports_created == 0 and again.duplicates == 1 and "already imported" in again.summary()


def test_pasted_text_and_duplicate(store):
    text = "The actor ran whoami.\n\nThen it dumped LSASS memory with comsvcs.dll. Finally it left."
    result = import_text(store, text, "Pasted notes", "tester")
    assert result.kind == "text" and result.reports_created == 1 and result.sentences == 3
    check_offsets(store, result.outcomes[0].report_id)
    # Whitespace differences do not make a different report.
    again = import_text(store, text.replace("\n\n", "\n"), "Pasted again", "tester")
    assert again.reports_created == 0 and again.outcomes[0].report_id == result.outcomes[0].report_id
    with pytest.raises(UserError, match="no text"):
        import_text(store, "   ", "Empty", "tester")


def test_text_document_upload(store):
    result = import_bytes(store, "First point here. Second point here.".encode(), "notes.txt", "tester")
    assert [s.text for s in store.sentences()] == ["First point here.", "Second point here."]
    assert result.labelled == 0


def test_dataset_upload_keeps_labels(store):
    result = import_bytes(store, as_bytes(MULTI), "seed.json", "tester")
    assert result.kind == "tram-multilabel"
    assert [(s.labels, s.status) for s in store.sentences()] == [(("T1055",), LABELLED)]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/report.html":
            body = (b"<html><head><title>Local Advisory</title></head><body><p>The actor used PowerShell to "
                    b"download a payload.</p><p>It then created a scheduled task for persistence.</p></body></html>")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_import_url_from_a_local_server(store, settings, local_server):
    url = f"{local_server}/report.html"
    with pytest.raises(UserError, match=r"refused: 127\.0\.0\.1 is a loopback address"):  # not allowed by default
        import_url(store, url, "tester", settings)
    settings = dataclasses.replace(settings, url_allowed_networks=("127.0.0.1/32",))
    result = import_url(store, url, "tester", settings)
    outcome = result.outcomes[0]
    assert result.kind == "url" and outcome.title == "Local Advisory"
    assert store.get_report(outcome.report_id).source == url
    assert [s.text for s in store.sentences()] == [
        "The actor used PowerShell to download a payload.", "It then created a scheduled task for persistence."]
    with pytest.raises(UserError, match="404"):
        import_url(store, f"{local_server}/missing.html", "tester", settings)
    assert store.corpus_counts()["reports"] == 1
