"""Report files and URLs to clean text: real PDF and DOCX, made-up HTML/DOCX/text, and every error a user can hit."""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docx
import pytest
from pypdf import PdfWriter

from tram_core.limits import InputLimits
from tram_core.errors import UserError, is_user_error
from tram_core.ingest import (
    SUPPORTED_EXTENSIONS,
    ExtractedText,
    IngestError,
    extract_bytes,
    extract_file,
    fetch_url,
    normalize_text,
)
from tram_core.sentences import split_sentences


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


# --- real files ---------------------------------------------------------------------------------------------


def test_real_pdf_gives_whole_sentences_without_page_furniture(shared_data):
    extracted = extract_file(shared_data / "reports" / "AA20-302A.pdf")
    assert extracted.title == (
        "Joint Cybersecurity Advisory - AA20-302A - Ransomware Activity Targeting the Healthcare and Public Health Sector"
    )
    assert extracted.source.endswith("AA20-302A.pdf")
    sentences = sentences_of(extracted)
    # sentences that the PDF wraps over two or three lines come back whole
    assert (
        "CISA, FBI, and HHS have credible information of an increased and imminent cybercrime threat to "
        "U.S. hospitals and healthcare providers." in sentences
    )
    assert (
        "anchor_dns uses a single-byte XOR cipher to encrypt its communications, which have been observed "
        "using key 0xB9." in sentences
    )
    # bullets are their own sentences
    assert "C:\\Windows\\SysWOW64\\" in sentences
    # page headers, footers and numbers are gone
    assert "Page 3 of 22" not in extracted.text
    assert "TLP:WHITE\n" not in extracted.text + "\n"
    assert not [s for s in sentences if s.isdigit() or s.startswith("Page ")]
    assert 300 < len(sentences) < 1000
    assert "\r" not in extracted.text and "\n\n\n" not in extracted.text


def test_real_docx_gives_the_sentences_tram_exported(shared_data):
    extracted = extract_file(shared_data / "reports" / "simple-test.docx")
    exported = json.loads((shared_data / "reports" / "report-for-simple-testdocx.json").read_text(encoding="utf-8"))
    assert sentences_of(extracted) == [s["text"] for s in sorted(exported["sentences"], key=lambda s: s["order"])]
    assert extracted.title == "simple-test"  # no core title and no heading: the file name


# --- DOCX made here ---------------------------------------------------------------------------------------------


def test_docx_lists_tables_and_headings_each_on_their_own_line():
    def build(document):
        document.core_properties.title = "APT Report 7"
        document.add_heading("Technical details", level=1)
        document.add_paragraph("The actor used two tools. Both were packed")
        document.add_paragraph("cmd.exe launched the loader", style="List Bullet")
        document.add_paragraph("the loader contacted 45.77.12[.]9", style="List Bullet")
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text = "Technique"
        table.cell(0, 1).text = "ID"
        table.cell(1, 0).text = "scheduled task"
        table.cell(1, 1).text = "T1053.005"
        document.add_paragraph("Defenders should block the address.")

    extracted = extract_bytes(docx_bytes(build), "report.docx")
    assert extracted.title == "APT Report 7"
    assert extracted.source == "report.docx"
    assert sentences_of(extracted) == [
        "Technical details",
        "The actor used two tools.",
        "Both were packed",
        "cmd.exe launched the loader",
        "the loader contacted 45.77.12[.]9",
        "Technique | ID",
        "scheduled task | T1053.005",
        "Defenders should block the address.",
    ]


def test_docx_title_falls_back_to_the_first_heading():
    def build(document):
        document.add_paragraph("Intro line.")
        document.add_heading("Operation Nightfall", level=1)

    assert extract_bytes(docx_bytes(build), "x.docx").title == "Operation Nightfall"


# --- HTML -------------------------------------------------------------------------------------------------------

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


# --- plain text ---------------------------------------------------------------------------------------------


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


def test_normalize_text_collapses_blank_lines_only():
    assert normalize_text("a\n\n\n\nb  \n c") == "a\n\nb\n c"


# --- errors -------------------------------------------------------------------------------------------------


def test_scanned_pdf_without_text_layer(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(blank_pdf_bytes())
    with pytest.raises(IngestError, match=r"scan\.pdf: no extractable text; it may be a scanned image — run OCR first"):
        extract_file(path)


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
