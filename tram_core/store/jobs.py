"""The job queue: queued, running and finished training and prediction jobs, their progress and live curves."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Iterable, Sequence

from sqlalchemy import case, func, insert, select, update

from tram_core.store.base import StoreBase
from tram_core.store.records import Job, JobPoint, NotFoundError, StoreError
from tram_core.store.schema import (
    JOB_CANCELLED,
    JOB_DONE,
    JOB_FAILED,
    JOB_FINISHED_STATUSES,
    JOB_KINDS,
    JOB_QUEUED,
    JOB_RUNNING,
    JobPointRow,
    JobRow,
    utcnow,
)


# A worker's name: 'host:pid' (queue.worker_name), ' (foreground)' added for a job the CLI runs in its own process,
# ' (short lane)' for the thread of a worker that runs short jobs beside its main lane.
WORKER_NAME = re.compile(r"^(.*):(\d+)(?: \((?:foreground|short lane)\))?$")
SHORT_LANE_SUFFIX = " (short lane)"
# Jobs that take seconds: claimed before any training job, and run by a worker's short lane while it trains.
SHORT_JOB_KINDS = ("predict",)
SHORT_LANE_DEVICE = "cpu"


def host_of_worker(worker_name: str) -> str:
    """The host part of a worker name ('host:pid', maybe with ' (foreground)' or ' (short lane)'); '' for a name of
    another form."""
    found = WORKER_NAME.match(worker_name or "")
    return found.group(1) if found else ""


def is_short_lane(worker_name: str) -> bool:
    """Whether ``worker_name`` is a worker's short lane ('host:pid (short lane)')."""
    return (worker_name or "").endswith(SHORT_LANE_SUFFIX)


def job_record(row: JobRow) -> Job:
    return Job(row.id, row.kind, row.status, dict(row.params or {}), row.created_by, row.created_at, row.started_at,
               row.finished_at, row.heartbeat_at, row.worker, row.device, row.phase, row.step or 0, row.total or 0,
               row.epoch or 0, row.loss, row.eta_s, row.message or "", dict(row.metrics or {}),
               bool(row.cancel_requested), row.model_id, row.host or "")


