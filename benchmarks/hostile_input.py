"""Import a corpus of at least 200 hostile files, each in a child process with a time limit; print what happened.

Usage: python benchmarks/hostile_input.py [--size 1000000] [--mutations 20] [--limit-s 10] [--seed 0] [-v]

Every file goes through the import path the CLI and the Reports page share (prepare, then one transaction)
with the default limits, into a real SQLite store. A case is
  refused  when the import says why in one line naming the file, and the store is unchanged;
  imported when the store gained what the result says;
  crashed  when anything else escapes (a traceback, or a catch-all "could not be read" on a hand-made case);
  hung     when it runs past --limit-s (the child is killed and a new one started);
  partial  when a refusal changed the store, or an import stored nothing.
Last line: tried N · refused R · imported I · crashed C · hung H · partial P · max RSS M MB · max time T s
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def child(store_url: str, size: int, mutations: int, seed: int) -> None:
    """Read case numbers on stdin; import each; write one JSON line per case on stdout."""
    from tests.hostile_cases import all_cases
    from tram_core.io.dataset_checks import ImportOptions
    from tram_core.io.importer import import_batch, prepare_bytes
    from tram_core.io.limits import DEFAULT_LIMITS
    from tram_core.store import Store

    cases = all_cases(DEFAULT_LIMITS, size, mutations, seed)
    store = Store(store_url)
    options = ImportOptions(limits=DEFAULT_LIMITS)
    for line in sys.stdin:
        case = cases[int(line)]
        before = (store.corpus_counts(), len(store.list_reports()))
        started = time.monotonic()
        try:
            batch = import_batch(store, [(case.name, lambda: prepare_bytes(case.data, case.name, options,
                                                                            max_bytes=50 * 2**20))], "bench")
            if batch.failures:
                outcome, message = "refused", batch.failures[0][1]
                handmade = not any(mark in case.name for mark in ("-cut", "-flip"))
                if handmade and message.startswith(f"{case.name}: could not be read"):
                    outcome = "crashed"  # the catch-all is a safety net, not a reason
            else:
                outcome, message = "imported", batch.results[0].summary()
        except Exception as exc:  # noqa: BLE001 - anything escaping is what this benchmark counts
            outcome, message = "crashed", f"{type(exc).__name__}: {exc}"
        elapsed = time.monotonic() - started
        after = (store.corpus_counts(), len(store.list_reports()))
        if outcome == "refused" and after != before:
            outcome = "partial"
        if outcome == "imported" and after == before and "duplicate" not in message:
            outcome = "partial"
        if outcome == "refused" and (not message.startswith(case.name) or "\n" in message):
            outcome = "crashed"
        if outcome == "refused" and case.reason and case.reason not in message:
            outcome = "crashed"  # refused, but not for the reason this case was built to hit
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"i": int(line), "outcome": outcome, "message": message[:300], "s": elapsed,
                          "rss": rss_mb}), flush=True)


class Child:
    """A child process that imports cases; killed and replaced when a case hangs."""

    def __init__(self, args: argparse.Namespace, store_url: str):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", store_url, "--size", str(args.size), "--mutations",
             str(args.mutations), "--seed", str(args.seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )

    def run(self, i: int, limit_s: float) -> dict | None:
        import selectors

        self.proc.stdin.write(f"{i}\n")
        self.proc.stdin.flush()
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=limit_s):
            self.proc.kill()
            self.proc.wait()
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"i": i, "outcome": "crashed", "message": "the child died", "s": 0,
                                              "rss": 0}

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="characters of each pathological text")
    parser.add_argument("--mutations", type=int, default=20, help="truncated/bit-flipped copies per format")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit-s", type=float, default=10.0, help="a case running longer is 'hung'")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    parser.add_argument("--child", metavar="STORE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.size, args.mutations, args.seed)
        return 0

    from tests.hostile_cases import all_cases, pathological_texts
    from tram_core.io.ingest import normalize_text
    from tram_core.io.limits import DEFAULT_LIMITS
    from tram_core.io.sentences import split_sentences

    split_times = []
    for kind, text in pathological_texts(args.size).items():
        begun = time.monotonic()
        split_sentences(normalize_text(text))
        split_times.append((kind, time.monotonic() - begun))
    print(f"normalise + split {args.size / 1e6:g} MB of each pathological text (goal < 2 s each): "
          + ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in split_times)
          + f"; slowest {max(seconds for _, seconds in split_times):.2f} s")

    started = time.monotonic()
    cases = all_cases(DEFAULT_LIMITS, args.size, args.mutations, args.seed)
    print(f"{len(cases)} hostile files made in {time.monotonic() - started:.1f} s "
          f"({sum(len(c.data) for c in cases) / 2**20:.1f} MB in all); limits: {DEFAULT_LIMITS}")
    counts = {"refused": 0, "imported": 0, "crashed": 0, "hung": 0, "partial": 0}
    max_rss, max_time, slowest = 0.0, 0.0, ""
    with tempfile.TemporaryDirectory() as home:
        store_url = f"sqlite:///{home}/hostile.sqlite3"
        worker = Child(args, store_url)
        for i, case in enumerate(cases):
            result = worker.run(i, args.limit_s)
            if result is None:
                result = {"i": i, "outcome": "hung", "message": f"killed after {args.limit_s:g} s", "s": args.limit_s,
                          "rss": 0}
                worker = Child(args, store_url)
            counts[result["outcome"]] += 1
            max_rss = max(max_rss, result["rss"])
            if result["s"] > max_time:
                max_time, slowest = result["s"], case.name
            if args.verbose or result["outcome"] in ("crashed", "hung", "partial"):
                print(f"{result['outcome']:8s} {result['s']:6.2f} s  {case.name}: {result['message'][:160]}")
        worker.close()
    print(f"slowest: {slowest} ({max_time:.2f} s); wall time {time.monotonic() - started:.0f} s")
    print(f"tried {len(cases)} · refused {counts['refused']} · imported {counts['imported']} · crashed "
          f"{counts['crashed']} · hung {counts['hung']} · partial {counts['partial']} · max RSS {max_rss:.0f} MB · "
          f"max time {max_time:.2f} s")
    return 0 if counts["crashed"] == counts["hung"] == counts["partial"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
