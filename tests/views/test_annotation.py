"""The annotation rules (annotation, annotation_panel) against a real SQLite store: navigation, filters, suggestions, saving, conflicts, undo."""

from __future__ import annotations

import re

import pytest

from tram_core.attack import UnknownTechniqueError
from tram_core.store import LABELLED, REVIEWED, UNLABELLED, NewSentence, NotFoundError
from tram_core.views import annotation as ann
from tram_core.views import annotation_panel as panel
from tram_core.views.app_state import WORD_JOINER, clean_user_name, escape_markdown, parse_view_params

TEXTS = [
    "The actor sent spearphishing emails with malicious attachments.",
    "The weather was pleasant that week.",
    "The malware injected code into explorer.exe to hide.",
    "It then dumped LSASS memory with Mimikatz.",
    "The report was published on Tuesday.",
    "Data was exfiltrated over the C2 channel.",
]


def add_report(store, title="APT report", texts=TEXTS, labels=None, suggestions=None):
    """A report whose sentences are ``texts``; ``labels`` maps position -> techniques (labelled)."""
    labels = labels or {}
    text = " ".join(texts)
    sentences, pos = [], 0
    for i, sent in enumerate(texts):
        start = text.index(sent, pos)
        pos = start + len(sent)
        techs = tuple(labels.get(i, ()))
        sentences.append(NewSentence(sent, start, pos, techs, LABELLED if i in labels else UNLABELLED))
    outcome = store.add_report(title, text, sentences, user="importer")
    return outcome.report_id, [s.id for s in store.sentences(report_id=outcome.report_id)]


def add_model(store, sentence_ids, scores, thresholds=None, promote=True):
    """A trained-model record whose suggestions are ``scores`` (position -> {tech: score})."""
    model_id = store.add_model("run-1", "transformer", "/nowhere", "embedded", ["T1566.001", "T1055", "T1003.001"],
                               thresholds or {"global": 0.5}, {}, {})
    store.replace_suggestions(model_id, {sentence_ids[pos]: techs for pos, techs in scores.items()})
    if promote:
        store.promote_model(model_id)
    return model_id


SCORES = {
    0: {"T1566.001": 0.93, "T1055": 0.12},
    2: {"T1055": 0.55, "T1003.001": 0.2},
    3: {"T1003.001": 0.97},
    5: {"T1041": 0.49},
}


def test_queue_orders_by_report_and_by_uncertainty(store):
    report_id, ids = add_report(store)
    add_model(store, ids, SCORES)
    queue = ann.load_queue(store, report_id)
    assert queue.ordering(ann.ORDER_REPORT) == ids
    uncertain = queue.ordering(ann.ORDER_UNCERTAIN)
    # |0.49-0.5| < |0.55-0.5| < |0.93-0.5|..., unscored sentences last in report order
    assert uncertain[:2] == [ids[5], ids[2]]
    assert uncertain[-3:] == [ids[1], ids[4], ids[3]] or set(uncertain[-3:]) >= {ids[1], ids[4]}
    assert uncertain.index(ids[3]) < uncertain.index(ids[1])
    with pytest.raises(ann.AnnotationError):
        queue.ordering("random")


def test_filters_pick_the_right_sentences(store):
    report_id, ids = add_report(store, labels={1: ()}, )
    add_model(store, ids, SCORES)
    store.set_labels(ids[3], ["T1003.001"], "ann", status=REVIEWED)
    queue = ann.load_queue(store, report_id)
    assert queue.matching(ann.SentenceFilter(status=UNLABELLED)) == [ids[0], ids[2], ids[4], ids[5]]
    assert queue.matching(ann.SentenceFilter(status=LABELLED)) == [ids[1]]
    assert queue.matching(ann.SentenceFilter(status=REVIEWED)) == [ids[3]]
    assert queue.matching(ann.SentenceFilter(has_suggestions=True)) == [ids[0], ids[2], ids[3], ids[5]]
    # by technique: labelled with it or suggested with it
    assert queue.matching(ann.SentenceFilter(technique="t1003.001")) == [ids[2], ids[3]]
    assert queue.matching(ann.SentenceFilter(search="LSASS mimikatz")) == [ids[3]]
    assert queue.matching(ann.SentenceFilter(search="nothing like this")) == []
    with pytest.raises(ann.AnnotationError):
        ann.SentenceFilter(status="done")


