"""The Annotate page through Streamlit's AppTest against a real SQLite store in a temporary TRAM_HOME."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.views.test_annotation import SCORES, TEXTS, add_model, add_report
from tram_core.store import LABELLED, REVIEWED, UNLABELLED
from tram_core.views.app_state import WORD_JOINER, escape_markdown

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture
def open_app(tram_home, monkeypatch):
    """``open_app(**query)``: the app run once at the given query parameters, as user 'alice'."""
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.setenv("TRAM_USER", "alice")

    def run(**query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        for key, value in query.items():
            at.query_params[key] = str(value)
        at.run()
        assert not at.exception, at.exception
        return at

    return run


@pytest.fixture
def report(store):
    """A 6-sentence report with a promoted model's suggestions: (report id, sentence ids)."""
    report_id, ids = add_report(store)
    add_model(store, ids, SCORES)
    return report_id, ids


def current_text(at: AppTest) -> str:
    """The sentence shown prominently (bold, in its bordered box)."""
    bold = [m.value for m in at.markdown if m.value.startswith("**") and not m.value.startswith("**Model")]
    assert bold, "no current sentence on the page"
    return bold[0].strip("*").replace("\\", "").replace(WORD_JOINER, "")  # as the browser shows it


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def box(at: AppTest, technique: str):
    return next(c for c in at.checkbox if c.label.startswith(technique + " "))


def test_empty_database_says_to_import_first(open_app):
    at = open_app(report=1)
    assert any("No reports yet" in i.value for i in at.info)
    assert not at.checkbox and not [b for b in at.button if b.label == "Save & next"]


def test_deep_link_opens_the_sentence_with_its_context(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id, sentence=ids[2])
    assert current_text(at) == TEXTS[2]
    captions = [html.unescape(c.value.replace("\\", "")) for c in at.caption]
    for i in (0, 1, 3, 4):
        assert TEXTS[i] in captions, f"context sentence {i} missing"
    assert TEXTS[5] not in captions  # only two after
    assert any("Sentence 3 of 6" in c for c in captions)
    progress = [p.text for p in at.get("progress")]
    assert any("0 of 6 sentences answered" in t for t in progress)
    assert at.query_params["sentence"] == [str(ids[2])] or at.query_params["sentence"] == str(ids[2])


def test_suggestions_are_preticked_and_saving_stores_the_ticked_ones(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id)
    assert current_text(at) == TEXTS[0]
    assert box(at, "T1566.001").value is True  # 0.93 >= 0.5
    assert box(at, "T1055").value is False  # 0.12 < 0.5, still shown
    box(at, "T1055").check().run()
    button(at, "Save & next").click().run()
    saved = store.get_sentence(ids[0])
    assert saved.labels == ("T1055", "T1566.001") and saved.status == LABELLED and saved.updated_by == "alice"
    assert current_text(at) == TEXTS[1]
    assert any("Saved sentence" in s.value for s in at.success)


def test_shortcut_button_toggles_a_suggestion(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id)
    tick = at.button(key="ann_tg_1")
    assert tick.label == "Tick"  # the key (1) is shown once, by the shortcut hint, not also as the label
    tick.click().run()  # the key '1' toggles the top suggestion
    assert box(at, "T1566.001").value is False


def test_other_technique_and_description_search(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id, sentence=ids[3])
    at.text_input(key="ann_find").input("LSASS credential").run()
    next(b for b in at.button if b.label == "Add" and b.key == "ann_add_T1003.001").click().run()
    at.text_input(key="ann_find").input("T1041").run()
    next(b for b in at.button if b.key == "ann_add_T1041").click().run()
    assert any(c.value.startswith("T1041: ") for c in at.caption)  # its description is shown
    button(at, "Save & next").click().run()
    assert set(store.get_sentence(ids[3]).labels) == {"T1003.001", "T1041"}


def test_browse_all_and_drop_a_chosen_technique(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id, sentence=ids[4])
    at.toggle(key="ann_browse_all").set_value(True).run()
    at.multiselect(key="ann_extra_all").select("T1082").select("T1059.001").run()
    at.toggle(key="ann_browse_all").set_value(False).run()
    at.get("button_group")[-1].set_value(["T1082"]).run()  # drop T1059.001 by clicking its pill
    button(at, "Save & next").click().run()
    assert store.get_sentence(ids[4]).labels == ("T1082",)


def test_no_technique_records_a_labelled_negative(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id, sentence=ids[1])
    button(at, "No technique").click().run()
    negative = store.get_sentence(ids[1])
    assert negative.status == LABELLED and negative.labels == ()
    assert current_text(at) == TEXTS[2]


def test_save_with_nothing_ticked_skips_without_storing(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id, sentence=ids[4])
    button(at, "Save & next").click().run()
    assert store.get_sentence(ids[4]).status == UNLABELLED
    assert any("No technique" in i.value for i in at.info)
    assert current_text(at) == TEXTS[5]


