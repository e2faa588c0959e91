"""The pages at the widths a team's screens have (1280, 1400 and 1920 px), in Debian's chromium: on Annotate every
filter control is on screen and clickable (nothing covers it) and the "Suggestions from" picker shows the whole
model name; on Train the runs table shows "cancelled" in full; no page offers a "Deploy" button."""

from __future__ import annotations

import re

import pytest

from tests.e2e.harness import chromium_page, require_browser, streamlit_server, wait_for_app

pytestmark = pytest.mark.slow  # a real Streamlit server and Chromium

WIDTHS = (1280, 1400, 1920)
HEIGHT = 900
FILTERS = {  # label -> the widget's key (Streamlit marks its container with st-key-<key>)
    "Status": "ann_status", "Order": "ann_order", "Has suggestions": "ann_has_sugg", "Technique": "ann_tech",
    "Text contains": "ann_search"}

# Where a control is and whether the user sees all of it: inside the window and inside every ancestor that clips
# (a column cuts what sticks out of it, even where a script could scroll it back), the control itself at its left
# edge, middle and right edge (nothing lies over it), and no text of it cut short ("Has sugg...").
ON_SCREEN_JS = """
(el) => {
  const r = el.getBoundingClientRect();
  const inside = (a) => r.x >= a.x - 1 && r.right <= a.right + 1 && r.y >= a.y - 1 && r.bottom <= a.bottom + 1;
  let clippedBy = null;
  for (let p = el.parentElement; p && !clippedBy; p = p.parentElement) {
    const s = getComputedStyle(p);
    if ((s.overflowX !== 'visible' || s.overflowY !== 'visible') && !inside(p.getBoundingClientRect())) {
      clippedBy = p.getAttribute('data-testid') || p.tagName;
    }
  }
  const mid = r.y + r.height / 2;
  const covered = [r.x + 3, r.x + r.width / 2, r.right - 3].filter((x) => {
    const hit = document.elementFromPoint(x, mid); return !(hit && (hit === el || el.contains(hit))); }).length;
  const cutText = [el, ...el.querySelectorAll('*')].filter((e) => e.tagName !== 'INPUT' && e.clientWidth > 2
    && e.textContent.trim() && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
    .length;
  return {box: [Math.round(r.x), Math.round(r.y), Math.round(r.right), Math.round(r.bottom)],
          inWindow: r.width > 0 && inside({x: 0, y: 0, right: innerWidth, bottom: innerHeight}),
          clippedBy, covered, cutText};
}
"""
# The filter bar's expander has finished opening: its box no longer grows.
OPENED_JS = """
() => { const d = document.querySelector('[data-testid="stExpander"] details');
        if (!d || !d.open) return false; const h = d.getBoundingClientRect().height;
        const same = window.__lastHeight === h; window.__lastHeight = h; return same && h > 60; }
"""
# Is the text of an input wider than the room the input gives it (the browser clips it: the user sees part)?
# Measured with the input's own font; ``text`` is the part that must show (the model's id and name).
TEXT_FITS_JS = """
([el, text]) => { const style = getComputedStyle(el); const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return {needed: ctx.measureText(text).width, room: room}; }
"""
# The runs table is drawn on a canvas: its column borders are the border-coloured pixels of the header's top row,
# and a cell's text is cut when the text (in the grid's font, after its padding) is wider than the column.
COLUMN_FITS_JS = """
([grid, column, text]) => {
  const canvas = grid.querySelector('canvas[data-testid="data-grid-canvas"]');
  const style = getComputedStyle(grid.querySelector('.stDataFrameGlideDataEditor'));
  const border = style.getPropertyValue('--gdg-border-color').trim();
  const probe = document.createElement('canvas').getContext('2d');
  probe.fillStyle = border; probe.fillRect(0, 0, 1, 1); const want = probe.getImageData(0, 0, 1, 1).data;
  const scale = canvas.width / canvas.getBoundingClientRect().width;
  const row = canvas.getContext('2d').getImageData(0, Math.round(4 * scale), canvas.width, 1).data;
  const edges = [0];
  for (let x = 1; x < canvas.width; x++) {
    const d = Math.abs(row[4 * x] - want[0]) + Math.abs(row[4 * x + 1] - want[1]) + Math.abs(row[4 * x + 2] - want[2]);
    if (d < 12 && x - edges[edges.length - 1] > 3) edges.push(x);
  }
  const pad = parseFloat(style.getPropertyValue('--gdg-cell-horizontal-padding')) || 8;
  probe.font = `${style.getPropertyValue('--gdg-base-font-style')} ${style.getPropertyValue('--gdg-font-family')}`;
  return {width: (edges[column + 1] - edges[column]) / scale, needed: probe.measureText(text).width + 2 * pad,
          edges: edges.length}; }
"""


@pytest.fixture
def browser_ready():
    require_browser()


