"""A running job's progress and liveness: progress events become job rows, loss and metric points and an ETA
(``JobReporter``, which also checks for a cancel), and a thread refreshes the job's and the worker's heartbeat while
the job is busy (``Heartbeat``).

Progress tells the truth: a job's phase only moves forward (``PHASE_ORDER``; the validation pass after an epoch is
part of training, so a run never shows "training" again once it evaluates), each phase's start is kept in the row's
metrics (``phases``), a phase without steps shows no "step 0/1", and rows are written by the clock, not every N
steps: at most one per ``PROGRESS_INTERVAL_S`` seconds, and, from a thread, at least one per
``PROGRESS_INTERVAL_S`` seconds while new progress waits, so a slow CPU's steps still show.
"""

from __future__ import annotations

import re
import threading
import time
from types import SimpleNamespace
from typing import Any, Callable

from tram_core.store import Store, utcnow

HEARTBEAT_INTERVAL_S = 1.0
PROGRESS_INTERVAL_S = 2.0
CANCEL_CHECK_INTERVAL_S = 0.5
# Every phase a job reports, in the order they come: a job never goes back to an earlier one.
PHASE_ORDER = ("starting", "preparing", "loading", "tokenizing", "training", "predicting", "evaluating", "saving",
               "done")
# The phases of a training run, each with its own bar on the Train page (the TF-IDF baseline does not tokenize).
TRAINING_PHASES = ("preparing", "tokenizing", "training", "evaluating", "saving")


def phase_rank(phase: str | None) -> int | None:
    """Where ``phase`` stands in ``PHASE_ORDER`` ('train' counts as 'training'); None for a phase not in it."""
    phase = "training" if phase == "train" else phase
    return PHASE_ORDER.index(phase) if phase in PHASE_ORDER else None


class JobCancelled(Exception):
    """Raised inside a job when its cancel flag is seen between steps."""