def test_next_and_previous_skip_what_the_filter_hides(store):
    report_id, ids = add_report(store, labels={1: (), 2: ("T1055",)})
    queue = ann.load_queue(store, report_id)
    unlabelled = ann.SentenceFilter(status=UNLABELLED)
    assert queue.next_after(ids[0], unlabelled) == ids[3]
    assert queue.previous_before(ids[3], unlabelled) == ids[0]
    assert queue.previous_before(ids[0], unlabelled) is None
    assert queue.next_after(ids[5], unlabelled) is None
    assert queue.next_after(None, unlabelled) == ids[0]


def test_context_is_two_before_and_two_after(store):
    report_id, ids = add_report(store)
    queue = ann.load_queue(store, report_id)
    before, after = queue.context(ids[2])
    assert [s.id for s in before] == ids[0:2] and [s.id for s in after] == ids[3:5]
    before, after = queue.context(ids[0])
    assert before == [] and [s.id for s in after] == ids[1:3]
    before, after = queue.context(ids[5])
    assert [s.id for s in before] == ids[3:5] and after == []


def test_suggestions_top_five_with_thresholds_and_preticks(store):
    report_id, ids = add_report(store)
    many = {0: {"T1566.001": 0.93, "T1055": 0.41, "T1003.001": 0.3, "T1041": 0.2, "T1005": 0.1, "T1012": 0.05}}
    add_model(store, ids, many, thresholds={"global": 0.5, "T1055": 0.4})
    queue = ann.load_queue(store, report_id)
    sugg = queue.suggestions(ids[0])
    assert [s.technique for s in sugg] == ["T1566.001", "T1055", "T1003.001", "T1041", "T1005"]
    assert [s.rank for s in sugg] == [1, 2, 3, 4, 5]
    assert sugg[1].threshold == 0.4 and sugg[1].above_threshold  # per-technique threshold wins
    assert not sugg[2].above_threshold
    # a score equal to the threshold is not a prediction: strictly above, as the metrics and the seed decide
    assert not ann.Suggestion("T1041", 0.5, 0.5, 1).above_threshold
    opened = queue.get(ids[0])
    assert ann.initial_choice(opened, sugg) == {"T1566.001", "T1055"}
    # once answered, the analyst's answer (not the model) decides what is ticked
    saved = store.set_labels(ids[0], ["T1041"], "ann")
    assert ann.initial_choice(saved, sugg) == {"T1041"}


def test_no_model_means_no_suggestions(store):
    report_id, ids = add_report(store)
    queue = ann.load_queue(store, report_id)
    assert queue.model is None and queue.suggestions(ids[0]) == []
    assert queue.ordering(ann.ORDER_UNCERTAIN) == ids


def test_save_answer_labels_skips_and_marks_no_technique(store, catalog):
    report_id, ids = add_report(store)
    opened = store.get_sentence(ids[0])
    result = panel.save_answer(store, opened, ["t1566.001"], "alice", catalog=catalog)
    assert result.saved and result.sentence.labels == ("T1566.001",)
    stored = store.get_sentence(ids[0])
    assert stored.status == LABELLED and stored.updated_by == "alice"

    skipped = panel.save_answer(store, store.get_sentence(ids[1]), [], "alice", catalog=catalog)
    assert skipped.skipped and store.get_sentence(ids[1]).status == UNLABELLED

    negative = panel.save_answer(store, store.get_sentence(ids[1]), ["T1055"], "alice", no_technique=True)
    assert negative.saved
    assert store.get_sentence(ids[1]).status == LABELLED and store.get_sentence(ids[1]).labels == ()

    reviewed = panel.save_answer(store, stored, ["T1566.001"], "bob", reviewed=True)
    assert reviewed.saved and store.get_sentence(ids[0]).status == REVIEWED

    with pytest.raises(UnknownTechniqueError, match="T9999"):
        panel.save_answer(store, store.get_sentence(ids[2]), ["T9999"], "alice", catalog=catalog)
    assert store.get_sentence(ids[2]).status == UNLABELLED


