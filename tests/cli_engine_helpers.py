"""Fixtures for the engine command tests: a filled store, a trained quick model, and running a command in-process."""

from __future__ import annotations

import pytest

from tests.engine_helpers import fill_store
from tram_core import jobs
from tram_core.cli import main
from tram_core.worker import run_worker


@pytest.fixture
def filled(store):
    fill_store(store)
    return store


@pytest.fixture
def baseline_model(filled, settings) -> int:
    job_id = jobs.submit_training(filled, {"base": "baseline", "min_count": 2}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    return filled.get_job(job_id).model_id


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["--user", "ana", *argv])
    out, err = capsys.readouterr()
    return code, out, err
