"""Several workers on one queue: 4 processes, each with its own Store (engine), claim 40 queued jobs; every job is
claimed exactly once (SQLite: one atomic UPDATE ... RETURNING; PostgreSQL: FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import multiprocessing

from tram_core.store import JOB_DONE, Store

WORKERS = 4
JOBS = 40


def claim_until_empty(url: str, name: str, start, results) -> None:
    """One worker process: claim jobs for device ``name`` (finishing each at once) until none is left."""
    store = Store(url)
    start.wait(30)
    claimed = []
    while (job := store.claim_next_job(name, name)) is not None:
        claimed.append(job.id)
        store.finish_job(job.id, JOB_DONE, message=name)
    results.put((name, claimed))
    store.engine.dispose()


def test_four_worker_processes_claim_forty_jobs_each_exactly_once(store):
    ids = [store.create_job("predict", {"n": i}, "ana") for i in range(JOBS)]
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=claim_until_empty, args=(store.url, f"w{i}", start, results))
               for i in range(WORKERS)]
    for worker in workers:
        worker.start()
    start.set()
    by_worker = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    claimed = [job_id for jobs in by_worker.values() for job_id in jobs]
    assert sorted(claimed) == ids  # each job once, none left out
    jobs = store.list_jobs(limit=JOBS + 10)
    assert all(job.status == JOB_DONE for job in jobs)
    assert {job.id: job.worker for job in jobs} == {job_id: name for name, jobs_ in by_worker.items()
                                                   for job_id in jobs_}


def test_one_device_runs_one_job_at_a_time_across_processes(store):
    """Four workers sharing one device: while one holds a running job, the others get nothing."""
    ids = [store.create_job("predict", {"n": i}, "ana") for i in range(3)]
    others = [Store(store.url) for _ in range(WORKERS)]
    first = others[0].claim_next_job("w0", "cpu")
    assert first is not None and first.id == ids[0]
    assert all(other.claim_next_job(f"w{i}", "cpu") is None for i, other in enumerate(others[1:], 1))
    assert others[1].claim_next_job("w1", "cuda:0").id == ids[1]  # another device takes the next one
    for other in others:
        other.engine.dispose()
