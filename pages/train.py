"""Train page: pick a base model, label space and options, see the data, start a run, watch it live, review runs."""

from __future__ import annotations

import streamlit as st

from pages.ui import TrainState, capabilities, current_user, get_context, literal, page_state, show_error
from tram_core.services import common
from tram_core.services import train as svc
from tram_core.services import train_live as live
from tram_core.services import workers

ctx = get_context()
caps = capabilities()  # the start, cancel and promote controls show only for a role that may use them
state = page_state(TrainState)
W = TrainState.widgets

st.title("Train")
st.caption("Fine-tune a model on the labelled sentences. Runs go to a worker process: they keep going when you "
           "close the tab, and everyone sees the same progress.")


# --------------------------------------------------------------------------------------------------- live panel


def on_cancel(job_id: int) -> None:
    """Button callback: runs before the panel is drawn, so the panel already shows the cancel."""
    try:
        live.cancel_run(ctx, current_user(), job_id)
    except Exception as exc:  # noqa: BLE001 - shown to the user, never as a traceback
        state.cancel_error = common.error_line(exc, "Cancelling")


def running_run(panel: live.LivePanel) -> None:
    for bar in panel.bars:
        st.progress(bar.fraction, text=bar.text)
    cols = st.columns(len(panel.figures))
    for col, (name, value) in zip(cols, panel.figures):
        col.metric(name, value)
    for note in panel.notes:
        st.caption(literal(note))
    if panel.cancel_requested:
        st.warning("Cancel requested: the worker stops at the next step.")


@st.fragment(run_every=2)
def live_panel() -> None:
    """The running (or next queued) run, the queue behind it: read from the database on every tick."""
    panel = live.live_panel(ctx)
    st.caption(literal(panel.worker_line))
    before, state.live_marks = state.live_marks, panel.marks
    if live.page_needs_redraw(before, panel):
        st.rerun()  # a run ended: redraw the whole page so the history and promote list show it
    if panel.job_id is None:
        for bar in panel.bars:
            st.progress(bar.fraction, text=literal(bar.text))
        st.info(literal(panel.info))
        return
    st.subheader(panel.title)
    if panel.running:
        running_run(panel)
    else:
        st.info(literal(panel.info))
    if panel.loss_chart is not None:
        st.altair_chart(panel.loss_chart, width="stretch")
    if panel.validation is not None:
        st.markdown("**Validation scores per epoch**")
        st.dataframe(panel.validation, hide_index=True)
    if panel.can_cancel and caps.can("cancel a run"):
        st.button("Cancel this run", key=W.cancel(panel.job_id), on_click=on_cancel, args=(panel.job_id,))
    if state.cancel_error:
        st.error(literal(state.cancel_error))
        state.cancel_error = ""
    if panel.queue is not None:
        st.markdown("**Queue**")
        st.dataframe(panel.queue, hide_index=True)


live_panel()


@st.fragment(run_every=5)
def worker_panel() -> None:
    """Every worker seen in the last hour, on any machine: its host, device, job and last heartbeat."""
    with st.expander("Workers", expanded=False):
        table = workers.workers_table(ctx)
        if table.empty:
            st.caption(workers.NO_WORKERS)
            return
        st.dataframe(table, hide_index=True, width="stretch")
        note = workers.stale_note(table)
        if note:
            st.warning(literal(note))


worker_panel()


# --------------------------------------------------------------------------------------------------- new run

st.header("New run")
try:
    choices = svc.base_choices(ctx)
except Exception as exc:  # noqa: BLE001
    show_error(exc, "Listing base models")
    st.stop()

names = [c.label for c in choices]
picked_name = st.selectbox("Base model", names, index=0, key=W.base,
                           help="The model to fine-tune. Its recipe sets the defaults of the options below.")
choice = choices[names.index(picked_name)]
if choice.description:
    st.caption(choice.description)
typed = ""
if choice.needs == "hub":
    typed = st.text_input("Hub model ID", key=W.hub_id, placeholder="allenai/scibert_scivocab_uncased")
elif choice.needs == "folder":
    typed = st.text_input("Model folder on the server", key=W.folder, placeholder="/models/my-bert",
                          help=svc.folder_help(ctx, current_user()))

space_name = st.radio("Label space", list(svc.LABEL_SPACES), format_func=svc.LABEL_SPACES.get, key=W.space,
                      horizontal=True)
min_count = svc.DEFAULT_MIN_COUNT
pasted = ""
if space_name == svc.CORPUS:
    min_count = int(st.number_input("Minimum labelled sentences per technique", min_value=1,
                                    value=svc.DEFAULT_MIN_COUNT, step=1, key=W.min_count))
elif space_name == svc.PASTED:
    pasted = st.text_area("Technique IDs (commas, spaces or one per line)", key=W.pasted,
                          placeholder="T1059.001, T1566.001, T1105")

space = svc.label_space(ctx, space_name, pasted)
if space.error and not space.quiet:
    st.error(literal(f"Label space: {space.error}"))
procedure_mode = svc.shown_procedure_mode(ctx, choice, st.session_state.get(
    W.option(choice.kind, choice.spec, "procedure_examples")))
