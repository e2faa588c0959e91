"""DOCX reports: the sentences TRAM exported from a real file; lists, tables and headings each on their own line."""

from __future__ import annotations

import json

import pytest

from tests.io.ingest_helpers import docx_bytes, sentences_of
from tram_core.io.ingest import extract_bytes, extract_file


def test_real_docx_gives_the_sentences_tram_exported(shared_data):
    extracted = extract_file(shared_data / "reports" / "simple-test.docx")
    exported = json.loads((shared_data / "reports" / "report-for-simple-testdocx.json").read_text(encoding="utf-8"))
    assert sentences_of(extracted) == [s["text"] for s in sorted(exported["sentences"], key=lambda s: s["order"])]
    assert extracted.title == "simple-test"  # no core title and no heading: the file name


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


def test_a_docx_body_under_another_name_still_counts_its_tags():
    """python-docx finds the body through _rels/.rels, so the tag count covers every member, whatever its name."""
    import io as stdio
    import zipfile

    from tests.hostile_cases import _document_xml
    from tests.hostile_cases import docx_bytes as python_docx_bytes
    from tram_core.io.extract_docx import extract_docx
    from tram_core.io.limits import InputLimits, LimitError

    data = python_docx_bytes(document_xml=_document_xml("<w:p/>" * 50_000))
    renamed = stdio.BytesIO()
    with zipfile.ZipFile(stdio.BytesIO(data)) as source, zipfile.ZipFile(renamed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename).replace(b"word/document.xml", b"word/document.dat") \
                .replace(b"/word/document.xml", b"/word/document.dat")
            target.writestr(info.filename.replace("word/document.xml", "word/document.dat"), content)
    with pytest.raises(LimitError, match="TRAM_MAX_MARKUP_TAGS"):
        extract_docx(renamed.getvalue(), "renamed.docx", InputLimits(max_markup_tags=30_000, max_sentences=10**9))


def test_running_headers_and_footers_are_not_sentences():
    """A report saved from PDF to Word keeps each page's 'TLP:WHITE' lines and page footer in the body; they go, as
    they do for a PDF, and the DOCX header and footer parts never count as body text."""
    findings = [f"On day {n} the actors moved to host {n} with RDP." for n in range(1, 23)]

    def build(document):
        section = document.sections[0]
        section.header.paragraphs[0].text = "Joint advisory running header"
        section.footer.paragraphs[0].text = "Footer part text for every page"
        document.add_heading("Technical details", level=1)
        for number, finding in enumerate(findings, start=1):
            document.add_paragraph("TLP:WHITE")
            document.add_paragraph(finding)
            document.add_paragraph("TLP:WHITE")
            document.add_paragraph(f"Page {number} of 22 | Product ID: AA20-302A")
            if number < 22:
                document.add_page_break()

    extracted = extract_bytes(docx_bytes(build), "converted.docx")
    assert sentences_of(extracted) == ["Technical details", *findings]
    for furniture in ("TLP", "Page ", "Product ID", "running header", "Footer part"):
        assert furniture not in extracted.text
    assert extracted.title == "Technical details"


def test_a_short_docx_keeps_lines_that_repeat():
    """In a document of one page, a repeated line is content (a checklist), not a running header."""
    def build(document):
        for step in ("Isolate the host.", "Reset the password.", "Isolate the host.", "Reset the password.",
                     "Isolate the host."):
            document.add_paragraph(step)

    assert sentences_of(extract_bytes(docx_bytes(build), "checklist.docx")).count("Isolate the host.") == 3
