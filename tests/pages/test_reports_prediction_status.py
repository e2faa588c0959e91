"""The Reports page (AppTest) tells "the model ran over this report and found nothing" from "it never ran over it",
from the finished prediction jobs in a real SQLite store."""

from __future__ import annotations

from tests.pages.test_reports_page import open_app  # noqa: F401 - the fixture
from tests.views.test_annotation import TEXTS, add_model, add_report
from tram_core.store import JOB_DONE


def _captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_a_run_that_found_nothing_no_longer_reads_like_no_run(open_app, store):  # noqa: F811
    report_id, _ = add_report(store, title="Quiet report", labels={0: ("T1566.001",)})  # the page opens on it
    _, other_ids = add_report(store, title="Other", texts=[t.replace("The", "A") for t in TEXTS])
    model_id = add_model(store, other_ids, {0: {"T1566.001": 0.93}}, thresholds={"global": 0.5, "report": 0.5})
    at = open_app()
    never = f"Model #{model_id} has no suggestions for this report yet and no record of a run over it"
    assert any(c.startswith(never) for c in _captions(at)), _captions(at)

    job_id = store.create_job("predict", {"model_id": model_id, "report_id": report_id}, "alice")
    store.claim_job(job_id, "test-worker", "cpu")
    store.finish_job(job_id, JOB_DONE, "6 sentences scored")
    day = f"{store.get_job(job_id).finished_at:%Y-%m-%d}"
    at = open_app()
    ran = f"Model #{model_id} ran over this report on {day} and found nothing above 0.05"
    assert any(c.startswith(ran) for c in _captions(at)), _captions(at)
    assert not any(c.startswith(never) for c in _captions(at))
