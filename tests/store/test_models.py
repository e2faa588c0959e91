"""Trained model records (store/models.py): promotion, look-up by id or name, imported holders."""

from __future__ import annotations

import pytest

from tests.store.samples import add_sample_model
from tram_core.store import NotFoundError, Store, StoreError, TrainedModelRow


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


def stored_path(store, model_id: int) -> str:
    with store.session() as s:
        return s.get(TrainedModelRow, model_id).path


def test_a_model_folder_is_stored_relative_to_the_models_folder_and_found_under_each_machines_mount(store, tmp_path):
    mount_a, mount_b = tmp_path / "mnt-a" / "models", tmp_path / "mnt-b" / "models"
    on_a = Store(store.url, models_dir=mount_a)
    model_id = on_a.add_model("run 7", "baseline", str(mount_a / "run-7"), "baseline", ["T1105"], {}, {}, {}, 7)
    assert stored_path(store, model_id) == "run-7"
    assert on_a.get_model(model_id).path == str(mount_a / "run-7")
    on_b = Store(store.url, models_dir=mount_b)  # another machine mounts the shared folder elsewhere
    assert on_b.get_model(model_id).path == str(mount_b / "run-7")
    assert [m.path for m in on_b.list_models()] == [str(mount_b / "run-7")]
    for other in (on_a, on_b):
        other.engine.dispose()


def test_old_absolute_paths_and_folders_outside_the_models_folder_are_kept_as_they_are(store, tmp_path):
    models = tmp_path / "models"
    shared = Store(store.url, models_dir=models)
    elsewhere = str(tmp_path / "elsewhere" / "my-model")
    outside = shared.add_model("outside", "transformer", elsewhere, "", ["T1105"], {}, {}, {})
    sibling = shared.add_model("sibling", "transformer", str(tmp_path / "models-old" / "run-1"), "", [], {}, {}, {})
    old = store.add_model("old row", "transformer", "/srv/tram/models/run-2", "", ["T1105"], {}, {}, {})
    assert stored_path(store, outside) == elsewhere and shared.get_model(outside).path == elsewhere
    assert shared.get_model(sibling).path == str(tmp_path / "models-old" / "run-1")
    assert shared.get_model(old).path == "/srv/tram/models/run-2"
    shared.engine.dispose()
