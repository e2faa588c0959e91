"""Fixtures for the command tests: a filled store and a trained quick model."""

from __future__ import annotations

import pytest

from tests.engine_helpers import fill_store
from tram_core.jobs import queue
from tram_core.jobs.worker import run_worker


@pytest.fixture
def filled(store):
    fill_store(store)
    return store


@pytest.fixture
def baseline_model(filled, settings) -> int:
    job_id = queue.submit_training(filled, {"base": "baseline", "min_count": 2}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    return filled.get_job(job_id).model_id
