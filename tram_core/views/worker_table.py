"""The workers table the Train page shows: each worker seen recently, where it runs, what it is doing, how fresh."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Sequence

import pandas as pd

from tram_core.store import JOB_RUNNING, Job, WorkerInfo
from tram_core.text_format import duration_text

WORKER_COLUMNS = ("host", "device", "pid", "state", "last heartbeat", "stale")
# A worker killed without a word stays in the registry; after this long without a heartbeat it is left out.
SEEN_WITHIN_S = 3600.0


def job_state_text(job: Job | None, now: datetime) -> str:
    """What a worker is doing: 'idle', or 'running job 7: train, 42%, since 14:03 UTC (5 min 02 s)'."""
    if job is None:
        return "idle"
    text = f"running job {job.id}: {job.kind}, {int(job.fraction * 100)}%"
    if job.started_at is not None:
        text += f", since {job.started_at:%H:%M} UTC ({duration_text((now - job.started_at).total_seconds())})"
    return text


def heartbeat_text(heartbeat_at: datetime, now: datetime) -> str:
    """How long ago a worker last beat: '3 s ago', '2 min 10 s ago'."""
    return f"{duration_text((now - heartbeat_at).total_seconds())} ago"


def _job_of(worker: WorkerInfo, running: dict[str, Job], by_id: dict[int, Job]) -> Job | None:
    """The running job ``worker`` claimed (by its name), else the one its last heartbeat named if still running."""
    job = running.get(worker.name)
    if job is None and worker.job_id is not None:
        job = by_id.get(worker.job_id)
        if job is not None and job.worker != worker.name:
            job = None
    return job


def worker_rows(workers: Sequence[WorkerInfo], running_jobs: Sequence[Job], now: datetime, stale_after_s: float,
                seen_within_s: float = SEEN_WITHIN_S,
                exited: Callable[[WorkerInfo], bool] = lambda worker: False) -> pd.DataFrame:
    """One row per worker whose last heartbeat is at most ``seen_within_s`` old: host, device, pid, state (idle or
    its running job), heartbeat age, and ``stale`` when it has not beaten for more than ``stale_after_s`` seconds or
    ``exited`` says its process is gone. Live workers first, then by host, device and pid."""
    jobs = [job for job in running_jobs if job.status == JOB_RUNNING]
    running = {job.worker: job for job in jobs}
    by_id = {job.id: job for job in jobs}
    rows = []
    for worker in workers:
        age = (now - worker.heartbeat_at).total_seconds()
        if age > seen_within_s:
            continue
        gone = exited(worker)
        state = job_state_text(_job_of(worker, running, by_id), now)
        rows.append({"host": worker.host, "device": worker.device, "pid": worker.pid,
                     "state": f"exited (was {state})" if gone else state,
                     "last heartbeat": heartbeat_text(worker.heartbeat_at, now),
                     "stale": gone or age > stale_after_s})
    rows.sort(key=lambda row: (row["stale"], row["host"], row["device"], row["pid"]))
    return pd.DataFrame(rows, columns=list(WORKER_COLUMNS))


def stale_note(table: pd.DataFrame, stale_after_s: float) -> str:
    """A line under the table when some workers are stale: how many, and what stale means."""
    stale = int(table["stale"].sum()) if not table.empty else 0
    if not stale:
        return ""
    return (f"{stale} worker{'s' if stale != 1 else ''} sent no heartbeat for more than "
            f"{duration_text(stale_after_s)}: stopped, or cut off from the database.")
