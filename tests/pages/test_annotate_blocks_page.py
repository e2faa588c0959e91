"""Marked blocks on the Annotate page through AppTest on a real store: folded under their name beside the sentence,
passed by on Save & next, opened on purpose to label."""

from __future__ import annotations

from tests.pages.test_annotate_page import button, current_text, open_app  # noqa: F401 - the fixture
from tests.views.test_annotation_blocks import PROSE, TEXT
from tram_core.io.importer import prepare_text, store_prepared

__all__ = ["open_app"]


def _report(store) -> tuple[int, list]:
    report_id = store_prepared(store, [prepare_text(TEXT, "Loader report")], "ana")[0].outcomes[0].report_id
    return report_id, store.sentences(report_id)


def test_a_block_is_folded_beside_the_sentence_and_skipped_by_save_and_next(open_app, store):
    report_id, sentences = _report(store)
    at = open_app(report=report_id)
    assert current_text(at) == PROSE[0]
    labels = [e.label for e in at.expander]
    assert "YARA rule, 70 lines" in labels and not any(e.proto.expanded for e in at.expander if "YARA" in e.label)
    assert any("0 of 4 sentences answered" in p.text for p in at.get("progress"))
    button(at, "No technique").click().run()
    assert not at.exception, at.exception
    assert current_text(at) == PROSE[1]  # the YARA rule between them was passed by


def test_an_analyst_opens_a_block_to_label_it(open_app, store):
    report_id, sentences = _report(store)
    at = open_app(report=report_id)
    button(at, "Open it to label it").click().run()
    assert not at.exception, at.exception
    [opened] = [e for e in at.expander if e.label == "YARA rule, 70 lines" and e.proto.expanded]
    assert "rule ecrime_LOADER_strings {" in opened.code[0].value
    button(at, "No technique").click().run()
    assert store.get_sentence(sentences[1].id).status == "labelled"
    assert current_text(at) == PROSE[1]
    assert any("1 of 5 sentences answered" in p.text for p in at.get("progress"))