def test_unchanged_answer_is_not_stored_again(store):
    report_id, ids = add_report(store)
    first = panel.save_answer(store, store.get_sentence(ids[0]), ["T1055"], "alice").sentence
    again = panel.save_answer(store, first, ["T1055"], "alice")
    assert again.skipped and store.get_sentence(ids[0]).version == first.version


def test_conflict_returns_the_other_persons_answer(store):
    report_id, ids = add_report(store)
    opened_by_alice = store.get_sentence(ids[2])
    store.set_labels(ids[2], ["T1055"], "bob")
    result = panel.save_answer(store, opened_by_alice, ["T1003.001"], "alice")
    assert not result.saved
    assert result.conflict.labels == ("T1055",) and result.conflict.updated_by == "bob"
    assert "bob" in result.message
    assert store.get_sentence(ids[2]).labels == ("T1055",)  # not overwritten
    # overwriting is a deliberate save against the version alice has now seen
    overwrite = panel.save_answer(store, result.conflict, ["T1003.001"], "alice")
    assert overwrite.saved and store.get_sentence(ids[2]).labels == ("T1003.001",)


def test_undo_restores_the_previous_answer(store):
    report_id, ids = add_report(store)
    panel.save_answer(store, store.get_sentence(ids[0]), ["T1566.001"], "alice")
    panel.save_answer(store, store.get_sentence(ids[0]), ["T1055"], "alice")
    restored = panel.undo_last(store, "alice")
    assert restored.id == ids[0] and store.get_sentence(ids[0]).labels == ("T1566.001",)
    panel.undo_last(store, "alice")
    assert store.get_sentence(ids[0]).status == UNLABELLED
    assert panel.undo_last(store, "alice") is None
    assert panel.undo_last(store, "nobody") is None


def test_progress_for_report_and_corpus(store):
    report_id, ids = add_report(store, labels={0: ("T1566.001",), 1: ()})
    add_report(store, title="Other", texts=["One sentence here.", "And another one."])
    store.set_labels(ids[2], ["T1055"], "ann", status=REVIEWED)
    queue = ann.load_queue(store, report_id)
    progress = queue.progress()
    assert (progress.total, progress.labelled, progress.reviewed, progress.unlabelled) == (6, 2, 1, 3)
    assert progress.fraction == pytest.approx(0.5)
    corpus = ann.corpus_progress(store)
    assert (corpus.total, corpus.answered) == (8, 3)
    assert "3 of 8" in corpus.text


def test_resolve_start_handles_deep_links(store):
    report_id, ids = add_report(store, labels={0: ("T1566.001",)})
    other_id, other_ids = add_report(store, title="Other", texts=["One sentence here.", "And another one."])
    queue = ann.load_queue(store, report_id)
    unlabelled = ann.SentenceFilter(status=UNLABELLED)
    assert ann.resolve_start(queue, ids[3], unlabelled) == (ids[3], "")
    sid, message = ann.resolve_start(queue, other_ids[0], unlabelled)
    assert sid == ids[1] and str(other_ids[0]) in message
    assert ann.resolve_start(queue, None, unlabelled) == (ids[1], "")
    with pytest.raises(NotFoundError):
        ann.load_queue(store, 9999)


def test_reopening_a_report_continues_at_its_first_unanswered_sentence(store):
    report_id, ids = add_report(store, labels={0: ("T1566.001",), 1: ("T1059",), 3: ("T1055",)})
    queue = ann.load_queue(store, report_id)
    everything = ann.SentenceFilter()
    sid, note = ann.resolve_start(queue, None, everything)
    assert sid == ids[2] and "2 before it are answered" in note
    for i in range(len(ids)):
        store.set_labels(ids[i], ["T1055"], "ann")
    assert ann.resolve_start(ann.load_queue(store, report_id), None, everything) == (ids[0], "")  # all answered


