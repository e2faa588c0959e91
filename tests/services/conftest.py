"""The services against a real SQLite store in a temporary TRAM_HOME: one context per test, no worker started."""

from __future__ import annotations

import pytest

from tram_core.services.common import Context


@pytest.fixture
def ctx(settings, store, catalog, monkeypatch) -> Context:
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")  # an action that queues a job must not spawn a worker here
    return Context(settings, store, catalog)
