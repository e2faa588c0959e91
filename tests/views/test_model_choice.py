"""Which model's suggestions a page shows first, what library calls mean by no model, and how pickers name a model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.views.test_annotation import add_model, add_report
from tram_core.store import NotFoundError
from tram_core.views.model_choice import default_model, model_label, model_or_promoted


def _model(model_id: int, promoted: bool = False, metrics: dict | None = None):
    return SimpleNamespace(id=model_id, name=f"run {model_id} · MiniLM · 2025-05-01 14:02", promoted=promoted,
                           metrics=metrics or {})


def test_a_picker_names_a_model_by_id_name_score_and_marks_the_promoted_one():
    assert model_label(_model(3)) == "#3 run 3 · MiniLM · 2025-05-01 14:02"
    scored = {"at_tuned": {"micro_f1": 0.5249, "macro_f1": 0.4}}
    assert model_label(_model(4, promoted=True, metrics=scored)) == \
        "#4 run 4 · MiniLM · 2025-05-01 14:02 · micro-F1 0.52 ★ promoted"


def test_a_page_shows_the_promoted_model_first_else_the_newest():
    assert default_model([]) is None
    assert default_model([_model(2), _model(5), _model(3)]).id == 5
    assert default_model([_model(7), _model(4, promoted=True), _model(1)]).id == 4


def test_library_calls_without_a_model_mean_the_promoted_one_and_never_guess(store):
    _, ids = add_report(store)
    first = add_model(store, ids, {0: {"T1055": 0.9}}, promote=False)
    assert model_or_promoted(store, None) is None  # one model, none promoted: no guess
    assert model_or_promoted(store, first).id == first
    second = add_model(store, ids, {0: {"T1055": 0.8}}, promote=True)
    assert model_or_promoted(store, None).id == second
    with pytest.raises(NotFoundError):
        model_or_promoted(store, 999)
