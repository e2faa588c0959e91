"""Train page: the live run and queue, the new-run form and its data, start, cancel, the history of runs, promote,
delete a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import altair as alt
import pandas as pd

from tram_core import server_paths
from tram_core.errors import UserError
from tram_core.services import activity
from tram_core.services.common import Context, ModelChoices, check_user, ensure_worker, model_choices
from tram_core.store import JOB_DONE, JOB_FINISHED_STATUSES, JOB_RUNNING, utcnow
from tram_core.views import charts, live_run, run_history, run_verdict, train_form
from tram_core.views.train_form import LABEL_SPACES, BaseChoice, DataOverview, OptionField

HISTORY_COLUMNS = ["run", "status", "base model", "data", "duration", "micro-F1 (tuned)", "macro-F1 (tuned)",
                   "report-F1", "verdict", "evaluate", "promoted", "model", "started", "by", "message"]
DEFAULT_MIN_COUNT = 10
CORPUS, TRAM50, PASTED = LABEL_SPACES  # the label spaces: by count, TRAM's 50, a pasted list

# --------------------------------------------------------------------------------------------------- live run


@dataclass(frozen=True)
class Bar:
    """A progress bar: how far (0-1) and what it says."""

    fraction: float
    text: str


@dataclass(frozen=True)
class LivePanel:
    """The running (or next queued) run, read from the database; ``job_id`` None: no run in progress.

    ``bars``: the run's training steps, the epoch (while training), then one bar per phase (preparing, tokenizing,
    training, evaluating, saving). ``worker_line`` is the sidebar's line, from the same read of the queue."""

    job_id: int | None = None
    running: bool = False
    title: str = ""
    bars: tuple[Bar, ...] = ()
    figures: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  # the time left, the worker's message
    info: str = ""  # the queued or idle state in one line
    cancel_requested: bool = False
    loss_chart: alt.Chart | None = None
    validation: pd.DataFrame | None = None
    queue: pd.DataFrame | None = None  # what waits, in the order it starts: lane and start for each
    worker_line: str = ""
    last_finished_id: int | None = None  # the newest finished training run

    @property
    def can_cancel(self) -> bool:
        return self.job_id is not None and not self.cancel_requested

    @property
    def marks(self) -> "LiveMarks":
        return LiveMarks(self.job_id, self.last_finished_id)


@dataclass(frozen=True)
class LiveMarks:
    """What the Train page was last drawn with: the run in the live panel and the newest finished run."""

    job_id: int | None = None
    finished_id: int | None = None


def page_needs_redraw(before: LiveMarks | None, panel: LivePanel) -> bool:
    """Whether a live-panel tick should redraw the whole Train page (history, promote list, verdicts): the run it
    showed has ended, or a run finished that the page has not drawn yet. A short run can be queued, run and
    finish between two ticks, so the panel never shows it running; the newest finished run still changes."""
    if before is None:
        return False
    ended = before.job_id is not None and panel.job_id != before.job_id
    return ended or panel.last_finished_id != before.finished_id


def _idle_panel(ctx: Context, state) -> LivePanel:
    finished = run_history.last_finished_run(ctx.store)
    bars = ()
    if finished is not None:
        last, line = finished
        bars = (Bar(1.0 if last.status == JOB_DONE else 0.0, line),)
    return LivePanel(bars=bars, info=f"No run in progress. Worker: {state.text}.", worker_line=state.line,
                     last_finished_id=finished[0].id if finished is not None else None)


def _running_parts(job, progress) -> dict[str, Any]:
    run = live_run.run_fraction(job)
    bars = [Bar(run, f"Run: {run:.0%} · {progress.headline}")]
    if progress.epochs and live_run.current_phase(job) == "training":
        bars.append(Bar(progress.epoch_fraction,
                        f"Epoch {progress.epoch}/{progress.epochs}: {progress.epoch_fraction:.0%}"))
    bars += [Bar(p.fraction, p.text) for p in live_run.phase_bars(job, utcnow())]
    figures = (("Phase", progress.phase or "starting"),
               ("Step", f"{progress.step}/{progress.total}" if progress.total else "–"),
               ("Running loss", f"{progress.loss:.4f}" if progress.loss is not None else "–"),
               ("Device", progress.device or "–"))
    notes = [progress.eta_text] if progress.eta_text and not job.cancel_requested else []
    if job.message and not job.message.startswith("epoch "):
        notes.append(job.message)
    return {"bars": tuple(bars), "figures": figures, "notes": tuple(notes)}


def _queue_frame(state, job_id: int) -> pd.DataFrame | None:
    rows = live_run.queue_rows(state.waiting, state.running, state.workers, leave_out=job_id)
    return pd.DataFrame(rows, columns=live_run.QUEUE_COLUMNS) if rows else None


def _shown_run(state):
    """The run the panel shows: the newest running one, else the next queued one."""
    runs = [j for j in state.running if j.kind == "train"] or [j for j in state.waiting if j.kind == "train"]
    return runs[0] if runs else None


def live_panel(ctx: Context) -> LivePanel:
    """The live panel's figures, bars, chart and queue, from one read of the queue (``queue.worker_state``, which
    the sidebar line reads too)."""
    from tram_core.jobs import queue

    state = queue.worker_state(ctx.store)
    job = _shown_run(state)
    if job is None:
        return _idle_panel(ctx, state)
    finished = next((j.id for j in ctx.store.list_jobs(limit=20, kind="train") if j.status in JOB_FINISHED_STATUSES),
                    None)
    progress = run_history.run_progress(ctx.store, job)
    running = job.status == JOB_RUNNING
    parts = _running_parts(job, progress) if running else {}
    has_loss = not progress.points.empty and progress.points["name"].str.contains("loss").any()
    has_validation = not progress.validation.empty and len(progress.validation.columns) > 1
    return LivePanel(
        job.id, running, f"Run {job.id}", **parts,
        info="" if running else f"Run {job.id} is queued ({progress.eta_text}). Worker: {state.text}.",
        cancel_requested=bool(job.cancel_requested),
        loss_chart=charts.live_loss_chart(progress.points) if has_loss else None,
        validation=progress.validation if has_validation else None, queue=_queue_frame(state, job.id),
        worker_line=state.line, last_finished_id=finished)


def cancel_run(ctx: Context, user: str, job_id: int) -> None:
    """Ask the worker to stop the run at its next step."""
    user = check_user(user, "cancel a run")
    ctx.store.request_cancel(job_id)
    activity.record(ctx, user, "cancel", f"job {job_id}")


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
