"""Durations and one-line error messages as the status bar, the run history, job rows and the CLI show them."""

from __future__ import annotations

import math

import pytest

from tram_core.text_format import duration_text, error_line


@pytest.mark.parametrize("seconds, text", [
    (None, ""), (math.nan, ""), (-3.0, "0 s"), (0, "0 s"), (42.4, "42 s"), (59.6, "1 min 00 s"), (95, "1 min 35 s"),
    (3599, "59 min 59 s"), (3600, "1 h 00 min"), (7620, "2 h 07 min"), (90061, "25 h 01 min"),
])
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


def test_the_status_bar_and_the_run_history_say_a_duration_alike(store):
    from tram_core.jobs import queue
    from tram_core.views import run_history

    job_id = queue.submit_training(store, {"base": "baseline"}, "ana")
    store.claim_job(job_id, "w", "cpu")
    store.update_job_progress(job_id, step=1, total=10, eta_s=95.0)
    job = store.get_job(job_id)
    assert "about 1 min 35 s left" in queue.describe_job(job)
    assert run_history.run_progress(store, job).eta_text == "about 1 min 35 s left"


def test_error_line_is_one_line_cut_to_its_limit():
    assert error_line(ValueError("bad\n  value\tthere")) == "bad value there"
    assert error_line(KeyError()) == "KeyError"
    assert error_line(RuntimeError("x" * 400)) == "x" * 297 + "..."
    assert error_line(RuntimeError("x" * 50), limit=20) == "x" * 17 + "..."
