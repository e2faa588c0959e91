"""The team-load benchmark (benchmarks/team_load.py): its write check sees lost writes, and a short real run on
SQLite (3 signed-in annotator processes, a training worker, generated reports) loses none."""

from __future__ import annotations

import pytest

from benchmarks.team_load import parse_args, run_load
from benchmarks.team_load_check import check_writes, starting_points
from tests.engine_helpers import fill_store
from tram_core.store import ConflictError


def _ack(sentence, action: str = "label", based_on: int | None = None) -> dict:
    return {"sentence": sentence.id, "version": sentence.version, "labels": list(sentence.labels),
            "status": sentence.status, "action": action, "kind": "labels", "based_on": based_on, "ms": 1.0}


@pytest.fixture
def sentence_id(store) -> int:
    fill_store(store, reports=1, per_technique=1, unlabelled=1)
    return store.sentences()[0].id


def test_the_check_passes_writes_that_each_saw_the_one_before(store, sentence_id):
    start = starting_points(store, [sentence_id])
    opened = store.get_sentence(sentence_id)
    first = store.set_labels(sentence_id, ["T1105"], "ann-1", expected_version=opened.version)
    second = store.set_labels(sentence_id, ["T1005"], "ann-2", expected_version=first.version)
    records = [{"user": "ann-1", "acks": [_ack(first, based_on=opened.version)]},
               {"user": "ann-2", "acks": [_ack(second, based_on=first.version)]}]
    check = check_writes(store, records, start)
    assert (check.acknowledged, check.lost_total, check.unacknowledged) == (2, 0, 0), check.examples


def test_the_check_counts_a_blind_overwrite_and_an_undo_over_another_save(store, sentence_id):
    start = starting_points(store, [sentence_id])
    opened = store.get_sentence(sentence_id)
    first = store.set_labels(sentence_id, ["T1105"], "ann-1", expected_version=opened.version)
    second = store.set_labels(sentence_id, ["T1005"], "ann-2")  # no version check: it never saw ann-1's save
    with pytest.raises(ConflictError):  # the store's undo refuses to revert ann-2's later save...
        store.undo_last("ann-1")
    # ...so write what an undo without that check did: ann-1's save reverted, and with it ann-2's later one
    from tram_core.store.labels import _lock_sentence, _write_labels

    with store.session() as s:
        _write_labels(s, _lock_sentence(s, sentence_id), ["T1005"], sorted(opened.labels), opened.status, "ann-1",
                      "undo")
    undone = store.get_sentence(sentence_id)
    records = [{"user": "ann-1", "acks": [_ack(first, based_on=opened.version), _ack(undone, "undo")]},
               {"user": "ann-2", "acks": [_ack(second, based_on=opened.version)]}]
    check = check_writes(store, records, start)
    assert check.lost["blind overwrite"] == 1 and check.lost["undo over another's save"] == 1, check.examples
    assert check.lost["stored differs"] == 0 and check.lost["missing from history"] == 0


def test_the_check_sees_a_write_missing_from_the_store(store, sentence_id):
    start = starting_points(store, [sentence_id])
    opened = store.get_sentence(sentence_id)
    claimed = {**_ack(opened, based_on=opened.version), "version": opened.version + 1, "labels": ["T1105"]}
    check = check_writes(store, [{"user": "ann-1", "acks": [claimed]}], start)
    assert check.lost["stored differs"] == 1 and check.lost["missing from history"] == 1


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_three_annotators_and_a_training_worker_lose_no_write_on_sqlite(tmp_path):
    args = parse_args(["--backend", "sqlite", "--annotators", "3", "--seconds", "3", "--think", "0.2",
                       "--pool", "10", "--reports", "6", "--data", str(tmp_path / "no-data")])
    result = run_load("sqlite", args, say=lambda _: None)
    assert "generated" in result.stored
    assert not result.errors, result.errors
    assert result.check.acknowledged > 0 and len(result.saves) > 0
    assert result.check.lost_total == 0 and result.check.unacknowledged == 0, result.check.examples
    assert result.worker.steps > 0, result.worker
