"""Schema migrations (store/migrations): new databases, databases made before migrations, known older and unknown
revisions, ``db upgrade``/``db current``; each on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from tests.store import pre_migrations_schema
from tests.store.revision5_columns import revision_5_columns
from tram_core.cli import main
from tram_core.io.importer import import_path
from tram_core.store import JOB_DONE, Base, Store, StoreError, migrations, utcnow


def revision_in(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def snapshot(url: str) -> dict:
    """Every revision-1 table's row count and its first and last rows (revision-1 columns), as the database holds
    them."""
    engine = create_engine(url)
    tables = migrations.scripts().get_revision(migrations.LEGACY_REVISION).module.TABLES
    found = {}
    with engine.connect() as connection:
        for table in tables:
            key = "key" if table == "app_settings" else "id"
            columns = ", ".join(f'"{c.name}"' for c in pre_migrations_schema.Base.metadata.tables[table].columns)
            count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            first = connection.execute(text(f"SELECT {columns} FROM {table} ORDER BY {key} LIMIT 3")).all()
            last = connection.execute(text(f"SELECT {columns} FROM {table} ORDER BY {key} DESC LIMIT 3")).all()
            found[table] = (count, [tuple(r) for r in first], [tuple(r) for r in last])
    engine.dispose()
    return found


def fill_like_before(url: str, shared_data: Path) -> None:
    """A database as the code before migrations made and used it: its create_all, then real imports, labels, a
    job with curves, a model with suggestions and a setting."""
    engine = create_engine(url)
    pre_migrations_schema.Base.metadata.create_all(engine)
    engine.dispose()
    with revision_5_columns(url):  # today's store code writes them; the database made before migrations lacks them
        _fill_with_todays_store(url, shared_data)


def _fill_with_todays_store(url: str, shared_data: Path) -> None:
    store = Store(url, create=False)
    for path in sorted((shared_data / "tram2" / "mjson").glob("*.mjson"))[:3]:
        import_path(store, path, "ana")
    sentences = store.sentences(store.list_reports()[0].id)
    store.set_labels(sentences[0].id, ["T1055", "T1059"], "ana")
    store.set_labels(sentences[1].id, [], "bo")
    job_id = add_old_job(url, worker="w")
    store.add_job_points(job_id, [(1, 0.5, "loss", 0.9), (2, 1.0, "loss", 0.4)])
    model_id = store.add_model("m1", "baseline", "/models/m1", "", ["T1055"], {"default": 0.5}, {"f1": 0.7}, {},
                               job_id=job_id)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE jobs SET model_id = :m WHERE id = :j"), {"m": model_id, "j": job_id})
    store.replace_suggestions(model_id, {sentences[2].id: {"T1055": 0.8}})
    store.set_setting("promoted_note", "ü – ok")
    store.engine.dispose()


def add_old_job(url: str, worker: str, status: str = JOB_DONE) -> int:
    """A training job claimed by ``worker`` on the cpu, as code before revision 3 wrote it (no host column)."""
    engine = create_engine(url)
    now = utcnow()
    with Session(engine) as session, session.begin():
        row = pre_migrations_schema.JobRow(kind="train", status=status, params={"options": {"base": "baseline"}},
                                           created_by="ana", created_at=now, started_at=now, heartbeat_at=now,
                                           worker=worker, device="cpu", phase="training")
        session.add(row)
        session.flush()
        job_id = row.id
    engine.dispose()
    return job_id


def test_a_new_database_is_made_by_the_migrations_and_matches_the_tables(store_url):
    store = Store(store_url)
    assert revision_in(store_url) == migrations.head()
    assert store.schema_revision() == (migrations.head(), migrations.head())
    with store.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert drift == [], "the models and the migrations differ: add a revision under tram_core/store/migrations"
    store.engine.dispose()


def test_a_database_made_before_migrations_is_stamped_upgraded_and_keeps_everything(store_url, shared_data):
    fill_like_before(store_url, shared_data)
    assert revision_in(store_url) is None
    before = snapshot(store_url)
    assert before["reports"][0] == 3 and before["sentences"][0] > 30 and before["labels"][0] > 0
    assert all(before[table][0] > 0 for table in ("jobs", "job_points", "models", "suggestions", "label_events"))
    store = Store(store_url)
    assert revision_in(store_url) == migrations.head()
    assert snapshot(store_url) == before
    assert set(Base.metadata.tables) <= set(inspect(store.engine).get_table_names())
    sentence = store.sentences(store.list_reports()[0].id)[3]
    assert store.set_labels(sentence.id, ["T1027"], "cy").labels == ("T1027",)  # and it keeps working
    store.engine.dispose()


def test_a_database_at_a_known_older_revision_is_upgraded_on_open(store_url):
    engine = create_engine(store_url)
    with engine.connect() as connection:
        command.upgrade(migrations._config(connection), migrations.LEGACY_REVISION)
        connection.commit()
    engine.dispose()
    assert revision_in(store_url) == migrations.LEGACY_REVISION
    Store(store_url).engine.dispose()
    assert revision_in(store_url) == migrations.head()


def test_a_database_at_an_unknown_revision_is_refused_in_one_line(store_url):
    Store(store_url).engine.dispose()
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe9999'"))
    engine.dispose()
    with pytest.raises(StoreError) as refused:
        Store(store_url)
    message = str(refused.value)
    assert "\n" not in message and "f00dcafe9999" in message and "upgrade TRAM" in message


def test_db_current_and_db_upgrade_commands(store_url, settings, capsys):
    engine = create_engine(store_url)
    pre_migrations_schema.Base.metadata.create_all(engine)
    engine.dispose()
    assert main(["db", "current"]) == 0
    assert "made before schema revisions" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert f"to revision {migrations.head()}" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert f"revision {migrations.head()} (the newest)" in capsys.readouterr().out
    assert revision_in(store_url) == migrations.head()


def open_store(url: str, start, results) -> None:
    start.wait(30)
    try:
        store = Store(url)
        results.put(store.schema_revision()[0])
        store.engine.dispose()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put(f"error: {exc}")


def test_processes_opening_a_new_database_at_once_make_it_once(store_url):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    openers = [context.Process(target=open_store, args=(store_url, start, results)) for _ in range(4)]
    for opener in openers:
        opener.start()
    start.set()
    revisions = [results.get(timeout=120) for _ in openers]
    for opener in openers:
        opener.join(30)
    assert revisions == [migrations.head()] * 4


def test_upgrading_from_revision_2_gives_old_jobs_the_host_of_their_worker(store_url):
    engine = create_engine(store_url)
    with engine.connect() as connection:
        command.upgrade(migrations._config(connection), "0002")
        connection.commit()
    engine.dispose()
    running = add_old_job(store_url, worker="gpu-box:4242", status="running")
    foreground = add_old_job(store_url, worker="laptop.lan:77 (foreground)")
    unnamed = add_old_job(store_url, worker="w")
    store = Store(store_url)
    assert revision_in(store_url) == migrations.head()
    assert [store.get_job(i).host for i in (running, foreground, unnamed)] == ["gpu-box", "laptop.lan", ""]
    # The running job keeps gpu-box's cpu busy, and only gpu-box's: another machine's cpu worker takes the next job.
    queued = store.create_job("predict", {"model_id": 1}, "ana")
    assert store.claim_next_job("gpu-box:5000", "cpu") is None
    assert store.claim_next_job("other-box:5000", "cpu").id == queued
    store.engine.dispose()


def test_revision_3_downgrades_to_revision_2(store_url):
    Store(store_url).engine.dispose()
    engine = create_engine(store_url)
    with engine.connect() as connection:
        command.downgrade(migrations._config(connection), "0002")
        connection.commit()
        assert "host" not in {c["name"] for c in inspect(connection).get_columns("jobs")}
    engine.dispose()
    assert revision_in(store_url) == "0002"