def test_undo_restores_the_previous_answer(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id)
    button(at, "Save & next").click().run()
    assert store.get_sentence(ids[0]).labels == ("T1566.001",)
    button(at, "Undo last change").click().run()
    restored = store.get_sentence(ids[0])
    assert restored.status == UNLABELLED and restored.labels == ()
    assert current_text(at) == TEXTS[0]  # back on the sentence that was undone


def test_previous_goes_back_and_mark_reviewed(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id)
    button(at, "Save & next").click().run()
    button(at, "Previous").click().run()
    assert current_text(at) == TEXTS[0]
    assert any("Labelled by alice" in c.value for c in at.caption)
    button(at, "Mark reviewed").click().run()
    assert store.get_sentence(ids[0]).status == REVIEWED


def test_unlabelled_filter_skips_answered_sentences(open_app, store):
    report_id, ids = add_report(store, labels={1: ("T1082",), 2: ()})
    at = open_app(report=report_id)
    at.session_state["ann_status"] = UNLABELLED
    at.run()
    box_free = current_text(at)
    assert box_free == TEXTS[0]
    button(at, "No technique").click().run()
    assert current_text(at) == TEXTS[3]  # 1 and 2 are answered already


def test_conflict_is_shown_not_overwritten(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id, sentence=ids[2])
    store.set_labels(ids[2], ["T1027"], "bob")  # bob saves while alice looks at the sentence
    box(at, "T1003.001").check()
    button(at, "Save & next").click().run()
    assert store.get_sentence(ids[2]).labels == ("T1027",)
    warning = " ".join(w.value for w in at.warning)
    assert "bob" in warning and "T1027" in warning
    assert current_text(at) == TEXTS[2]
    button(at, "Keep mine (overwrite theirs)").click().run()
    assert store.get_sentence(ids[2]).labels == ("T1003.001", "T1055")
    assert store.get_sentence(ids[2]).updated_by == "alice"


def test_conflict_take_theirs_keeps_their_answer(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id, sentence=ids[0])
    store.set_labels(ids[0], ["T1027"], "bob")
    button(at, "No technique").click().run()
    button(at, "Take theirs").click().run()
    assert store.get_sentence(ids[0]).labels == ("T1027",)
    assert any("T1027" in c.value and "bob" in c.value for c in at.caption)


def test_change_by_someone_else_between_views_is_shown(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id, sentence=ids[3])
    store.set_labels(ids[3], ["T1003.001"], "bob")
    at.run()
    assert any("bob changed this sentence" in w.value for w in at.warning)
    assert box(at, "T1003.001").value is True


def test_technique_view_accepts_a_suggestion_across_reports(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id)
    at.session_state["ann_mode"] = "By technique"
    at.run()
    at.selectbox(key="ann_view_tech").set_value("T1003.001").run()
    texts = [html.unescape(m.value.replace("\\", "")) for m in at.markdown]
    assert TEXTS[3] in texts and TEXTS[2] in texts  # 0.97 and 0.2
    accept = next(b for b in at.button if b.key == f"ann_acc_T1003.001_{ids[3]}_0")
    accept.click().run()
    assert store.get_sentence(ids[3]).labels == ("T1003.001",)


def test_bad_query_parameters_show_a_message(open_app, report):
    at = open_app(report="abc")
    assert any("report=abc" in w.value.replace("\\", "") for w in at.warning)  # as shown: escapes dropped
    at = open_app(sentence=99999)
    assert any("99999" in w.value for w in at.warning)
    assert current_text(at) == TEXTS[0]


def test_report_text_is_shown_literally(open_app, store):
    nasty = ["Click [here](http://evil.example) now.", "<img src=x onerror=alert(1)> was *found*."]
    report_id, ids = add_report(store, title="Nasty", texts=nasty)
    at = open_app(report=report_id)
    assert current_text(at) == nasty[0]
    shown = [m.value for m in at.markdown if m.value.startswith("**")][0]
    assert escape_markdown(nasty[0]) in shown


def test_uncertain_first_and_has_suggestions(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id, sentence=ids[3])
    at.segmented_control(key="ann_order").set_value("uncertain").run()
    assert current_text(at) == TEXTS[5]  # 0.49 against a 0.5 threshold: the closest call
    button(at, "Skip").click().run()
    assert current_text(at) == TEXTS[2]  # 0.55 next
    at.segmented_control(key="ann_order").set_value("report").run()
    at.toggle(key="ann_has_sugg").set_value(True).run()
    assert current_text(at) == TEXTS[0]
    button(at, "Skip").click().run()
    assert current_text(at) == TEXTS[2]  # sentence 1 has no suggestion


def test_the_name_in_the_sidebar_is_recorded(open_app, report, store):
    report_id, ids = report
    at = open_app(report=report_id)
    at.sidebar.text_input[0].input("Carol Analyst").run()
    button(at, "Save & next").click().run()
    assert store.get_sentence(ids[0]).updated_by == "Carol Analyst"
