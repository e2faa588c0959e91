"""Splits by report: no report on two sides, reproducible, roughly the asked fractions, clear errors."""

from __future__ import annotations

import json

import pytest

from tram_core.ml.splits import DataSplit, SplitError, grouped_split
from tram_core.store import Example


def make_examples(sizes: list[int]) -> list[Example]:
    examples = []
    sid = 1
    for report_id, size in enumerate(sizes, start=100):
        for i in range(size):
            examples.append(Example(sentence_id=sid, report_id=report_id, doc_title=f"r{report_id}",
                                    text=f"sentence {i}", labels=("T1005",) if i % 4 == 0 else (), status="labelled"))
            sid += 1
    return examples


SIZES = [40, 12, 75, 33, 60, 18, 90, 25, 50, 44, 37, 66, 20, 58, 29, 81, 15, 47, 52, 23]


def test_no_report_on_two_sides_and_every_sentence_once():
    examples = make_examples(SIZES)
    split = grouped_split(examples, seed=13)
    report_of = {e.sentence_id: e.report_id for e in examples}
    sides = [set(report_of[s] for s in ids) for ids in (split.train, split.validation, split.test)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert sorted(split.train + split.validation + split.test) == sorted(report_of)
    assert sides == [set(split.train_reports), set(split.validation_reports), set(split.test_reports)]


def test_roughly_the_asked_fractions_of_sentences():
    examples = make_examples(SIZES)
    total = len(examples)
    for seed in range(5):
        split = grouped_split(examples, seed=seed, validation=0.15, test=0.15)
        assert abs(len(split.validation) / total - 0.15) < 0.08
        assert abs(len(split.test) / total - 0.15) < 0.08
        assert split.validation and split.test


def test_reproducible_and_seed_dependent():
    examples = make_examples(SIZES)
    assert grouped_split(examples, seed=5) == grouped_split(list(reversed(examples)), seed=5)
    assert grouped_split(examples, seed=5).test_reports != grouped_split(examples, seed=6).test_reports


def test_round_trip_through_json():
    split = grouped_split(make_examples(SIZES), seed=3)
    back = DataSplit.from_dict(json.loads(json.dumps(split.to_dict())))
    assert back == split
    assert back.seed == 3


def test_two_reports_still_give_a_train_side():
    split = grouped_split(make_examples([10, 3]), seed=1)
    assert split.train and split.validation and not split.test
    assert len(split.train_reports) == 1


def test_one_report_is_a_clear_error():
    with pytest.raises(SplitError, match=r"one report \(id 100\).*at least two reports"):
        grouped_split(make_examples([30]))
    only_train = grouped_split(make_examples([30]), validation=0, test=0)
    assert len(only_train.train) == 30


def test_bad_fractions_and_empty_input():
    with pytest.raises(SplitError, match="must leave sentences for training"):
        grouped_split(make_examples(SIZES), validation=0.5, test=0.5)
    with pytest.raises(SplitError, match="no sentences"):
        grouped_split([])


def test_select_keeps_the_side():
    examples = make_examples(SIZES)
    split = grouped_split(examples)
    chosen = split.select(examples, "test")
    assert [e.sentence_id for e in chosen] == [e.sentence_id for e in examples if e.sentence_id in set(split.test)]
    assert {split.side_of()[e.sentence_id] for e in chosen} == {"test"}


def test_real_tram_reports_split_near_the_asked_fractions(shared_data):
    rows = json.loads((shared_data / "tram2" / "single_label.json").read_text(encoding="utf-8"))
    report_ids = {title: i for i, title in enumerate(sorted({r["doc_title"] for r in rows}), start=1)}
    examples = [Example(sentence_id=i, report_id=report_ids[r["doc_title"]], doc_title=r["doc_title"],
                        text=r["text"], labels=(r["label"],), status="labelled") for i, r in enumerate(rows, 1)]
    split = grouped_split(examples, seed=13, validation=0.15, test=0.15)
    assert not set(split.train_reports) & (set(split.validation_reports) | set(split.test_reports))
    assert len(split.train_reports) + len(split.validation_reports) + len(split.test_reports) == len(report_ids)
    assert abs(len(split.validation) / len(examples) - 0.15) < 0.05
    assert abs(len(split.test) / len(examples) - 0.15) < 0.05


def test_fixed_test_reports_are_the_whole_test_side():
    examples = make_examples(SIZES)
    split = grouped_split(examples, seed=13, test=0.5, test_reports=[105, 101, 105])  # test fraction ignored
    assert split.test_reports == [101, 105]
    assert split.test == sorted(e.sentence_id for e in examples if e.report_id in (101, 105))
    assert not {101, 105} & (set(split.train_reports) | set(split.validation_reports))
    assert split.validation_reports  # the other reports still give a validation side
    assert split == grouped_split(examples, seed=13, test_reports=[101, 105])  # reproducible
    assert DataSplit.from_dict(json.loads(json.dumps(split.to_dict()))) == split


@pytest.mark.parametrize("test_reports, message", [
    ([], "The list of test reports is empty"),
    ([101, 999, 998], "Test report(s) 998, 999 have no labelled sentences"),
    ([100, 101], "Every report with labelled sentences is a test report"),
])
def test_bad_fixed_test_reports_are_named(test_reports, message):
    with pytest.raises(SplitError) as caught:
        grouped_split(make_examples([10, 12]), test_reports=test_reports)
    assert message in str(caught.value)