@pytest.fixture
def team_home(tram_home, store, settings):
    """A first-hour store: four labelled reports, the quick model (promoted, with suggestions, named as the worker
    names it), a finished training run, a cancelled one and a failed one."""
    from tests.engine_helpers import fill_store
    from tram_core.jobs import queue
    from tram_core.jobs.quick_model import retrain_quick_model
    from tram_core.jobs.runner import run_job
    from tram_core.store import JOB_CANCELLED, JOB_DONE, JOB_FAILED

    fill_store(store, reports=4, per_technique=4)
    quick = retrain_quick_model(store, settings)
    store.promote_model(quick)
    done = queue.submit_training(store, {"base": "baseline", "min_count": 2, "seed": 13}, "ana")
    assert run_job(store, settings, store.claim_job(done, "test-worker", "cpu")) == JOB_DONE
    for status, message in ((JOB_CANCELLED, "cancelled by ana"), (JOB_FAILED, "out of memory")):
        job = queue.submit_training(store, {"base": "baseline", "min_count": 2}, "ana")
        store.claim_job(job, "test-worker", "cpu")
        store.finish_job(job, status, message)
    return tram_home, store.get_model(quick)


def _no_deploy_button(page, width: int, where: str) -> list[str]:
    """The toolbar offers viewer options only (client.toolbarMode = "viewer"): no "Deploy"."""
    found = page.locator('[data-testid="stAppDeployButton"]').or_(page.get_by_role("button", name="Deploy")).count()
    return [f"{width}px {where}: a Deploy button is offered"] if found else []


def _check_filters(page, width: int) -> list[str]:
    """What is wrong with the filter bar at this width (nothing: an empty list). The geometry is read for every
    control before any trial click, as Playwright scrolls a control into view before it clicks."""
    page.get_by_text("Filters and order").first.click()
    wait_for_app(page)
    page.wait_for_function(OPENED_JS, timeout=10_000)
    page.locator(".st-key-ann_search").scroll_into_view_if_needed()  # the bar's second row: all of it in the window
    problems, controls = [], []
    for label, key in FILTERS.items():
        found = page.locator(f".st-key-{key}").locator(
            "button, input[type=text], input[role=combobox], label:has(input[type=checkbox])")
        if not found.count():
            problems.append(f"{width}px {label}: no control found")
        controls += [(f"{width}px {label} #{i + 1}", found.nth(i)) for i in range(found.count())]
    for name, control in controls:
        seen = control.evaluate(ON_SCREEN_JS)
        if not seen["inWindow"]:
            problems.append(f"{name}: outside the window, at {seen['box']}")
        if seen["clippedBy"]:
            problems.append(f"{name}: cut off by its {seen['clippedBy']}, at {seen['box']}")
        if seen["covered"]:
            problems.append(f"{name}: something lies over it at {seen['covered']} of 3 points")
        if seen["cutText"]:
            problems.append(f"{name}: its text is cut short")
    for name, control in controls:
        try:
            control.click(trial=True, timeout=3_000)  # Playwright's own checks: visible, stable, gets the click
        except Exception as exc:  # noqa: BLE001 - a line per control in the failure message
            problems.append(f"{name}: not clickable ({str(exc).splitlines()[0]})")
    return problems


def _check_model_picker(page, width: int, model) -> list[str]:
    picker = page.locator(".st-key-ann_model_pick input[role=combobox]")
    shown = picker.input_value()
    name = f"#{model.id} {model.name}"
    if not shown.startswith(name):
        return [f"{width}px: the picker shows {shown!r}, not model {name!r}"]
    fit = page.evaluate(TEXT_FITS_JS, [picker.element_handle(), name])
    return [] if fit["needed"] <= fit["room"] else [
        f"{width}px: the picker cuts the model name ({fit['needed']:.0f} px of text in {fit['room']:.0f} px)"]


def _status_header(page):
    """The runs table's "status" column header in the grid's accessibility table (hidden: the grid is a canvas)."""
    return page.locator('th[role="columnheader"]').filter(has_text=re.compile(r"^\s*status\s*$"))


def _check_runs_table(page, width: int) -> list[str]:
    grid = page.locator('[data-testid="stDataFrame"]').filter(has=_status_header(page))
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # the canvas is drawn a frame after the grid appears
    headers = [h.strip() for h in grid.locator('th[role="columnheader"]').all_text_contents()]
    column = headers.index("status")
    fit = page.evaluate(COLUMN_FITS_JS, [grid.element_handle(), column, "cancelled"])
    if fit["edges"] < 3:
        return [f"{width}px: could not find the runs table's column borders ({fit})"]
    return [] if fit["needed"] <= fit["width"] + 0.5 else [
        f"{width}px: the status column is {fit['width']:.0f} px; 'cancelled' needs {fit['needed']:.0f} px"]


def test_the_pages_fit_common_screen_widths(browser_ready, team_home):
    home, quick = team_home
    problems: list[str] = []
    with streamlit_server(home, extra_env={"TRAM_WORKER_AUTOSTART": "0"}) as url, \
            chromium_page((WIDTHS[0], HEIGHT)) as page:
        elsewhere: list[str] = []  # the app works offline: the page asks nothing of another host (icons included)
        page.on("request", lambda request: None if request.url.startswith((url, "data:", "blob:"))
                else elsewhere.append(request.url))
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            page.goto(f"{url}/annotate")
            wait_for_app(page)
            page.locator(".st-key-ann_model_pick input").wait_for()
            problems += _no_deploy_button(page, width, "Annotate")
            problems += _check_model_picker(page, width, quick)
            problems += _check_filters(page, width)
            page.goto(f"{url}/train")
            wait_for_app(page)
            _status_header(page).first.wait_for(state="attached")
            problems += _no_deploy_button(page, width, "Train")
            problems += _check_runs_table(page, width)
        problems += [f"a request left the server: {address}" for address in sorted(set(elsewhere))]
    assert not problems, "\n".join(problems)
