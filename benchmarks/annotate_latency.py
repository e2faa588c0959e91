"""Annotate page latency in a real browser with TRAM's 121 reports stored: save-and-next, Reports and Evaluate loads.

Usage: python benchmarks/annotate_latency.py [--data ../shared/data] [--steps 50] [--no-model] [--shots DIR]

1. Imports the 121 MAT .mjson reports (about 28,000 sentences) and one real unlabelled report (the CISA PDF)
   through the importer into a fresh TRAM_HOME; unless --no-model, trains the TF-IDF baseline on TRAM's 50 classes
   (training.train_model), promotes it and stores its suggestions for the new report (predict.run_prediction).
2. Starts the real Streamlit server (no worker: TRAM_WORKER_AUTOSTART=0, so nothing else competes for the CPU) and
   drives it with Playwright in Debian's chromium (/usr/bin/chromium; never a downloaded browser).
3. Opens Annotate on the PDF report and measures, in the page's own clock, the time from a key press to the next
   sentence's text being shown: --steps presses of S (Save & next, keeping the pre-ticked suggestions) and
   --steps presses of N (No technique, then next: always a write). Prints median and p95 (target p95 < 300 ms).
4. Prints the time to load the Reports and Evaluate pages until their script run has finished.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.e2e.harness import CHROMIUM, chromium_page, streamlit_server, wait_for_app  # noqa: E402

CURRENT_TEXT_JS = """
() => { const el = document.querySelector('.st-key-ann_current strong');
        return el ? el.textContent.replace(/\\s+/g, ' ').trim() : null; }
"""


def prepare_home(data: Path, with_model: bool) -> tuple[Path, int, float, float]:
    """A TRAM_HOME with the corpus and the PDF report; returns (home, pdf report id, import s, model s)."""
    home = Path(tempfile.mkdtemp(prefix="tram-latency-")) / "home"
    os.environ["TRAM_HOME"] = str(home)
    os.environ.pop("TRAM_DATABASE_URL", None)
    from tram_core import importer
    from tram_core.settings import load_settings
    from tram_core.store import Store

    settings = load_settings()
    store = Store.from_settings(settings)
    started = time.perf_counter()
    for path in sorted((data / "tram2" / "mjson").glob("*.mjson")):
        importer.import_path(store, path, "benchmark")
    result = importer.import_path(store, data / "reports" / "AA20-302A.pdf", "benchmark")
    import_s = time.perf_counter() - started
    model_s = 0.0
    if with_model:
        from tram_core.attack import TRAM_CLASSES
        from tram_core.predict import run_prediction
        from tram_core.training import TrainOptions, train_model

        started = time.perf_counter()
        options = TrainOptions(base="baseline", classes=list(TRAM_CLASSES), validation_fraction=0.15,
                               test_fraction=0.0)
        trained = train_model(store.examples(), options, settings, settings.models_dir / "latency-baseline",
                              store=store)
        model_id = store.add_model("latency benchmark: TF-IDF on TRAM's 50", "baseline", str(trained.model_dir),
                                   "baseline", list(trained.classes), dict(trained.thresholds),
                                   dict(trained.metrics), {})
        store.promote_model(model_id)
        run_prediction(store, settings, model_id, result.outcomes[0].report_id)
        model_s = time.perf_counter() - started
    counts = store.corpus_counts()
    print(f"stored: {counts['reports']} reports, {counts['sentences']:,} sentences "
          f"({counts['unlabelled']:,} unlabelled); import {import_s:.1f} s"
          + (f", TF-IDF model + suggestions {model_s:.1f} s" if with_model else ", no model"))
    return home, result.outcomes[0].report_id, import_s, model_s


def expected_texts(home: Path, report_id: int) -> list[str]:
    from tram_core.store import Store

    store = Store(f"sqlite:///{home / 'tram.sqlite3'}")
    return [" ".join(s.text.split()) for s in store.annotation_report_sentences(report_id)]


def measure_presses(page, key: str, texts: list[str], start: int, steps: int) -> list[float]:
    """Press ``key`` ``steps`` times from sentence ``start``; ms from key down to the next sentence's text shown."""
    timings = []
    for i in range(start, start + steps):
        assert page.evaluate(CURRENT_TEXT_JS) == texts[i], f"expected sentence {i} on screen"
        page.evaluate("() => { window.__t0 = performance.now(); }")
        page.keyboard.press(key)
        page.wait_for_function(
            """(want) => { const el = document.querySelector('.st-key-ann_current strong');
                           if (!el || el.textContent.replace(/\\s+/g, ' ').trim() !== want) return false;
                           window.__t1 = performance.now(); return true; }""",
            arg=texts[i + 1], polling="raf", timeout=15_000,
        )
        timings.append(page.evaluate("() => window.__t1 - window.__t0"))
        wait_for_app(page)
    return timings


