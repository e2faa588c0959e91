"""What the Train page asks before a run: base model choices, label space, option fields with recipe defaults, and
the data the run would see; turns the form's answers into TrainOptions."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from tram_core.attack import TRAM_CLASSES, parse_technique_list
from tram_core.errors import UserError
from tram_core.ml.base_models import list_base_models
from tram_core.ml.device import AUTO, DEVICE_CHOICES
from tram_core.ml.training import (
    CLASS_WEIGHTINGS, LOSSES, POOLINGS, PROCEDURE_LABEL_SPACES, PROCEDURE_MODES, RECIPES, TrainOptions, recipe_for,
)
from tram_core.store import NotFoundError

LABEL_SPACES = {
    "corpus": "Techniques in the labelled data with at least a minimum count",
    "tram50": "TRAM's 50 techniques",
    "pasted": "A list I paste",
}
CHOICES: dict[str, tuple[str, ...]] = {
    "loss": LOSSES, "pooling": POOLINGS, "class_weighting": CLASS_WEIGHTINGS, "bf16": ("auto", "on", "off"),
    "device": DEVICE_CHOICES, "procedure_examples": PROCEDURE_MODES, "procedure_label_space": PROCEDURE_LABEL_SPACES,
}
MAIN_FIELDS = ("epochs", "learning_rate", "head_learning_rate", "batch_size", "max_length", "negatives_ratio",
               "loss", "pos_weight", "seed", "procedure_examples")
FORM_SKIPS = ("base", "classes", "min_count", "test_reports")
BASELINE_FIELDS = ("seed", "validation_fraction", "test_fraction", "procedure_examples", "procedure_ratio",
                   "procedure_label_space")
# Fields the form always writes, default or not: what data a run reads is not left to a recipe lookup later.
WRITTEN_DOWN = ("procedure_examples",)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


@dataclass(frozen=True)
class BaseChoice:
    """One entry of the base-model picker. ``needs`` is 'hub' or 'folder' when the user must type the spec."""

    label: str
    spec: str
    kind: str
    description: str = ""
    needs: str | None = None


@dataclass(frozen=True)
class OptionField:
    """One training option as a form field: its type, the default for the chosen base model, and help text."""

    name: str
    label: str
    kind: str  # 'int' | 'float' | 'choice'
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    advanced: bool = False
    from_recipe: bool = False

    @property
    def help_text(self) -> str:
        return self.help + (" (recipe default for this base model)" if self.from_recipe else "")

    @property
    def choice_index(self) -> int:
        """The default's position among the choices (0 when it is not one of them)."""
        return self.choices.index(self.default) if self.default in self.choices else 0

    @property
    def number_format(self) -> str:
        """How a float field shows its value: small rates in scientific notation."""
        return "%.1e" if 0 < abs(float(self.default)) < 1e-2 else "%.3f"

    @property
    def step(self) -> float:
        default = float(self.default)
        return default / 10 if 0 < default < 1e-2 else 0.05


@dataclass(frozen=True)
class DataOverview:
    """The data a run would train on, and why it cannot start when it cannot."""

    reports: int
    sentences: int
    answered: int
    with_technique: int
    negatives: int
    reports_with_labels: int
    technique_counts: dict[str, int]
    classes: tuple[str, ...]
    under_minimum: tuple[tuple[str, int], ...] = ()
    without_examples: tuple[str, ...] = ()
    problem: str | None = None
    cold_start: bool = False  # the run would train on ATT&CK's procedure examples alone (procedure_training)


# --------------------------------------------------------------------------------------------------- base models


def base_choices(settings, store=None) -> list[BaseChoice]:
    """Every base model the form offers: the registry's (embedded, TRAM SciBERT, trained runs, TF-IDF) plus a hub ID
    and a local folder typed by the user."""
    out: list[BaseChoice] = []
    for spec in list_base_models(settings, store):
        if spec.kind in ("hub", "local") and not spec.key:
            continue
        out.append(BaseChoice(spec.name, spec.key, spec.kind, spec.description))
    kinds = {c.kind for c in out}
    if "baseline" not in {c.spec for c in out} and "baseline" not in kinds:
        out.append(BaseChoice("Quick TF-IDF baseline", "baseline", "baseline",
                              "TF-IDF and logistic regression: trains in seconds on a CPU."))
    out.append(BaseChoice("A Hugging Face hub model ID…", "", "hub",
                          "Any BERT-family encoder on the hub (needs internet once, or the model in the cache).",
                          needs="hub"))
    out.append(BaseChoice("A model folder on this server…", "", "local",
                          "A folder holding a transformers model and tokenizer (save_pretrained layout).",
                          needs="folder"))
    return out


