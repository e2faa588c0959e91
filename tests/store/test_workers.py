"""The worker registry (store/workers.py)."""

from __future__ import annotations


def test_worker_registry_records_heartbeats(store):
    store.register_worker("host:1", 1, "host", "cpu")
    before = store.list_workers()[0]
    store.worker_heartbeat("host:1", job_id=7)
    after = store.list_workers()[0]
    assert (after.name, after.pid, after.device, after.job_id) == ("host:1", 1, "cpu", 7)
    assert after.heartbeat_at >= before.heartbeat_at
    store.unregister_worker("host:1")
    assert store.list_workers() == []
