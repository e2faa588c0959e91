"""Start the real Streamlit server on 127.0.0.1 and drive Debian's chromium with Playwright (tests and benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("TRAM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(tram_home: Path, extra_env: dict[str, str] | None = None,
                     timeout_s: float = 60, secrets_file: Path | None = None) -> Iterator[str]:
    """Run ``streamlit run streamlit_app.py`` against ``tram_home``; yields the base URL and stops it after.

    ``secrets_file``: the ``secrets.toml`` the server reads (``--secrets.files``) instead of the usual places.
    """
    port = free_port()
    secrets_args = ["--secrets.files", str(secrets_file)] if secrets_file is not None else []
    env = {**os.environ, "TRAM_HOME": str(tram_home), "TRAM_USER": "e2e-analyst", **(extra_env or {})}
    env.pop("TRAM_DATABASE_URL", None)
    log = open(Path(tram_home).parent / f"streamlit-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", *secrets_args],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(f"streamlit did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def chromium_page(viewport=(1400, 1000)) -> Iterator[object]:
    """A Playwright page in Debian's headless chromium (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def wait_for_app(page, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit has finished running the page script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms,
    )


def require_browser(*extra: tuple[str, str]) -> None:
    """Skip (or, under TRAM_STRICT_TESTS, fail) a browser test without Debian's chromium, playwright, or the
    ``(module, package)`` pairs in ``extra``."""
    import importlib.util

    from tests.conftest import skip_or_fail

    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found: browser tests need Debian's chromium (apt-get install chromium)")
    for module, package in (("playwright", "playwright"), *extra):
        if importlib.util.find_spec(module) is None:
            skip_or_fail(f"{package} is not installed (pip install -r requirements-test.txt)")