def base_spec(choice: BaseChoice, typed: str = "") -> str:
    """The TrainOptions.base string for a picked choice; checks a typed hub ID or folder."""
    if choice.needs is None:
        return choice.spec
    text = (typed or "").strip()
    if choice.needs == "hub":
        if not text:
            raise UserError("Type a Hugging Face model ID, for example 'allenai/scibert_scivocab_uncased'")
        if not _HUB_ID.match(text):
            raise UserError(f"'{text[:80]}' is not a hub model ID (owner/name, letters, digits, '-', '_', '.')")
        return text
    if not text:
        raise UserError("Type the path of a model folder on this server")
    path = Path(text).expanduser()
    if not path.is_dir():
        raise UserError(f"Model folder '{text[:200]}' does not exist on this server")
    if not (path / "config.json").is_file():
        raise UserError(f"'{text[:200]}' holds no config.json: it is not a transformers model folder")
    return str(path.resolve())


def recipe_defaults(choice: BaseChoice, store=None) -> dict:
    """The recipe defaults the run would use with this base (a trained model keeps its own recipe)."""
    if choice.kind == "baseline":
        return {}
    if choice.kind == "trained":
        from tram_core.ml.model_card import ModelCard

        card = ModelCard.of_trained_base(store, choice.spec)  # None: a missing folder gets the generic recipe
        recipe = {k: v for k, v in (card.options or {}).items() if k in RECIPES["embedded"] and v is not None} \
            if card is not None else {}
        if recipe:
            return {**recipe_for("bert"), **recipe}
    return recipe_for("embedded" if choice.kind == "embedded" else choice.kind)


# --------------------------------------------------------------------------------------------------- options


def _base_type(annotation: Any) -> type:
    if isinstance(annotation, str):
        annotation = eval(annotation, {"list": list, "str": str, "int": int, "float": float,  # noqa: S307
                                       "None": type(None)})
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return args[0] if args else str
    return annotation


def option_fields(recipe: Mapping[str, Any], baseline: bool = False) -> list[OptionField]:
    """The TrainOptions fields as form fields, main ones first, defaulted from ``recipe`` where it has them."""
    out = []
    for f in dataclasses.fields(TrainOptions):
        if f.name in FORM_SKIPS:
            continue
        if baseline and f.name not in BASELINE_FIELDS:
            continue
        kind_type = _base_type(f.type)
        if f.name in CHOICES:
            kind = "choice"
        elif kind_type is int:
            kind = "int"
        elif kind_type is float:
            kind = "float"
        else:
            continue
        default = recipe.get(f.name, f.default)
        if f.name == "device" and default is None:
            default = AUTO
        if kind != "choice" and default is None:
            default = 0 if kind == "int" else 0.0
        out.append(OptionField(
            name=f.name, label=f.name.replace("_", " "), kind=kind, default=default,
            help=str(f.metadata.get("help", "")), choices=CHOICES.get(f.name, ()),
            advanced=f.name not in MAIN_FIELDS, from_recipe=f.name in recipe,
        ))
    out.sort(key=lambda o: (o.advanced, MAIN_FIELDS.index(o.name) if o.name in MAIN_FIELDS else 0))
    return out


def fixed_classes(label_space: str, pasted: str = "", catalog=None) -> list[str] | None:
    """The fixed label space for 'tram50' or 'pasted'; None for 'corpus' (chosen by count at training time)."""
    if label_space == "corpus":
        return None
    if label_space == "tram50":
        return list(TRAM_CLASSES)
    if label_space == "pasted":
        ids = parse_technique_list(pasted or "", catalog, where="The pasted list")
        if not ids:
            raise UserError("The pasted list holds no technique ID (like T1059.001)")
        return list(ids)
    raise UserError(f"Unknown label space '{label_space}'; use one of {', '.join(LABEL_SPACES)}")


def test_report_choices(store) -> dict[int, str]:
    """Reports that have answered sentences (a test report needs labels), as ``{id: "#id title"}``, in id order."""
    return {r.id: f"#{r.id} {r.title[:80]}" for r in sorted(store.list_reports(), key=lambda r: r.id) if r.answered}


def test_reports_note(spec: str, picked: Sequence[int], store) -> str:
    """Which reports a run from the form will be tested on, in words (see training._test_reports_for)."""
    if picked:
        return f"The run is tested on the {len(picked)} picked report(s) only; the others train and validate it."
    if spec.startswith("trained:") and spec[len("trained:"):].isdecimal():
        model_id = int(spec[len("trained:"):])
        try:
            tested = ((store.get_model(model_id).options or {}).get("split") or {}).get("test_reports") or []
        except NotFoundError:
            tested = []
        if tested:
            return (f"Continuing from model #{model_id}: the run keeps its {len(tested)} test report(s), so the two "
                    "runs compare like with like. Test reports that model trained on are refused.")
    return "The test fraction picks the test reports at random, by the seed."


