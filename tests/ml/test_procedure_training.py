"""ATT&CK's procedure examples as training data: mixed in, as a first stage, or alone (the cold-start model), always
apart from the analysts' labels: the same test reports, the same labelled-sentence counts, nothing stored."""

from __future__ import annotations

import json

import pytest

from tests.ml.test_training import FAST, settings_for, toy_examples
from tram_core.errors import UserError
from tram_core.ml.model_card import MODEL_INFO_FILE
from tram_core.ml.procedure_examples import load_procedure_examples
from tram_core.ml.procedure_training import is_cold_start, plan_run
from tram_core.ml.trained import load_trained
from tram_core.ml.training import TrainOptions, train_model
from tram_core.store import Example

TOY = ["T1059.001", "T1547.001"]  # the toy corpus's techniques; ATT&CK has hundreds of examples of each
POWERSHELL = "The actor ran a PowerShell script to download the payload."
RUN_KEY = "A registry Run key started the implant at logon."


def card(result) -> dict:
    return json.loads((result.model_dir / MODEL_INFO_FILE).read_text())


def test_a_mix_trains_on_more_but_keeps_the_test_reports_and_the_analysts_counts(tmp_path):
    off = train_model(toy_examples(), TrainOptions(base="baseline", min_count=1, seed=3), settings_for(tmp_path),
                      tmp_path / "off")
    mix = train_model(toy_examples(), TrainOptions(base="baseline", min_count=1, seed=3, procedure_examples="mix",
                                                   procedure_ratio=2.0), settings_for(tmp_path), tmp_path / "mix")
    assert mix.split == off.split
    assert card(mix)["data"]["counts"] == card(off)["data"]["counts"]
    assert card(mix)["data"]["sentence_ids"] == card(off)["data"]["sentence_ids"]
    assert all(i > 0 for part in card(mix)["data"]["sentence_ids"].values() for i in part)
    added = card(mix)["data"]["procedure_examples"]
    analysts = card(off)["data"]["counts"]["train"]["with_technique"]
    assert added["stage"] == "mix" and added["train"]["examples"] == 2 * analysts
    assert added["validation"]["examples"] == 0 and added["parse"]["examples"] > 10_000
    assert "procedure_examples" not in card(off)["data"]
    # The test scores are the analysts' test sentences in both runs.
    assert mix.metrics["at_tuned"]["sentences"] == off.metrics["at_tuned"]["sentences"]


def test_mix_samples_by_the_ratio_within_the_label_space_and_can_extend_it():
    examples = toy_examples()
    _, _, parts, plan = plan_run(examples, TrainOptions(min_count=1, seed=3, procedure_examples="mix",
                                                        procedure_ratio=0.5))
    positives = sum(1 for e in parts["train"] if e.labels)
    assert len(plan.train) == round(0.5 * positives)
    assert {t for e in plan.train for t in e.labels} <= set(TOY)
    _, _, _, every = plan_run(examples, TrainOptions(min_count=1, seed=3, procedure_examples="mix",
                                                     procedure_ratio=0))
    assert len(every.train) == every.available > len(plan.train)
    classes, _, _, extended = plan_run(examples, TrainOptions(min_count=200, seed=3, procedure_examples="mix",
                                                              procedure_label_space="extend", classes=TOY))
    assert classes[:2] == TOY and len(classes) > 10 and extended.added_classes == classes[2:]
    assert "T1547" not in classes  # its sub-technique is in the label space: its examples are not a new class


def test_pretrain_runs_a_stage_on_the_procedure_examples_then_the_reports(tiny_bert_dir, tmp_path):
    events = []
    options = TrainOptions(base=str(tiny_bert_dir), pooling="mean", procedure_examples="pretrain",
                           procedure_epochs=2, **{**FAST, "epochs": 2})
    result = train_model(toy_examples(), options, settings_for(tmp_path), tmp_path / "model",
                         progress=events.append)
    stage = card(result)["data"]["procedure_examples"]
    assert stage["stage"] == "pretrain" and [h["epoch"] for h in stage["history"]] == [1, 2]
    assert stage["history"][0]["train_sentences"] == stage["train"]["examples"] > 0
    assert [h["epoch"] for h in result.history] == [1, 2] and "val_micro_f1" in result.history[0]
    messages = [e.message for e in events]
    first_report_epoch = messages.index("epoch 1/2")
    assert any("procedure examples, pass 2/2" in m for m in messages[:first_report_epoch])
    assert result.card.timings["pretrain_s"] > 0
    assert card(result)["data"]["counts"]["train"]["sentences"] == len(result.split.train)


def test_a_transformer_mix_feeds_the_examples_to_the_training_loop(tiny_bert_dir, tmp_path):
    options = TrainOptions(base=str(tiny_bert_dir), pooling="mean", procedure_examples="mix",
                           **{**FAST, "epochs": 1})
    result = train_model(toy_examples(), options, settings_for(tmp_path), tmp_path / "model")
    added = card(result)["data"]["procedure_examples"]["train"]["examples"]
    assert result.history[0]["train_sentences"] == len(result.split.train) + added


