"""The fine-tuning loop end to end on a tiny random BERT with the real MiniLM tokenizer: learning, saving, cancel."""

from __future__ import annotations

import json
import random

import pytest

from tram_core.errors import UserError
from tram_core.ml.model_card import MODEL_INFO_FILE
from tram_core.ml.trained import load_trained
from tram_core.ml.training import TrainOptions, train_model
from tram_core.ml.training_model import build_model
from tram_core.ml.training_run import ProgressEvent, TrainingCancelled
from tram_core.settings import load_settings
from tram_core.store import Example

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
    assert result.card.options["procedure_examples"] == "off"  # a local folder's recipe, written on the card
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
    pytest.importorskip("tram_core.ml.baseline")
    from tram_core.ml.trained import load_trained

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
    from tram_core.ml.training import RECIPES, recipe_for, resolve_options

    resolved = resolve_options(TrainOptions(epochs=1), recipe_for("embedded"))
    assert resolved.epochs == 1 and resolved.pooling == "mean"
    assert resolved.head_learning_rate == RECIPES["embedded"]["head_learning_rate"]
    assert recipe_for("tram-scibert")["pooling"] == "cls"
    # the embedded model weights rare techniques up by default (it won on macro-F1 on 3 seeds); BERT-size bases not
    assert resolved.class_weighting == "sqrt" and recipe_for("tram-scibert")["class_weighting"] == "none"
    assert resolve_options(TrainOptions(class_weighting="none"), recipe_for("embedded")).class_weighting == "none"
    with pytest.raises(UserError, match="Unknown loss 'hinge'"):
        resolve_options(TrainOptions(loss="hinge"), recipe_for("embedded"))
    with pytest.raises(UserError, match="Unknown pooling"):
        resolve_options(TrainOptions(pooling="max"), recipe_for("embedded"))


def test_the_embedded_model_mixes_in_procedure_examples_unless_told_otherwise():
    from tram_core.ml.training_options import procedure_mode, recipe_for, resolve_options

    assert procedure_mode(TrainOptions()) == "mix"  # the embedded base, the recipe's default
    assert procedure_mode(TrainOptions(base="embedded", procedure_examples="off")) == "off"
    for base in ("baseline", "tram-scibert", "trained:4", "allenai/scibert_scivocab_uncased", "/models/mine"):
        assert procedure_mode(TrainOptions(base=base)) == "off"
    assert procedure_mode(TrainOptions(base="baseline", procedure_examples="only")) == "only"
    with pytest.raises(UserError, match="Unknown procedure_examples 'always'"):
        resolve_options(TrainOptions(procedure_examples="always"), recipe_for("embedded"))
