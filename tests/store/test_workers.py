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


def test_workers_of_two_machines_keep_their_host_and_device(store):
    store.register_worker("box-a:10", 10, "box-a", "cuda:0")
    store.register_worker("box-b:10", 10, "box-b", "cuda:0")  # the same pid and device on another machine
    store.worker_heartbeat("box-b:10", job_id=3)
    found = {w.name: (w.host, w.device, w.job_id) for w in store.list_workers()}
    assert found == {"box-a:10": ("box-a", "cuda:0", None), "box-b:10": ("box-b", "cuda:0", 3)}


def test_a_lease_is_held_by_one_worker_until_given_back_or_its_holder_goes_silent(store):
    import time

    store.register_worker("box-a:10", 10, "box-a", "cpu")
    store.register_worker("box-b:20", 20, "box-b", "cpu")
    assert store.take_lease("chore", "box-a:10", stale_after_s=30)
    assert store.take_lease("chore", "box-a:10", stale_after_s=30)  # holding it already
    assert not store.take_lease("chore", "box-b:20", stale_after_s=30)
    store.release_lease("chore", "box-b:20")  # not its lease: nothing happens
    assert not store.take_lease("chore", "box-b:20", stale_after_s=30)
    store.release_lease("chore", "box-a:10")
    assert store.take_lease("chore", "box-b:20", stale_after_s=30)
    time.sleep(1.1)
    store.worker_heartbeat("box-a:10")  # box-b, the holder, went silent
    assert store.take_lease("chore", "box-a:10", stale_after_s=1)
    store.unregister_worker("box-a:10")  # a holder that left the registry holds nothing
    assert store.take_lease("chore", "box-b:20", stale_after_s=30)


def test_of_workers_asking_for_a_lease_at_once_one_gets_it(settings):
    import threading

    from tram_core.store import Store

    names = [f"box-{n}:1" for n in range(6)]
    stores = [Store(settings.database_url) for _ in names]  # each its own engine, as on separate machines
    for store, name in zip(stores, names):
        store.register_worker(name, 1, name.split(":")[0], "cpu")
    start, got = threading.Barrier(len(names)), {}

    def ask(store, name):
        start.wait(10)
        got[name] = store.take_lease("chore", name, stale_after_s=30)

    threads = [threading.Thread(target=ask, args=pair) for pair in zip(stores, names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(got.values()) == [False] * (len(names) - 1) + [True]
    for store in stores:
        store.engine.dispose()
