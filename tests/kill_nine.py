"""kill -9 of an import and of a worker at random moments, then a look at what the store and the models folder hold.

Used by tests/test_kill_nine.py (a few kills) and benchmarks/kill_nine.py (at least 20 of each).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from tests.engine_helpers import cli

BEFORE, AFTER, MIXED = "before", "after", "mixed"


def write_corpus(folder: Path, reports: int = 60, sentences: int = 120) -> list[Path]:
    """``reports`` text reports of ``sentences`` sentences each, different enough to be stored separately."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in range(reports):
        lines = [f"Report {r}, paragraph {s}: the actor ran tool number {r * 1000 + s} on host {s} of site {r}."
                 for s in range(sentences)]
        path = folder / f"report-{r:03d}.txt"
        path.write_text("\n\n".join(lines))
        paths.append(path)
    return paths


def store_state(home: Path) -> tuple[int, int, int]:
    """(reports, sentences, label events) in the SQLite store of ``home``; also checks the file's integrity."""
    db = sqlite3.connect(home / "tram.sqlite3")
    try:  # closed here, not at garbage collection: the last close folds the WAL file back into the database
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[return-value]
                     for table in ("reports", "sentences", "label_events"))
    finally:
        db.close()


@dataclass
class KillResult:
    """Where one kill landed: the moment after start (s) and the store state it left (before, after or mixed)."""

    at_s: float
    state: str


def prepare_home(home: Path, seed_files: list[Path]) -> None:
    """A TRAM home whose store already holds ``seed_files`` (so 'before' is not simply empty)."""
    done = cli(["import", *map(str, seed_files)], home)
    assert done.returncode == 0, done.stdout + done.stderr


def kill_imports(base: Path, files: list[Path], seed_files: list[Path], kills: int, seed: int = 0) -> tuple[
        list[KillResult], float]:
    """Import ``files`` into a copy of a prepared home and SIGKILL it at a random moment, ``kills`` times.

    Returns every kill's result and the seconds one uncut import takes.
    """
    rng = random.Random(seed)
    template = base / "template"
    prepare_home(template, seed_files)
    before = store_state(template)
    full = base / "full"
    shutil.copytree(template, full)
    started = time.monotonic()
    done = cli(["import", *map(str, files)], full)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    after = store_state(full)
    assert after[0] == before[0] + len(files)
    results = []
    for k in range(kills):
        home = base / f"kill-{k}"
        shutil.copytree(template, home)
        at = rng.uniform(0.2, duration * 1.05)
        process = cli(["import", *map(str, files)], home, wait=False)
        time.sleep(at)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        state = store_state(home)
        results.append(KillResult(at, BEFORE if state == before else AFTER if state == after else MIXED))
        shutil.rmtree(home)
    return results, duration


@dataclass
class WorkerKill:
    """One worker kill: the moment (s), the job's status then, and what the next worker start found."""

    at_s: float
    job_status: str
    partials_after_restart: int
    check_exit: int
    check_output: str


def kill_workers(home: Path, base_model: str, options: dict, kills: int, seed: int = 0,
                 window_s: tuple[float, float] = (1.0, 12.0)) -> list[WorkerKill]:
    """Queue a training run, start a worker, SIGKILL it at a random moment in ``window_s``; restart and check.

    The restart is ``worker --once`` (it reconciles the models folder first); ``models --check`` must then agree.
    """
    from tram_core.jobs import queue
    from tram_core.store import Store

    rng = random.Random(seed)
    store = Store(f"sqlite:///{home / 'tram.sqlite3'}")
    results = []
    for _ in range(kills):
        job_id = queue.submit_training(store, dict(base=base_model, **options), "tester")
        worker = cli(["worker"], home, wait=False, env={"TRAM_STALE_AFTER_S": "1"})
        at = rng.uniform(*window_s)
        deadline = time.monotonic() + at
        while time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=60)
        status = store.get_job(job_id).status
        time.sleep(1.2)  # the killed worker's heartbeat goes stale (TRAM_STALE_AFTER_S=1)
        restart = cli(["worker", "--once"], home, env={"TRAM_STALE_AFTER_S": "1"}, timeout=600)
        assert restart.returncode == 0, restart.stdout + restart.stderr
        partials = [p for p in (home / "models").iterdir() if p.name.endswith(".partial")]
        check = cli(["models", "--check"], home)
        results.append(WorkerKill(at, status, len(partials), check.returncode, check.stdout.strip()))
    return results
