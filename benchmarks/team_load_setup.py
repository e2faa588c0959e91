"""The team-load benchmark's stage: a fresh database, reports, annotator accounts, and a worker training throughout.

Used by benchmarks/team_load.py. PostgreSQL is a throwaway cluster (tests/pg_cluster.py: initdb and pg_ctl from
Debian's postgresql, on a Unix socket, fsync off); SQLite is a file in a temporary TRAM_HOME.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]
ADMIN = "benchmark-admin"
PASSWORD = "team-load-password"
TINY_BERT = "tiny"
MINILM = "minilm"


@contextmanager
def database(backend: str, home: Path) -> Iterator[str]:
    """The URL of a fresh, empty database on ``backend`` (sqlite or postgresql), gone afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{home / 'tram.sqlite3'}"
        return
    from tests.pg_cluster import Cluster, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin; "
                           "apt-get install postgresql")
    cluster = Cluster(bin_dir)
    cluster.start()
    try:
        yield cluster.url(cluster.new_database())
    finally:
        cluster.stop()


def environment(home: Path, url: str) -> dict[str, str]:
    """What every process of the run sees: team mode, the database, no autostarted worker, one thread each."""
    env = dict(os.environ)
    env.update(TRAM_HOME=str(home), TRAM_DATABASE_URL=url, TRAM_AUTH="local", TRAM_WORKER_AUTOSTART="0",
               PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")
    return env


def fill(store, data: Path | None, reports: int) -> str:
    """Import ``reports`` real MAT reports from ``data`` (TRAM's, labelled); generated labelled reports when the
    data folder is absent. Returns what was stored, in words."""
    folder = data / "tram2" / "mjson" if data is not None else None
    if folder is not None and folder.is_dir():
        from tram_core.io import importer

        paths = sorted(folder.glob("*.mjson"))[:reports]
        for path in paths:
            importer.import_path(store, path, ADMIN)
        source = f"{len(paths)} real TRAM reports from {folder}"
    else:
        from tests.engine_helpers import fill_store

        fill_store(store, reports=max(reports, 6), per_technique=6, unlabelled=10)
        source = f"{max(reports, 6)} generated reports (real data not found at {folder or data})"
    counts = store.corpus_counts()
    return f"{source}: {counts['sentences']:,} sentences ({counts['unlabelled']:,} unlabelled)"


def add_annotators(store, count: int) -> list[str]:
    """``count`` annotator accounts, added by an admin as the Users page or ``users add`` does."""
    from tram_core import accounts
    from tram_core.access import local_user

    names = [f"annotator-{i:02d}" for i in range(1, count + 1)]
    for name in names:
        accounts.add_user(store, local_user(ADMIN), name, "annotator", PASSWORD)
    return names


def sentence_pool(store, size: int, seed: int) -> list[list[int]]:
    """``size`` sentences drawn from every report: ``[report id, sentence id]`` each."""
    every = [[s.report_id, s.id] for report in store.list_reports()
             for s in store.annotation_report_sentences(report.id)]
    return random.Random(seed).sample(every, min(size, len(every)))


def techniques() -> list[str]:
    """What the analysts tick: TRAM's 50 classes that are current in ATT&CK."""
    from tram_core.attack import TRAM_CLASSES, load_catalog

    catalog = load_catalog()
    current = {t.id for t in catalog.techniques()}
    return [t for t in TRAM_CLASSES if t in current]


# --------------------------------------------------------------------------------------------------- the worker


@dataclass
class Worker:
    """A ``python -m tram_core worker`` process and the training job it runs."""

    process: subprocess.Popen
    job_id: int
    log: Path


def training_options(base: str, folder: Path, seconds: float) -> dict:
    """A training run long enough to last the whole load: a tiny random BERT, or the embedded MiniLM."""
    from tests.engine_helpers import TINY_OPTIONS, make_tiny_bert

    if base == MINILM:
        return dict(base="embedded", epochs=max(20, int(seconds)), batch_size=8, max_length=32, min_count=2,
                    threads=1)
    bert = folder / "tiny-bert"
    if not bert.exists():
        from transformers.utils import logging

        logging.disable_progress_bar()  # save_pretrained's bar would break the printed figures
        make_tiny_bert(bert)
    # A tiny BERT runs 20-30 epochs a second here: ask for far more than the load lasts, so the run is still
    # training (not evaluating or saving) when the load ends.
    return {**TINY_OPTIONS, "base": str(bert), "epochs": max(1000, int(seconds * 100))}


def start_worker(store, env: dict, options: dict, log: Path, timeout_s: float = 300) -> Worker:
    """Queue the training run, start a worker, and wait until it has taken its first training steps."""
    from tram_core.jobs import queue

    job_id = queue.submit_training(store, options, ADMIN)
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tram_core", "worker"], env=env, cwd=REPO_ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    worker = Worker(process, job_id, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = store.get_job(job_id)
        if job.finished or process.poll() is not None:
            stop_worker(store, worker)
            raise RuntimeError(f"the training job ended before the load began ({job.status}: {job.message}); "
                               f"worker log: {log.read_text()[-2000:]}")
        if job.phase == "training" and job.step > 0:
            return worker
        time.sleep(0.2)
    stop_worker(store, worker)
    raise RuntimeError(f"the worker took no training step in {timeout_s:.0f} s; log: {log.read_text()[-2000:]}")


def stop_worker(store, worker: Worker) -> None:
    """Cancel the run (the worker stops between steps), then end the worker (SIGTERM, as Ctrl-C)."""
    try:
        store.request_cancel(worker.job_id)
    except Exception:  # noqa: BLE001 - the job may be finished already
        pass
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not store.get_job(worker.job_id).finished:
        time.sleep(0.2)
    worker.process.terminate()
    try:
        worker.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait()
