"""Annotate page latency in a real browser with TRAM's 121 reports stored: save-and-next, Reports and Evaluate loads.

Usage: python benchmarks/annotate_latency.py [--data ../shared/data] [--steps 50] [--no-model] [--shots DIR]

1. Imports the 121 MAT .mjson reports (about 28,000 sentences) and one real unlabelled report (the CISA PDF)
   through the importer into a fresh TRAM_HOME; unless --no-model, trains the TF-IDF baseline on TRAM's 50 classes
   (training.train_model), promotes it and stores its suggestions for the new report (predict.run_prediction).
2. Starts the real Streamlit server (no worker: TRAM_WORKER_AUTOSTART=0, so nothing else competes for the CPU) and
   drives it with Playwright in Debian's chromium (/usr/bin/chromium; never a downloaded browser).
3. Opens Annotate on the PDF report and measures, in the page's own clock, the time from a key press to the next
   sentence's text being shown: --steps presses of S (Save & next, keeping the pre-ticked suggestions) and
   --steps presses of N (No technique, then next: always a write). Prints median and p95 (target p95 < 300 ms),
   and per step: the server's and the browser's CPU time, the WebSocket messages until the sentence shows.
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

# Logs, in the page's clock, when each WebSocket message to and from the server passes, so a step splits into
# "server" (first message sent to the last one received: network, callback, script run) and "browser" (drawing).
WS_LOG_JS = """
(() => { const Native = window.WebSocket; window.__ws = [];
  window.WebSocket = function (...args) { const ws = new Native(...args);
    const send = ws.send.bind(ws);
    ws.send = (data) => { window.__ws.push([performance.now(), 'out']); return send(data); };
    ws.addEventListener('message', () => window.__ws.push([performance.now(), 'in']));
    return ws; };
  window.WebSocket.prototype = Native.prototype; Object.assign(window.WebSocket, Native); })();
"""
SPLIT_JS = """
([t0, t1]) => { const log = window.__ws.filter(([t]) => t >= t0 && t <= t1);
  const out = log.find(([, d]) => d === 'out'); const ins = log.filter(([, d]) => d === 'in');
  if (!out || !ins.length) return null;
  return [ins[ins.length - 1][0] - out[0], t1 - ins[ins.length - 1][0], ins.length]; }
"""
CURRENT_TEXT_JS = """
() => { const el = document.querySelector('.st-key-ann_current strong');
        return el ? el.textContent.replace(/\\u2060/g, '').replace(/\\s+/g, ' ').trim() : null; }
