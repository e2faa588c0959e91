"""The Annotate service against a real store: the sentence panel, answers and moves, conflicts, undo, the technique
view and the pickers."""

from __future__ import annotations

import pytest

from tests.views.test_annotation import SCORES, TEXTS, add_model, add_report
from tram_core.services import annotate as svc
from tram_core.store import LABELLED, REVIEWED, UNLABELLED

ALL = svc.DEFAULT_FILTERS


@pytest.fixture
def report(ctx):
    """A 6-sentence report with a promoted model's suggestions: (report id, sentence ids, model id)."""
    report_id, ids = add_report(ctx.store)
    return report_id, ids, add_model(ctx.store, ids, SCORES)


def opened(ctx, report_id: int | None = None, sentence_id: int | None = None,
           filters: svc.Filters = ALL) -> tuple[svc.Cursor, svc.SentencePanel]:
    """A cursor settled on the report (and sentence) as the page opens it, with its panel."""
    cursor = svc.Cursor(report_id=report_id, sentence_id=sentence_id)
    svc.settle(cursor, svc.report_titles(ctx), svc.suggestion_models(ctx))
    return cursor, panel_of(ctx, cursor, filters)


def panel_of(ctx, cursor: svc.Cursor, filters: svc.Filters = ALL) -> svc.SentencePanel:
    svc.read(ctx, cursor)
    return svc.sentence_panel(ctx, cursor, filters)


def test_the_panel_says_where_the_sentence_is_with_its_context_and_suggestions(ctx, report):
    report_id, ids, model_id = report
    cursor, view = opened(ctx, report_id, ids[2])
    assert cursor.model_id == model_id  # the promoted model by default
    assert view.sentence.text == TEXTS[2] and view.before == tuple(TEXTS[:2]) and view.after == tuple(TEXTS[3:5])
    assert view.position == f"Sentence 3 of 6 in the report · 3 of 6 matching · id {ids[2]}"
    assert view.answer == "Not answered yet." and view.report_progress.total == 6
    assert [(r.technique, r.rank, r.ticked) for r in view.suggestions] == [("T1055", 1, True),
                                                                          ("T1003.001", 2, False)]
    assert view.suggestions[0].text.startswith("T1055 Process Injection") and "score 0.55 > 0.50" in \
        view.suggestions[0].text
    assert view.ticks_for == (ids[2], 0, ("T1055", "T1003.001")) and view.extra == ()
    assert view.chosen([2], ["T1082"]) == ["T1003.001", "T1082"]


def test_a_report_without_a_model_says_how_to_get_suggestions(ctx):
    report_id, ids = add_report(ctx.store, labels={0: ("T1082", "T1566.001")})
    cursor, view = opened(ctx, report_id, ids[0])
    assert cursor.model_id is None and not view.suggestions
    assert view.no_suggestions.startswith("No model suggestions: run a trained model")
    assert view.extra == ("T1082", "T1566.001")  # its answer, beyond the (absent) suggestions


def test_save_moves_on_and_the_three_answers_store_what_they_say(ctx, report):
    report_id, ids, _ = report
    cursor, view = opened(ctx, report_id)
    svc.save(ctx, "alice", cursor, view.chosen([1], []), svc.SAVE_LABELS, ALL)
    saved = ctx.store.get_sentence(ids[0])
    assert saved.labels == ("T1566.001",) and saved.status == LABELLED and saved.updated_by == "alice"
    assert cursor.sentence_id == ids[1] and cursor.history == [ids[0]]
    assert cursor.take_notes() == [svc.Note("success", f"Saved sentence {ids[0]}: T1566.001.")]
    panel_of(ctx, cursor)
    svc.save(ctx, "alice", cursor, [], svc.SAVE_NONE, ALL)
    assert ctx.store.get_sentence(ids[1]).labels == () and ctx.store.get_sentence(ids[1]).status == LABELLED
    panel_of(ctx, cursor)
    svc.save(ctx, "alice", cursor, ["T1055"], svc.SAVE_REVIEWED, ALL)
    assert ctx.store.get_sentence(ids[2]).status == REVIEWED
    view = panel_of(ctx, cursor)
    assert view.sentence.id == ids[3] and view.corpus_progress.answered == 3


