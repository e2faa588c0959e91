"""One pass over the main flows in a real browser: import, annotate by keyboard and picker, train, evaluate."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, wait_for
from tests.e2e.harness import chromium_page, require_browser, streamlit_server, wait_for_app

pytestmark = pytest.mark.slow  # a real Streamlit server and Chromium

ARTIFACTS = Path(os.environ.get("TRAM_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))
CURRENT = ".st-key-ann_current strong"
MJSON = ["AA20258A_Chinese_Ministry_of_State_SecurityAffiliated_Cyber_Threat_Actor_Activity.mjson",
         "AA20336A_Advanced_Persistent_Threat_Actors_Targeting_US_Think_Tanks.mjson",
         "3CXDesktopApp_Backdoored_in_a_Suspected_Lazarus_Campaign_.mjson"]


@pytest.fixture
def browser_ready():
    require_browser()


def _stop_workers(home: Path) -> None:
    """Stop any worker the app started for this TRAM_HOME (it runs in its own session)."""
    out = subprocess.run(["pgrep", "-f", "tram_core worker"], capture_output=True, text=True).stdout.split()
    for pid in out:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if f"TRAM_HOME={home}".encode() in environ:
            os.kill(int(pid), signal.SIGTERM)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _wait_for_current(page, text: str) -> None:
    """Wait until Annotate shows ``text`` as the current sentence and has finished its rerun."""
    page.wait_for_function(
        "(want) => { const el = document.querySelector('.st-key-ann_current strong');"
        " return el && el.textContent.replace(/\\u2060/g, '').replace(/\\s+/g, ' ').trim() === want; }",
        arg=text, timeout=60_000)
    wait_for_app(page)


def _pick_option(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).locator("input").first.click()
    page.get_by_role("option", name=option).first.click()
    wait_for_app(page)


def test_import_annotate_train_evaluate(browser_ready, shared_data, tmp_path, tiny_bert_dir):
    from tram_core.store import JOB_DONE, LABELLED, Store

    home = tmp_path / "home"
    home.mkdir()
    files = [str(shared_data / "reports" / "AA20-302A.pdf")] + [str(shared_data / "tram2" / "mjson" / m) for m in MJSON]
    env = {"TRAM_STALE_AFTER_S": "60", "TRAM_THREADS": "1"}
    try:
        with streamlit_server(home, extra_env=env) as url, chromium_page() as page:
            # Reports: an empty database says what to do first; then upload a real PDF and three MAT reports.
            page.goto(f"{url}/reports")
            wait_for_app(page)
            page.get_by_text("No reports yet").wait_for()
            page.locator('input[type="file"]').set_input_files(files)
            page.get_by_role("button", name="Import files").click()
            page.get_by_text("report(s) imported").wait_for(timeout=120_000)
            wait_for_app(page)
            _shot(page, "1-reports")
            store = Store(f"sqlite:///{home / 'tram.sqlite3'}")
            reports = {r.title: r for r in store.list_reports()}
            assert len(reports) == 4
            pdf = next(r for r in reports.values() if "AA20-302A" in r.source or "Ransomware" in r.title)
            assert pdf.sentences > 100 and pdf.labelled == 0

            # Annotate: the picker adds a technique, S saves and moves on, N answers "no technique".
            sentences = store.sentences(pdf.id)
            page.goto(f"{url}/annotate?report={pdf.id}&sentence={sentences[0].id}")
            page.wait_for_selector(CURRENT)
            wait_for_app(page)
            assert " ".join(page.locator(CURRENT).inner_text().replace("\u2060", "").split()) == sentences[0].text
            # The picker searches ID, name and description: words of the name find the technique.
            page.get_by_label("Add a technique").fill("spearphishing attachment")
            page.keyboard.press("Enter")
            wait_for_app(page)
            page.locator(".st-key-ann_add_T1566-001 button").click()
            wait_for_app(page)
            page.get_by_text("T1566.001: ").first.wait_for()
            page.locator("h1").first.click()
            page.keyboard.press("s")
            _wait_for_current(page, sentences[1].text)
            first = wait_for(lambda: (s := store.get_sentence(sentences[0].id)).status == LABELLED and s, 30, 0.5,
                          "the first sentence to be saved")
            assert first.labels == ("T1566.001",) and first.updated_by == "e2e-analyst"
            page.locator("h1").first.click()
            page.keyboard.press("n")
            _wait_for_current(page, sentences[2].text)
            second = wait_for(lambda: (s := store.get_sentence(sentences[1].id)).status == LABELLED and s, 30, 0.5,
                           "the second sentence to be answered")
            assert second.labels == ()
            _shot(page, "2-annotate")

            # Report text never becomes a link: the PDF's first web address, as the current sentence and as context.
            with_url = next(s for s in sentences if "www." in s.text)
            host = re.search(r"www\.([\w-]+\.[\w.-]+)", with_url.text).group(1).rstrip(".")
            page.goto(f"{url}/annotate?report={pdf.id}&sentence={with_url.id}")
            page.wait_for_selector(CURRENT)
            wait_for_app(page)
            assert host in page.locator(CURRENT).inner_text()
            assert page.locator(f"[data-testid='stMain'] a[href*='{host}']").count() == 0

            # Train: a tiny local model, one epoch; the progress panel follows the job to done.
            page.goto(f"{url}/train")
            wait_for_app(page)
            _pick_option(page, "Base model", "A model folder on this server…")
            page.get_by_role("textbox", name="Model folder on the server").fill(str(tiny_bert_dir))
            page.keyboard.press("Enter")
            wait_for_app(page)
            page.get_by_label("Minimum labelled sentences per technique").fill("2")
            page.keyboard.press("Enter")
            wait_for_app(page)
            # Wait for the redraw after the base model change to settle (the old form's inputs are gone).
            page.wait_for_function("() => document.querySelectorAll('input[aria-label=\"epochs\"]').length === 1")
            epochs = page.get_by_label("epochs", exact=True)
            epochs.fill("1")
            page.keyboard.press("Enter")
            wait_for_app(page)
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("is queued").wait_for()
            job = wait_for(lambda: (js := store.list_jobs(limit=1, kind="train")) and js[0], 10, 0.5, "a queued job")
            assert job.params, "the job records its options"
            # The live panel (polling the database) shows the run's progress bar, then the finished run at 100%.
            page.locator('[data-testid="stProgress"]').first.wait_for(timeout=120_000)
            _shot(page, "3-train-running")
            page.get_by_text(f"Run {job.id}: done").wait_for(timeout=240_000)
            done = store.get_job(job.id)
            assert done.status == JOB_DONE, done.message
            # The page redraws when the run ends: the promote list now offers the new model first.
            # The finished line can show before that redraw lands; a list opened in between is redrawn closed, so
            # open it again until the new model is offered (30 s at most).
            from playwright.sync_api import TimeoutError as PlaywrightTimeout

            promote = page.locator('[data-testid="stSelectbox"]').filter(has_text="Model to promote")
            offered = page.get_by_role("option", name=f"#{done.model_id} ").first
            deadline = time.monotonic() + 30
            while True:
                wait_for_app(page)
                promote.locator("input").first.click()
                try:
                    offered.wait_for(timeout=3_000)
                    break
                except PlaywrightTimeout:
                    page.keyboard.press("Escape")
                    if time.monotonic() > deadline:
                        raise
            page.keyboard.press("Escape")
            wait_for_app(page)
            _shot(page, "3-train-done")

            # Evaluate: headline scores and the Altair charts of the new model.
            page.goto(f"{url}/evaluate?model={done.model_id}")
            wait_for_app(page)
            page.get_by_text("micro f1").first.wait_for()
            page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=30_000)
            assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1
            assert "Traceback" not in page.content()
            _shot(page, "4-evaluate")

            # Reports: the report's techniques, labelled ones listed, and what the new model has to say about it.
            page.goto(f"{url}/reports")
            wait_for_app(page)
            page.get_by_text("Techniques in this report").wait_for()
            page.get_by_text("has no suggestions for this report yet").or_(page.get_by_text("has suggestions for")) \
                .first.wait_for()
            assert "Traceback" not in page.content()
            _shot(page, "5-report-techniques")
    finally:
        _stop_workers(home)
