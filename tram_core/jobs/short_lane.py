"""A worker's short lane: a thread that runs short jobs (predictions) on the CPU while the worker's main lane trains.

The lane is a worker of its own in the registry and on the jobs it claims ('host:pid (short lane)', device
``cpu``): the store lets a host's short lane run one job beside whatever runs on the same device's main lane, so a
prediction queued behind a long run starts within a poll, on any machine, and a GPU run never blocks the CPU lane.
When it has nothing to do it retrains the quick model (the worker's ``when_idle``), which is short work too. When
the worker stops, a job the lane holds is closed as stopped, as the main lane's is.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Callable

from tram_core.jobs.runner import run_claimed_job
from tram_core.store import JOB_FAILED, Job, Store
from tram_core.store.jobs import SHORT_LANE_DEVICE, SHORT_LANE_SUFFIX
from tram_core.text_format import error_line

SHORT_LANE_ENV = "TRAM_SHORT_LANE"
STOPPED_MESSAGE = "the worker was stopped while running this job; labels and saved models are intact"


def short_lane_enabled(environ=None) -> bool:
    """Whether a worker runs a short lane beside its main lane: yes unless ``TRAM_SHORT_LANE`` is 0/false/no/off."""
    env = os.environ if environ is None else environ
    return (env.get(SHORT_LANE_ENV) or "1").strip().lower() not in {"0", "false", "no", "off"}


class ShortLane:
    """The short-job thread of the worker ``worker_name`` on ``host``: start() registers it and starts the thread,
    stop() ends it (closing a job it holds as stopped) and takes it out of the registry."""

    def __init__(self, store: Store, settings, host: str, worker_name: str, poll_s: float,
                 say: Callable[[str], None], when_idle: Callable[..., None] | None = None):
        self.store = store
        self.settings = dataclasses.replace(settings, device=SHORT_LANE_DEVICE)
        self.host = host
        self.name = worker_name + SHORT_LANE_SUFFIX
        self.poll_s = poll_s
        self.say = say
        self.when_idle = when_idle
        self.ran = 0
        self.job: Job | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="short-lane", daemon=True)

    def start(self) -> "ShortLane":
        self.store.register_worker(self.name, os.getpid(), self.host, f"{SHORT_LANE_DEVICE} (short jobs)")
        self._thread.start()
        self.say(f"short lane {self.name}: predictions run here while the main lane trains")
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._claim()
                if job is None:
                    if self.when_idle is not None:
                        self.when_idle(self.store, self.settings, self.name, self.say)
                    self._stop.wait(self.poll_s)
                    continue
                self.job = job
                self.say(f"job {job.id}: {job.kind} started in the short lane")
                status = run_claimed_job(self.store, self.settings, job, self.name)
                self.ran += 1
                self.say(f"job {job.id}: {status} - {self.store.get_job(job.id).message}")
            except Exception as exc:  # noqa: BLE001 - a database away for a moment: the lane waits and goes on
                self.say(f"short lane: {error_line(exc)}; retrying in {max(self.poll_s, 5.0):.0f} s")
                self._stop.wait(max(self.poll_s, 5.0))
            finally:
                self.job = None

    def _claim(self) -> Job | None:
        self.store.worker_heartbeat(self.name)
        return self.store.claim_next_job(self.name, SHORT_LANE_DEVICE, host=self.host)

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the lane: a job it still runs is closed as stopped (its progress writes then tell it to stop)."""
        self._stop.set()
        job = self.job
        if job is not None:
            self.store.finish_job(job.id, JOB_FAILED, STOPPED_MESSAGE)
        self._thread.join(timeout=timeout_s)
        try:
            self.store.unregister_worker(self.name)
        except Exception:  # noqa: BLE001 - a stopping worker leaves a stale entry at worst
            pass


def start_short_lane(store: Store, settings, host: str, worker_name: str, poll_s: float,
                     say: Callable[[str], None], when_idle: Callable[..., None] | None = None) -> ShortLane | None:
    """Start the short lane of a worker, unless ``TRAM_SHORT_LANE`` turns it off; None when off."""
    if not short_lane_enabled():
        return None
    return ShortLane(store, settings, host, worker_name, poll_s, say, when_idle).start()