def test_technique_view_lists_labelled_and_suggested_across_reports(store):
    r1, ids1 = add_report(store, labels={2: ("T1055",)})
    r2, ids2 = add_report(store, title="Second", texts=["It injected into svchost.", "Nothing to see."])
    model_id = add_model(store, ids1 + ids2, {0: {"T1055": 0.2}, 6: {"T1055": 0.8}})
    hits = panel.technique_hits(store, "t1055")
    assert [h.sentence.id for h in hits] == [ids1[2], ids2[0], ids1[0]]
    assert hits[0].labelled and hits[0].preticked and hits[0].score is None
    assert hits[1].report_title == "Second" and hits[1].preticked and not hits[1].labelled
    assert not hits[2].preticked
    assert hits[0].facts_line() == f"#{r1} APT report · labelled by importer: T1055"
    assert hits[1].facts_line() == f"#{r2} Second · not answered · model score 0.80 (threshold 0.50)"
    # accept on a suggested sentence adds the technique; reject on the labelled one removes it, keeping others
    store.set_labels(ids1[2], ["T1055", "T1003.001"], "ann")
    hits = panel.technique_hits(store, "T1055", model_id=model_id)
    assert panel.apply_technique_decision(store, hits[1].sentence, "T1055", True, "alice").saved
    assert store.get_sentence(ids2[0]).labels == ("T1055",)
    assert panel.apply_technique_decision(store, hits[0].sentence, "T1055", False, "alice").saved
    assert store.get_sentence(ids1[2]).labels == ("T1003.001",)
    stale = hits[0].sentence  # opened before alice's change above
    conflict = panel.apply_technique_decision(store, stale, "T1003.001", False, "bob")
    assert conflict.conflict is not None and store.get_sentence(ids1[2]).labels == ("T1003.001",)


def test_technique_labels_show_name_and_tactics(catalog):
    label = panel.technique_label(catalog, "T1055")
    assert label.startswith("T1055 Process Injection") and "defense-evasion" in label
    assert panel.technique_label(catalog, "T9999") == "T9999"
    choices = panel.technique_choices(catalog, keep=["T1574.002"])
    assert "T1055" in choices and "T1574.002" in choices and len(choices) > 500


def test_view_params_parse_deep_links_and_reject_garbage():
    view = parse_view_params({"report": "12", "sentence": ["340"], "user": "  Ann\nSmith "})
    assert (view.report, view.sentence, view.model, view.user) == (12, 340, None, "Ann Smith")
    assert view.wants_annotate and not view.errors
    bad = parse_view_params({"report": "abc", "model": "-3"})
    assert bad.report is None and bad.model is None and len(bad.errors) == 2
    assert "report=abc" in bad.errors[0]
    assert parse_view_params({"model": "7"}).wants_evaluate
    assert clean_user_name("x" * 500) == "x" * 100


def test_escape_markdown_keeps_report_text_literal():
    text = "Visit [here](http://evil.example) <script>alert(1)</script> *bold* $x$ # head"
    escaped = escape_markdown(text)
    assert re.search(r"(?<!\\)[\[\]()<>*$#]", escaped) is None  # all escaped
    # no autolinks: the renderer decodes escapes before it looks for URLs, so the patterns themselves are broken
    assert "http:" not in escaped and "www." not in escape_markdown("see www.evil.example/x and WWW.EVIL.EXAMPLE")
    assert "a@b" not in escape_markdown("mail a@b.example") and "https:" not in escape_markdown("HTTPS://x.example")
    for glued in ("_www.evil.example", "x_https://evil.example", "1https://evil.example", "éhttps://evil.example"):
        assert "www." not in escape_markdown(glued) and "https:" not in escape_markdown(glued)
    shown = escaped.replace("\\", "").replace(WORD_JOINER, "")
    assert shown == text  # shown as the same characters


