"""The Train page's live run as the job rows tell it: a bar per phase (done, running, waiting) and the queue in the
order its jobs start, with the lane each takes and when it starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from tram_core.jobs.progress import TRAINING_PHASES, phase_rank
from tram_core.store import JOB_DONE, JOB_RUNNING, Job, WorkerInfo
from tram_core.store.jobs import SHORT_JOB_KINDS, is_short_lane
from tram_core.text_format import duration_text

PHASE_LABELS = {"preparing": "Preparing", "tokenizing": "Tokenizing", "training": "Training",
                "evaluating": "Evaluating", "saving": "Saving"}
QUEUE_COLUMNS = ["run", "what", "lane", "starts", "queued by", "queued at"]
SHORT_LANE, TRAINING_LANE = "short", "training"


@dataclass(frozen=True)
class PhaseBar:
    """One phase of a run: how far (0-1), what it says, and whether it is done, running or waiting."""

    phase: str
    fraction: float
    text: str
    state: str  # done | running | waiting


def run_phases(job: Job) -> tuple[str, ...]:
    """The phases ``job`` goes through: the TF-IDF baseline fits in one go, without tokenizing."""
    base = str((job.params.get("options") or {}).get("base", ""))
    return tuple(p for p in TRAINING_PHASES if not (base == "baseline" and p == "tokenizing"))


def current_phase(job: Job) -> str:
    return "training" if job.phase == "train" else (job.phase or "")


def _phase_starts(job: Job) -> list[tuple[str, datetime]]:
    """(phase, when it began) as the job recorded them, in order; unreadable entries left out."""
    found = []
    for entry in (job.metrics or {}).get("phases") or []:
        try:
            found.append((str(entry[0]), datetime.fromisoformat(str(entry[1]))))
        except (ValueError, TypeError, IndexError):
            continue
    return found


def _spans(job: Job, now: datetime) -> dict[str, float]:
    """Seconds each recorded phase lasted (the current one: so far)."""
    starts = _phase_starts(job)
    end = job.finished_at or now
    return {phase: ((starts[i + 1][1] if i + 1 < len(starts) else end) - began).total_seconds()
            for i, (phase, began) in enumerate(starts)}


def _running_text(job: Job, label: str, seconds: float | None) -> tuple[float, str]:
    if job.total > 1:
        fraction = min(1.0, job.step / job.total)
        text = f"{label}: {fraction:.0%}"
        epochs = (job.metrics or {}).get("epochs")
        if current_phase(job) == "training" and job.epoch:
            text += f" · epoch {job.epoch}/{epochs}" if epochs else f" · epoch {job.epoch}"
        text += f" · step {job.step}/{job.total}"
        if job.eta_s is not None and job.eta_s >= 1 and not job.cancel_requested:
            text += f" · about {duration_text(job.eta_s)} left"
    else:
        fraction = 0.0
        text = f"{label}: under way" + (f" for {duration_text(seconds)}" if seconds is not None else "")
    if job.cancel_requested:
        text += " · cancelling"
    return fraction, text


def phase_bars(job: Job, now: datetime) -> list[PhaseBar]:
    """A bar per phase of a running or finished run: the phases before the current one done (with how long they
    took), the current one as far as its steps go (or how long it has run, when it has no steps), the rest
    waiting. A phase never shows as running again once a later one began."""
    spans = _spans(job, now)
    current = phase_rank(current_phase(job))
    bars = []
    for phase in run_phases(job):
        label, rank = PHASE_LABELS[phase], phase_rank(phase)
        if job.status == JOB_DONE or (current is not None and rank < current):
            took = spans.get(phase)
            bars.append(PhaseBar(phase, 1.0, f"{label}: done" + (f" in {duration_text(took)}" if took is not None
                                                                 else ""), "done"))
        elif rank == current and job.status == JOB_RUNNING:
            fraction, text = _running_text(job, label, spans.get(phase))
            bars.append(PhaseBar(phase, fraction, text, "running"))
        else:
            bars.append(PhaseBar(phase, 0.0, f"{label}: waiting", "waiting"))
    return bars


def run_fraction(job: Job) -> float:
    """How far a run's training steps are: none before training, its steps during it, all of them after it."""
    if job.status == JOB_DONE:
        return 1.0
    rank, training = phase_rank(current_phase(job)), phase_rank("training")
    if rank is None or rank < training:
        return 0.0
    if rank > training:
        return 1.0
    return min(1.0, job.step / job.total) if job.total > 1 else 0.0


# --------------------------------------------------------------------------------------------------- the queue


def job_what(job: Job) -> str:
    """What a queued job does, in a few words."""
    if job.kind == "train":
        return f"training on {(job.params.get('options') or {}).get('base', '') or 'the default base model'}"
    report = job.params.get("report_id")
    target = f"report {report}" if report is not None else "every unlabelled sentence"
    return f"suggestions by model {job.params.get('model_id')} for {target}"


def _run_end(running: Sequence[Job]) -> str:
    """'when run 3 ends (about 12 min)' for the running run that ends first, as far as ETAs say."""
    runs = sorted((j for j in running if j.kind == "train"), key=lambda j: (j.eta_s is None, j.eta_s or 0.0))
    if not runs:
        return "when a worker is free"
    first = runs[0]
    eta = f" (about {duration_text(first.eta_s)})" if first.eta_s is not None and first.eta_s >= 1 else ""
    return f"when run {first.id} ends{eta}"


def queue_rows(waiting: Sequence[Job], running: Sequence[Job], workers: Sequence[WorkerInfo],
               leave_out: int | None = None) -> list[dict]:
    """The queued jobs in the order workers take them (``waiting``, as queue.worker_state orders it), each with
    its lane and when it starts: short jobs go to a short lane (or a free main lane) within seconds, training runs
    take free main lanes in turn, then wait for a running run (or the run ahead of them) to end."""
    short_lanes = any(is_short_lane(w.name) for w in workers)
    busy = {j.worker for j in running if not is_short_lane(j.worker)}
    free = sum(1 for w in workers if not is_short_lane(w.name) and w.name not in busy)
    rows, ahead = [], None
    for job in waiting:
        short = job.kind in SHORT_JOB_KINDS
        if not workers:
            starts = "when a worker starts"
        elif short and short_lanes:
            starts = "within seconds"
        elif free > 0:
            starts, free = ("within seconds" if short else "next"), free - 1
        elif short:
            starts = "when a worker is free"
        else:
            starts = f"after run {ahead.id}" if ahead is not None else _run_end(running)
        if not short:
            ahead = job
        if job.id != leave_out:
            rows.append({"run": job.id, "what": job_what(job), "lane": SHORT_LANE if short else TRAINING_LANE,
                         "starts": starts, "queued by": job.created_by, "queued at": job.created_at})
    return rows