"""


def prepare_home(data: Path, with_model: bool) -> tuple[Path, int, float, float]:
    """A TRAM_HOME with the corpus and the PDF report; returns (home, pdf report id, import s, model s)."""
    home = Path(tempfile.mkdtemp(prefix="tram-latency-")) / "home"
    os.environ["TRAM_HOME"] = str(home)
    os.environ.pop("TRAM_DATABASE_URL", None)
    from tram_core.io import importer
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
        from tram_core.ml.predict import run_prediction
        from tram_core.ml.training import TrainOptions, train_model

        started = time.perf_counter()
        options = TrainOptions(base="baseline", classes=list(TRAM_CLASSES), validation_fraction=0.15,
                               test_fraction=0.0)
        trained = train_model(store.examples(), options, settings, settings.models_dir / "latency-baseline",
                              store=store)
        model_id = store.add_model("latency benchmark: TF-IDF on TRAM's 50", "baseline", str(trained.model_dir),
                                   "baseline", list(trained.classes), trained.thresholds.to_json(),
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


def expected_ids(home: Path, report_id: int) -> list[int]:
    from tram_core.store import Store

    return [s.id for s in Store(f"sqlite:///{home / 'tram.sqlite3'}").annotation_report_sentences(report_id)]


def measure_presses(page, key: str, texts: list[str], start: int, steps: int, splits: list | None = None
                    ) -> tuple[list[float], list[str]]:
    """Press ``key`` ``steps`` times from sentence ``start``; ms from key down to the next sentence's text shown.

    Returns the timings and a note for each step whose next sentence did not show within 15 s (left out);
    appends (server ms, browser ms) per step to ``splits``.
    """
    timings, misses = [], []
    splits = [] if splits is None else splits
    time.sleep(2)  # a key pressed in the first moments after a page (re)load can go unheard: let it settle
    for i in range(start, start + steps):
        try:
            for attempt in range(2):
                page.evaluate("() => { window.__t0 = performance.now(); }")
                page.keyboard.press(key)
                try:
                    page.wait_for_function(
                        """(want) => { const el = document.querySelector('.st-key-ann_current strong');
                                       if (!el || el.textContent.replace(/\\u2060/g, '').replace(/\\s+/g, ' ').trim() !== want) return false;
                                       window.__t1 = performance.now(); return true; }""",
                        arg=texts[i + 1], polling="raf", timeout=5_000 if attempt == 0 else 15_000,
                    )
                    break
                except Exception:  # noqa: BLE001
                    if attempt or page.evaluate(CURRENT_TEXT_JS) != texts[i]:
                        raise
                    misses.append(f"step {i}: key press unheard, pressed again")
            t0, t1 = page.evaluate("() => [window.__t0, window.__t1]")
            timings.append(t1 - t0)
            split = page.evaluate(SPLIT_JS, [t0, t1])
            if split:
                splits.append(split)
        except Exception:  # noqa: BLE001 - a miss is reported, not fatal
            misses.append(f"step {i}: expected {texts[i + 1][:60]!r}, shown {page.evaluate(CURRENT_TEXT_JS)!r:.80}")
        wait_for_app(page)
    return timings, misses


def summarise(name: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    print(f"{name}: n={len(ordered)} median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms, "
          f"max {ordered[-1]:.0f} ms (target p95 < 300 ms: {'met' if p95 < 300 else 'NOT met'}; "
          f"p95/target {p95 / 300:.2f})")


def server_pid(url: str) -> int | None:
    """The pid of the Streamlit server listening on ``url``'s port (found by its command line)."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(args) and port.encode() in args:
                return int(entry.name)
    return None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (Linux /proc), 0 when unknown."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The processes started (directly or not) by ``pid``: here, the browser Playwright launched."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (OSError, ValueError, IndexError):  # a process that ended meanwhile
            pass
    return total


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
    parser.add_argument("--home", type=Path, default=None,
                        help="reuse a TRAM_HOME an earlier run prepared (printed at its start), with --report")
    parser.add_argument("--report", type=int, default=None, help="the report to annotate in --home")
    args = parser.parse_args()
    if not (args.data / "tram2" / "mjson").is_dir():
        print(f"real TRAM data not found at {args.data}", file=sys.stderr)
        return 2
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 2

    if args.home:
        home, report_id = args.home, args.report
    else:
        home, report_id, _, _ = prepare_home(args.data, with_model=not args.no_model)
    print(f"TRAM_HOME {home}, report {report_id}")
    texts = expected_texts(home, report_id)
    if len(texts) < 2 * args.steps + 2 or args.home and report_id is None:
        print(f"the report has {len(texts)} sentences; use fewer --steps", file=sys.stderr)
        return 2
    shots = args.shots
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    with streamlit_server(home, extra_env={"TRAM_WORKER_AUTOSTART": "0"}) as url, chromium_page() as page:
        page.add_init_script(WS_LOG_JS)
        cold_reports = timed_load(page, f"{url}/", '[data-testid="stDataFrame"]')
        warm_reports = timed_load(page, f"{url}/", '[data-testid="stDataFrame"]')
        if shots:
            page.screenshot(path=str(shots / "reports.png"), full_page=True)
        first = expected_ids(home, report_id)[0]
        cold_annotate = timed_load(page, f"{url}/annotate?report={report_id}&sentence={first}",
                                   ".st-key-ann_current strong")
        if shots:
            page.screenshot(path=str(shots / "annotate.png"), full_page=True)
        page.locator("h1").first.click()  # keyboard focus on the page, not in an input
        splits: list = []
        pid = server_pid(url)
        cpu_before = cpu_seconds(pid)
        browser = [p for p in descendants(os.getpid()) if p != pid]
        browser_before = tree_cpu_seconds(browser)
        save_next, misses = measure_presses(page, "s", texts, 0, args.steps, splits)
        summarise("save & next (S)", save_next)
        no_technique, more = measure_presses(page, "n", texts, args.steps, args.steps, splits)
        summarise("no technique & next (N)", no_technique)
        server_cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / (2 * args.steps)
        browser_cpu_ms = (tree_cpu_seconds(browser) - browser_before) * 1000 / (2 * args.steps)
        print(f"  server CPU per step (all threads, independent of other load): {server_cpu_ms:.0f} ms"
              + ("" if pid else " (server process not found)")
              + f"; browser and driver CPU per step: {browser_cpu_ms:.0f} ms")
        if splits:
            server, drawing = [p[0] for p in splits], [p[1] for p in splits]
            print(f"  of which server round trip (key's message out to the last reply in): median "
                  f"{statistics.median(server):.0f} ms; browser drawing after it: median "
                  f"{statistics.median(drawing):.0f} ms; messages in until the sentence shows: median "
                  f"{statistics.median(p[2] for p in splits):.0f}")
        for note in misses + more:
            print("missed:", note)
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
    summarise("all save-and-next steps", save_next + no_technique)
    print(f"page loads: Reports {cold_reports:.0f} ms cold / {warm_reports:.0f} ms warm, "
          f"Annotate {cold_annotate:.0f} ms, Evaluate {evaluate:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
