"""Trained model records (store/models.py): promotion, look-up by id or name, imported holders."""

from __future__ import annotations

import pytest

from tests.store.samples import add_sample_model
from tram_core.store import NotFoundError, StoreError


def test_models_promote_exactly_one_and_look_up_by_id_or_name(store):
    a = add_sample_model(store, "run 1")
    b = add_sample_model(store, "run 2")
    assert store.promoted_model() is None
    store.promote_model(a)
    store.promote_model(b)
    assert [m.id for m in store.list_models() if m.promoted] == [b]
    assert store.promoted_model().id == b
    assert store.get_model("run 1").id == a
    assert store.get_model(str(b)).name == "run 2"
    assert store.get_model(a).classes == ("T1105", "T1059.003")
    with pytest.raises(NotFoundError):
        store.get_model("no such run")


def test_imported_suggestion_holders_cannot_be_promoted(store):
    imported = add_sample_model(store, "imported", kind="imported")
    with pytest.raises(StoreError, match="imported suggestions"):
        store.promote_model(imported)
    assert [m.id for m in store.list_models(include_imported=False)] == []
