"""One report, several files: the same document as PDF, DOCX and HTML is found (MinHash over word shingles), stored
reports get their fingerprint once, and each near-duplicate is merged, kept or skipped as decided."""

from __future__ import annotations

import json

import pytest

from tests.hostile_cases import pdf_bytes
from tests.io.ingest_helpers import docx_bytes
from tram_core.io import near_duplicates as nd
from tram_core.io.import_duplicates import (MERGE, SKIP, DecisionError, check_decision, find_near_duplicates,
                                            import_checked, store_decided)
from tram_core.io.importer import prepare_bytes, prepare_text, store_prepared
from tram_core.store import Store

SENTENCES = [
    "The actors sent spearphishing emails with a macro-enabled Word document to staff of the ministry",
    "When opened, the macro wrote a loader named winupdate.dll to the user's temporary folder",
    "The loader was started through rundll32 and injected its payload into a new explorer process",
    "The payload beaconed over HTTPS every ten minutes to a server hosted in a rented data centre",
    "Within two days the operators ran whoami, net group and nltest to map the domain and its admins",
    "They dumped the memory of the LSASS process with a renamed copy of procdump",
    "With the stolen hashes they moved laterally over SMB and started services on three file servers",
    "A scheduled task named GoogleUpdateCheck restarted the loader every morning at nine",
    "The operators staged archives of engineering drawings in the recycle bin of a file server",
    "The archives were split into parts of one hundred megabytes and protected with a password",
    "They were sent to a cloud storage account over the same channel the implant used for commands",
    "Before leaving, the actors cleared the security event log on every host they had touched",
    "The intrusion was found when a backup job failed on a server whose disk had filled up",
    "Responders rebuilt the domain controllers, reset every password and blocked the command servers",
    "The same loader was later seen against two other ministries in the region",
]
OTHER = ["A different campaign abused a remote monitoring tool sold to managed service providers",
         "The attackers bought access from a broker and deployed ransomware within a single weekend",
         "Backups were deleted with vssadmin before the encryptor ran on the hypervisors"] * 3


def _docx(sentences) -> bytes:
    return docx_bytes(lambda d: [d.add_paragraph(s + ".") for s in sentences])


def _html(sentences) -> bytes:
    body = "".join(f"<p>{s}.</p>" for s in sentences)
    return (f"<html><head><title>Ministry intrusion</title></head><body><nav>Home | Blog | Contact</nav>"
            f"<article><h1>Ministry intrusion</h1>{body}</article><footer>Copyright</footer></body></html>").encode()


def _formats() -> dict[str, bytes]:
    return {"intrusion.pdf": pdf_bytes(SENTENCES), "intrusion.docx": _docx(SENTENCES), "intrusion.html": _html(SENTENCES)}


def test_shingles_ignore_layout_and_case():
    assert nd.shingles("The actor RAN\n cmd.exe, then left.") == nd.shingles("the actor ran cmd exe then left")
    assert len(nd.shingles("one two three four five six")) == 2


def test_a_fingerprint_is_stable_and_records_how_it_was_made():
    first, again = nd.fingerprint(". ".join(SENTENCES)), nd.fingerprint(". ".join(SENTENCES))
    assert first == again and nd.usable(first) and len(first["values"]) == nd.PERMUTATIONS
    assert not nd.usable({**first, "scheme": "legacy"}) and not nd.usable(None)
    assert json.loads(json.dumps(first)) == first  # it is stored as JSON


def test_the_same_document_in_three_formats_is_found_and_different_reports_are_not():
    texts = {name: prepare_bytes(data, name).reports[0].text for name, data in _formats().items()}
    prints = {name: nd.fingerprint(text) for name, text in texts.items()}
    assert nd.likeness(prints["intrusion.pdf"], prints["intrusion.docx"]).same_document
    assert nd.likeness(prints["intrusion.pdf"], prints["intrusion.html"]).same_document
    other = nd.fingerprint(". ".join(OTHER))
    assert not nd.likeness(prints["intrusion.pdf"], other).same_document
    half = nd.fingerprint(". ".join(SENTENCES[:4]))  # an excerpt is not the document
    assert not nd.likeness(prints["intrusion.pdf"], half).same_document


def test_no_two_of_the_121_annotated_reports_are_called_the_same_document(shared_data):
    prints = [nd.fingerprint(json.loads(p.read_text(encoding="utf-8"))["signal"])
              for p in sorted((shared_data / "tram2" / "mjson").glob("*.mjson"))]
    alike = [(i, j) for i in range(len(prints)) for j in range(i) if nd.likeness(prints[i], prints[j]).same_document]
    assert alike == []