class JobReporter:
    """Turns progress events into job rows: phases in order, time-based writes, loss/metric points, ETA, cancel
    checks. Used as a context manager, a thread writes waiting progress at least every ``min_interval_s``."""

    def __init__(self, store: Store, job_id: int, total_epochs: int | None = None,
                 min_interval_s: float = PROGRESS_INTERVAL_S, clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.job_id = job_id
        self.total_epochs = total_epochs
        self.min_interval_s = min_interval_s
        self.clock = clock
        self.phases: list[list[str]] = []  # [phase, when it began (ISO, UTC)], in order
        self.last_event: Any = None
        self.still_running = True
        self._phase = ""
        self._scores: dict = {}  # the latest validation scores, kept in the row
        self._last_write = float("-inf")
        self._last_cancel_check = float("-inf")
        self._cancel = False
        self._points: list[tuple[int, float, str, float]] = []
        self._total = -1
        self._last_step = 0
        self._phase_start: tuple[float, int] = (0.0, 0)
        self._pending: dict | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- the clock's writer thread

    def __enter__(self) -> "JobReporter":
        self._ticker = threading.Thread(target=self._tick, name=f"progress-job-{self.job_id}", daemon=True)
        self._ticker.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        if exc_type is None:
            self.flush()

    def _tick(self) -> None:
        while not self._stop.wait(min(0.25, max(0.02, self.min_interval_s / 4))):
            try:
                self.flush_due()
            except Exception:  # noqa: BLE001 - a locked database for a moment must not kill the job
                continue

    def flush_due(self) -> bool:
        """Write waiting progress when the last write is ``min_interval_s`` old; whether it wrote."""
        with self._lock:
            if self._pending is None and not self._points:
                return False
            if self.clock() - self._last_write < self.min_interval_s:
                return False
            self.flush()
            return True

    # -- events

    def _eta(self, step: int, total: int) -> float:
        """Seconds left at the step rate since this stretch of steps began (same ``total``, steps not going back);
        -1 (unknown, or nothing left to wait for) at the start or the end of a stretch."""
        now = self.clock()
        t0, s0 = self._phase_start
        if total != self._total or step < self._last_step or total <= 1:
            self._total = total
            self._phase_start = (now, step)
            self._last_step = step
            return -1.0
        self._last_step = step
        done = step - s0
        if done <= 0 or step >= total:
            return -1.0
        rate = done / max(now - t0, 1e-6)
        return max(0.0, (total - step) / rate)

    def _place(self, phase: str, epoch: int | None) -> tuple[str, bool]:
        """The phase an event belongs to, and whether its step count is that phase's: the validation pass after an
        epoch is training; an event of a phase already left changes nothing but its points."""
        if phase == "evaluating" and epoch is not None:
            phase = "training"
        new, current = phase_rank(phase), phase_rank(self._phase)
        if not phase:
            return self._phase, False
        if new is not None and current is not None and new < current:
            return self._phase, False
        return phase, True

    def begin(self, phase: str, message: str = "") -> None:
        """Enter ``phase`` (a phase without steps) with ``message``, written at once."""
        self(SimpleNamespace(phase=phase, step=0, total=0, message=message))

    def __call__(self, event: Any) -> None:
        """Accept a training ProgressEvent (or anything with phase, step, total, epoch, loss, metrics, message)."""
        with self._lock:
            self.last_event = event
            step = int(getattr(event, "step", 0) or 0)
            total = int(getattr(event, "total", 0) or 0)
            epoch_value = getattr(event, "epoch", None)
            epoch = int(epoch_value) if epoch_value is not None else None
            loss, metrics = getattr(event, "loss", None), getattr(event, "metrics", None)
            message = getattr(event, "message", None)
            epochs = getattr(event, "epochs", None) or _epochs_in(message) or self.total_epochs
            self.total_epochs = int(epochs) if epochs else None
            self._add_points(step, float(epoch_value) if epoch_value is not None else 0.0, loss, metrics)
            phase, own = self._place(str(getattr(event, "phase", "") or ""), epoch)
            changed = phase != self._phase
            if changed:
                self._phase = phase
                self.phases.append([phase, utcnow().isoformat()])
            if metrics:
                self._scores = dict(metrics)
            update: dict = {"phase": phase or None, "metrics": self._row_metrics()}
            stepped = total > 1
            if own:
                update.update(message=message or None, step=step if stepped else 0, total=total if stepped else 0,
                              epoch=epoch,
                              loss=float(loss) if loss is not None else None,
                              eta_s=self._eta(step, total) if stepped else -1.0)
            self._pending = {**(self._pending or {}), **{k: v for k, v in update.items() if v is not None}}
            if changed or metrics or (own and stepped and step >= total) or \
                    self.clock() - self._last_write >= self.min_interval_s:
                self.flush()

    def _add_points(self, step: int, epoch: float, loss: Any, metrics: Any) -> None:
        """Queue the event's points: validation scores all, the running loss one per write (the latest), so a loop
        that reports every step adds a point every ``min_interval_s``, not thousands."""
        if loss is not None:
            self._points = [p for p in self._points if p[2] != "loss"]
            self._points.append((step, epoch, "loss", float(loss)))
        for name, value in _flat_numbers(metrics or {}).items():
            self._points.append((step, epoch, name, value))

    def _row_metrics(self) -> dict:
        """What the row's metrics hold while the job runs: the latest validation scores, the epochs, the phases."""
        row = dict(self._scores)
        if self.total_epochs:
            row["epochs"] = self.total_epochs
        row["phases"] = [list(p) for p in self.phases]
        return row

    def flush(self) -> None:
        with self._lock:
            if self._points:
                self.store.add_job_points(self.job_id, self._points)
                self._points = []
            if self._pending is not None:
                self.still_running = self.store.update_job_progress(self.job_id, **self._pending)
                self._pending = None
            self._last_write = self.clock()

    def should_cancel(self) -> bool:
        """True once a cancel is requested (checked in the store at most every half second)."""
        if self._cancel:
            return True
        now = self.clock()
        if now - self._last_cancel_check >= CANCEL_CHECK_INTERVAL_S:
            self._last_cancel_check = now
            self._cancel = self.store.is_cancel_requested(self.job_id) or not self.still_running
        return self._cancel


def _epochs_in(message: str | None) -> int | None:
    """The N of 'epoch 2/N' in a progress message (training says how many epochs its recipe chose)."""
    found = re.search(r"epoch \d+/(\d+)", message or "")
    return int(found.group(1)) if found else None


def _flat_numbers(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a (shallow) metrics dict as point names: {'val_micro_f1': 0.4, ...}."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out[name[:50]] = float(value)
        elif isinstance(value, dict) and not prefix:
            for sub, sub_value in value.items():
                if isinstance(sub_value, (int, float)) and not isinstance(sub_value, bool):
                    out[f"{name}_{sub}"[:50]] = float(sub_value)
    return out


class Heartbeat:
    """A daemon thread that refreshes a job's and a worker's heartbeat every ``interval_s`` seconds."""

    def __init__(self, store: Store, worker_name: str | None, job_id: int | None,
                 interval_s: float = HEARTBEAT_INTERVAL_S):
        self.store = store
        self.worker_name = worker_name
        self.job_id = job_id
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-job-{job_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if self.job_id is not None:
                    self.store.heartbeat(self.job_id)
                if self.worker_name:
                    self.store.worker_heartbeat(self.worker_name, self.job_id)
            except Exception:  # a locked database for a moment must not kill the job
                continue

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