def build_options(base: str, values: Mapping[str, Any], recipe: Mapping[str, Any], min_count: int = 10,
                  classes: Sequence[str] | None = None, test_reports: Sequence[int] | None = None) -> TrainOptions:
    """TrainOptions from the form: a value equal to the recipe default stays None (the run resolves it), except
    the WRITTEN_DOWN fields.

    ``test_reports``: the reports held out as the test set (none picked: the test fraction decides).
    """
    known = {f.name for f in dataclasses.fields(TrainOptions)}
    data: dict[str, Any] = {"base": base, "min_count": int(min_count),
                            "classes": list(classes) if classes else None,
                            "test_reports": sorted(set(test_reports)) if test_reports else None}
    for name, value in values.items():
        if name not in known or name in FORM_SKIPS:
            continue
        if name in recipe and value == recipe[name] and name not in WRITTEN_DOWN:
            continue
        if name == "device" and value == AUTO:
            value = None  # the worker's own setting decides (TRAM_DEVICE, else auto)
        data[name] = value
    if data.get("epochs") is not None and data["epochs"] < 1:
        raise UserError(f"epochs must be at least 1, not {data['epochs']}")
    for name in ("learning_rate", "head_learning_rate"):
        if data.get(name) is not None and data[name] <= 0:
            raise UserError(f"{name.replace('_', ' ')} must be above 0, not {data[name]}")
    if data.get("batch_size") is not None and data["batch_size"] < 1:
        raise UserError(f"batch size must be at least 1, not {data['batch_size']}")
    return TrainOptions(**data)


# --------------------------------------------------------------------------------------------------- data


def data_overview(store, min_count: int = 10, classes: Sequence[str] | None = None,
                  procedure_examples: str = "off") -> DataOverview:
    """Counts of what a run would train on; ``problem`` says why training cannot start (and what to do). A run on
    ATT&CK's procedure examples alone (``procedure_examples`` 'only', or on with no labelled technique: the
    cold-start model) has no problem with missing labels."""
    counts = store.corpus_counts()
    examples = store.examples()
    technique_counts: dict[str, int] = {}
    for ex in examples:
        for tech in set(ex.labels):
            technique_counts[tech] = technique_counts.get(tech, 0) + 1
    with_technique = sum(1 for ex in examples if ex.labels)
    reports_with_labels = len({ex.report_id for ex in examples})
    if classes:
        chosen = tuple(dict.fromkeys(classes))
        under: tuple[tuple[str, int], ...] = ()
        missing = tuple(t for t in chosen if technique_counts.get(t, 0) == 0)
    else:
        chosen = tuple(sorted(t for t, n in technique_counts.items() if n >= min_count))
        under = tuple(sorted(((t, n) for t, n in technique_counts.items() if n < min_count),
                             key=lambda tn: (-tn[1], tn[0])))
        missing = ()

    from tram_core.ml.procedure_training import cold_start_for

    problem = None
    cold_start = cold_start_for(procedure_examples, bool(with_technique))
    if cold_start:
        problem = None  # the cold-start model: ATT&CK's procedure examples are its labels
    elif not examples:
        problem = ("Nothing is labelled yet: label sentences on the Annotate page or import a labelled dataset "
                   "on the Import page, then come back to train (or set 'procedure examples' to 'mix' or 'only' "
                   "in the options for a cold-start model trained on ATT&CK's procedure examples).")
    elif not with_technique:
        problem = (f"The {len(examples)} labelled sentences carry no technique: label some sentences with "
                   "techniques first.")
    elif reports_with_labels < 2:
        problem = ("Labelled sentences come from only 1 report; a run holds out whole reports for testing, so "
                   "label sentences in at least 2 reports (3 or more for a validation set).")
    elif not chosen:
        problem = (f"No technique has {min_count} or more labelled sentences: lower the minimum count "
                   "or label more sentences.")
    elif classes and len(missing) == len(chosen):
        problem = "None of the chosen techniques has a labelled sentence: pick another label space."
    return DataOverview(
        reports=int(counts.get("reports", 0)), sentences=int(counts.get("sentences", 0)), answered=len(examples),
        with_technique=with_technique, negatives=len(examples) - with_technique,
        reports_with_labels=reports_with_labels, technique_counts=technique_counts, classes=chosen,
        under_minimum=under, without_examples=missing, problem=problem, cold_start=cold_start,
    )
