"""Train page's live run: the running (or next queued) run's bars, loss and validation, the queue, redraw marks,
cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from tram_core.services import activity
from tram_core.services.common import Context, check_user
from tram_core.store import JOB_DONE, JOB_FINISHED_STATUSES, JOB_RUNNING, utcnow
from tram_core.views import charts, live_run, run_history


@dataclass(frozen=True)
class Bar:
    """A progress bar: how far (0-1) and what it says."""

    fraction: float
    text: str


@dataclass(frozen=True)
class LivePanel:
    """The running (or next queued) run, read from the database; ``job_id`` None: no run in progress.

    ``bars``: the run's training steps, the epoch (while training), then one bar per phase (preparing, tokenizing,
    training, evaluating, saving). ``worker_line`` is the sidebar's line, from the same read of the queue."""

    job_id: int | None = None
    running: bool = False
    title: str = ""
    bars: tuple[Bar, ...] = ()
    figures: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  # the time left, the worker's message
    info: str = ""  # the queued or idle state in one line
    cancel_requested: bool = False
    loss_chart: alt.Chart | None = None
    validation: pd.DataFrame | None = None
    queue: pd.DataFrame | None = None  # what waits, in the order it starts: lane and start for each
    worker_line: str = ""
    last_finished_id: int | None = None  # the newest finished training run

    @property
    def can_cancel(self) -> bool:
        return self.job_id is not None and not self.cancel_requested

    @property
    def marks(self) -> "LiveMarks":
        return LiveMarks(self.job_id, self.last_finished_id)


@dataclass(frozen=True)
class LiveMarks:
    """What the Train page was last drawn with: the run in the live panel and the newest finished run."""

    job_id: int | None = None
    finished_id: int | None = None


def page_needs_redraw(before: LiveMarks | None, panel: LivePanel) -> bool:
    """Whether a live-panel tick should redraw the whole Train page (history, promote list, verdicts): the run it
    showed has ended, or a run finished that the page has not drawn yet. A short run can be queued, run and
    finish between two ticks, so the panel never shows it running; the newest finished run still changes."""
    if before is None:
        return False
    ended = before.job_id is not None and panel.job_id != before.job_id
    return ended or panel.last_finished_id != before.finished_id


def _idle_panel(ctx: Context, state) -> LivePanel:
    finished = run_history.last_finished_run(ctx.store)
    bars = ()
    if finished is not None:
        last, line = finished
        bars = (Bar(1.0 if last.status == JOB_DONE else 0.0, line),)
    return LivePanel(bars=bars, info=f"No run in progress. Worker: {state.text}.", worker_line=state.line,
                     last_finished_id=finished[0].id if finished is not None else None)


def _running_parts(job, progress) -> dict[str, Any]:
    run = live_run.run_fraction(job)
    bars = [Bar(run, f"Run: {run:.0%} · {progress.headline}")]
    if progress.epochs and live_run.current_phase(job) == "training":
        bars.append(Bar(progress.epoch_fraction,
                        f"Epoch {progress.epoch}/{progress.epochs}: {progress.epoch_fraction:.0%}"))
    bars += [Bar(p.fraction, p.text) for p in live_run.phase_bars(job, utcnow())]
    figures = (("Phase", progress.phase or "starting"),
               ("Step", f"{progress.step}/{progress.total}" if progress.total else "–"),
               ("Running loss", f"{progress.loss:.4f}" if progress.loss is not None else "–"),
               ("Device", progress.device or "–"))
    notes = [progress.eta_text] if progress.eta_text and not job.cancel_requested else []
    if job.message and not job.message.startswith("epoch "):
        notes.append(job.message)
    return {"bars": tuple(bars), "figures": figures, "notes": tuple(notes)}


def _queue_frame(state, job_id: int) -> pd.DataFrame | None:
    rows = live_run.queue_rows(state.waiting, state.running, state.workers, leave_out=job_id)
    return pd.DataFrame(rows, columns=live_run.QUEUE_COLUMNS) if rows else None


def _shown_run(state):
    """The run the panel shows: the newest running one, else the next queued one."""
    runs = [j for j in state.running if j.kind == "train"] or [j for j in state.waiting if j.kind == "train"]
    return runs[0] if runs else None


def live_panel(ctx: Context) -> LivePanel:
    """The live panel's figures, bars, chart and queue, from one read of the queue (``queue.worker_state``, which
    the sidebar line reads too)."""
    from tram_core.jobs import queue

    state = queue.worker_state(ctx.store)
    job = _shown_run(state)
    if job is None:
        return _idle_panel(ctx, state)
    finished = next((j.id for j in ctx.store.list_jobs(limit=20, kind="train") if j.status in JOB_FINISHED_STATUSES),
                    None)
    progress = run_history.run_progress(ctx.store, job)
    running = job.status == JOB_RUNNING
    parts = _running_parts(job, progress) if running else {}
    has_loss = not progress.points.empty and progress.points["name"].str.contains("loss").any()
    has_validation = not progress.validation.empty and len(progress.validation.columns) > 1
    return LivePanel(
        job.id, running, f"Run {job.id}", **parts,
        info="" if running else f"Run {job.id} is queued ({progress.eta_text}). Worker: {state.text}.",
        cancel_requested=bool(job.cancel_requested),
        loss_chart=charts.live_loss_chart(progress.points) if has_loss else None,
        validation=progress.validation if has_validation else None, queue=_queue_frame(state, job.id),
        worker_line=state.line, last_finished_id=finished)


def cancel_run(ctx: Context, user: str, job_id: int) -> None:
    """Ask the worker to stop the run at its next step."""
    user = check_user(user, "cancel a run")
    ctx.store.request_cancel(job_id)
    activity.record(ctx, user, "cancel", f"job {job_id}")
