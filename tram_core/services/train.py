"""Train page: the new-run form and its data, start, the history of runs, promote, delete a model (the live run
and cancel: train_live)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import altair as alt
import pandas as pd

from tram_core import server_paths
from tram_core.errors import UserError
from tram_core.services import activity
from tram_core.services.common import Context, ModelChoices, check_user, ensure_worker, model_choices
from tram_core.store import JOB_RUNNING
from tram_core.views import charts, run_history, run_verdict, train_form
from tram_core.views.train_form import LABEL_SPACES, BaseChoice, DataOverview, OptionField

HISTORY_COLUMNS = ["run", "status", "base model", "data", "duration", "micro-F1 (tuned)", "macro-F1 (tuned)",
                   "report-F1", "verdict", "evaluate", "promoted", "model", "started", "by", "message"]
DEFAULT_MIN_COUNT = 10
CORPUS, TRAM50, PASTED = LABEL_SPACES  # the label spaces: by count, TRAM's 50, a pasted list

# --------------------------------------------------------------------------------------------------- the form


def base_choices(ctx: Context) -> list[BaseChoice]:
    """Every base model the form offers (the first is the default)."""
    return train_form.base_choices(ctx.settings, ctx.store)


@dataclass(frozen=True)
class LabelSpace:
    """The techniques a run would learn: a fixed list, or None (chosen by count); ``error`` when refused."""

    classes: tuple[str, ...] | None = None
    error: str = ""
    quiet: bool = False  # the error waits until Start (nothing pasted yet)


def label_space(ctx: Context, space: str, pasted: str = "") -> LabelSpace:
    try:
        classes = train_form.fixed_classes(space, pasted, ctx.catalog)
    except UserError as exc:
        return LabelSpace(error=str(exc), quiet=space == PASTED and not (pasted or "").strip())
    return LabelSpace(tuple(classes) if classes is not None else None)


@dataclass(frozen=True)
class DataPanel:
    """The data a run would train on, as drawn: figures, the counts chart, what is left out and why not."""

    overview: DataOverview
    min_count: int
    fixed: bool
    procedure_examples: str = "off"

    @property
    def figures(self) -> tuple[tuple[str, int], ...]:
        o = self.overview
        return (("Reports", o.reports), ("Sentences", o.sentences), ("Labelled", o.answered),
                ("With a technique", o.with_technique), ("Negatives (no technique)", o.negatives))

    @property
    def caption(self) -> str:
        mode = self.procedure_examples
        if self.overview.cold_start:
            return ("No analyst label is used: this run is the cold-start model, trained on ATT&CK's procedure "
                    "examples alone (every technique with enough of them, unless a label space is fixed) and "
                    "tested on the labelled test reports when there are any.")
        line = (f"{len(self.overview.classes)} techniques in the label space; labelled sentences come from "
                f"{self.overview.reports_with_labels} reports.")
        if mode in ("mix", "pretrain"):
            line += (" ATT&CK's procedure examples are added to training ('" + mode + "'); they are never counted "
                     "here.")
        return line

    @property
    def chart(self) -> alt.Chart | None:
        counts = self.overview.technique_counts
        return charts.technique_counts_chart(counts, 0 if self.fixed else self.min_count) if counts else None

    @property
    def under_minimum_title(self) -> str:
        return f"{len(self.overview.under_minimum)} techniques under the minimum of {self.min_count} (left out)"

    @property
    def without_examples(self) -> str:
        missing = self.overview.without_examples
        if not missing:
            return ""
        return (f"{len(missing)} techniques of the label space have no labelled sentence: "
                + ", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""))

    @property
    def problem(self) -> str:
        return self.overview.problem or ""


def data_panel(ctx: Context, min_count: int, space: LabelSpace, procedure_examples: str = "off") -> DataPanel:
    """The data a run would see, with ``procedure_examples`` the mode the form shows (see shown_procedure_mode)."""
    classes = list(space.classes) if space.classes else None
    overview = train_form.data_overview(ctx.store, min_count, classes, procedure_examples)
    return DataPanel(overview, min_count, classes is not None, procedure_examples)


def shown_procedure_mode(ctx: Context, choice, picked: str | None) -> str:
    """The procedure-example mode the form stands at: the one picked, else the base model's recipe default."""
    if picked:
        return str(picked)
    return str(train_form.recipe_defaults(choice, ctx.store).get("procedure_examples") or "off")