data = svc.data_panel(ctx, min_count, space, procedure_mode)

st.subheader("The data")
for col, (name, value) in zip(st.columns(len(data.figures)), data.figures):
    col.metric(name, value)
st.caption(data.caption)
if data.chart is not None:
    st.altair_chart(data.chart, width="stretch")
if data.overview.under_minimum:
    with st.expander(data.under_minimum_title):
        st.dataframe(svc.under_minimum_rows(ctx, data), hide_index=True)
if data.without_examples:
    st.warning(data.without_examples)
if data.problem:
    st.warning(data.problem)

st.subheader("Options")
form = svc.option_form(ctx, choice)
if form.note:
    st.caption(form.note)
values: dict = {}


def field_widget(field, where) -> None:
    key = W.option(choice.kind, choice.spec, field.name)
    if field.kind == "choice":
        values[field.name] = where.selectbox(field.label, list(field.choices), index=field.choice_index,
                                             help=field.help_text, key=key)
    elif field.kind == "int":
        values[field.name] = int(where.number_input(field.label, value=int(field.default), step=1,
                                                    help=field.help_text, key=key))
    else:
        values[field.name] = float(where.number_input(field.label, value=float(field.default),
                                                      format=field.number_format, step=field.step,
                                                      help=field.help_text, key=key))


columns = st.columns(3)
for i, field in enumerate(form.main):
    field_widget(field, columns[i % 3])
if form.advanced:
    with st.expander("Advanced options"):
        adv_columns = st.columns(3)
        for i, field in enumerate(form.advanced):
            field_widget(field, adv_columns[i % 3])

report_names = svc.test_report_choices(ctx)
test_reports = st.multiselect(
    "Test reports (optional)", list(report_names), format_func=report_names.get, key=W.test_reports,
    placeholder="None: the test fraction picks reports at random (by seed)",
    help="Hold out exactly these reports as the test set; the other reports are split into training and "
         "validation. Runs with the same test reports can be compared.")
st.caption(svc.test_reports_note(ctx, choice, test_reports))

if not caps.train:
    st.caption(literal(f"Starting a run needs the maintainer role; you are {caps.role}."))
elif st.button("Start training", type="primary", key=W.start):
    request = svc.TrainRequest(choice, typed, space_name, pasted, min_count, values, tuple(test_reports))
    try:
        st.success(svc.start_training(ctx, current_user(), request))
    except Exception as exc:  # noqa: BLE001 - one clear line, no traceback
        show_error(exc, "Cannot start training")


# --------------------------------------------------------------------------------------------------- history

st.header("Runs")
runs = st.container()  # filled after the delete control below, so a model deleted in this run is already gone


def delete_control() -> None:
    """Delete a model: shown only to a role that may, after a confirmation; the service refuses the promoted model
    and one a queued or running job uses, saying why."""
    deletable = svc.deletable_models(ctx)
    if not deletable.ids or not caps.can("delete a model"):
        return
    with st.expander("Delete a model"):
        pick = st.selectbox("Model to delete", deletable.ids, format_func=deletable.label, key=W.delete_pick)
        sure = st.checkbox(f"Yes, delete model #{pick}, its suggestions and its folder", key=W.delete_sure(pick))
        if st.button("Delete model", disabled=not sure, key=W.delete):
            try:
                st.success(literal(svc.delete_model(ctx, current_user(), pick)))
            except Exception as exc:  # noqa: BLE001 - one clear line, no traceback
                show_error(exc, "Not deleted")


delete_control()


def promote_control() -> None:
    """Promote a model: its verdict first; one worse than the quick or the promoted model asks 'Promote anyway'."""
    promotion = svc.promotion(ctx)
    if not promotion.choices.ids or not caps.can("promote a model"):
        return
    st.caption(literal(promotion.caption))
    pick = st.selectbox("Model to promote", promotion.choices.ids, format_func=promotion.choices.label,
                        key=W.promote_pick)
    try:
        check = svc.promotion_check(ctx, pick)
    except Exception as exc:  # noqa: BLE001 - e.g. the model was deleted meanwhile
        show_error(exc, "Cannot judge this model")
        return
    (st.warning if check.needs_confirmation else st.caption)(literal(check.sentence))
    anyway = check.needs_confirmation and st.checkbox(svc.PROMOTE_ANYWAY, key=W.promote_anyway(pick))
    if st.button("Promote and refresh suggestions", key=W.promote):
        try:
            st.success(svc.promote(ctx, current_user(), pick, anyway=anyway))
        except Exception as exc:  # noqa: BLE001
            show_error(exc, "Cannot promote")


with runs:
    history = svc.history_table(ctx)
    st.caption(literal(svc.quick_model_line(ctx)))
    if history is None:
        st.info("No run yet. Start one above; its scores appear here and on the Evaluate page.")
    else:
        st.dataframe(
            history, hide_index=True, column_order=svc.HISTORY_COLUMNS, key=W.history,
            column_config={
                "evaluate": st.column_config.LinkColumn("evaluate", display_text="open"),
                "promoted": st.column_config.CheckboxColumn("promoted"),
                "verdict": st.column_config.TextColumn("verdict", width="large"),
            },
        )
        promote_control()