def test_saving_nothing_skips_without_storing(ctx, report):
    report_id, ids, _ = report
    cursor, _ = opened(ctx, report_id, ids[4])
    svc.save(ctx, "alice", cursor, [], svc.SAVE_LABELS, ALL)
    assert ctx.store.get_sentence(ids[4]).status == UNLABELLED and cursor.sentence_id == ids[5]
    [note] = cursor.take_notes()
    assert note.kind == "info" and "'No technique'" in note.text


def test_an_unknown_technique_or_a_missing_name_saves_nothing(ctx, report):
    report_id, ids, _ = report
    cursor, _ = opened(ctx, report_id)
    svc.save(ctx, "alice", cursor, ["T9999"], svc.SAVE_LABELS, ALL)
    svc.save(ctx, "", cursor, ["T1055"], svc.SAVE_LABELS, ALL)
    notes = cursor.take_notes()
    assert [n.kind for n in notes] == ["error", "error"]
    assert "T9999" in notes[0].text and notes[1].text.startswith("Not saved: Cannot label sentences")
    assert ctx.store.get_sentence(ids[0]).status == UNLABELLED and cursor.sentence_id == ids[0]


def test_previous_skip_and_the_end_of_the_filter(ctx, report):
    report_id, ids, _ = report
    suggested = svc.Filters(has_suggestions=True)
    cursor, view = opened(ctx, report_id, filters=suggested)
    assert view.sentence.id == ids[0]
    svc.skip(cursor, suggested)
    assert cursor.sentence_id == ids[2]  # sentence 1 has no suggestion
    svc.previous(cursor, suggested)
    assert cursor.sentence_id == ids[0]
    svc.previous(cursor, suggested)
    assert cursor.take_notes() == [svc.Note("info", "This is the first matching sentence.")]
    cursor.sentence_id = ids[5]
    svc.skip(cursor, suggested)
    assert cursor.sentence_id == ids[5]
    assert cursor.take_notes()[0].text == "No more sentences match the filters after this one."
    svc.restart(cursor)
    assert cursor.sentence_id is None and cursor.history == []


def test_uncertain_first_opens_the_closest_call(ctx, report):
    report_id, ids, _ = report
    cursor, view = opened(ctx, report_id, filters=svc.Filters(order=svc.ORDER_UNCERTAIN))
    assert view.sentence.id == ids[5]  # 0.49 against a 0.5 threshold


def test_someone_elses_save_is_a_conflict_until_resolved(ctx, report):
    report_id, ids, _ = report
    cursor, view = opened(ctx, report_id, ids[2])
    ctx.store.set_labels(ids[2], ["T1027"], "bob")
    svc.save(ctx, "alice", cursor, ["T1003.001"], svc.SAVE_LABELS, ALL)
    assert cursor.conflict.theirs.labels == ("T1027",) and cursor.sentence_id == ids[2]
    assert "bob changed this sentence" in cursor.conflict.line and "Yours: T1003.001" in cursor.conflict.line
    assert panel_of(ctx, cursor).conflict == cursor.conflict
    svc.resolve_conflict(ctx, "alice", cursor, False, ALL)
    assert ctx.store.get_sentence(ids[2]).labels == ("T1003.001",) and cursor.sentence_id == ids[3]
    assert cursor.conflict is None


def test_take_theirs_and_a_change_seen_between_views(ctx, report):
    report_id, ids, _ = report
    cursor, _ = opened(ctx, report_id, ids[0])
    ctx.store.set_labels(ids[0], ["T1027"], "bob")
    svc.save(ctx, "alice", cursor, [], svc.SAVE_NONE, ALL)
    svc.resolve_conflict(ctx, "alice", cursor, True, ALL)
    assert ctx.store.get_sentence(ids[0]).labels == ("T1027",)
    assert cursor.take_notes() == [svc.Note("info", f"Kept bob answer for sentence {ids[0]}.")]
    cursor, _ = opened(ctx, report_id, ids[3])
    ctx.store.set_labels(ids[3], ["T1003.001"], "bob")
    view = panel_of(ctx, cursor)
    assert view.changed_note.startswith("bob changed this sentence since you opened it")
    assert view.suggestions[0].ticked and view.answer.startswith("Labelled by bob")


