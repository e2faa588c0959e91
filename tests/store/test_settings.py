"""Key/value settings (store/settings.py)."""

from __future__ import annotations


def test_a_setting_reads_its_default_until_written_and_then_the_latest_value(store):
    assert store.get_setting("worker_spawned_at") is None
    assert store.get_setting("worker_spawned_at", "never") == "never"
    store.set_setting("worker_spawned_at", "1")
    store.set_setting("worker_spawned_at", "2")
    assert store.get_setting("worker_spawned_at") == "2"
    assert store.get_setting("other") is None