def summarise(name: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    print(f"{name}: n={len(ordered)} median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms, "
          f"max {ordered[-1]:.0f} ms (target p95 < 300 ms: {'met' if p95 < 300 else 'NOT met'}; "
          f"p95/target {p95 / 300:.2f})")


def timed_load(page, url: str, ready_selector: str) -> float:
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(ready_selector)
    wait_for_app(page)
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--no-model", action="store_true", help="skip the model (no suggestions shown)")
    parser.add_argument("--shots", type=Path, default=None, help="save screenshots of each page into this folder")
    args = parser.parse_args()
    if not (args.data / "tram2" / "mjson").is_dir():
        print(f"real TRAM data not found at {args.data}", file=sys.stderr)
        return 2
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 2

    home, report_id, _, _ = prepare_home(args.data, with_model=not args.no_model)
    texts = expected_texts(home, report_id)
    if len(texts) < 2 * args.steps + 2:
        print(f"the report has {len(texts)} sentences; use fewer --steps", file=sys.stderr)
        return 2
    shots = args.shots
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    with streamlit_server(home, extra_env={"TRAM_WORKER_AUTOSTART": "0"}) as url, chromium_page() as page:
        cold_reports = timed_load(page, f"{url}/reports", '[data-testid="stDataFrame"]')
        warm_reports = timed_load(page, f"{url}/reports", '[data-testid="stDataFrame"]')
        if shots:
            page.screenshot(path=str(shots / "reports.png"), full_page=True)
        cold_annotate = timed_load(page, f"{url}/annotate?report={report_id}", ".st-key-ann_current strong")
        if shots:
            page.screenshot(path=str(shots / "annotate.png"), full_page=True)
        page.locator("h1").first.click()  # keyboard focus on the page, not in an input
        save_next = measure_presses(page, "s", texts, 0, args.steps)
        no_technique = measure_presses(page, "n", texts, args.steps, args.steps)
        if shots:
            page.screenshot(path=str(shots / "annotate-after.png"), full_page=True)
        evaluate = timed_load(page, f"{url}/evaluate", "h1")
        if shots:
            page.screenshot(path=str(shots / "evaluate.png"), full_page=True)

    from tram_core.store import Store

    store = Store(f"sqlite:///{home / 'tram.sqlite3'}")
    written = [s for s in store.annotation_report_sentences(report_id)[: 2 * args.steps] if s.status != "unlabelled"]
    print(f"annotated report {report_id}: {len(texts)} sentences; {len(written)} of {2 * args.steps} steps stored an "
          f"answer ({sum(1 for s in written if s.labels)} with techniques)")
    summarise("save & next (S)", save_next)
    summarise("no technique & next (N)", no_technique)
    summarise("all save-and-next steps", save_next + no_technique)
    print(f"page loads: Reports {cold_reports:.0f} ms cold / {warm_reports:.0f} ms warm, "
          f"Annotate {cold_annotate:.0f} ms, Evaluate {evaluate:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