def test_undo_opens_the_restored_sentence_in_its_own_report(ctx, report):
    report_id, ids, _ = report
    other_id, other_ids = add_report(ctx.store, title="Other", texts=["One sentence here.", "And another one."])
    ctx.store.set_labels(other_ids[1], ["T1082"], "alice")
    cursor, _ = opened(ctx, report_id)
    svc.undo(ctx, "alice", cursor)
    assert (cursor.report_id, cursor.sentence_id) == (other_id, other_ids[1])
    assert ctx.store.get_sentence(other_ids[1]).status == UNLABELLED
    svc.undo(ctx, "alice", cursor)
    assert cursor.take_notes()[-1] == svc.Note("info", "Nothing to undo for alice.")


def test_links_open_a_sentence_in_its_report_and_name_what_is_missing(ctx, report):
    report_id, ids, model_id = report
    titles = svc.report_titles(ctx)
    cursor = svc.Cursor()
    assert svc.follow_link(ctx, cursor, report_id, ids[3], titles) == []
    assert (cursor.report_id, cursor.sentence_id) == (report_id, ids[3])
    assert svc.follow_link(ctx, cursor, None, 99999, titles) == ["The link's sentence 99999 does not exist."]
    cursor = svc.Cursor(report_id=777, model_id=555)
    svc.settle(cursor, titles, svc.suggestion_models(ctx))
    assert (cursor.report_id, cursor.model_id) == (report_id, model_id)
    svc.open_at(cursor, report_id, ids[4], model_id)
    assert panel_of(ctx, cursor).sentence.id == ids[4]
    assert svc.report_label(titles, report_id) == f"#{report_id} APT report"
    assert svc.filter_techniques(cursor) == ["T1003.001", "T1041", "T1055", "T1566.001"]


def test_the_technique_view_accepts_rejects_and_opens(ctx, report):
    report_id, ids, model_id = report
    view = svc.technique_view(ctx, "T1003.001", model_id)
    assert [h.sentence.id for h in view.hits] == [ids[3], ids[2]] and view.count == "2 sentence(s)"
    assert view.hits[0].can_accept and view.hits[0].preticked and not view.empty
    cursor = svc.Cursor(report_id=report_id)
    svc.decide(ctx, "alice", cursor, view.hits[0].sentence, "T1003.001", True)
    assert ctx.store.get_sentence(ids[3]).labels == ("T1003.001",)
    svc.decide(ctx, "bob", cursor, view.hits[0].sentence, "T1003.001", False)  # opened before alice's accept
    assert cursor.take_notes()[-1].kind == "warning"
    svc.open_sentence(cursor, view.hits[1].sentence)
    assert (cursor.report_id, cursor.sentence_id) == (report_id, ids[2])
    assert svc.technique_view(ctx, "T1134", model_id).empty.startswith("No sentence is labelled with T1134")
    choices = svc.technique_choices(ctx, {"T1003.001": "T1003.001 LSASS Memory"})
    assert choices.ids[0] == "T1003.001" and choices.label("T1003.001") == "T1003.001 LSASS Memory — 1 labelled"


def test_the_pickers_search_descriptions_and_keep_revoked_labels(ctx):
    rows = svc.techniques_to_add(ctx, "spearphishing attachment", [])
    assert rows[0].id == "T1566.001" and rows[0].label.startswith("T1566.001 ") and rows[0].description
    assert svc.techniques_to_add(ctx, "   ", []) == []
    assert "T1574.002" in svc.picker_choices(ctx, keep=["T1574.002"])
    assert svc.with_technique(["T1082"], "T1055") == ["T1055", "T1082"]
