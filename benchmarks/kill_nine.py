"""kill -9 an import and a training worker at random moments; print where each kill landed and what it left.

Usage: python benchmarks/kill_nine.py [--imports 20] [--workers 20] [--reports 60] [--seed 0]

Imports: a prepared store, then ``python -m tram_core import`` of --reports text reports, killed at a random
moment in [0.2 s, 1.05 x an uncut import's time]; the store must equal the state before or after, never a mix.
Workers: a queued training run (alternately the quick model and a tiny BERT), the worker killed at a random
moment while it starts or trains, then ``worker --once`` (which tidies the models folder) and ``models --check``: no
``.partial`` folder may survive and folders and rows must agree.
Last line: imports killed N · before B · after A · mixed M · workers killed W · orphans O · disagreements D
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.kill_nine import BEFORE, AFTER, MIXED, kill_imports, kill_workers, write_corpus  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=20, help="import kills")
    parser.add_argument("--workers", type=int, default=20, help="worker kills")
    parser.add_argument("--reports", type=int, default=200, help="reports in the killed import")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from tests.engine_helpers import TINY_OPTIONS, fill_store, make_tiny_bert
    from tram_core.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        files = write_corpus(base / "corpus", reports=args.reports)
        seed_files = write_corpus(base / "seed", reports=3, sentences=10)
        seed_files = [p.rename(p.with_name("seed-" + p.name)) for p in seed_files]
        results, duration = kill_imports(base / "imports", files, seed_files, args.imports, args.seed)
        states = Counter(r.state for r in results)
        print(f"uncut import of {len(files)} reports: {duration:.1f} s")
        for r in results:
            print(f"  import killed at {r.at_s:5.2f} s -> {r.state}")

        home = base / "worker-home"
        fill_store(Store(f"sqlite:///{home / 'tram.sqlite3'}"), reports=6)
        bert = make_tiny_bert(base / "tiny-bert")
        worker_results = []
        for k in range(args.workers):
            # Windows that land most kills while the job runs: a worker takes about 3 s to start (torch), the
            # quick model about 2 s to train, the tiny BERT's 150 epochs about 15 s.
            base_model, options, window = ("baseline", {"min_count": 2}, (2.5, 5.5)) if k % 2 == 0 else \
                (str(bert), {**TINY_OPTIONS, "epochs": 150}, (3.0, 14.0))
            worker_results += kill_workers(home, base_model, options, 1, seed=args.seed + k, window_s=window)
            r = worker_results[-1]
            kind = "quick model" if k % 2 == 0 else "tiny BERT"
            print(f"  worker ({kind}) killed at {r.at_s:5.2f} s, job {r.job_status}; after restart: "
                  f"{r.partials_after_restart} .partial, models --check exit {r.check_exit}")
        orphans = sum(r.partials_after_restart for r in worker_results)
        disagreements = sum(r.check_exit != 0 for r in worker_results)
    print(f"imports killed {len(results)} · before {states[BEFORE]} · after {states[AFTER]} · mixed {states[MIXED]} · "
          f"workers killed {len(worker_results)} · orphans {orphans} · disagreements {disagreements}")
    return 0 if states[MIXED] == orphans == disagreements == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
