"""The Train page's form rules: base model specs, label spaces, option fields with recipe defaults, data overview."""

from __future__ import annotations

import pytest

from tests.engine_helpers import fill_store
from tram_core.attack import TRAM_CLASSES
from tram_core.errors import UserError
from tram_core.ml.training import RECIPES, TrainOptions
from tram_core.views import train_form


def test_choices_cover_every_kind_of_base(settings, store):
    choices = train_form.base_choices(settings, store)
    specs = {c.spec for c in choices if c.needs is None}
    assert {"embedded", "tram-scibert", "baseline"} <= specs
    assert {c.needs for c in choices} >= {"hub", "folder"}


def test_typed_base_specs_are_checked(tmp_path):
    hub = train_form.BaseChoice("hub", "", "hub", needs="hub")
    folder = train_form.BaseChoice("folder", "", "local", needs="folder")
    assert train_form.base_spec(hub, " allenai/scibert_scivocab_uncased ") == "allenai/scibert_scivocab_uncased"
    with pytest.raises(UserError, match="not a hub model ID"):
        train_form.base_spec(hub, "../../etc/passwd")
    with pytest.raises(UserError, match="does not exist"):
        train_form.base_spec(folder, str(tmp_path / "nope"))
    (tmp_path / "m").mkdir()
    with pytest.raises(UserError, match="no config.json"):
        train_form.base_spec(folder, str(tmp_path / "m"))
    (tmp_path / "m" / "config.json").write_text("{}")
    assert train_form.base_spec(folder, str(tmp_path / "m")) == str((tmp_path / "m").resolve())


def test_option_fields_carry_help_and_recipe_defaults():
    fields = {f.name: f for f in train_form.option_fields(RECIPES["embedded"])}
    assert fields["epochs"].default == RECIPES["embedded"]["epochs"] and fields["epochs"].from_recipe
    assert fields["learning_rate"].kind == "float" and fields["learning_rate"].help
    assert fields["loss"].kind == "choice" and fields["loss"].choices == ("bce", "focal", "asl")
    assert not fields["epochs"].advanced and fields["weight_decay"].advanced
    assert "base" not in fields and "classes" not in fields
    bert = {f.name: f for f in train_form.option_fields(RECIPES["bert"])}
    assert bert["learning_rate"].default == RECIPES["bert"]["learning_rate"]
    baseline = {f.name for f in train_form.option_fields({}, baseline=True)}
    assert "epochs" not in baseline and "seed" in baseline


def test_build_options_keeps_recipe_defaults_open():
    recipe = RECIPES["embedded"]
    options = train_form.build_options("embedded", {"epochs": 2, "learning_rate": recipe["learning_rate"],
                                                    "device": "auto", "seed": 5}, recipe, min_count=3)
    assert isinstance(options, TrainOptions)
    assert options.epochs == 2 and options.learning_rate is None and options.device is None
    assert options.seed == 5 and options.min_count == 3 and options.classes is None
    with pytest.raises(UserError, match="epochs must be at least 1"):
        train_form.build_options("embedded", {"epochs": 0}, recipe)


def test_label_spaces(catalog):
    assert train_form.fixed_classes("corpus") is None
    assert train_form.fixed_classes("tram50") == list(TRAM_CLASSES)
    assert train_form.fixed_classes("pasted", "t1059.001, T1105\nT1105", catalog) == ["T1059.001", "T1105"]
    with pytest.raises(UserError, match="T9999"):
        train_form.fixed_classes("pasted", "T1105 T9999", catalog)
    with pytest.raises(UserError, match="The pasted list, entry 2: 'hello' is not a technique ID"):
        train_form.fixed_classes("pasted", "T1105 hello")


def test_data_overview_counts_and_reasons(store):
    empty = train_form.data_overview(store)
    assert empty.answered == 0 and "Nothing is labelled yet" in empty.problem
    fill_store(store, reports=3, per_technique=4, unlabelled=2)
    view = train_form.data_overview(store, min_count=10)
    assert (view.reports, view.answered, view.with_technique, view.negatives) == (3, 48, 36, 12)
    assert view.technique_counts == {"T1059.003": 12, "T1105": 12, "T1003.001": 12}
    assert view.classes == ("T1003.001", "T1059.003", "T1105") and view.problem is None
    high = train_form.data_overview(store, min_count=13)
    assert high.classes == () and len(high.under_minimum) == 3 and "No technique has 13" in high.problem
    fixed = train_form.data_overview(store, classes=["T1105", "T1566.001"])
    assert fixed.classes == ("T1105", "T1566.001") and fixed.without_examples == ("T1566.001",)


def test_the_form_says_which_reports_a_run_is_tested_on(store):
    from tram_core.views.train_form import test_reports_note

    model_id = store.add_model("run", "transformer", "/nowhere", "embedded", ["T1105"], {"global": 0.5}, {},
                               {"split": {"test_reports": [4, 9]}})
    assert test_reports_note("embedded", [3, 5], store).startswith("The run is tested on the 2 picked report(s)")
    assert test_reports_note(f"trained:{model_id}", [], store).startswith(
        f"Continuing from model #{model_id}: the run keeps its 2 test report(s)")
    assert test_reports_note("embedded", [], store).startswith("The test fraction picks")
    assert test_reports_note("trained:999", [], store).startswith("The test fraction picks")  # no such model


def test_the_form_offers_attack_procedure_examples_for_models_and_the_baseline(store):
    fields = {f.name: f for f in train_form.option_fields(RECIPES["embedded"])}
    assert fields["procedure_examples"].choices == ("off", "mix", "pretrain", "only")
    # the embedded model mixes them in by default (it won on 3 split seeds); BERT-size bases and the baseline not
    assert fields["procedure_examples"].default == "mix" and fields["procedure_examples"].from_recipe
    assert not fields["procedure_examples"].advanced
    bert = {f.name: f for f in train_form.option_fields(RECIPES["bert"])}
    assert bert["procedure_examples"].default == "off"
    quick = {f.name: f for f in train_form.option_fields({}, baseline=True)}["procedure_examples"]
    assert quick.choices[quick.choice_index] == "off"
    assert fields["procedure_label_space"].choices == ("run", "extend") and fields["procedure_ratio"].kind == "float"
    baseline = {f.name for f in train_form.option_fields({}, baseline=True)}
    assert {"procedure_examples", "procedure_ratio"} <= baseline and "procedure_epochs" not in baseline
    options = train_form.build_options("baseline", {"procedure_examples": "only"}, {})
    assert options.procedure_examples == "only"
    # the mode is written even when it is the recipe's: a continued run reads what the form showed, not a lookup
    kept = train_form.build_options("embedded", {"procedure_examples": "mix", "epochs": 4}, RECIPES["embedded"])
    assert kept.procedure_examples == "mix" and kept.epochs is None


def test_a_cold_start_run_has_no_missing_label_problem(store):
    assert "procedure examples" in train_form.data_overview(store).problem
    assert train_form.data_overview(store, procedure_examples="only").problem is None
    assert train_form.data_overview(store, procedure_examples="mix").problem is None  # nothing labelled yet
    fill_store(store, reports=3, per_technique=4)
    assert "No technique has 13" in train_form.data_overview(store, min_count=13, procedure_examples="mix").problem
