"""How a claimed job ends: a failure is one readable line in its row, with a hint or a log, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine_helpers import fill_store
from tram_core.jobs import queue
from tram_core.jobs.worker import run_worker


@pytest.fixture
def filled(store):
    fill_store(store)
    return store


def test_out_of_memory_fails_the_job_with_a_hint_not_a_traceback(filled, settings, monkeypatch):
    import torch

    from tram_core.ml import training

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(training, "train_model", out_of_memory)
    job_id = queue.submit_training(filled, {"base": "embedded", "batch_size": 64, "max_length": 256}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    job = filled.get_job(job_id)
    assert job.status == "failed"
    assert job.message.startswith("out of memory on ")
    assert "smaller batch size (now 64)" in job.message and "shorter max length (now 256)" in job.message
    assert "Traceback" not in job.message


def test_an_unexpected_error_is_one_line_with_the_traceback_in_a_log(filled, settings, monkeypatch):
    from tram_core.ml import training

    def broken(*args, **kwargs):
        raise ValueError("shapes (3,) and (4,)\nnot aligned")

    monkeypatch.setattr(training, "train_model", broken)
    job_id = queue.submit_training(filled, {"base": "baseline"}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    job = filled.get_job(job_id)
    log = Path(settings.home) / "logs" / f"job-{job_id}.log"
    assert job.status == "failed" and "\n" not in job.message
    assert job.message.startswith("ValueError: shapes (3,) and (4,) not aligned") and str(log) in job.message
    assert "Traceback" in log.read_text() and "broken" in log.read_text()
