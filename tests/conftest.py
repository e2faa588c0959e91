"""Shared fixtures: a real store (SQLite, and PostgreSQL where a test's folder runs on both) in a temporary TRAM_HOME,
the real data folder, strict-mode skips."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRAM_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
STRICT = os.environ.get("TRAM_STRICT_TESTS") == "1"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: starts real subprocesses (workers, the CLI, Streamlit and Chromium); -m 'not slow' is the fast inner loop")


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason`` on a user's machine; fail in CI (TRAM_STRICT_TESTS=1), where nothing may be skipped."""
    if STRICT:
        pytest.fail(f"{reason} (TRAM_STRICT_TESTS=1 turns this skip into a failure)")
    pytest.skip(reason)


def wait_for(condition, timeout: float = 120, poll: float = 0.05, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy (returned), or fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(autouse=True)
def restore_main_module():
    """Streamlit's script runner replaces ``sys.modules['__main__']`` with the page it ran and leaves it there; a
    later test that spawns processes would make each child re-run that page. Put the real one back after each test."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def shared_data() -> Path:
    """The real TRAM data folder (../shared/data)."""
    if not (SHARED_DATA / "tram2" / "mjson").is_dir():
        skip_or_fail(f"real TRAM data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def tram_home(tmp_path, monkeypatch) -> Path:
    """An empty TRAM_HOME for this test, with the environment pointing at it."""
    home = tmp_path / "tram_home"
    monkeypatch.setenv("TRAM_HOME", str(home))
    monkeypatch.delenv("TRAM_DATABASE_URL", raising=False)
    return home


# Tests in these folders/files run on SQLite and on PostgreSQL (a throwaway cluster, one per session).
BOTH_BACKENDS = ("tests/store/", "tests/jobs/test_queue.py", "tests/jobs/test_claims.py", "tests/services/",
                 "tests/io/test_importer.py")
BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc) -> None:
    if "store_url" not in metafunc.fixturenames:
        return
    relative = metafunc.definition.path.relative_to(REPO_ROOT).as_posix()
    if any(relative.startswith(prefix) for prefix in BOTH_BACKENDS):
        metafunc.parametrize("store_url", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's PostgreSQL cluster, started on first use; skip_or_fail where PostgreSQL is not installed."""
    from tests.pg_cluster import Cluster, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        skip_or_fail("PostgreSQL binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin; "
                     "apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        skip_or_fail("psycopg is not installed; pip install -r requirements.txt")
    cluster = Cluster(bin_dir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def store_url(request, tram_home, monkeypatch) -> str:
    """The database URL of this test: the TRAM_HOME SQLite file, or a fresh database in the session's PostgreSQL
    cluster (TRAM_DATABASE_URL points at it, so settings, services and worker processes use it too)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        tram_home.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{tram_home / 'tram.sqlite3'}"
        return
    cluster = request.getfixturevalue("pg_cluster")
    name = cluster.new_database()
    url = cluster.url(name)
    monkeypatch.setenv("TRAM_DATABASE_URL", url)
    yield url
    cluster.drop_database(name)


@pytest.fixture
def settings(tram_home, store_url):
    from tram_core.settings import load_settings

    return load_settings()


@pytest.fixture
def store(settings):
    from tram_core.store import Store

    return Store.from_settings(settings)


@pytest.fixture(scope="session")
def catalog():
    from tram_core.attack import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A tiny random BERT encoder in save_pretrained layout, with the embedded MiniLM's real WordPiece tokenizer."""
    from tests.engine_helpers import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