def test_a_team_with_no_labels_gets_a_cold_start_model_from_attack(tiny_bert_dir, tmp_path):
    options = TrainOptions(base=str(tiny_bert_dir), pooling="mean", procedure_examples="mix", classes=TOY,
                           **{**FAST, "epochs": 3, "negatives_ratio": 1.0})
    result = train_model([], options, settings_for(tmp_path), tmp_path / "cold")
    info = card(result)
    stage = info["data"]["procedure_examples"]
    assert stage["stage"] == "cold start" and stage["techniques"] == 2
    assert stage["train"]["without_technique"] > 0 and stage["validation"]["examples"] > 0
    assert all(part["sentences"] == 0 for part in info["data"]["counts"].values())  # no analyst label used
    assert info["evaluation"] is None  # no analyst's report to test on: no score that could pass for one
    assert result.history[-1]["val_micro_f1_best"] > 0.8  # on held-out groups' and software's examples
    scores = load_trained(result.model_dir).predict_scores([POWERSHELL, RUN_KEY])
    assert scores[0, 0] > scores[0, 1] and scores[1, 1] > scores[1, 0]


def test_cold_start_picks_every_technique_with_enough_examples():
    available, _ = load_procedure_examples()
    classes, split, parts, plan = plan_run([], TrainOptions(min_count=150, procedure_examples="only"))
    counts = {t: sum(1 for e in available if t in e.labels) for t in classes}
    assert len(classes) > 20 and min(counts.values()) >= 150
    assert not parts["test"] and split.test == [] and plan.stage == "cold start"
    sources = {e.report_id for e in parts["train"]}
    assert not sources & {e.report_id for e in parts["validation"]}  # held out by group, software or campaign


def test_only_scores_the_procedure_model_on_the_analysts_test_reports(tmp_path):
    off = train_model(toy_examples(), TrainOptions(base="baseline", min_count=1, seed=3), settings_for(tmp_path),
                      tmp_path / "off")
    only = train_model(toy_examples(), TrainOptions(base="baseline", min_count=1, seed=3, classes=TOY,
                                                    procedure_examples="only"), settings_for(tmp_path),
                       tmp_path / "only")
    assert only.split.test == off.split.test and only.split.test_reports == off.split.test_reports
    assert only.split.train == only.split.validation == []  # it learnt nothing from the analysts' reports
    assert card(only)["data"]["counts"]["test"] == card(off)["data"]["counts"]["test"]
    assert only.metrics["at_tuned"]["sentences"] == off.metrics["at_tuned"]["sentences"]
    assert only.metrics["by_label_space"]["tram50"]["techniques"] == 1  # T1547.001; T1059.001 is not one of the 50
    # ATT&CK's sources are no reports to tune the report rule on: a cold start keeps its neutral threshold, and a
    # technique is found in a report when two of its sentences score above 0.5 on average
    assert card(only)["thresholds"]["report"] == 1.0
    found = load_trained(only.model_dir).thresholds
    assert found.report_has_technique("T1547.001", [0.6, 0.45]) and not found.report_has_technique("T1547.001",
                                                                                                [0.55, 0.4])


def test_cold_start_needs_the_option_and_bad_choices_are_one_line(tmp_path):
    negatives = [Example(1, 1, "r", "The weather was fine.", (), "labelled")]
    assert is_cold_start(TrainOptions(procedure_examples="mix"), negatives)
    assert not is_cold_start(TrainOptions(base="baseline"), negatives)
    assert not is_cold_start(TrainOptions(procedure_examples="off"), negatives)
    assert is_cold_start(TrainOptions(), negatives)  # the embedded model mixes them in by default
    with pytest.raises(UserError, match="No labelled sentences"):
        train_model([], TrainOptions(base="baseline"), settings_for(tmp_path), tmp_path / "none")
    for options, message in ((TrainOptions(procedure_examples="sometimes"), "Unknown procedure_examples"),
                             (TrainOptions(procedure_label_space="all"), "Unknown procedure_label_space"),
                             (TrainOptions(base="baseline", procedure_examples="pretrain"), "needs a transformer")):
        with pytest.raises(UserError, match=message) as caught:
            train_model(toy_examples(), options, settings_for(tmp_path), tmp_path / "bad")
        assert "\n" not in str(caught.value)


def test_a_continued_run_keeps_the_mode_of_the_model_it_continues(tmp_path, store):
    """The Train page shows a trained base's own mode; a run left to the recipe (the CLI's) uses that mode too."""
    from tram_core.ml.training import _run_procedure_mode

    mixed = train_model(toy_examples(), TrainOptions(base="baseline", min_count=1, seed=3, procedure_examples="mix"),
                        settings_for(tmp_path), tmp_path / "mixed")
    model_id = store.add_model("run 1", "baseline", str(mixed.model_dir), "baseline", list(mixed.classes),
                               mixed.thresholds.to_json(), {}, {}, None)
    assert _run_procedure_mode(TrainOptions(base=f"trained:{model_id}"), store) == "mix"
    assert _run_procedure_mode(TrainOptions(base=f"trained:{model_id}", procedure_examples="off"), store) == "off"
    assert _run_procedure_mode(TrainOptions(base="trained:999"), store) == "off"  # resolving the base says why
    assert _run_procedure_mode(TrainOptions(), store) == "mix"
    from tram_core.views.train_form import BaseChoice, recipe_defaults

    shown = recipe_defaults(BaseChoice("run 1", f"trained:{model_id}", "trained"), store)
    assert shown["procedure_examples"] == "mix"  # the page shows what the run will do