def under_minimum_rows(ctx: Context, panel: DataPanel) -> list[dict]:
    """The techniques left out by the minimum count, with their names."""
    found = ctx.catalog.get
    return [{"technique": t, "name": (found(t).name if found(t) else ""), "sentences": n}
            for t, n in panel.overview.under_minimum]


@dataclass(frozen=True)
class OptionForm:
    """The option fields for one base model, defaulted from its recipe."""

    recipe: Mapping[str, Any]
    main: tuple[OptionField, ...]
    advanced: tuple[OptionField, ...]
    note: str = ""


def option_form(ctx: Context, choice: BaseChoice) -> OptionForm:
    recipe = train_form.recipe_defaults(choice, ctx.store)
    fields = train_form.option_fields(recipe, baseline=choice.kind == "baseline")
    note = "The TF-IDF baseline has no epochs or learning rate: it fits in seconds." if choice.kind == "baseline" \
        else ""
    return OptionForm(recipe, tuple(f for f in fields if not f.advanced), tuple(f for f in fields if f.advanced),
                      note)


def test_report_choices(ctx: Context) -> dict[int, str]:
    """Reports that can be a run's test set (they have answers), as ``{id: '#id title'}``."""
    return train_form.test_report_choices(ctx.store)


def test_reports_note(ctx: Context, choice: BaseChoice, picked: Sequence[int]) -> str:
    return train_form.test_reports_note(choice.spec, picked, ctx.store)


@dataclass(frozen=True)
class TrainRequest:
    """What the form asks for when Start is pressed."""

    choice: BaseChoice
    typed: str = ""  # the hub ID or folder a 'needs' choice asks for
    space: str = CORPUS
    pasted: str = ""
    min_count: int = DEFAULT_MIN_COUNT
    values: Mapping[str, Any] = field(default_factory=dict)
    test_reports: tuple[int, ...] = ()


def folder_help(ctx: Context, user: str) -> str:
    """The model-folder box's help: where on the server ``user`` may point it."""
    return server_paths.folders_help(user, ctx.settings)


def base_model_spec(ctx: Context, user: str, request: TrainRequest) -> str:
    """The run's base model: a folder typed by a user other than an admin must lie inside the allowed folders
    (checked before anything says whether it exists), and a hub ID the worker would read as a folder too."""
    typed = request.typed
    if request.choice.needs == "folder" and (typed or "").strip() and not server_paths.may_use_any_path(user):
        typed = str(server_paths.confine_path(user, typed, ctx.settings))
    return server_paths.check_base_model(user, train_form.base_spec(request.choice, typed), ctx.settings)


def start_training(ctx: Context, user: str, request: TrainRequest) -> str:
    """Queue a training run (starting a worker when none runs); the line saying where it stands in the queue.

    A run carries its own label space (there is no stored one), so starting a run is where the label space is set:
    it needs "edit the label space" besides "start training".
    """
    from tram_core.jobs import queue

    name = check_user(user, "start training")
    check_user(user, "edit the label space")
    classes = train_form.fixed_classes(request.space, request.pasted, ctx.catalog)
    overview = train_form.data_overview(ctx.store, request.min_count, classes,
                                        str(request.values.get("procedure_examples") or "off"))
    if overview.problem:
        raise UserError(overview.problem)
    spec = base_model_spec(ctx, user, request)
    recipe = train_form.recipe_defaults(request.choice, ctx.store)
    options = train_form.build_options(spec, request.values, recipe, min_count=request.min_count, classes=classes,
                                       test_reports=list(request.test_reports))
    job_id = queue.submit_training(ctx.store, options, name)
    activity.record(ctx, name, "train", f"job {job_id}",
                    after={"base": spec[:200], "label space": request.space,
                           "techniques": len(classes) if classes else None, "min count": request.min_count})
    started = ensure_worker(ctx)
    running = ctx.store.list_jobs(limit=1, status=JOB_RUNNING, kind="train")
    ahead = [j for j in run_history.queued_runs(ctx.store) if j.id < job_id]
    if running or ahead:
        return f"Run {job_id} is queued behind {len(running) + len(ahead)} other run(s)."
    return f"Run {job_id} is queued" + (" and a worker is starting." if started else ".")


