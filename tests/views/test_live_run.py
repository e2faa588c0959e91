"""The live run's phase bars (views/live_run.py): each phase done with how long it took, running, or waiting; a phase
without steps says how long it has run instead of 'step 0/1'."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from tram_core.store import Job
from tram_core.views.live_run import phase_bars, run_fraction

NOW = datetime(2025, 3, 4, 14, 10, 0)


def run(phase: str, step: int = 0, total: int = 0, base: str = "embedded", started: dict | None = None,
        **changes) -> Job:
    """A running run in ``phase`` that entered each phase of ``started`` that many seconds ago."""
    began = NOW - timedelta(minutes=10)
    phases = [[name, (NOW - timedelta(seconds=ago)).isoformat()] for name, ago in (started or {}).items()]
    job = Job(3, "train", "running", {"options": {"base": base}}, "ana", began, began, None, NOW, "box-a:1", "cpu",
              phase, step, total, 2, 0.4, None, "", {"epochs": 4, "phases": phases}, False, None, "box-a")
    return dataclasses.replace(job, **changes)


def texts(job: Job) -> list[str]:
    return [bar.text for bar in phase_bars(job, NOW)]


def test_tokenizing_says_how_long_it_has_run_not_step_0_of_1():
    job = run("tokenizing", started={"preparing": 100, "tokenizing": 90})
    assert texts(job) == ["Preparing: done in 10 s", "Tokenizing: under way for 1 min 30 s", "Training: waiting",
                          "Evaluating: waiting", "Saving: waiting"]
    assert [bar.fraction for bar in phase_bars(job, NOW)] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert run_fraction(job) == 0.0


def test_once_it_evaluates_training_is_done_and_never_running_again():
    job = run("evaluating", started={"preparing": 400, "tokenizing": 390, "training": 300, "evaluating": 120},
              epoch=4)
    assert texts(job) == ["Preparing: done in 10 s", "Tokenizing: done in 1 min 30 s", "Training: done in 3 min 00 s",
                          "Evaluating: under way for 2 min 00 s", "Saving: waiting"]
    assert run_fraction(job) == 1.0


def test_a_finished_run_shows_every_phase_done_and_the_baseline_has_no_tokenizing():
    job = run("done", base="baseline", status="done", finished_at=NOW,
              started={"preparing": 30, "training": 25, "evaluating": 5, "saving": 1})
    assert texts(job) == ["Preparing: done in 5 s", "Training: done in 20 s", "Evaluating: done in 4 s",
                          "Saving: done in 1 s"]


def test_training_counts_its_steps_and_a_cancel_shows():
    job = run("training", step=30, total=120, eta_s=300, started={"preparing": 200, "tokenizing": 190, "training": 60})
    assert texts(job)[2] == "Training: 25% · epoch 2/4 · step 30/120 · about 5 min 00 s left"
    cancelling = dataclasses.replace(job, cancel_requested=True)
    assert texts(cancelling)[2] == "Training: 25% · epoch 2/4 · step 30/120 · cancelling"
