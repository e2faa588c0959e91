"""Train page: pick a base model, label space and options, see the data, start a run, watch it live, review runs."""

from __future__ import annotations

import streamlit as st

from pages.ui import current_user, get_catalog, get_settings, get_store, literal, show_error
from tram_core import charts, jobs, run_history, train_form
from tram_core.app_state import worker_autostart
from tram_core.model_choice import model_label

settings = get_settings()
store = get_store()
catalog = get_catalog()

st.title("Train")
st.caption("Fine-tune a model on the labelled sentences. Runs go to a worker process: they keep going when you "
           "close the tab, and everyone sees the same progress.")


# --------------------------------------------------------------------------------------------------- live panel


def _cancel(job_id: int) -> None:
    """Button callback: runs before the panel is drawn, so the panel already shows the cancel."""
    try:
        store.request_cancel(job_id)
    except Exception as exc:  # noqa: BLE001 - shown to the user, never as a traceback
        st.session_state["train_cancel_error"] = exc


@st.fragment(run_every=2)
def live_panel() -> None:
    """The running (or next queued) run, the queue behind it: read from the database on every tick."""
    job = run_history.active_run(store)
    state = jobs.worker_state(store)
    watched = st.session_state.get("train_watched_job")
    st.session_state["train_watched_job"] = job.id if job else None
    if watched is not None and (job is None or job.id != watched):
        st.rerun()  # the watched run ended: redraw the whole page so the history and promote list show it
    if job is None:
        finished = run_history.last_finished_run(store)
        if finished is not None:
            last, line = finished
            st.progress(1.0 if last.status == run_history.JOB_DONE else 0.0, text=literal(line))
        st.info(f"No run in progress. Worker: {state.text}.")
        return
    progress = run_history.run_progress(store, job)
    st.subheader(f"Run {job.id}")
    if job.status == run_history.JOB_RUNNING:
        st.progress(progress.run_fraction, text=f"Run: {progress.run_fraction:.0%} · {progress.headline}")
        epoch_text = (f"Epoch {progress.epoch}/{progress.epochs}: {progress.epoch_fraction:.0%}" if progress.epochs
                      else f"Phase {progress.phase or 'starting'}: {progress.epoch_fraction:.0%}")
        st.progress(progress.epoch_fraction, text=epoch_text)
        cols = st.columns(4)
        cols[0].metric("Phase", progress.phase or "starting")
        cols[1].metric("Step", f"{progress.step}/{progress.total}" if progress.total else "–")
        cols[2].metric("Running loss", f"{progress.loss:.4f}" if progress.loss is not None else "–")
        cols[3].metric("Device", progress.device or "–")
        if progress.eta_text:
            st.caption(progress.eta_text)
        if job.message and not job.message.startswith("epoch "):
            st.caption(literal(job.message))
        if job.cancel_requested:
            st.warning("Cancel requested: the worker stops at the next step.")
    else:
        st.info(f"Run {job.id} is queued ({progress.eta_text}). Worker: {state.text}.")
    if not progress.points.empty and progress.points["name"].str.contains("loss").any():
        st.altair_chart(charts.live_loss_chart(progress.points), width="stretch")
    if not progress.validation.empty and len(progress.validation.columns) > 1:
        st.markdown("**Validation scores per epoch**")
        st.dataframe(progress.validation, hide_index=True)
    if not job.cancel_requested:
        st.button("Cancel this run", key=f"cancel-{job.id}", on_click=_cancel, args=(job.id,))
    if "train_cancel_error" in st.session_state:
        show_error(st.session_state.pop("train_cancel_error"), "Cancelling")
    queue = run_history.queued_runs(store)
    waiting = [q for q in queue if q.id != job.id]
    if waiting:
        st.markdown("**Queue**")
        st.dataframe([{"run": q.id, "base model": (q.params.get("options") or {}).get("base", ""),
                       "queued by": q.created_by, "queued at": q.created_at} for q in waiting], hide_index=True)


live_panel()


# --------------------------------------------------------------------------------------------------- new run

st.header("New run")
try:
    choices = train_form.base_choices(settings, store)
except Exception as exc:  # noqa: BLE001
    show_error(exc, "Listing base models")
    st.stop()

labels = [c.label for c in choices]
picked_label = st.selectbox("Base model", labels, index=0, key="train_base",
                            help="The model to fine-tune. Its recipe sets the defaults of the options below.")
choice = choices[labels.index(picked_label)]
if choice.description:
    st.caption(choice.description)
typed = ""
if choice.needs == "hub":
    typed = st.text_input("Hub model ID", key="train_hub_id", placeholder="allenai/scibert_scivocab_uncased")
elif choice.needs == "folder":
    typed = st.text_input("Model folder on the server", key="train_folder", placeholder="/models/my-bert")

space_keys = list(train_form.LABEL_SPACES)
space = st.radio("Label space", space_keys, format_func=train_form.LABEL_SPACES.get, key="train_space",
                 horizontal=True)
min_count = 10
pasted = ""
if space == "corpus":
    min_count = int(st.number_input("Minimum labelled sentences per technique", min_value=1, value=10, step=1,
                                    key="train_min_count"))
elif space == "pasted":
    pasted = st.text_area("Technique IDs (commas, spaces or one per line)", key="train_pasted",
                          placeholder="T1059.001, T1566.001, T1105")

fixed = None
space_error = None
try:
    fixed = train_form.fixed_classes(space, pasted, catalog)
except Exception as exc:  # noqa: BLE001
    space_error = exc
    if space != "pasted" or pasted.strip():
        show_error(exc, "Label space")

overview = train_form.data_overview(store, min_count, fixed)