def test_drawn_state_is_reused_until_anything_changes(store):
    report_id, ids = add_report(store)
    drawn = ann.current_state(store, None, report_id, None)
    assert ann.current_state(store, drawn, report_id, None) is drawn  # nothing changed: nothing read again
    saved = store.set_labels(ids[0], ["T1055"], "alice")
    mine = ann.after_own_save(store, drawn, saved)
    assert mine.queue.get(ids[0]).labels == ("T1055",)
    assert mine.corpus.answered == 1 and mine.queue.progress().answered == 1
    assert ann.current_state(store, mine, report_id, None) is mine
    store.set_labels(ids[1], [], "bob")  # someone else's change: read afresh
    fresh = ann.current_state(store, mine, report_id, None)
    assert fresh is not mine and fresh.queue.get(ids[1]).status == LABELLED and fresh.corpus.answered == 2
    other_id, _ = add_report(store, title="Other", texts=["One sentence here.", "And another one."])
    assert ann.current_state(store, fresh, other_id, None).queue.report_id == other_id


def test_panel_lines_say_where_who_and_what(store):
    report_id, ids = add_report(store, labels={1: ("T1055",)})
    queue = ann.load_queue(store, report_id)
    second, first = store.get_sentence(ids[1]), store.get_sentence(ids[0])
    unlabelled = queue.matching(ann.SentenceFilter(status=UNLABELLED))
    assert panel.position_line(queue, first, unlabelled) == \
        f"Sentence 1 of {len(ids)} in the report · 1 of {len(unlabelled)} matching · id {ids[0]}"
    assert panel.position_line(queue, second, unlabelled) == \
        f"Sentence 2 of {len(ids)} in the report · not matching the filters ({len(unlabelled)} do) · id {ids[1]}"
    assert panel.answer_line(first) == "Not answered yet."
    saved = store.set_labels(ids[0], ["T1003.001", "T1055"], "alice")
    assert panel.answer_line(saved) == \
        f"Labelled by alice at {saved.updated_at:%Y-%m-%d %H:%M} UTC: T1003.001, T1055"
    assert panel.changed_since_opened_line(saved).startswith("alice changed this sentence since you opened it: "
                                                           "T1003.001, T1055 (labelled).")
    refused = panel.conflict_line(saved, [])
    assert f"alice changed this sentence at {saved.updated_at:%H:%M} UTC" in refused
    assert "Their answer: T1003.001, T1055 (labelled). Yours: no technique. Nothing was saved." in refused


def test_picker_search_and_technique_view_order(catalog):
    found = panel.techniques_to_add(catalog, "spearphishing attachment", chosen=[])
    assert found and found[0].id == "T1566.001"
    assert "T1566.001" not in [t.id for t in panel.techniques_to_add(catalog, "spearphishing attachment",
                                                                  chosen=["T1566.001"])]
    assert panel.techniques_to_add(catalog, "   ", chosen=[]) == []
    order = panel.technique_view_choices(catalog, {"T1055": 3, "T1003.001": 7, "T1105": 3})
    assert order[:3] == ["T1003.001", "T1055", "T1105"]  # most labelled first, ties by ID
    assert len(order) == len(panel.technique_choices(catalog)) and len(set(order)) == len(order)


def test_a_deep_link_opens_a_sentence_in_its_own_report_and_names_what_is_missing(store):
    report_id, ids = add_report(store)
    other_id, other_ids = add_report(store, title="Other", texts=["One sentence here.", "And another one."])
    known = [report_id, other_id]
    assert ann.link_target(store, report_id, ids[2], known) == ann.LinkTarget(report_id, ids[2], False)
    moved = ann.link_target(store, report_id, other_ids[1], known)
    assert (moved.report_id, moved.sentence_id) == (other_id, other_ids[1])
    assert moved.warnings == (f"Sentence {other_ids[1]} belongs to report {other_id}, not {report_id}; opened it "
                              f"in report {other_id}.",)
    assert ann.link_target(store, other_id, None, known) == ann.LinkTarget(other_id, None, True)
    assert ann.link_target(store, other_id, 99999, known) == ann.LinkTarget(
        other_id, None, False, ("The link's sentence 99999 does not exist.",))
    assert ann.link_target(store, 777, None, known) == ann.LinkTarget(
        None, None, False, ("The link's report 777 does not exist; showing another report.",))
    assert ann.link_target(store, None, None, known) == ann.LinkTarget(None, None, False)
