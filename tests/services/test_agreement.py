"""The Agreement service and the Annotate service under double annotation, against a real store (SQLite and
PostgreSQL): two annotators never see each other's answer early, the queue and the decision, training's labels,
suggestion acceptance, throughput, the setup's refusals and the downloads."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.views.test_annotation import SCORES, TEXTS, add_model, add_report
from tram_core import accounts
from tram_core.access import ADMIN, Actor, PermissionDenied
from tram_core.errors import UserError
from tram_core.services import agreement as svc
from tram_core.services import annotate

ALL = annotate.DEFAULT_FILTERS


@pytest.fixture
def doubled(ctx):
    report_id, ids = add_report(ctx.store)
    model_id = add_model(ctx.store, ids, SCORES)
    svc.set_share(ctx, "mia", 100, report_id)
    return report_id, ids, model_id


def panel_for(ctx, user: str, report_id: int, sentence_id: int):
    cursor = annotate.Cursor(report_id=report_id, sentence_id=sentence_id)
    annotate.settle(cursor, annotate.report_titles(ctx), annotate.suggestion_models(ctx))
    annotate.read(ctx, cursor, user)
    return cursor, annotate.sentence_panel(ctx, cursor, ALL)


def answer(ctx, user: str, report_id: int, sentence_id: int, techniques, kind=annotate.SAVE_LABELS):
    cursor, view = panel_for(ctx, user, report_id, sentence_id)
    annotate.save(ctx, user, cursor, techniques, kind, ALL)
    return cursor.take_notes()


def test_two_annotators_answer_independently_and_a_reviewer_decides(ctx, doubled):
    report_id, ids, _ = doubled
    _, first_view = panel_for(ctx, "ann", report_id, ids[2])
    assert "two annotators label this sentence independently" in first_view.double_note
    notes = answer(ctx, "ann", report_id, ids[2], ["T1055"])
    assert notes[-1].kind == "success" and "stays hidden" in notes[-1].text
    _, bo_view = panel_for(ctx, "bo", report_id, ids[2])
    assert bo_view.answer == "Not answered yet." and "another annotator has answered" in bo_view.double_note
    assert [r.ticked for r in bo_view.suggestions] == [True, False]  # the model's ticks, not ann's answer
    answer(ctx, "bo", report_id, ids[2], ["T1003.001"])
    _, after = panel_for(ctx, "ann", report_id, ids[2])
    assert "ann: T1055" in after.double_note and "bo: T1003.001" in after.double_note
    assert [e.labels for e in ctx.store.examples() if e.sentence_id == ids[2]] == [("T1055",)]  # the first, until...
    [row] = svc.adjudication_queue(ctx, "mia", report_id)
    assert (row.text, row.first_user, row.second_user) == (TEXTS[2], "ann", "bo")
    assert row.answer_line(2, {"T1003.001": "T1003.001 LSASS Memory"}) == "bo (second): T1003.001 LSASS Memory"
    line = svc.adjudicate(ctx, "mia", ids[2], "second")
    assert line.startswith(f"Adjudicated sentence {ids[2]}: T1003.001")
    assert [e.labels for e in ctx.store.examples() if e.sentence_id == ids[2]] == [("T1003.001",)]  # ...decided
    history = ctx.store.label_history(ids[2])
    assert [e.action for e in history] == ["adjudicate", "second-answer", "first-answer"]
    assert [(e.user, e.after_labels) for e in history] == [("mia", ("T1003.001",)), ("bo", ("T1003.001",)),
                                                           ("ann", ("T1055",))]
    assert svc.adjudication_queue(ctx, "mia") == []
    with pytest.raises(UserError, match="already"):
        svc.adjudicate(ctx, "mia", ids[2], "first")


def test_agreement_figures_and_downloads(ctx, doubled):
    report_id, ids, _ = doubled
    for who, labels in (("ann", [["T1566.001"], ["T1055"], ["T1003.001"]]),
                        ("bo", [["T1566.001"], ["T1055", "T1027"], ["T1003.001"]])):
        for sid, techniques in zip((ids[0], ids[2], ids[3]), labels):
            answer(ctx, who, report_id, sid, techniques)
    view = svc.agreement(ctx, "mia", report_id, resamples=50)
    assert view.summary.sentences == 3 and view.summary.agreement.value == pytest.approx(2 / 3)
    assert view.techniques.iloc[0]["technique"] == "T1027" and view.techniques.iloc[0]["disagreements"] == 1
    assert list(view.pairs["pair"]) == ["ann & bo"] and not view.empty
    rows = list(csv.DictReader(io.StringIO(svc.download(ctx, "mia", report_id, "csv").decode())))
    overall = next(r for r in rows if r["section"] == "overall" and r["level"] == "technique"
                   and r["figure"] == "identical answers")
    assert float(overall["value"]) == pytest.approx(2 / 3, abs=1e-3) and overall["sentences"] == "3"
    data = json.loads(svc.download(ctx, "mia", None, "json"))
    assert data["agreement"]["parent"]["sentences"] == 3 and data["adjudication_queue"] == 1
    assert svc.agreement(ctx, "mia", None, "parent", resamples=20).summary.level == "parent"


def test_reviewing_suggestions_is_recorded_against_the_model(ctx):
    report_id, ids = add_report(ctx.store)
    model_id = add_model(ctx.store, ids, SCORES)
    answer(ctx, "ann", report_id, ids[0], ["T1566.001", "T1204"])  # keeps the suggestion, adds a missed one
    answer(ctx, "ann", report_id, ids[3], [], annotate.SAVE_NONE)  # rejects T1003.001
    answer(ctx, "ann", report_id, ids[1], ["T1082"])  # nothing suggested there: nothing to review
    view = svc.acceptance(ctx, "mia")
    overall = view.table[view.table["technique"] == "*"].iloc[0]
    assert overall["model"] == f"#{model_id} run-1"
    assert (overall["accepted"], overall["rejected"], overall["added (missed)"]) == (1, 2, 1)  # T1055 0.12 dropped
    assert overall["live precision"] == 0.5 and overall["live recall"] == 0.5
    assert view.chart is not None and not view.empty


def test_throughput_view(ctx):
    report_id, ids = add_report(ctx.store)
    for sid in ids:
        ctx.store.set_labels(sid, [], "ann")
    speed = svc.throughput(ctx, "mia", report_id)
    assert list(speed.people["person"]) == ["ann"] and speed.people.iloc[0]["sentences answered"] == 6
    assert speed.reports.iloc[0]["open"] == 0 and speed.reports.iloc[0]["hours to fully answered"] >= 0


def test_the_setup_refuses_bad_shares_and_lone_annotators_and_stores_nothing(ctx):
    report_id, _ = add_report(ctx.store)
    for percent, words in ((101, "between 0 and 100"), (-1, "between 0 and 100"), ("x", "number of percent")):
        with pytest.raises(UserError, match=words):
            svc.set_share(ctx, "mia", percent, report_id)
    with pytest.raises(UserError, match="needs two annotators; only ann was named"):
        svc.set_share(ctx, "mia", 30, report_id, "ann")
    assert ctx.store.double_shares() == {}
    assert svc.share_lines(ctx) == ["No double annotation yet: every sentence is labelled by one person."]
    assert svc.set_share(ctx, "mia", 30, report_id, "ann, bo") == \
        f"30 % of the sentences of report {report_id} are now double-annotated by ann and bo."
    assert svc.share_lines(ctx)[0].startswith(f"Report #{report_id} APT report: 30 %, by ann and bo (set by mia")


def test_in_team_mode_only_maintainers_set_up_and_decide(ctx, monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "local")
    report_id, _ = add_report(ctx.store)
    admin = Actor("ada", ADMIN)
    accounts.add_user(ctx.store, admin, "ann", "annotator", "correct horse battery")
    annotator, maintainer = Actor("ann", "annotator"), Actor("mia", "maintainer")
    with pytest.raises(PermissionDenied, match="ann \\(annotator\\) may not"):
        svc.set_share(ctx, annotator, 20, report_id)
    with pytest.raises(UserError, match="needs two annotators; only ann may label sentences"):
        svc.set_share(ctx, maintainer, 20, report_id)
    with pytest.raises(UserError, match="zed cannot label sentences"):
        svc.set_share(ctx, maintainer, 20, report_id, "ann, zed")
    assert ctx.store.double_shares() == {}
    accounts.add_user(ctx.store, admin, "bo", "annotator", "correct horse battery")
    assert "20 %" in svc.set_share(ctx, maintainer, 20, report_id)
    assert svc.can_set_up(maintainer) and not svc.can_set_up(annotator)
    assert svc.can_adjudicate(maintainer) and not svc.can_adjudicate(annotator)
    with pytest.raises(PermissionDenied):
        svc.adjudicate(ctx, annotator, 1, "first")
