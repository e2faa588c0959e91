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



def take_turns(url: str, host: str, name: str, start, results) -> None:
    """One worker process on ``host``'s cpu: claim a job, hold it a moment (as a run would), finish it; until none
    is left. Reports (job id, held from, held until) by the wall clock, read after the claim and before the finish
    (the rows' own times are taken before their statements wait for the database)."""
    import time

    store = Store(url)
    start.wait(30)
    held = []
    while store.list_jobs(status="queued"):
        job = store.claim_next_job(name, "cpu", host=host)
        if job is None:
            time.sleep(0.02)
            continue
        began = time.time()
        time.sleep(0.25)
        held.append((job.id, began, time.time()))
        store.finish_job(job.id, JOB_DONE, message=name)
    results.put((name, held))
    store.engine.dispose()


def test_workers_on_one_host_take_turns_and_two_hosts_run_in_parallel(store):
    """Two machines with two cpu workers each, on one queue: a machine's cpu runs one job at a time, and both
    machines' cpus run at once."""
    ids = [store.create_job("predict", {"n": i}, "ana") for i in range(12)]
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=take_turns, args=(store.url, host, f"{host}:{n}", start, results))
               for host in ("box-a", "box-b") for n in (1, 2)]
    for worker in workers:
        worker.start()
    start.set()
    by_worker = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert sorted(job_id for held in by_worker.values() for job_id, _, _ in held) == ids
    assert {store.get_job(job_id).host for job_id in ids} == {"box-a", "box-b"}
    spans = {host: sorted((began, ended) for name, held in by_worker.items() if name.startswith(host + ":")
                          for _, began, ended in held)
             for host in ("box-a", "box-b")}
    for host, host_spans in spans.items():  # one machine: each job starts after the one before it finished
        assert all(later[0] >= earlier[1] for earlier, later in zip(host_spans, host_spans[1:])), host
    overlapping = [(a, b) for a in spans["box-a"] for b in spans["box-b"] if a[0] < b[1] and b[0] < a[1]]
    assert overlapping, "the two machines never ran a job at the same time"
