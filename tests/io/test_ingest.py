"""Report files and URLs to clean text: which extractor runs, sizes, empty and corrupt files, and URL fetching."""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.io.ingest_helpers import HTML_PAGE, blank_pdf_bytes, sentences_of
from tram_core.errors import UserError, is_user_error
from tram_core.io.extract_common import IngestError
from tram_core.io.ingest import SUPPORTED_EXTENSIONS, extract_bytes, extract_file, fetch_url, normalize_text
from tram_core.io.limits import InputLimits


def test_normalize_text_collapses_blank_lines_only():
    assert normalize_text("a\n\n\n\nb  \n c") == "a\n\nb\n c"


# --- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.pdf", "empty.docx", "empty.html", "empty.txt"])
def test_empty_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(IngestError, match=rf"{name}: the file is empty"):
        extract_file(path)


def test_whitespace_only_text_has_no_text():
    with pytest.raises(IngestError, match=r"blank\.txt: no text found"):
        extract_bytes(b"  \r\n\t\n", "blank.txt")


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("fake.pdf", b"This is plain text, not a PDF.", r"not a valid PDF file"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>", r"not a valid PDF file|no extractable text"),
        ("fake.docx", b"This is not a zip archive.", r"not a valid DOCX file \(not a zip archive\)"),
        ("zip.docx", None, r"not a valid DOCX file"),
        ("binary.txt", b"\x00\x01\x02\x00binary", r"this is a binary file, not text"),
    ],
)
def test_corrupt_files(name, data, reason):
    if data is None:  # a zip that is not a Word document
        buffer = io.BytesIO()
        import zipfile

        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "hi")
        data = buffer.getvalue()
    with pytest.raises(IngestError, match=rf"{name}: ({reason})"):
        extract_bytes(data, name)


def test_unknown_extension_lists_the_supported_ones():
    with pytest.raises(IngestError) as info:
        extract_bytes(b"a,b\n1,2\n", "sheet.xlsx")
    message = str(info.value)
    assert message.startswith("sheet.xlsx: unsupported file type '.xlsx'")
    assert all(ext in message for ext in SUPPORTED_EXTENSIONS)
    with pytest.raises(IngestError, match=r"README: unsupported file type '\(no extension\)'"):
        extract_bytes(b"text", "README")


def test_over_the_size_limit_says_size_and_limit(tmp_path):
    data = b"x" * (3 * 1024 * 1024)
    with pytest.raises(IngestError, match=r"big\.txt: 3\.0 MB is over the size limit of 1\.0 MB"):
        extract_bytes(data, "big.txt", max_bytes=1024 * 1024)
    path = tmp_path / "big.txt"
    path.write_bytes(data)
    with pytest.raises(IngestError, match=r"big\.txt: 3\.0 MB is over the size limit of 1\.0 MB"):
        extract_file(path, max_bytes=1024 * 1024)
    roomy = InputLimits(max_text_chars=4 * 1024 * 1024)
    assert extract_file(path, max_bytes=4 * 1024 * 1024, limits=roomy).text.startswith("xxx")


def test_missing_file_and_user_error_kind(tmp_path):
    with pytest.raises(IngestError, match=r"nope\.pdf: file not found"):
        extract_file(tmp_path / "nope.pdf")
    assert issubclass(IngestError, UserError)
    assert is_user_error(IngestError("x"))


# --- URLs -------------------------------------------------------------------------------------------------------


LOCAL = ("127.0.0.1/32",)  # the test server; URL fetching refuses loopback unless allowed


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, content_type: str, body: bytes, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        if self.path == "/report":
            self._send(200, "text/html; charset=utf-8", HTML_PAGE.encode("utf-8"))
        elif self.path == "/notes.txt":
            self._send(200, "text/plain; charset=windows-1252", "Caf\u00e9 \u201cnotes\u201d.".encode("cp1252"))
        elif self.path == "/scan":
            self._send(200, "application/pdf", blank_pdf_bytes())
        elif self.path == "/sheet":
            self._send(200, "application/vnd.ms-excel", b"a,b")
        elif self.path == "/slow":
            time.sleep(3)
            self._send(200, "text/html", b"<p>late</p>")
        elif self.path == "/big":
            self._send(200, "text/html", b"<p>" + b"a" * 200_000 + b"</p>")
        elif self.path == "/big-stream":  # no Content-Length: the client must count while streaming
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"b" * 10_000)
        else:
            self._send(404, "text/html", b"<h1>Not found</h1>")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_html_page(server):
    extracted = fetch_url(f"{server}/report", timeout_s=5, allowed_networks=LOCAL)
    assert extracted.source == f"{server}/report"
    assert extracted.title == "Lazarus returns | Vendor blog"
    assert "The macro ran cmd.exe /c whoami." in sentences_of(extracted)
    assert "tracking" not in extracted.text


def test_fetch_text_uses_the_declared_charset(server):
    extracted = fetch_url(f"{server}/notes.txt", timeout_s=5, allowed_networks=LOCAL)
    assert extracted.text == "Caf\u00e9 \u201cnotes\u201d."


def test_fetch_http_error(server):
    with pytest.raises(IngestError, match=r"/missing: the server answered HTTP 404"):
        fetch_url(f"{server}/missing", timeout_s=5, allowed_networks=LOCAL)


def test_fetch_timeout(server):
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"/slow: timed out after 0\.5 s"):
        fetch_url(f"{server}/slow", timeout_s=0.5, allowed_networks=LOCAL)
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_fetch_over_the_size_limit(server, path):
    expected = {
        "/big": r"/big: 200,007 bytes is over the size limit of 50,000 bytes",  # told by Content-Length
        "/big-stream": r"/big-stream: the download is over the size limit of 50,000 bytes \(stopped after",
    }[path]
    with pytest.raises(IngestError, match=expected):
        fetch_url(f"{server}{path}", timeout_s=5, max_bytes=50_000, allowed_networks=LOCAL)


def test_fetch_scanned_pdf_and_unsupported_type_name_the_url(server):
    with pytest.raises(IngestError, match=rf"^{server}/scan: no extractable text"):
        fetch_url(f"{server}/scan", timeout_s=5, allowed_networks=LOCAL)
    with pytest.raises(IngestError, match=r"/sheet: unsupported content type 'application/vnd.ms-excel'"):
        fetch_url(f"{server}/sheet", timeout_s=5, allowed_networks=LOCAL)


def test_fetch_unreachable_and_bad_urls():
    import socket

    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(IngestError, match=rf"127\.0\.0\.1:{port}/x: could not connect"):
        fetch_url(f"http://127.0.0.1:{port}/x", timeout_s=2, allowed_networks=LOCAL)
    with pytest.raises(IngestError, match=r"ftp://example\.com/a: not an http\(s\) URL"):
        fetch_url("ftp://example.com/a")