class JobsMixin(StoreBase):
    def create_job(self, kind: str, params: dict, user: str) -> int:
        """Queue a job of ``kind`` ('train' or 'predict') with JSON-serialisable ``params``."""
        if kind not in JOB_KINDS:
            raise StoreError(f"Unknown job kind '{kind}'; use one of {', '.join(JOB_KINDS)}")
        with self.session() as s:
            row = JobRow(kind=kind, status=JOB_QUEUED, params=dict(params), created_by=user, created_at=utcnow())
            s.add(row)
            s.flush()
            return row.id

    def get_job(self, job_id: int) -> Job:
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFoundError(f"No job with id {job_id}")
            return job_record(row)

    def list_jobs(self, limit: int = 50, status: str | Sequence[str] | None = None,
                  kind: str | None = None) -> list[Job]:
        """The newest jobs first, optionally only those with ``status`` (one or several) or of ``kind``."""
        with self.session() as s:
            query = select(JobRow).order_by(JobRow.id.desc()).limit(limit)
            if status is not None:
                statuses = [status] if isinstance(status, str) else list(status)
                query = query.where(JobRow.status.in_(statuses))
            if kind is not None:
                query = query.where(JobRow.kind == kind)
            return [job_record(r) for r in s.scalars(query)]

    def claim_next_job(self, worker_name: str, device: str, host: str | None = None) -> Job | None:
        """Atomically move the next queued job to running for ``worker_name`` on ``host``'s ``device``; None when
        there is none or the lane is busy. ``host`` defaults to the host part of the worker name ('host:pid').

        The next job is the oldest short one (``SHORT_JOB_KINDS``: a prediction), else the oldest of all: short jobs
        never wait behind training. A worker has a main lane (its name) and may have a short lane (its name with
        ``SHORT_LANE_SUFFIX``) that takes only short jobs, on the CPU, while the main lane trains. One job at a time
        per (host, device, lane): two machines' ``cpu`` workers run side by side, two workers on one machine's
        ``cuda:0`` take turns, and a machine's short lane runs a prediction beside the training on its GPU or CPU.

        One statement does the claim, so two workers never get the same job. SQLite runs one writer at a time, so
        its ``UPDATE ... RETURNING`` is atomic as it stands; on PostgreSQL the next queued row is picked ``FOR
        UPDATE SKIP LOCKED`` (concurrent workers take the next ones instead of waiting) and claims for one host's
        device and lane are serialised by a transaction-scoped advisory lock, so the busy check sees the last claim.
        """
        host = host_of_worker(worker_name) if host is None else host
        short_lane = is_short_lane(worker_name)
        postgres = self.engine.dialect.name == "postgresql"
        short_first = case((JobRow.kind.in_(SHORT_JOB_KINDS), 0), else_=1)
        candidates = select(JobRow.id).where(JobRow.status == JOB_QUEUED)
        if short_lane:
            candidates = candidates.where(JobRow.kind.in_(SHORT_JOB_KINDS))
        candidates = candidates.order_by(short_first, JobRow.id).limit(1)
        if postgres:
            candidates = candidates.with_for_update(skip_locked=True)
        in_lane = JobRow.worker.like(f"%{SHORT_LANE_SUFFIX}")
        busy = select(JobRow.id).where(JobRow.status == JOB_RUNNING, JobRow.host == host, JobRow.device == device,
                                       in_lane if short_lane else ~in_lane).exists()
        now = utcnow()
        stmt = (
            update(JobRow)
            .where(JobRow.id == candidates.scalar_subquery(), JobRow.status == JOB_QUEUED, ~busy)
            .values(status=JOB_RUNNING, worker=worker_name, device=device, host=host, started_at=now,
                    heartbeat_at=now, phase="starting", message="")
            .returning(JobRow.id)
        )
        with self.session() as s:
            if postgres:
                key = f"tram-claim:{host}\n{device}" + ("\nshort" if short_lane else "")
                s.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
            job_id = s.execute(stmt).scalar()
            if job_id is None:
                return None
            return job_record(s.get(JobRow, job_id))

    def claim_job(self, job_id: int, worker_name: str, device: str, host: str | None = None) -> Job | None:
        """Move queued job ``job_id`` to running for ``worker_name`` (a foreground run); None when not queued.
        ``host`` defaults to the host part of the worker name."""
        host = host_of_worker(worker_name) if host is None else host
        now = utcnow()
        stmt = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status == JOB_QUEUED)
            .values(status=JOB_RUNNING, worker=worker_name, device=device, host=host, started_at=now,
                    heartbeat_at=now, phase="starting", message="")
            .returning(JobRow.id)
        )
        with self.session() as s:
            claimed = s.execute(stmt).scalar()
            return job_record(s.get(JobRow, claimed)) if claimed is not None else None

    def update_job_progress(
        self,
        job_id: int,
        phase: str | None = None,
        step: int | None = None,
        total: int | None = None,
        epoch: int | None = None,
        loss: float | None = None,
        eta_s: float | None = None,
        message: str | None = None,
        metrics: dict | None = None,
    ) -> bool:
        """Write a running job's progress (only the given fields) and refresh its heartbeat.

        A negative ``eta_s`` clears the ETA (unknown). Returns False when the job is no longer running (finished,
        or failed as stale), so the caller can stop.
        """
        values: dict = {"heartbeat_at": utcnow()}
        for key, value in (("phase", phase), ("step", step), ("total", total), ("epoch", epoch), ("loss", loss),
                           ("eta_s", eta_s), ("message", message), ("metrics", metrics)):
            if value is not None:
                values[key] = value
        if eta_s is not None and eta_s < 0:
            values["eta_s"] = None
        with self.session() as s:
            result = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == JOB_RUNNING).values(**values))
            return result.rowcount == 1

    def heartbeat(self, job_id: int) -> bool:
        """Tell the store a running job is alive; False when the job is no longer running."""
        with self.session() as s:
            result = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == JOB_RUNNING)
                               .values(heartbeat_at=utcnow()))
            return result.rowcount == 1

    def add_job_points(self, job_id: int, points: Iterable[tuple[int, float, str, float]]) -> None:
        """Append (step, epoch, name, value) points to a job's live curves."""
        rows = [{"job_id": job_id, "step": int(step), "epoch": float(epoch), "name": str(name), "value": float(value)}
                for step, epoch, name, value in points]
        if not rows:
            return
        with self.session() as s:
            s.execute(insert(JobPointRow), rows)

    def job_points(self, job_id: int, name: str | None = None) -> list[JobPoint]:
        with self.session() as s:
            query = select(JobPointRow).where(JobPointRow.job_id == job_id).order_by(JobPointRow.id)
            if name is not None:
                query = query.where(JobPointRow.name == name)
            return [JobPoint(r.step, r.epoch, r.name, r.value) for r in s.scalars(query)]

    def request_cancel(self, job_id: int) -> Job:
        """Cancel a queued job at once; flag a running one for its worker to stop between steps."""
        now = utcnow()
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFoundError(f"No job with id {job_id}")
            if row.status == JOB_QUEUED:
                row.status = JOB_CANCELLED
                row.finished_at = now
                row.cancel_requested = True
                row.message = "cancelled before it started"
            elif row.status == JOB_RUNNING:
                row.cancel_requested = True
            return job_record(row)

    def is_cancel_requested(self, job_id: int) -> bool:
        with self.session() as s:
            return bool(s.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

    def finish_job(self, job_id: int, status: str, message: str = "", model_id: int | None = None,
                   metrics: dict | None = None) -> bool:
        """Close a queued or running job as done, failed or cancelled; False when it was already closed."""
        if status not in JOB_FINISHED_STATUSES:
            raise StoreError(f"A job finishes as one of {', '.join(JOB_FINISHED_STATUSES)}, not '{status}'")
        values: dict = {"status": status, "message": message, "finished_at": utcnow(), "eta_s": None}
        if model_id is not None:
            values["model_id"] = model_id
        if metrics is not None:
            values["metrics"] = metrics
        if status == JOB_DONE:
            values["phase"] = "done"
        with self.session() as s:
            result = s.execute(update(JobRow).where(JobRow.id == job_id,
                                                    JobRow.status.in_([JOB_QUEUED, JOB_RUNNING])).values(**values))
            return result.rowcount == 1

    def recover_failed_job(self, job_id: int, model_id: int, message: str, metrics: dict | None = None) -> bool:
        """Close a failed job as done with ``model_id``: its worker died after writing the model folder, which was
        recorded later (model_folders). False when the job is not failed."""
        values: dict = {"status": JOB_DONE, "model_id": model_id, "message": message, "phase": "done",
                        "eta_s": None}
        if metrics is not None:
            values["metrics"] = metrics
        with self.session() as s:
            result = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == JOB_FAILED).values(**values))
            return result.rowcount == 1

    def mark_stale_jobs(self, max_age_s: float) -> list[int]:
        """Fail running jobs whose heartbeat is older than ``max_age_s`` seconds; their ids."""
        now = utcnow()
        cutoff = now - timedelta(seconds=max_age_s)
        with self.session() as s:
            rows = list(s.scalars(select(JobRow).where(JobRow.status == JOB_RUNNING, JobRow.heartbeat_at < cutoff)))
            for row in rows:
                silent = int((now - row.heartbeat_at).total_seconds())
                row.status = JOB_FAILED
                row.finished_at = now
                row.eta_s = None
                row.message = (f"worker stopped responding (no heartbeat for {silent} s); "
                               "labels and saved models are intact")
            return [r.id for r in rows]
