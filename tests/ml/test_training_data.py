"""The data side of training: the label space, negatives resampled per epoch, length-grouped batches, and the
test reports a run holds out (a run from a trained model keeps its parent's)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tram_core.errors import UserError
from tram_core.ml.training import TrainOptions, train_model
from tram_core.ml.training_data import (
    binarize, choose_classes, epoch_batches, held_out_reports, length_grouped_batches, sample_epoch,
)
from tram_core.store import Example

from .test_training import settings_for, toy_examples


def test_label_space_min_count_and_fixed_list():
    examples = toy_examples(reports=2, per_report=6)
    examples.append(Example(999, 1, "r", "rare", ("T1486",), "labelled"))
    assert choose_classes(examples, min_count=2) == ["T1059.001", "T1547.001"]
    assert choose_classes(examples, min_count=1) == ["T1059.001", "T1486", "T1547.001"]
    assert choose_classes(examples, classes=["T1547.001", "T1059.001"]) == ["T1547.001", "T1059.001"]
    with pytest.raises(UserError, match="at least 100"):
        choose_classes(examples, min_count=100)
    y = binarize([("T1547.001", "T9999"), ()], ["T1547.001", "T1059.001"])
    assert y.tolist() == [[1, 0], [0, 0]]


def test_negatives_are_subsampled_and_resampled_each_epoch():
    y = np.zeros((100, 2), dtype=np.float32)
    y[:10, 0] = 1
    first = sample_epoch(y, 1.5, random.Random(1))
    second = sample_epoch(y, 1.5, random.Random(2))
    assert len(first) == 10 + 15 and set(range(10)) <= set(first)
    assert set(first) != set(second)
    assert len(sample_epoch(y, 0, random.Random(1))) == 100


def test_batches_group_similar_lengths_and_cover_every_row_once():
    rng = random.Random(0)
    lengths = [rng.randint(5, 120) for _ in range(400)]
    batches = length_grouped_batches(lengths, range(400), 16, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(400))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert padded < 1.1 * sum(lengths)  # random batches would pad about 1.6x
    budget = length_grouped_batches(lengths, range(400), 16, random.Random(0), token_budget=600)
    assert all(len(b) * max(lengths[i] for i in b) <= 600 for b in budget if len(b) > 1)


def test_a_run_from_a_trained_model_keeps_its_test_reports_and_refuses_its_training_reports(tmp_path, store):
    examples = toy_examples()
    parent = train_model(examples, TrainOptions(base="baseline", min_count=1, seed=3), settings_for(tmp_path),
                         tmp_path / "parent")
    model_id = store.add_model("parent", "baseline", str(parent.model_dir), "baseline", parent.classes,
                               parent.thresholds.to_json(), {}, {})
    continuing = TrainOptions(base=f"trained:{model_id}")
    assert held_out_reports(continuing, examples, store) == parent.split.test_reports
    learnt = parent.split.train_reports[0]
    with pytest.raises(UserError, match=rf"Test report\(s\) {learnt} were training or validation data of model"):
        held_out_reports(TrainOptions(base=f"trained:{model_id}", test_reports=[learnt]), examples, store)
    missing = TrainOptions(base="trained:999", test_reports=[learnt])  # resolving the base will say what is wrong
    assert held_out_reports(missing, examples, store) == [learnt]
    fresh = TrainOptions(base="embedded", test_reports=[learnt])  # not a continuation: taken as given
    assert held_out_reports(fresh, examples, store) == [learnt]


def test_every_epoch_is_planned_up_front_with_its_own_negatives():
    y = np.zeros((60, 2), dtype=np.float32)
    y[:12, 1] = 1
    lengths = [5 + i % 17 for i in range(60)]
    plan = epoch_batches(y, lengths, epochs=3, batch_size=8, negatives_ratio=1.0, seed=4)
    assert len(plan) == 3
    rows = [sorted(i for batch in epoch for i in batch) for epoch in plan]
    assert all(len(r) == 24 and set(range(12)) <= set(r) for r in rows)  # every positive, as many negatives
    assert rows[0] != rows[1]  # negatives resampled each epoch
    assert plan == epoch_batches(y, lengths, epochs=3, batch_size=8, negatives_ratio=1.0, seed=4)  # seeded
    budget = epoch_batches(y, lengths, epochs=1, batch_size=8, negatives_ratio=0, seed=4, token_budget=60)
    assert all(len(b) * max(lengths[i] for i in b) <= 60 for b in budget[0] if len(b) > 1)
