"""Marked blocks on the Annotate page's rules: the steps and the progress pass an unanswered block by, it shows folded
under its name beside the sentences around it, and it counts once an analyst opens and answers it."""

from __future__ import annotations

import pytest

from tests.io.noise_samples import POWERSHELL, SHA256_LIST, YARA
from tram_core.io.importer import prepare_text, store_prepared
from tram_core.services import annotate as svc
from tram_core.services.common import Context
from tram_core.store import LABELLED, UNLABELLED
from tram_core.views import annotation as ann
from tram_core.views.annotation_panel import save_answer

PROSE = ["The loader was signed with a stolen certificate.", "It dropped the rule's target into the temp folder.",
         "The operators then moved to the file servers.", "They left after three days."]
TEXT = (f"{PROSE[0]}\n\n{YARA}\n\n{PROSE[1]}\n\n{SHA256_LIST}\n\n{PROSE[2]}\n\n{POWERSHELL}\n\n{PROSE[3]}")


@pytest.fixture
def report(store):
    result = store_prepared(store, [prepare_text(TEXT, "Loader report")], "ana")[0]
    report_id = result.outcomes[0].report_id
    return report_id, store.sentences(report_id)


def test_the_report_is_four_sentences_and_three_whole_blocks(report):
    _, sentences = report
    assert [s.kind for s in sentences] == ["text", "rule", "text", "indicators", "text", "code", "text"]
    assert [s.text for s in sentences if not s.marked] == PROSE


def test_the_steps_and_the_progress_pass_unanswered_blocks_by(store, report):
    report_id, sentences = report
    queue = ann.load_queue(store, report_id)
    flt = ann.SentenceFilter()
    text_ids = [s.id for s in sentences if not s.marked]
    assert queue.matching(flt) == text_ids
    assert queue.next_after(text_ids[0], flt) == text_ids[1]
    assert queue.previous_before(text_ids[1], flt) == text_ids[0]
    assert queue.progress().total == 4 and ann.corpus_progress(store).total == 4
    assert ann.resolve_start(queue, None, flt) == (text_ids[0], "")


def test_blocks_show_folded_under_their_name_with_their_lines(store, report):
    report_id, sentences = report
    queue = ann.load_queue(store, report_id)
    blocks = [queue.blocks[s.id] for s in sentences if s.marked]
    assert [b.title for b in blocks] == ["YARA rule, 70 lines", "Indicator list, 30 lines (30 hashes)",
                                         "PowerShell code, 7 lines"]
    assert blocks[0].body == YARA and not blocks[0].answered and "pass it by" in blocks[0].note


def test_an_analyst_opens_a_block_and_answering_it_counts(settings, store, catalog, report):
    report_id, sentences = report
    ctx = Context(settings, store, catalog)
    cursor = svc.Cursor(report_id=report_id)
    svc.read(ctx, cursor, "ana")
    view = svc.sentence_panel(ctx, cursor, svc.DEFAULT_FILTERS)
    assert view.sentence.text == PROSE[0] and view.block is None
    assert view.after_blocks[0].title == "YARA rule, 70 lines" and view.after[1] == PROSE[1]
    assert view.after_blocks[1] is None
    svc.open_block(cursor, sentences[1].id)
    view = svc.sentence_panel(ctx, cursor, svc.DEFAULT_FILTERS)
    assert view.sentence.id == sentences[1].id and view.block.title == "YARA rule, 70 lines"
    assert view.before == (PROSE[0],) and view.before_blocks == (None,)
    saved = save_answer(store, view.sentence, ["T1027"], "ana")
    drawn = ann.after_own_save(store, cursor.drawn, saved.sentence)
    assert drawn.corpus.total == 5 and drawn.corpus.labelled == 1 and drawn.queue.progress().total == 5
    assert drawn.queue.blocks[sentences[1].id].answered
    assert sentences[1].id in ann.load_queue(store, report_id).matching(ann.SentenceFilter())
    assert [e.labels for e in store.examples()] == [("T1027",)]


def test_progress_after_counts_a_block_only_while_answered():
    start = ann.Progress(4, 4, 0, 0)
    answered = ann.progress_after(start, UNLABELLED, LABELLED, marked=True)
    assert answered == ann.Progress(5, 4, 1, 0)
    assert ann.progress_after(answered, LABELLED, UNLABELLED, marked=True) == start
    assert ann.progress_after(start, UNLABELLED, LABELLED) == ann.Progress(4, 3, 1, 0)


def test_the_context_pairs_each_sentence_with_its_block_view():
    from tram_core.services.annotate import SentencePanel

    panel = SentencePanel(1, None, None, before=("a", "b"), after=("c",))
    assert panel.context_before == [("a", None), ("b", None)] and panel.context_after == [("c", None)]
