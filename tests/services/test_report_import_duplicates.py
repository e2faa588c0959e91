"""The Reports page's import service with near-duplicates: nothing stored until the user decides, then merge, keep
or skip per file in one transaction; the decision lands in the activity log."""

from __future__ import annotations

import pytest

from tests.io.test_near_duplicates import _formats
from tram_core.services import report_imports as imports
from tram_core.services.common import UserError


def test_an_upload_without_near_duplicates_is_stored_at_once(ctx):
    outcome = imports.import_files(ctx, "alice", [("intrusion.pdf", _formats()["intrusion.pdf"])])
    assert outcome.pending is None and outcome.rows[0].result == "imported"


def test_near_duplicates_wait_for_a_decision_and_then_merge_keep_or_skip(ctx):
    formats = _formats()
    imports.import_files(ctx, "alice", [("intrusion.pdf", formats["intrusion.pdf"])])
    counts = ctx.store.corpus_counts()
    outcome = imports.import_files(ctx, "alice", [("intrusion.docx", formats["intrusion.docx"]),
                                                  ("intrusion.html", formats["intrusion.html"]),
                                                  ("broken.exe", b"MZ")])
    assert outcome.pending is not None and ctx.store.corpus_counts() == counts  # nothing stored yet
    assert [r.file for r in outcome.rows] == ["broken.exe"] and outcome.rows[0].result == "failed"
    questions = outcome.pending.questions
    assert [q.key for q in questions] == [("intrusion.docx", 0), ("intrusion.html", 0)]
    assert all("report #1" in q.question and q.default == "merge" for q in questions)
    done = imports.finish_import(ctx, "alice", outcome.pending, {("intrusion.html", 0): "keep"})
    assert [(r.file, r.result) for r in done.rows] == [
        ("intrusion.docx", "duplicate"), ("intrusion.html", "imported"), ("broken.exe", "failed")]
    assert "merged into report #1" in done.rows[0].message
    assert ctx.store.get_report(1).other_sources == ("intrusion.docx",) and len(ctx.store.list_reports()) == 2
    decided = [e.after["near_duplicates"] for e in ctx.store.audit_events()
               if e.kind == "import" and "near_duplicates" in (e.after or {})]
    assert decided == [{"intrusion.docx#0": "merge", "intrusion.html#0": "keep"}]


def test_skip_stores_nothing_and_a_bad_decision_is_refused(ctx):
    formats = _formats()
    imports.import_files(ctx, "alice", [("intrusion.pdf", formats["intrusion.pdf"])])
    outcome = imports.import_files(ctx, "alice", [("intrusion.html", formats["intrusion.html"])])
    with pytest.raises(UserError):
        imports.finish_import(ctx, "alice", outcome.pending, {("intrusion.html", 0): "later"})
    done = imports.finish_import(ctx, "alice", outcome.pending, {("intrusion.html", 0): "skip"})
    assert done.rows[0].result == "duplicate" and "skipped" in done.rows[0].message
    assert len(ctx.store.list_reports()) == 1 and ctx.store.get_report(1).other_sources == ()