def test_a_real_pdf_and_its_text_as_docx_and_html_are_one_document(shared_data, store):
    pdf = prepare_bytes((shared_data / "reports" / "AA20-302A.pdf").read_bytes(), "AA20-302A.pdf")
    paragraphs = [" ".join(p.split()) for p in pdf.reports[0].text.split("\n\n") if p.strip()]
    # A DOCX of the same advisory: its own cover line, the last paragraph (contacts) left out.
    cover = ["Joint Cybersecurity Advisory, Word version"] + paragraphs[:-1]
    docx = prepare_bytes(docx_bytes(lambda d: [d.add_paragraph(p) for p in cover]), "AA20-302A.docx")
    html = prepare_bytes(_html(paragraphs[: len(paragraphs) * 3 // 4]), "AA20-302A.html")  # a page keeps less
    store_prepared(store, [pdf], "ana")
    found = find_near_duplicates(store, [docx, html])
    assert [(d.file, d.existing_id) for d in found] == [("AA20-302A.docx", 1), ("AA20-302A.html", 1)]


def test_stored_reports_get_their_fingerprint_once(store):
    store_prepared(store, [prepare_text(". ".join(SENTENCES), "Ministry intrusion")], "ana")
    assert store.report_fingerprints()[0][3] is None
    find_near_duplicates(store, [])
    stored = store.report_fingerprints()[0][3]
    assert nd.usable(stored)


def _import_all(store: Store, decision: str | None):
    sources = [(name, lambda d=data, n=name: prepare_bytes(d, n)) for name, data in _formats().items()]
    asked = []

    def decide(duplicates):
        asked.extend(duplicates)
        return {d.key: decision for d in duplicates} if decision else {}

    return import_checked(store, sources, "ana", decide), asked


def test_one_import_of_three_formats_merges_into_one_report(store):
    batch, asked = _import_all(store, MERGE)
    assert [(d.file, d.earlier_file) for d in asked] == [("intrusion.docx", "intrusion.pdf"),
                                                        ("intrusion.html", "intrusion.pdf")]
    assert "in this import" in asked[0].question and "intrusion.docx looks like" in asked[0].question
    assert len(store.list_reports()) == 1
    report = store.get_report(store.list_reports()[0].id)
    assert report.source == "intrusion.pdf" and report.other_sources == ("intrusion.docx", "intrusion.html")
    summaries = [r.summary() for r in batch.results]
    assert summaries[0].startswith("created report 1") and "merged into report #1" in summaries[1]


def test_a_later_import_merges_keeps_or_skips_against_the_stored_report(store):
    store_prepared(store, [prepare_bytes(_formats()["intrusion.pdf"], "intrusion.pdf")], "ana")
    before = store.corpus_counts()
    docx = prepare_bytes(_formats()["intrusion.docx"], "intrusion.docx")
    found = find_near_duplicates(store, [docx])
    assert [(d.existing_id, d.existing_title) for d in found] == [(1, store.get_report(1).title)]
    assert found[0].likeness.jaccard > 0.8
    skipped = store_decided(store, [docx], "ana", found, {found[0].key: SKIP})
    assert store.corpus_counts() == before and "skipped: the same document as report #1" in skipped[0].summary()
    merged = store_decided(store, [docx], "ana", found, {found[0].key: MERGE})
    assert store.corpus_counts() == before and store.get_report(1).other_sources == ("intrusion.docx",)
    assert merged[0].outcomes[0].report_id == 1 and not merged[0].outcomes[0].created
    kept = store_decided(store, [docx], "ana", found, {})  # keep is the default
    assert kept[0].reports_created == 1 and len(store.list_reports()) == 2


def test_a_word_for_word_copy_is_left_to_the_store_and_datasets_are_not_checked(store):
    text = ". ".join(SENTENCES) + "."
    store_prepared(store, [prepare_text(text, "Ministry intrusion")], "ana")
    assert find_near_duplicates(store, [prepare_text(text, "Again")]) == []


def test_a_bad_decision_is_one_line():
    with pytest.raises(DecisionError) as refused:
        check_decision("maybe", "a.pdf")
    assert str(refused.value) == "a.pdf: 'maybe' is not a way to handle a near-duplicate; use merge, keep or skip"
    assert check_decision(" Merge ") == MERGE
