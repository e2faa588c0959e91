"""Sample data shared by the store's tests: a three-sentence report, a trained model record, and moving a database
to a migration revision."""

from __future__ import annotations

from tram_core.store import LABELLED, UNLABELLED, NewSentence

TEXT = "Actors used cmd.exe to run commands. They dumped LSASS memory. Nothing else happened."


def three_sentences(labels=((), (), ())):
    parts = ["Actors used cmd.exe to run commands.", "They dumped LSASS memory.", "Nothing else happened."]
    spans = [(TEXT.index(p), TEXT.index(p) + len(p)) for p in parts]
    return [
        NewSentence(TEXT[s:e], s, e, tuple(lab), LABELLED if lab else UNLABELLED)
        for (s, e), lab in zip(spans, labels)
    ]


def add_sample_model(store, name="run 1", kind="transformer"):
    return store.add_model(name, kind, f"/models/{name}", "embedded", ["T1105", "T1059.003"],
                           {"global": 0.4, "per_technique": {"T1105": 0.3}}, {"at_tuned": {"micro_f1": 0.5}},
                           {"epochs": 2}, job_id=None)


def migrate(url: str, revision: str, down: bool = False) -> None:
    """Upgrade (or, with ``down``, downgrade) the database at ``url`` to Alembic ``revision``."""
    from alembic import command
    from sqlalchemy import create_engine

    from tram_core.store import migrations

    engine = create_engine(url)
    with engine.connect() as connection:
        (command.downgrade if down else command.upgrade)(migrations._config(connection), revision)
        connection.commit()
    engine.dispose()
