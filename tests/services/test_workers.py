"""The workers view (services/workers.py): every worker on every machine, what it runs, and which went silent."""

from __future__ import annotations

import subprocess
import time

from tram_core.jobs import queue
from tram_core.services import workers


def test_two_workers_on_two_hosts_show_their_host_device_and_job(ctx):
    store = ctx.store
    job_id = store.create_job("train", {"options": {"base": "baseline"}}, "ana")
    store.register_worker("box-a:101", 101, "box-a", "cuda:0")
    store.register_worker("box-b:202", 202, "box-b", "cpu")
    assert store.claim_next_job("box-a:101", "cuda:0").host == "box-a"
    store.update_job_progress(job_id, phase="training", step=30, total=120)
    store.worker_heartbeat("box-a:101", job_id)

    table = workers.workers_table(ctx)
    rows = {row["host"]: row for row in table.to_dict("records")}
    assert set(rows) == {"box-a", "box-b"}
    assert (rows["box-a"]["device"], rows["box-a"]["pid"]) == ("cuda:0", 101)
    assert rows["box-a"]["state"].startswith(f"running job {job_id}: train, 25%, since ")
    assert (rows["box-b"]["device"], rows["box-b"]["pid"], rows["box-b"]["state"]) == ("cpu", 202, "idle")
    assert not table["stale"].any() and workers.stale_note(table) == ""
    assert all(row["last heartbeat"].endswith(" s ago") for row in rows.values())


def test_a_worker_without_a_recent_heartbeat_is_marked_stale(ctx):
    ctx.store.register_worker("box-a:101", 101, "box-a", "cpu")
    ctx.store.register_worker("box-b:202", 202, "box-b", "cpu")
    time.sleep(1.2)
    ctx.store.worker_heartbeat("box-a:101")  # box-b stays silent

    table = workers.workers_table(ctx, stale_after_s=1)
    assert [(row["host"], row["stale"]) for row in table.to_dict("records")] == [("box-a", False), ("box-b", True)]
    assert workers.stale_note(table, stale_after_s=1) == ("1 worker sent no heartbeat for more than 1 s: stopped, or "
                                                          "cut off from the database.")
    assert [w.name for w in ctx.store.list_workers()] == ["box-a:101", "box-b:202"]  # the view changes nothing


def test_a_worker_of_this_machine_whose_process_is_gone_is_stale_at_once(ctx):
    gone = subprocess.Popen(["true"])
    gone.wait()
    ctx.store.register_worker(f"{queue.worker_host()}:{gone.pid}", gone.pid, queue.worker_host(), "cpu")
    row = workers.workers_table(ctx).to_dict("records")[0]
    assert row["stale"] and row["state"] == "exited (was idle)"


def test_no_worker_gives_an_empty_table(ctx):
    assert workers.workers_table(ctx).empty