st.subheader("The data")
cols = st.columns(5)
cols[0].metric("Reports", overview.reports)
cols[1].metric("Sentences", overview.sentences)
cols[2].metric("Labelled", overview.answered)
cols[3].metric("With a technique", overview.with_technique)
cols[4].metric("Negatives (no technique)", overview.negatives)
st.caption(f"{len(overview.classes)} techniques in the label space; labelled sentences come from "
           f"{overview.reports_with_labels} reports.")
if overview.technique_counts:
    st.altair_chart(charts.technique_counts_chart(overview.technique_counts, min_count if fixed is None else 0),
                    width="stretch")
if overview.under_minimum:
    with st.expander(f"{len(overview.under_minimum)} techniques under the minimum of {min_count} (left out)"):
        st.dataframe([{"technique": t, "name": (catalog.get(t).name if catalog.get(t) else ""), "sentences": n}
                      for t, n in overview.under_minimum], hide_index=True)
if overview.without_examples:
    st.warning(f"{len(overview.without_examples)} techniques of the label space have no labelled sentence: "
               + ", ".join(overview.without_examples[:20]) + (" …" if len(overview.without_examples) > 20 else ""))
if overview.problem:
    st.warning(overview.problem)

st.subheader("Options")
recipe = train_form.recipe_defaults(choice, store)
fields = train_form.option_fields(recipe, baseline=choice.kind == "baseline")
if choice.kind == "baseline":
    st.caption("The TF-IDF baseline has no epochs or learning rate: it fits in seconds.")
values: dict = {}


def _field_widget(field: train_form.OptionField, where) -> None:
    key = f"train_opt_{choice.kind}_{choice.spec}_{field.name}"
    help_text = field.help + (" (recipe default for this base model)" if field.from_recipe else "")
    if field.kind == "choice":
        options = list(field.choices)
        index = options.index(field.default) if field.default in options else 0
        values[field.name] = where.selectbox(field.label, options, index=index, help=help_text, key=key)
    elif field.kind == "int":
        values[field.name] = int(where.number_input(field.label, value=int(field.default), step=1, help=help_text,
                                                    key=key))
    else:
        default = float(field.default)
        fmt = "%.1e" if 0 < abs(default) < 1e-2 else "%.3f"
        values[field.name] = float(where.number_input(field.label, value=default, format=fmt,
                                                      step=default / 10 if 0 < default < 1e-2 else 0.05,
                                                      help=help_text, key=key))


main = [f for f in fields if not f.advanced]
columns = st.columns(3)
for i, field in enumerate(main):
    _field_widget(field, columns[i % 3])
advanced = [f for f in fields if f.advanced]
if advanced:
    with st.expander("Advanced options"):
        adv_columns = st.columns(3)
        for i, field in enumerate(advanced):
            _field_widget(field, adv_columns[i % 3])

report_names = train_form.test_report_choices(store)
test_reports = st.multiselect(
    "Test reports (optional)", list(report_names), format_func=report_names.get, key="train_test_reports",
    placeholder="None: the test fraction picks reports at random (by seed)",
    help="Hold out exactly these reports as the test set; the other reports are split into training and "
         "validation. Runs with the same test reports can be compared.")
st.caption(train_form.test_reports_note(choice.spec, test_reports, store))

if st.button("Start training", type="primary", key="train_start"):
    try:
        if space_error is not None:
            raise space_error
        if overview.problem:
            st.error(f"Cannot start: {overview.problem}")
        else:
            spec = train_form.base_spec(choice, typed)
            options = train_form.build_options(spec, values, recipe, min_count=min_count, classes=fixed,
                                               test_reports=test_reports)
            job_id = jobs.submit_training(store, options, current_user())
            started = jobs.ensure_worker_running(settings) if worker_autostart() else False
            running = store.list_jobs(limit=1, status=run_history.JOB_RUNNING, kind="train")
            ahead = [j for j in run_history.queued_runs(store) if j.id < job_id]
            if running or ahead:
                st.success(f"Run {job_id} is queued behind {len(running) + len(ahead)} other run(s).")
            else:
                st.success(f"Run {job_id} is queued" + (" and a worker is starting." if started else "."))
    except Exception as exc:  # noqa: BLE001 - one clear line, no traceback
        show_error(exc, "Cannot start training")


# --------------------------------------------------------------------------------------------------- history

st.header("Runs")
history = run_history.run_history(store)
if history.empty:
    st.info("No run yet. Start one above; its scores appear here and on the Evaluate page.")
else:
    st.dataframe(
        run_history.history_display(history),
        hide_index=True,
        column_order=["run", "status", "base model", "data", "duration", "micro-F1 (tuned)", "macro-F1 (tuned)",
                      "report-F1", "evaluate", "promoted", "model", "started", "by", "message"],
        column_config={
            "evaluate": st.column_config.LinkColumn("evaluate", display_text="open"),
            "promoted": st.column_config.CheckboxColumn("promoted"),
        },
        key="train_history",
    )
    models = run_history.evaluable_models(store)
    if models:
        promoted = store.promoted_model()
        st.caption("The promoted model makes the suggestions on the Annotate page."
                   + (f" Now: {literal(model_label(promoted))}." if promoted else " None is promoted yet."))
        by_label = {model_label(m): m for m in models}
        pick = st.selectbox("Model to promote", list(by_label), key="train_promote_pick")
        if st.button("Promote and refresh suggestions", key="train_promote"):
            try:
                model = by_label[pick]
                job_id = jobs.promote_and_predict(store, model.id, current_user())
                if worker_autostart():
                    jobs.ensure_worker_running(settings)
                st.success(f"Model #{model.id} is promoted; suggestions are being refreshed (job {job_id}).")
            except Exception as exc:  # noqa: BLE001
                show_error(exc, "Cannot promote")
