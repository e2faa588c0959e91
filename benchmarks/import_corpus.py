"""Import all of TRAM's MAT .mjson reports through the CLI into a fresh TRAM_HOME; print corpus figures and the time.

Usage: python benchmarks/import_corpus.py [--data ../shared/data] [--top 30] [--repeat 1]

Runs ``python -m tram_core import`` in-process (the CLI code path: file detection, row checks, splitting, storing)
twice: as annotated, and with --roll-up-tram50. Compares with TRAM's published multi-label dataset.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tram_core.attack import TRAM_CLASSES  # noqa: E402
from tram_core.cli import main  # noqa: E402
from tram_core.store import Store  # noqa: E402

TRAM_PUBLISHED = {"reports": 150, "sentences": 19178, "labelled": 4070}
TRAM_MIN_COUNT = 50  # TRAM kept a technique as a class when it had enough examples; 50 labels is our yardstick


def run_import(files: list[Path], extra: list[str]) -> tuple[float, float, Store, str, int]:
    home = Path(tempfile.mkdtemp(prefix="tram-bench-"))
    os.environ["TRAM_HOME"] = str(home)
    os.environ.pop("TRAM_DATABASE_URL", None)
    out = io.StringIO()
    started, cpu_started = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        code = main(["--user", "benchmark", "import", *extra, *map(str, files)])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return seconds, cpu, Store(f"sqlite:///{home / 'tram.sqlite3'}"), out.getvalue(), code


def phase_breakdown(files: list[Path]) -> dict[str, float]:
    """Seconds spent per phase outside the CLI: JSON decoding, sentence splitting, whole parsing, storing."""
    import json

    from tram_core.attack import load_catalog
    from tram_core.io.dataset_parsers import parse_dataset
    from tram_core.io.importer import PreparedFile, store_prepared
    from tram_core.io.sentences import split_sentences

    catalog = load_catalog()
    datas = [(f.name, f.read_bytes()) for f in files]
    out = {}
    t = time.perf_counter()
    signals = [json.loads(data)["signal"] for _, data in datas]
    out["JSON decoding"] = time.perf_counter() - t
    t = time.perf_counter()
    for signal in signals:
        split_sentences(signal)
    out["sentence splitting"] = time.perf_counter() - t
    t = time.perf_counter()
    parsed = [parse_dataset(data, name, catalog) for name, data in datas]
    out["parsing (JSON + checks + splitting + overlap)"] = time.perf_counter() - t
    store = Store(f"sqlite:///{Path(tempfile.mkdtemp(prefix='tram-bench-')) / 'tram.sqlite3'}")
    t = time.perf_counter()
    for (name, _), p in zip(datas, parsed):
        store_prepared(store, [PreparedFile(name, p.kind, p.reports, p.warnings, p.skipped_rows)], "benchmark")
    out["storing (Store.add_reports, one transaction a file)"] = time.perf_counter() - t
    return out


def describe(store: Store, top: int) -> dict:
    examples = store.examples()
    per_technique: Counter[str] = Counter(t for ex in examples for t in ex.labels)
    with_technique = sum(1 for ex in examples if ex.labels)
    counts = store.corpus_counts()
    return {
        "reports": counts["reports"],
        "sentences": counts["sentences"],
        "answered": counts["labelled"] + counts["reviewed"],
        "unlabelled": counts["unlabelled"],
        "with_technique": with_technique,
        "negatives": sum(1 for ex in examples if not ex.labels),
        "labels": sum(per_technique.values()),
        "techniques": len(per_technique),
        "per_technique": per_technique,
        "over_min": sum(1 for n in per_technique.values() if n >= TRAM_MIN_COUNT),
        "outside_tram50": sum(1 for t in per_technique if t not in TRAM_CLASSES),
        "outside_tram50_labels": sum(n for t, n in per_technique.items() if t not in TRAM_CLASSES),
        "tram50_present": sum(1 for t in TRAM_CLASSES if per_technique.get(t)),
        "tram50_over_min": sum(1 for t in TRAM_CLASSES if per_technique.get(t, 0) >= TRAM_MIN_COUNT),
    }


def print_figures(name: str, seconds: float, cpu: float, figures: dict, top: int, files: int) -> None:
    print(f"\n== {name} ==")
    print(f"import time: {seconds:.2f} s wall, {cpu:.2f} s CPU for {files} files ({files / seconds:.1f} files/s, "
          f"{figures['sentences'] / seconds:,.0f} sentences/s); target < 10 s")
    print(f"reports: {figures['reports']}   sentences: {figures['sentences']:,}   "
          f"answered: {figures['answered']:,}   unlabelled: {figures['unlabelled']}")
    print(f"labelled with >= 1 technique: {figures['with_technique']:,} "
          f"({100 * figures['with_technique'] / max(figures['sentences'], 1):.1f}%)   "
          f"negatives: {figures['negatives']:,}   labels: {figures['labels']:,}")
    print(f"distinct techniques: {figures['techniques']}   with >= {TRAM_MIN_COUNT} labels: {figures['over_min']}   "
          f"under {TRAM_MIN_COUNT}: {figures['techniques'] - figures['over_min']}")
    print(f"TRAM's 50 classes present: {figures['tram50_present']}/50, with >= {TRAM_MIN_COUNT} labels: "
          f"{figures['tram50_over_min']}/50; techniques outside the 50: {figures['outside_tram50']} "
          f"({figures['outside_tram50_labels']} labels)")
    print(f"top {top} techniques by labelled sentences:")
    for tid, n in figures["per_technique"].most_common(top):
        mark = "" if tid in TRAM_CLASSES else "  (not one of TRAM's 50)"
        print(f"  {tid:<10} {n:>5}{mark}")


def main_benchmark() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO_ROOT.parent / "shared" / "data"), help="the shared data folder")
    parser.add_argument("--top", type=int, default=30, help="how many techniques to list")
    args = parser.parse_args()
    files = sorted((Path(args.data) / "tram2" / "mjson").glob("*.mjson"))
    if not files:
        print(f"no .mjson files under {args.data}/tram2/mjson", file=sys.stderr)
        return 2
    results = {}
    for name, extra in (("as annotated", []), ("--roll-up-tram50", ["--roll-up-tram50"])):
        seconds, cpu, store, output, code = run_import(files, extra)
        if code != 0:
            print(output)
            print(f"import failed with exit code {code}", file=sys.stderr)
            return code
        figures = describe(store, args.top)
        results[name] = (seconds, figures)
        print_figures(name, seconds, cpu, figures, args.top, len(files))
        warnings = sum(1 for line in output.splitlines() if line.strip().startswith("warning:"))
        print(f"warnings printed: {warnings}")

    print("\n== where the time goes (same files, outside the CLI) ==")
    for phase, spent in phase_breakdown(files).items():
        print(f"  {phase:<48} {spent:6.2f} s")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  (machine load average {load:.1f} on {os.cpu_count()} CPUs: wall times stretch on a busy machine)")

    seconds, figures = results["--roll-up-tram50"]
    print("\n== compared with TRAM's published multi-label dataset (150 reports) ==")
    print(f"{'':<28}{'ours (121)':>12}{'TRAM (150)':>12}{'ratio':>8}")
    for label, ours, theirs in (
        ("reports", figures["reports"], TRAM_PUBLISHED["reports"]),
        ("sentences", figures["sentences"], TRAM_PUBLISHED["sentences"]),
        ("labelled (>= 1 technique)", figures["with_technique"], TRAM_PUBLISHED["labelled"]),
    ):
        print(f"{label:<28}{ours:>12,}{theirs:>12,}{ours / theirs:>8.2f}")
    per_report = figures["sentences"] / figures["reports"], TRAM_PUBLISHED["sentences"] / TRAM_PUBLISHED["reports"]
    print(f"{'sentences per report':<28}{per_report[0]:>12.1f}{per_report[1]:>12.1f}{per_report[0] / per_report[1]:>8.2f}")
    share = figures["with_technique"] / figures["sentences"], TRAM_PUBLISHED["labelled"] / TRAM_PUBLISHED["sentences"]
    print(f"{'labelled share':<28}{share[0]:>12.3f}{share[1]:>12.3f}{share[0] / share[1]:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main_benchmark())
