"""PDF reports: a real advisory comes back as whole sentences without page furniture; a scan is refused."""

from __future__ import annotations

import pytest

from tests.io.ingest_helpers import blank_pdf_bytes, sentences_of
from tram_core.io.extract_common import IngestError
from tram_core.io.ingest import extract_file


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


def test_scanned_pdf_without_text_layer(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(blank_pdf_bytes())
    with pytest.raises(IngestError, match=r"scan\.pdf: no extractable text; it may be a scanned image — run OCR first"):
        extract_file(path)
