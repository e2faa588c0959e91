"""The Reports page asks about a file that is the same document as a stored report, through AppTest on a real store."""

from __future__ import annotations

from tests.io.test_near_duplicates import _formats
from tests.pages.test_reports_page import button, import_table, open_app, upload  # noqa: F401 - the fixture

__all__ = ["open_app"]


def duplicate_radios(at):
    return [r for r in at.radio if r.key and r.key.startswith("rep_dup_")]


def test_a_docx_of_a_stored_pdf_is_asked_about_and_merged(open_app, store):
    formats = _formats()
    at = upload(open_app(), [("intrusion.pdf", formats["intrusion.pdf"])])
    assert import_table(at)["result"].tolist() == ["imported"]
    at = upload(at, [("intrusion.docx", formats["intrusion.docx"])])
    assert any("look like the same document" in w.value for w in at.warning)
    [radio] = duplicate_radios(at)
    assert "intrusion.docx looks like the same document as report #1" in radio.label.replace("\\", "")
    assert radio.value == "merge" and len(store.list_reports()) == 1
    button(at, "Finish the import").click().run()
    assert not at.exception, at.exception
    table = import_table(at)
    assert table["result"].tolist() == ["duplicate"] and "merged into report #1" in table["message"][0]
    assert len(store.list_reports()) == 1 and store.get_report(1).other_sources == ("intrusion.docx",)


def test_keep_both_and_cancel(open_app, store):
    formats = _formats()
    at = upload(open_app(), [("intrusion.pdf", formats["intrusion.pdf"])])
    at = upload(at, [("intrusion.html", formats["intrusion.html"])])
    button(at, "Cancel the import").click().run()
    assert not duplicate_radios(at) and len(store.list_reports()) == 1
    at = upload(at, [("intrusion.html", formats["intrusion.html"])])
    duplicate_radios(at)[0].set_value("keep")
    button(at, "Finish the import").click().run()
    assert import_table(at)["result"].tolist() == ["imported"] and len(store.list_reports()) == 2
