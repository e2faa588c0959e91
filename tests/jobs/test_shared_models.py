"""Several machines, one database and one shared models folder (TRAM_MODELS_DIR): a model one machine's worker
trains is used by the app and the workers of every other machine, each with its own TRAM_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine_helpers import fill_store
from tram_core.errors import UserError
from tram_core.jobs import queue
from tram_core.jobs.worker import run_worker
from tram_core.ml.predict import predict_texts, resolve_model_path
from tram_core.services import reports
from tram_core.services.common import Context, open_store
from tram_core.settings import Settings, load_settings
from tram_core.store import Store, TrainedModelRow


def machine(tmp_path: Path, name: str, database_url: str, shared_models: Path | None) -> Settings:
    """The settings of one machine: its own TRAM_HOME and host name, the shared database and models folder."""
    env = {"TRAM_HOME": str(tmp_path / name), "TRAM_DATABASE_URL": database_url, "TRAM_WORKER_HOST": name}
    if shared_models is not None:
        env["TRAM_MODELS_DIR"] = str(shared_models)
    return load_settings(env)


@pytest.fixture
def machines(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    database_url = f"sqlite:///{tmp_path / 'db-server' / 'tram.sqlite3'}"
    shared = tmp_path / "nfs" / "tram-models"
    return (machine(tmp_path, "box-a", database_url, shared), machine(tmp_path, "box-b", database_url, shared),
            shared)


def test_a_model_trained_by_one_machines_worker_serves_the_app_and_workers_of_another(machines, catalog):
    worker_a, app_b, shared = machines
    store_a = Store.from_settings(worker_a)
    fill_store(store_a)
    job_id = queue.submit_training(store_a, {"base": "baseline", "min_count": 2}, "ana")

    assert run_worker(worker_a, once=True, log=lambda line: None) == 1
    job = store_a.get_job(job_id)
    assert job.status == "done" and job.host == "box-a" and job.worker.startswith("box-a:")
    assert (shared / f"run-{job_id}").is_dir() and not (Path(worker_a.home) / "models" / f"run-{job_id}").exists()
    with store_a.session() as s:  # stored relative to the shared folder: every machine's mount point resolves it
        assert s.get(TrainedModelRow, job.model_id).path == f"run-{job_id}"

    ctx_b = Context(app_b, open_store(app_b), catalog)  # the app on box-b: another TRAM_HOME, same mount
    model = ctx_b.store.get_model(job.model_id)
    assert model.path == str(shared / f"run-{job_id}")
    predicted = predict_texts(resolve_model_path(ctx_b.store, model.id),
                              ["The actor dumped LSASS memory with procdump on machine 99."])
    assert "T1003.001" in predicted[0]["scores"]

    report_id = ctx_b.store.list_reports()[0].id
    reports.queue_prediction(ctx_b, "ana", model.id, report_id)  # and box-b's worker runs it
    assert run_worker(app_b, once=True, log=lambda line: None) == 1
    predict_job = ctx_b.store.list_jobs(limit=1, kind="predict")[0]
    assert predict_job.status == "done" and predict_job.host == "box-b", predict_job.message
    assert ctx_b.store.get_job(predict_job.id).metrics["sentences"] > 0


def test_a_machine_without_the_shared_folder_says_which_folder_is_missing(machines, tmp_path):
    worker_a, _, shared = machines
    store_a = Store.from_settings(worker_a)
    fill_store(store_a)
    queue.submit_training(store_a, {"base": "baseline", "min_count": 2}, "ana")
    run_worker(worker_a, once=True, log=lambda line: None)
    model_id = store_a.list_models()[0].id

    unshared = machine(tmp_path, "box-c", worker_a.database_url, None)  # TRAM_MODELS_DIR not set on box-c
    store_c = Store.from_settings(unshared)
    with pytest.raises(UserError, match=f"folder of model {model_id} .* is missing: .*box-c/models/run-"):
        resolve_model_path(store_c, model_id)
