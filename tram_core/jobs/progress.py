"""A running job's progress and liveness: training and prediction progress events become throttled job rows, loss
and metric points and an ETA (``JobReporter``, which also checks for a cancel), and a thread refreshes the job's
and the worker's heartbeat while the job is busy (``Heartbeat``)."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from tram_core.store import Store

HEARTBEAT_INTERVAL_S = 1.0
PROGRESS_INTERVAL_S = 0.5
CANCEL_CHECK_INTERVAL_S = 0.5


class JobCancelled(Exception):
    """Raised inside a job when its cancel flag is seen between steps."""


class JobReporter:
    """Turns progress events into job rows: throttled progress writes, loss/metric points, ETA, cancel checks."""

    def __init__(self, store: Store, job_id: int, total_epochs: int | None = None,
                 min_interval_s: float = PROGRESS_INTERVAL_S):
        self.store = store
        self.job_id = job_id
        self.total_epochs = total_epochs
        self.min_interval_s = min_interval_s
        self._last_write = 0.0
        self._last_cancel_check = 0.0
        self._cancel = False
        self._points: list[tuple[int, float, str, float]] = []
        self._total = -1
        self._last_step = 0
        self._phase_start: tuple[float, int] = (0.0, 0)
        self._pending: dict | None = None
        self.last_event: Any = None
        self.still_running = True

    def _eta(self, step: int, total: int) -> float:
        """Seconds left at the step rate since this stretch of steps began (same ``total``, steps not going back);
        -1 (unknown) at the start of a stretch. Validation time inside the stretch counts, so ETA includes it."""
        now = time.monotonic()
        t0, s0 = self._phase_start
        if total != self._total or step < self._last_step or total <= 1:
            self._total = total
            self._phase_start = (now, step)
            self._last_step = step
            return -1.0
        self._last_step = step
        done = step - s0
        if done <= 0 or step > total:
            return -1.0
        rate = done / max(now - t0, 1e-6)
        return max(0.0, (total - step) / rate)

    def __call__(self, event: Any) -> None:
        """Accept a training ProgressEvent (or anything with phase, step, total, epoch, loss, metrics, message)."""
        self.last_event = event
        phase = str(getattr(event, "phase", "") or "")
        step = int(getattr(event, "step", 0) or 0)
        total = int(getattr(event, "total", 0) or 0)
        epoch_value = getattr(event, "epoch", None)
        epoch = int(epoch_value) if epoch_value is not None else None
        loss = getattr(event, "loss", None)
        metrics = getattr(event, "metrics", None)
        message = getattr(event, "message", None)
        epochs = getattr(event, "epochs", None) or _epochs_in(message) or self.total_epochs
        if epochs:
            self.total_epochs = int(epochs)
        point_epoch = float(epoch_value) if epoch_value is not None else 0.0
        if loss is not None:
            self._points.append((step, point_epoch, "loss", float(loss)))
        if metrics:
            for name, value in _flat_numbers(metrics).items():
                self._points.append((step, point_epoch, name, value))
        eta = self._eta(step, total)
        row_metrics = None
        if metrics or self.total_epochs:
            row_metrics = dict(metrics or (self._pending or {}).get("metrics") or {})
            if self.total_epochs:
                row_metrics["epochs"] = self.total_epochs
        self._pending = {
            "phase": phase or None, "step": step, "total": total, "epoch": epoch,
            "loss": float(loss) if loss is not None else None, "eta_s": eta,
            "message": message if message else None, "metrics": row_metrics,
        }
        if metrics or time.monotonic() - self._last_write >= self.min_interval_s or (total and step >= total):
            self.flush()

    def flush(self) -> None:
        if self._points:
            self.store.add_job_points(self.job_id, self._points)
            self._points = []
        if self._pending is not None:
            self.still_running = self.store.update_job_progress(self.job_id, **self._pending)
            self._pending = None
        self._last_write = time.monotonic()

    def should_cancel(self) -> bool:
        """True once a cancel is requested (checked in the store at most every half second)."""
        if self._cancel:
            return True
        now = time.monotonic()
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
