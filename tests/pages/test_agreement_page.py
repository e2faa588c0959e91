"""Double annotation through the pages (Streamlit AppTest, real SQLite store): two people answer the same sentence on
Annotate, each seeing only their own answer until both answered; the Agreement page shows both answers side by side,
and the reviewer's decision is saved with both originals in the history."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.ui import AppState
from tests.views.test_annotation import SCORES, TEXTS, add_model, add_report
from tram_core.store import REVIEWED
from tram_core.views.app_state import WORD_JOINER

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "streamlit_app.py")
AGREEMENT = str(REPO / "pages" / "agreement.py")


@pytest.fixture
def doubled(tram_home, store, monkeypatch):
    """The 6-sentence report with a promoted model, every sentence double-annotated: (report id, sentence ids)."""
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.delenv("TRAM_AUTH", raising=False)
    report_id, ids = add_report(store)
    add_model(store, ids, SCORES)
    store.set_double_share(100, "mia", report_id)
    return report_id, ids


def annotate_as(user: str, report_id: int, sentence_id: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"user": user, "report": str(report_id), "sentence": str(sentence_id)})
    at.run()
    assert not at.exception, at.exception
    return at


def agreement_as(user: str) -> AppTest:
    """The Agreement page on its own (its place in the navigation is streamlit_app.py's), as ``user``."""
    at = AppTest.from_file(AGREEMENT, default_timeout=60)
    at.session_state[AppState.KEY] = AppState(user=user, ran=True)
    at.run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> str:
    """Every text on the page as a reader sees it."""
    parts = [e.value for kind in ("markdown", "caption", "info", "success", "warning", "error") for e in at.get(kind)]
    return html.unescape(" ".join(parts).replace("\\", "").replace(WORD_JOINER, ""))


def box(at: AppTest, technique: str):
    return next(c for c in at.checkbox if c.label.startswith(technique + " "))


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_each_sees_only_their_own_answer_until_both_answered(doubled, store):
    report_id, ids = doubled
    alice = annotate_as("alice", report_id, ids[2])
    assert "two annotators label this sentence independently" in shown(alice)
    box(alice, "T1055").uncheck()
    box(alice, "T1003.001").check()
    button(alice, "Save & next").click().run()
    assert "Saved your independent answer" in shown(alice) and "stays hidden" in shown(alice)

    bob = annotate_as("bob", report_id, ids[2])
    page = shown(bob)
    assert "another annotator has answered this sentence" in page and "Not answered yet." in page
    assert "alice" not in page  # neither her name nor ...
    assert box(bob, "T1055").value is True and box(bob, "T1003.001").value is False  # ... her ticks: the model's
    button(bob, "Save & next").click().run()  # bob keeps the model's T1055
    button(bob, "Previous").click().run()
    both = shown(bob)
    assert "alice: T1003.001" in both and "bob: T1055" in both and "differ" in both

    alice.run()  # alice's page, on its next run, shows both answers too
    button(alice, "Previous").click().run()
    assert "bob: T1055" in shown(alice)
    assert store.get_sentence(ids[2]).labels == ("T1003.001",)  # the first answer stays the label meanwhile


def test_the_adjudication_queue_shows_both_and_the_decision_is_kept(doubled, store):
    report_id, ids = doubled
    tl = store
    tl.record_independent_answer(ids[3], "alice", ["T1003.001"], "labelled")
    tl.record_independent_answer(ids[3], "bob", ["T1003"], "labelled")
    at = agreement_as("carol")
    page = shown(at)
    assert TEXTS[3] in page and "alice (first): T1003.001" in page and "bob (second): T1003" in page
    assert "1 sentence(s) whose two answers differ" in page
    button(at, "Take bob's answer").click().run()
    assert not at.exception, at.exception
    assert f"Adjudicated sentence {ids[3]}: T1003" in shown(at)
    decided = store.get_sentence(ids[3])
    assert decided.labels == ("T1003",) and decided.status == REVIEWED and decided.updated_by == "carol"
    history = store.label_history(ids[3])
    assert [(e.action, e.user, e.after_labels) for e in history] == [
        ("adjudicate", "carol", ("T1003",)), ("second-answer", "bob", ("T1003",)),
        ("first-answer", "alice", ("T1003.001",))]
    record = tl.adjudications()[ids[3]]
    assert (record.first_labels, record.second_labels, record.choice) == (("T1003.001",), ("T1003",), "second")
    assert "0 sentence(s) whose two answers differ" in shown(at)
    assert at.get("vega_lite_chart")  # the agreement charts, now that two answers exist


def test_an_edited_final_answer_is_checked_before_it_is_kept(doubled, store):
    report_id, ids = doubled
    tl = store
    tl.record_independent_answer(ids[0], "alice", ["T1566.001"], "labelled")
    tl.record_independent_answer(ids[0], "bob", [], "labelled")
    at = agreement_as("carol")
    at.text_input(key=f"agr_final_{ids[0]}").input("T1566.001, T9999").run()
    button(at, "Save this answer").click().run()
    assert any("Not adjudicated" in e.value and "T9999" in e.value for e in at.error)
    assert store.get_sentence(ids[0]).labels == ("T1566.001",) and not tl.adjudications()
    at.text_input(key=f"agr_final_{ids[0]}").input("T1566.001 T1204.002").run()
    button(at, "Save this answer").click().run()
    assert store.get_sentence(ids[0]).labels == ("T1204.002", "T1566.001")
    assert tl.adjudications()[ids[0]].choice == "edited"


def test_a_maintainer_sets_the_share_on_the_page(tram_home, store, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    report_id, _ = add_report(store, texts=["Text with <b>tags</b> and *stars*."], title="Odd <i>title</i>")
    at = agreement_as("mia")
    assert "No double annotation yet" in shown(at)
    at.number_input(key="agr_share").set_value(25.0)
    at.selectbox(key="agr_scope").set_value(report_id)
    at.text_input(key="agr_annotators").input("alice")
    next(b for b in at.button if b.label == "Set the share").click().run()
    assert any("needs two annotators; only alice was named" in e.value for e in at.error)
    assert store.double_shares() == {}
    at.text_input(key="agr_annotators").input("alice, bob")
    next(b for b in at.button if b.label == "Set the share").click().run()
    assert f"25 % of the sentences of report {report_id} are now double-annotated by alice and bob." in shown(at)
    assert store.double_shares()[report_id].annotators == ("alice", "bob")
    assert "Report #1 Odd <i>title</i>: 25 %" in shown(at)  # shown literally, never as HTML
    assert not any("<i>" in c.value for c in at.caption)
