"""Double annotation in a real browser, with local team accounts: two annotators answer the same sentence, each
without seeing the other's answer; a maintainer sees both side by side on the Agreement page and decides; the
decision becomes the sentence's label with both originals kept in its history."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.conftest import wait_for
from tests.e2e.harness import chromium_page, require_browser, streamlit_server, wait_for_app
from tests.views.test_annotation import TEXTS, add_report
from tram_core import accounts
from tram_core.access import ADMIN, ANNOTATOR, MAINTAINER, Actor
from tram_core.store import REVIEWED
from tram_core.views import double_annotation as dbl

pytestmark = pytest.mark.slow  # a real Streamlit server and Chromium

OPERATOR = Actor("operator", ADMIN)
PASSWORD = "correct horse battery"
TEAM_ENV = {"TRAM_WORKER_AUTOSTART": "0", "TRAM_AUTH": "local"}
CURRENT = ".st-key-ann_current strong"


@pytest.fixture
def browser_ready():
    require_browser()


def _text(locator) -> str:
    return " ".join(locator.inner_text().replace("\u2060", "").split())


def _main(page) -> str:
    return _text(page.locator('[data-testid="stMain"]'))


def _wait_for_main(page, text: str) -> None:
    """Wait until the main area says ``text`` (read without the invisible joiners that stop autolinks)."""
    page.wait_for_function(
        "(want) => { const main = document.querySelector('[data-testid=\"stMain\"]');"
        " return main && main.innerText.replace(/\\u2060/g, '').replace(/\\s+/g, ' ').includes(want); }",
        arg=text, timeout=30_000)


@contextmanager
def _user_page(first_page, url: str, name: str, shots, label: str):
    """A fresh browser context (its own Streamlit session) signed in as ``name``; a screenshot on failure."""
    context = first_page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(url)
        wait_for_app(page)
        page.get_by_role("textbox", name="Name").fill(name)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_function(
            "(want) => { const bar = document.querySelector('[data-testid=\"stSidebar\"]');"
            " return bar && bar.innerText.replace(/\\u2060/g, '').includes(want); }",
            arg=f"Signed in as {name}", timeout=30_000)
        wait_for_app(page)
        yield page
    except BaseException:
        try:
            page.screenshot(path=str(shots / f"{label}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - the screenshot is a help, never the failure
            pass
        raise
    finally:
        context.close()


def _open_annotate(page, text: str) -> None:
    """Annotate through the app's navigation (the sign-in lives in the tab's session); wait for ``text``."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Annotate").click()
    page.wait_for_function(
        "(want) => { const el = document.querySelector('.st-key-ann_current strong');"
        " return el && el.textContent.replace(/\\u2060/g, '').replace(/\\s+/g, ' ').trim() === want; }",
        arg=text, timeout=30_000)
    wait_for_app(page)


def _add_and_save(page, technique: str) -> None:
    page.get_by_label("Add a technique").fill(technique)
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.locator(f".st-key-ann_add_{technique.replace('.', '-')} button").click()
    wait_for_app(page)
    page.get_by_role("button", name="Save & next").click()


def test_two_annotators_answer_blind_and_a_maintainer_adjudicates(browser_ready, tram_home, store, tmp_path):
    report_id, ids = add_report(store)
    for name, role in (("ann", ANNOTATOR), ("bo", ANNOTATOR), ("mia", MAINTAINER)):
        accounts.add_user(store, OPERATOR, name, role, PASSWORD)
    dbl.set_share(store, "mia", 100, report_id, ["ann", "bo"], team=True)
    first = ids[0]

    with streamlit_server(tram_home, extra_env=TEAM_ENV) as url, chromium_page() as browser_page:
        # ann answers the first sentence: T1055; she is told the other answer stays hidden.
        with _user_page(browser_page, url, "ann", tmp_path, "ann") as page:
            _open_annotate(page, TEXTS[0])
            _wait_for_main(page, "Double annotation by ann and bo: two annotators label this sentence independently")
            _add_and_save(page, "T1055")
            _wait_for_main(page, f"Saved your independent answer on sentence {first}: T1055. "
                                 "The other answer stays hidden until both have answered.")
            wait_for(lambda: [a.labels for a in store.independent_answers([first]).get(first, ())] == [("T1055",)],
                     30, 0.2, "ann's answer to be stored")

        # bo, in his own session, opens the same sentence: nothing of ann's answer shows.
        with _user_page(browser_page, url, "bo", tmp_path, "bo") as page:
            _open_annotate(page, TEXTS[0])
            _wait_for_main(page, "another annotator has answered this sentence. Their answer stays hidden until you "
                                 "have answered too.")
            main = _main(page)
            assert "Not answered yet." in main
            assert "ann:" not in main and "ann (" not in main  # neither her answer ...
            assert "T1055" not in main  # ... nor her technique anywhere on the page
            _add_and_save(page, "T1059")
            _wait_for_main(page, f"Saved your independent answer on sentence {first}: T1059.")
            _wait_for_main(page, "both answered and differ (ann: T1055; bo: T1059)")
            wait_for(lambda: len(store.independent_answers([first]).get(first, ())) == 2, 30, 0.2,
                     "bo's answer to be stored")
        assert store.get_sentence(first).labels == ("T1055",)  # the first answer is the label until decided

        # mia sees both answers side by side on the Agreement page and takes bo's.
        with _user_page(browser_page, url, "mia", tmp_path, "mia") as page:
            page.locator('[data-testid="stSidebarNav"]').get_by_text("Agreement").click()
            page.get_by_role("tab", name="Adjudication").click()
            _wait_for_main(page, "1 sentence(s) whose two answers differ")
            wait_for_app(page)
            row = page.locator('[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]') \
                .filter(has_text=TEXTS[0]).filter(has_text="Take bo's answer").last
            shown = _text(row)
            assert "ann (first): T1055" in shown and "bo (second): T1059" in shown, shown
            page.get_by_role("button", name="Take bo's answer").click()
            _wait_for_main(page, f"Adjudicated sentence {first}: T1059")
            _wait_for_main(page, "0 sentence(s) whose two answers differ")

    decided = store.get_sentence(first)
    assert decided.labels == ("T1059",) and decided.status == REVIEWED and decided.updated_by == "mia"
    history = store.label_history(first)
    assert [(e.action, e.user, e.after_labels) for e in history] == [
        ("adjudicate", "mia", ("T1059",)), ("second-answer", "bo", ("T1059",)), ("first-answer", "ann", ("T1055",))]
    record = store.adjudications()[first]
    assert (record.first_labels, record.second_labels, record.choice) == (("T1055",), ("T1059",), "second")
