"""The workers view: every worker seen recently (on any machine) as a table for the Train page."""

from __future__ import annotations

import pandas as pd

from tram_core.services.common import Context
from tram_core.store import JOB_RUNNING, utcnow
from tram_core.views import worker_table

NO_WORKERS = "No worker has sent a heartbeat in the last hour: start one with `python -m tram_core worker`."


def workers_table(ctx: Context, stale_after_s: float | None = None) -> pd.DataFrame:
    """Each worker whose last heartbeat is under an hour old, on any machine: host, device, pid, state ('idle', or
    'running job N: kind, progress %, since HH:MM UTC (duration)'), last heartbeat ('3 s ago') and stale (no
    heartbeat for more than ``stale_after_s``, by default TRAM_STALE_AFTER_S, or its process on this machine has
    exited). Live workers first. Reads only: nothing is changed."""
    from tram_core.jobs import queue

    stale_after_s = queue.stale_after_s() if stale_after_s is None else stale_after_s
    return worker_table.worker_rows(ctx.store.list_workers(), ctx.store.list_jobs(limit=1000, status=JOB_RUNNING),
                                    utcnow(), stale_after_s,
                                    exited=lambda worker: queue.process_gone(worker.host, worker.pid))


def stale_note(table: pd.DataFrame, stale_after_s: float | None = None) -> str:
    """A line to show under ``workers_table`` when some workers are stale ('' when none is)."""
    from tram_core.jobs import queue

    return worker_table.stale_note(table, queue.stale_after_s() if stale_after_s is None else stale_after_s)
