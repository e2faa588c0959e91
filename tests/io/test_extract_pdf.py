"""PDF reports: a real advisory comes back as whole sentences without page furniture; scans are read by OCR."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from tests.conftest import wait_for
from tests.hostile_cases import pdf_bytes
from tests.io.html_pages import ADVISORY_PARAGRAPHS, BLOG_PARAGRAPHS, NEWS_PARAGRAPHS
from tests.io.ingest_helpers import (blank_pdf_bytes, scanned_pdf_bytes, sentences_of, tesseract_or_skip,
                                     word_recovery)
from tram_core.io import pdf_ocr
from tram_core.io.extract_common import IngestError
from tram_core.io.ingest import extract_bytes, extract_file
from tram_core.io.limits import InputLimits, LimitError


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
    assert extracted.warnings == ()  # every page has a text layer: nothing was read by OCR


def test_blank_pages_have_no_extractable_text(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(blank_pdf_bytes())
    with pytest.raises(IngestError, match=r"^scan\.pdf: no extractable text") as info:
        extract_file(path)
    assert str(info.value).count("scan.pdf") == 1 and "\n" not in str(info.value)


# --- OCR ------------------------------------------------------------------------------------------------------


def test_a_scanned_pdf_is_read_by_ocr_page_by_page():
    tesseract_or_skip()
    pages = [list(ADVISORY_PARAGRAPHS), list(BLOG_PARAGRAPHS)]
    progress = []
    started = time.monotonic()
    extracted = extract_bytes(scanned_pdf_bytes(pages), "scan.pdf", progress=lambda done, total: progress.append(
        (done, total)))
    elapsed = time.monotonic() - started
    recovery = word_recovery(" ".join(ADVISORY_PARAGRAPHS + BLOG_PARAGRAPHS), extracted.text)
    print(f"OCR of 2 scanned pages: {recovery:.1%} of the words recovered in {elapsed:.1f} s")
    assert recovery >= 0.95
    assert progress == [(1, 2), (2, 2)]
    assert extracted.warnings == ("pages 1-2 had no text layer and were read by OCR: check their sentences for "
                                  "recognition errors",)
    sentences = sentences_of(extracted)
    assert "To report an incident, contact CISA at (855) 292-3937 or central@cisa.gov." in sentences
    assert "We recommend blocking ISO attachments at the mail gateway." in sentences


def _mixed_pdf(scanned: list[list[str]]) -> bytes:
    """A PDF whose first page has a text layer and whose other pages are scans of ``scanned``."""
    writer = PdfWriter()
    for part in (pdf_bytes(["The actors sent phishing emails with macros", "The macros ran PowerShell"]),
                 scanned_pdf_bytes(scanned)):
        writer.append(PdfReader(io.BytesIO(part)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_ocr_reads_only_text_less_pages_and_stops_at_the_page_cap():
    tesseract_or_skip()
    data = _mixed_pdf([list(NEWS_PARAGRAPHS[:2]), list(NEWS_PARAGRAPHS[2:])])
    progress = []
    extracted = extract_bytes(data, "mixed.pdf", limits=InputLimits(max_ocr_pages=1),
                              progress=lambda done, total: progress.append((done, total)))
    assert progress == [(1, 1)]
    assert extracted.warnings == (
        "OCR read only the first 1 of 2 pages without a text layer (the setting is TRAM_MAX_OCR_PAGES)",
        "page 2 had no text layer and was read by OCR: check their sentences for recognition errors",
    )
    sentences = sentences_of(extracted)
    assert "The macros ran PowerShell." in sentences  # the text layer of page 1
    assert word_recovery(" ".join(NEWS_PARAGRAPHS[:2]), extracted.text) >= 0.95  # page 2, by OCR
    assert "Ambulances" not in extracted.text  # page 3 is past the cap


def test_without_tesseract_a_scan_is_refused_naming_the_package(monkeypatch):
    monkeypatch.setenv("TRAM_TESSERACT", "/nonexistent/tesseract")
    with pytest.raises(IngestError) as info:
        extract_bytes(scanned_pdf_bytes([["An actor ran a tool."]]), "scan.pdf")
    message = str(info.value)
    assert message == ("scan.pdf: no extractable text: no page has a text layer (a scanned document?) and OCR needs "
                       "Tesseract, which is not installed (install the tesseract-ocr package)")
    assert message.count("scan.pdf") == 1


def test_without_tesseract_the_text_pages_still_import_with_a_warning(monkeypatch):
    monkeypatch.setenv("TRAM_TESSERACT", "/nonexistent/tesseract")
    extracted = extract_bytes(_mixed_pdf([["An actor ran a tool."]]), "mixed.pdf")
    assert "The macros ran PowerShell." in sentences_of(extracted)
    assert extracted.warnings == ("page 2 had no text layer and was not read: OCR needs Tesseract, which is not "
                                  "installed (install the tesseract-ocr package)",)


def test_a_page_that_takes_too_long_is_killed_and_the_file_refused(tmp_path, monkeypatch):
    """A stand-in for Tesseract that hangs, as OCR of a hostile page may: the page deadline kills it, and the
    Tesseract process with it (its whole process group is gone)."""
    hanging = tmp_path / "tesseract"
    hanging.write_text("#!/bin/sh\nsleep 60\n")
    hanging.chmod(0o755)
    monkeypatch.setenv("TRAM_TESSERACT", str(hanging))
    children = []
    real_popen = pdf_ocr.subprocess.Popen

    def recording_popen(*args, **kwargs):
        children.append(real_popen(*args, **kwargs))
        return children[-1]

    monkeypatch.setattr(pdf_ocr.subprocess, "Popen", recording_popen)
    started = time.monotonic()
    with pytest.raises(LimitError) as info:
        extract_bytes(scanned_pdf_bytes([["An actor ran a tool."]]), "slow.pdf",
                      limits=InputLimits(ocr_page_timeout_s=2))
    assert time.monotonic() - started < 15
    assert str(info.value) == ("slow.pdf: reading page 1 by OCR took longer than the limit of 2 s "
                               "(the setting is TRAM_OCR_PAGE_TIMEOUT_S)")
    group = children[0].pid  # the OCR child leads its own process group
    wait_for(lambda: not _live_processes_in_group(group), timeout=10, what="the OCR processes to be gone")


def _live_processes_in_group(group: int) -> list[int]:
    """The processes of a process group that still run (a killed one may linger as a zombie until reaped)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_a_page_claiming_a_huge_size_is_rendered_within_the_pixel_cap():
    """A 200-inch page would be 3.6 billion pixels at 300 dpi; it is rendered at most OCR_MAX_PIXELS."""
    tesseract_or_skip()
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1200, 300), 255)
    ImageDraw.Draw(image).text((40, 100), "Huge page.", font=ImageFont.load_default(size=80), fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=6)  # 1200 px at 6 dpi: a page 200 inches wide
    started = time.monotonic()
    extracted = extract_bytes(buffer.getvalue(), "huge.pdf")
    assert time.monotonic() - started < 60
    assert "Huge page" in extracted.text
