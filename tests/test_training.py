"""The fine-tuning loop end to end on a tiny random BERT with the real MiniLM tokenizer: learning, saving, cancel."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tram_core.errors import UserError
from tram_core.settings import load_settings
from tram_core.store import Example
from tram_core.trained import load_trained
from tram_core.training import (
    MODEL_INFO_FILE, ProgressEvent, TrainingCancelled, TrainOptions, binarize, build_model, choose_classes,
    length_grouped_batches, sample_epoch, train_model,
)

TOPICS = {
    "T1059.001": ["The actor ran PowerShell scripts to download the payload {n}.",
                  "A PowerShell command {n} decoded the base64 stager.",
                  "They used powershell.exe with an encoded command {n}."],
    "T1547.001": ["The malware added a registry Run key {n} for persistence.",
                  "Persistence was set via the Run key under HKCU {n}.",
                  "A registry run key {n} launched the implant at logon."],
}
NEGATIVE = ["The report was published on Monday {n}.", "Contact the vendor for more information {n}.",
            "This section lists the indicators {n}.", "Thank you to our partners {n}."]


def toy_examples(reports: int = 8, per_report: int = 12, seed: int = 0) -> list[Example]:
    """A separable toy corpus: PowerShell sentences, Run-key sentences and negatives, spread over reports."""
    rng = random.Random(seed)
    out, sid = [], 1
    for report in range(1, reports + 1):
        for k in range(per_report):
            kind = k % 3
            if kind == 2:
                text, labels = rng.choice(NEGATIVE), ()
            else:
                tech = sorted(TOPICS)[kind]
                text, labels = rng.choice(TOPICS[tech]), (tech,)
            out.append(Example(sid, report, f"report {report}", text.format(n=sid), labels, "labelled"))
            sid += 1
    return out


def settings_for(tmp_path):
    return load_settings({"TRAM_HOME": str(tmp_path / "home")})


FAST = dict(epochs=8, learning_rate=1e-3, head_learning_rate=1e-2, batch_size=8, max_length=32, min_count=1,
            negatives_ratio=0, pos_weight=1.0, warmup_ratio=0.0, threads=1, seed=3)


@pytest.fixture(scope="module")
def trained_mean(tiny_bert_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mean")
    events: list[ProgressEvent] = []
    result = train_model(toy_examples(), TrainOptions(base=str(tiny_bert_dir), pooling="mean", **FAST),
                         settings_for(tmp), tmp / "model", progress=events.append)
    return result, events


@pytest.fixture(scope="module")
def trained_cls(tiny_bert_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cls")
    options = TrainOptions(base=str(tiny_bert_dir), pooling="cls", **{**FAST, "epochs": 2})
    return train_model(toy_examples(), options, settings_for(tmp), tmp / "model")


def test_loss_goes_down_and_the_model_separates_the_toy_classes(trained_mean):
    result, _ = trained_mean
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert result.metrics["at_tuned"]["micro_f1"] > 0.9


def test_progress_reports_every_phase_with_steps(trained_mean):
    _, events = trained_mean
    phases = {e.phase for e in events}
    assert {"preparing", "tokenizing", "training", "evaluating", "saving"} <= phases
    steps = [e for e in events if e.phase == "training" and e.loss is not None]
    assert steps and steps[-1].step == steps[-1].total
    assert any(e.metrics and "val_micro_f1" in e.metrics for e in events)


def test_model_folder_records_classes_thresholds_split_and_history(trained_mean):
    result, _ = trained_mean
    info = json.loads((result.model_dir / MODEL_INFO_FILE).read_text())
    assert info["classes"] == ["T1059.001", "T1547.001"] == result.classes
    assert set(info["thresholds"]["per_technique"]) == set(info["classes"])
    assert 0 < info["thresholds"]["global"] < 1
    assert 0 < info["thresholds"]["report"] < 2  # tuned on the validation reports
    assert info["evaluation"]["thresholds"]["report"] == info["thresholds"]["report"]
    assert info["evaluation"]["document"]["rule"].endswith(f"more than {info['thresholds']['report']:.2f}")
    assert load_trained(result.model_dir).report_threshold == info["thresholds"]["report"]
    assert info["pooling"] == "mean" and info["kind"] == "transformer"
    ids = info["data"]["sentence_ids"]
    assert not set(ids["train"]) & set(ids["test"]) and not set(ids["train"]) & set(ids["validation"])
    assert info["data"]["split_seed"] == 3
    assert len(info["history"]) == 8 and {"train_loss", "val_loss", "val_micro_f1"} <= set(info["history"][0])
    assert info["evaluation"]["at_0_5"]["micro_f1"] >= 0 and info["evaluation"]["document"] is not None
    assert (result.model_dir / "README.md").is_file()
    assert not [p for p in result.model_dir.parent.iterdir() if p.name.endswith(".partial")]


def test_cls_model_is_a_plain_sequence_classifier(trained_cls):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(trained_cls.model_dir)
    assert config.problem_type == "multi_label_classification"
    assert [config.id2label[i] for i in range(config.num_labels)] == trained_cls.classes
    assert config.architectures == ["BertForSequenceClassification"]


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


def test_growing_the_label_space_keeps_rows_of_shared_classes(trained_cls, trained_mean):
    import torch

    for folder, pooling in ((trained_cls.model_dir, "cls"), (trained_mean[0].model_dir, "mean")):
        old = build_model(folder, pooling, ["T1059.001", "T1547.001"], 0.1, seed=1)
        new = build_model(folder, pooling, ["T1003.001", "T1547.001", "T1059.001"], 0.1, seed=1)
        assert torch.equal(new.classifier.weight[1], old.classifier.weight[1])
        assert torch.equal(new.classifier.weight[2], old.classifier.weight[0])
        assert torch.equal(new.classifier.bias[1:], old.classifier.bias.flip(0))
        assert not torch.equal(new.classifier.weight[0], old.classifier.weight[0])


def test_cancel_leaves_no_folder(tiny_bert_dir, tmp_path):
    calls = {"n": 0}

    def should_cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    out = tmp_path / "models" / "run"
    with pytest.raises(TrainingCancelled):
        train_model(toy_examples(), TrainOptions(base=str(tiny_bert_dir), pooling="mean", **FAST),
                    settings_for(tmp_path), out, should_cancel=should_cancel)
    assert not out.exists()
    assert list((tmp_path / "models").iterdir()) == []


def test_existing_output_folder_is_refused(tiny_bert_dir, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "file").write_text("x")
    with pytest.raises(UserError, match="already exists"):
        train_model(toy_examples(), TrainOptions(base=str(tiny_bert_dir)), settings_for(tmp_path), out)


def test_baseline_trains_through_the_same_function(tmp_path):
    pytest.importorskip("tram_core.baseline")
    from tram_core.trained import load_trained

    result = train_model(toy_examples(), TrainOptions(base="baseline", min_count=1, seed=3), settings_for(tmp_path),
                         tmp_path / "baseline")
    info = json.loads((result.model_dir / MODEL_INFO_FILE).read_text())
    assert info["kind"] == "baseline" and info["classes"] == result.classes
    predictor = load_trained(result.model_dir)
    scores = predictor.predict_scores(["They used PowerShell to run the script 5."])
    assert scores.shape == (1, 2) and scores[0, 0] > scores[0, 1]


def test_fixed_test_reports_are_what_the_model_is_scored_on(tmp_path):
    options = TrainOptions(base="baseline", min_count=1, seed=3, test_reports=[2, 7])
    result = train_model(toy_examples(), options, settings_for(tmp_path), tmp_path / "fixed")
    info = json.loads((result.model_dir / MODEL_INFO_FILE).read_text())
    assert result.split.test_reports == [2, 7]
    assert info["data"]["counts"]["test"]["reports"] == 2 and info["data"]["counts"]["test"]["sentences"] == 24
    assert info["options"]["test_reports"] == [2, 7]
    assert info["evaluation"]["document"]["reports"] == 2


def test_without_validation_reports_no_report_threshold_is_stored(tmp_path):
    """Nothing to tune it on: the model keeps the union rule instead of an untuned report threshold."""
    options = TrainOptions(base="baseline", min_count=1, seed=3, validation_fraction=0.0, test_fraction=0.0)
    result = train_model(toy_examples(), options, settings_for(tmp_path), tmp_path / "all")
    info = json.loads((result.model_dir / MODEL_INFO_FILE).read_text())
    assert "report" not in info["thresholds"] and info["thresholds"]["global"] == 0.5
    assert load_trained(result.model_dir).report_threshold is None


def test_recipe_fills_unset_options_and_bad_choices_are_named():
    from tram_core.training import RECIPES, recipe_for, resolve_options

    resolved = resolve_options(TrainOptions(epochs=1), recipe_for("embedded"))
    assert resolved.epochs == 1 and resolved.pooling == "mean"
    assert resolved.head_learning_rate == RECIPES["embedded"]["head_learning_rate"]
    assert recipe_for("tram-scibert")["pooling"] == "cls"
    with pytest.raises(UserError, match="Unknown loss 'hinge'"):
        resolve_options(TrainOptions(loss="hinge"), recipe_for("embedded"))
    with pytest.raises(UserError, match="Unknown pooling"):
        resolve_options(TrainOptions(pooling="max"), recipe_for("embedded"))


@pytest.mark.parametrize("loss", ["bce", "focal", "asl"])
def test_every_loss_rewards_the_right_answer(loss):
    import torch

    from tram_core.training import make_loss

    fn = make_loss(loss, torch.full((2,), 3.0))
    targets = torch.tensor([[1.0, 0.0]])
    assert fn(torch.tensor([[4.0, -4.0]]), targets) < fn(torch.tensor([[-4.0, 4.0]]), targets)


def test_a_run_from_a_trained_model_keeps_its_test_reports_and_refuses_its_training_reports(tmp_path, store):
    from tram_core.training import _test_reports_for

    examples = toy_examples()
    parent = train_model(examples, TrainOptions(base="baseline", min_count=1, seed=3), settings_for(tmp_path),
                         tmp_path / "parent")
    model_id = store.add_model("parent", "baseline", str(parent.model_dir), "baseline", parent.classes,
                               parent.thresholds, {}, {})
    continuing = TrainOptions(base=f"trained:{model_id}")
    assert _test_reports_for(continuing, examples, store) == parent.split.test_reports
    learnt = parent.split.train_reports[0]
    with pytest.raises(UserError, match=rf"Test report\(s\) {learnt} were training or validation data of model"):
        _test_reports_for(TrainOptions(base=f"trained:{model_id}", test_reports=[learnt]), examples, store)
    missing = TrainOptions(base="trained:999", test_reports=[learnt])  # resolving the base will say what is wrong
    assert _test_reports_for(missing, examples, store) == [learnt]
    fresh = TrainOptions(base="embedded", test_reports=[learnt])  # not a continuation: taken as given
    assert _test_reports_for(fresh, examples, store) == [learnt]