# --------------------------------------------------------------------------------------------------- runs


def history_table(ctx: Context) -> pd.DataFrame | None:
    """Every training run with its key scores, its verdict (against the quick and the promoted model on the same
    test sentences) and an 'evaluate' link; None when there is none yet."""
    history = run_history.run_history(ctx.store, settings=ctx.settings)
    return None if history.empty else run_history.history_display(history)


def quick_model_line(ctx: Context) -> str:
    """The quick model the worker retrains on its own: when, on how many labelled sentences, promoted or why not."""
    return run_verdict.quick_model_line(ctx.store)


@dataclass(frozen=True)
class Promotion:
    """The models that can be promoted, and which one makes the suggestions now."""

    choices: ModelChoices
    caption: str


def promotion(ctx: Context) -> Promotion:
    from tram_core.views.model_choice import model_label

    models = run_history.evaluable_models(ctx.store)
    promoted = ctx.store.promoted_model()
    caption = ("The promoted model makes the suggestions on the Annotate page."
               + (f" Now: {model_label(promoted)}." if promoted else " None is promoted yet."))
    choices = model_choices(models)
    return Promotion(ModelChoices(choices.ids, choices.labels, choices.ids[0] if choices.ids else None), caption)


PROMOTE_ANYWAY = "Promote anyway"


@dataclass(frozen=True)
class PromotionCheck:
    """The verdict of the model picked for promotion; ``needs_confirmation`` when it is worse than the quick or
    the promoted model on the same test sentences (promote then asks for 'Promote anyway')."""

    sentence: str
    needs_confirmation: bool


def promotion_check(ctx: Context, model_id: int) -> PromotionCheck:
    model = ctx.store.get_model(model_id)
    verdict = run_verdict.run_verdict(ctx.store, ctx.settings, model)
    return PromotionCheck(verdict.sentence, bool(verdict.worse) and not model.promoted)


def promote(ctx: Context, user: str, model_id: int, anyway: bool = False) -> str:
    """Promote a model and queue the refresh of every report's suggestions by it; a model worse than the quick or
    the promoted model on the same test sentences is refused unless ``anyway`` (the page's 'Promote anyway')."""
    from tram_core.jobs import queue

    user = check_user(user, "promote a model")
    verdict = run_verdict.check_promotion(ctx.store, ctx.settings, model_id, anyway, f'tick "{PROMOTE_ANYWAY}"')
    was = ctx.store.promoted_model()
    job_id = queue.promote_and_predict(ctx.store, model_id, user)
    activity.record(ctx, user, "promote", f"model {model_id}", {"promoted": was.id if was else None},
                    {"promoted": model_id, **({"anyway": list(verdict.worse)} if verdict.worse else {})})
    ensure_worker(ctx)
    return f"Model #{model_id} is promoted; suggestions are being refreshed (job {job_id})."


def deletable_models(ctx: Context) -> ModelChoices:
    """The trained models a maintainer may try to delete (newest first; the promoted one is marked and refused)."""
    return model_choices(ctx.store.list_models(include_imported=False))


def delete_model(ctx: Context, user: str, model_id: int) -> str:
    """Delete a trained model, its suggestions and its folder under the models folder; the line saying so.

    Refused, with the reason, for the promoted model and a model a queued or running job uses.
    """
    from tram_core import deletions

    return deletions.delete_model(ctx.store, ctx.settings, check_user(user, "delete a model"), model_id).line
