"""Annotate: one report sentence by sentence (with context and model suggestions), or one technique across reports."""

from __future__ import annotations

import streamlit as st

from pages.ui import AnnotateState, capabilities, current_user, get_context, literal, page_state, show_error, \
    show_notes, technique_labels
from tram_core.services import annotate as svc
from tram_core.services import common
from tram_core.services.common import UserError

S = st.session_state
W = AnnotateState.widgets
SHORTCUTS = "Keys: **S** save & next · **P** previous · **K** skip · **N** no technique · **V** mark reviewed · " \
            "**U** undo · **1**–**5** tick/untick a suggestion"

ctx = get_context()
labels = technique_labels()
user = current_user()
can_label = capabilities().label  # a viewer reads the sentences; only a role that may label sees the save buttons
state = page_state(AnnotateState)
cursor = state.cursor


def filters() -> svc.Filters:
    """The filter bar's values, as the widgets hold them now."""
    return svc.Filters(status=S.get(W.status) or svc.STATUS_ALL, has_suggestions=bool(S.get(W.has_suggestions)),
                       technique=S.get(W.technique) or None, search=S.get(W.search) or "",
                       order=S.get(W.order) or svc.ORDER_REPORT)


def label(technique: str) -> str:
    return labels.get(technique, technique)


# --------------------------------------------------------------------------------------------------- callbacks


def on_save(kind: str) -> None:
    view = state.on_screen
    ticked = [r.rank for r in view.suggestions if S.get(W.suggestion(r.rank))]
    svc.save(ctx, user, cursor, view.chosen(ticked, state.extra), kind, filters())


def on_skip() -> None:
    svc.skip(cursor, filters())


def on_previous() -> None:
    svc.previous(cursor, filters())


def on_undo() -> None:
    svc.undo(ctx, user, cursor)


def on_resolve_conflict(take_theirs: bool) -> None:
    svc.resolve_conflict(ctx, user, cursor, take_theirs, filters())


def on_toggle(key: str) -> None:
    S[key] = not S.get(key, False)


def on_add_technique(technique_id: str) -> None:
    state.extra = svc.with_technique(state.extra, technique_id)
    S[W.find] = ""


def on_extra_changed(widget_key: str) -> None:
    state.extra = sorted(S.get(widget_key) or [])


def on_technique_decision(sentence, technique: str, accept: bool) -> None:
    svc.decide(ctx, user, cursor, sentence, technique, accept)


def on_open_sentence(sentence) -> None:
    svc.open_sentence(cursor, sentence)
    S[W.mode] = svc.MODE_SENTENCES


def on_open_block(sentence_id: int) -> None:
    svc.open_block(cursor, sentence_id)


def on_report_changed() -> None:
    svc.open_report(cursor, S[W.report])


def on_model_changed() -> None:
    svc.choose_model(cursor, S[W.model])


def on_filters_changed() -> None:
    svc.restart(cursor)


# --------------------------------------------------------------------------------------------------- page

st.title("Annotate")

titles = svc.report_titles(ctx)
if not titles:
    st.info("No reports yet. Import a report (a PDF, DOCX, HTML or text file, pasted text, a URL, or a TRAM/MAT "
            "dataset) on the Reports page, then come back here to label its sentences.")
    st.page_link("pages/reports.py", label="Go to Reports", icon=":material/upload_file:")
    st.stop()

# A deep link (?report=12&sentence=340) opens that sentence; afterwards the URL follows the analyst.
link = common.read_link(st.query_params.to_dict())
if (link.report, link.sentence) != (None, None) and (link.report, link.sentence) != state.link_seen:
    state.link_seen = (link.report, link.sentence)
    for warning in svc.follow_link(ctx, cursor, link.report, link.sentence, titles):
        st.warning(literal(warning))

models = svc.suggestion_models(ctx)
svc.settle(cursor, titles, models)
state.apply_pending()
for key, default in ((W.mode, svc.MODE_SENTENCES), (W.status, svc.STATUS_ALL), (W.order, svc.ORDER_REPORT)):
    S.setdefault(key, default)

top = st.columns([4, 5, 3])
S[W.report], S[W.model] = cursor.report_id, cursor.model_id
top[0].selectbox("Report", list(titles), key=W.report, format_func=lambda rid: svc.report_label(titles, rid),
                 on_change=on_report_changed)
if models.ids:
    top[1].selectbox("Suggestions from", models.ids, key=W.model, on_change=on_model_changed, format_func=models.label,
                     help="The model whose scores are shown as suggestions (the promoted model by default). "
                          "Run a model over a report on the Reports page.")
else:
    top[1].caption("Suggestions: no trained model yet.")
top[2].segmented_control("Mode", svc.MODES, key=W.mode)


def other_techniques(view: svc.SentencePanel) -> None:
    """Techniques beyond the suggestions: chosen ones as pills (click to drop), a search over ID, name and
    description to add more, and (on demand) a picker over every technique: heavy to redraw, so off by default."""
    chosen = list(state.extra)
    if S.get(W.browse_all):
        S[W.extra_all] = chosen
        st.multiselect("Other techniques", svc.picker_choices(ctx, keep=view.sentence.labels), key=W.extra_all,
                       format_func=label, placeholder="Type an ID, name or tactic",
                       on_change=on_extra_changed, args=(W.extra_all,))
    elif chosen:
        S[W.extra_pills] = chosen
        st.pills("Other techniques (click one to drop it)", chosen, selection_mode="multi", key=W.extra_pills,
                 format_func=label, on_change=on_extra_changed, args=(W.extra_pills,))
    for tech in chosen:
        st.caption(f"{tech}: {svc.description(ctx, tech)}")
    frow = st.container(horizontal=True, vertical_alignment="bottom")
    query = frow.text_input("Add a technique", key=W.find,
                            placeholder="An ID, a name, or words from its description (e.g. lsass memory)")
    frow.toggle("Browse all", key=W.browse_all, help="Pick from a list of every ATT&CK technique.")
    if query.strip():
        found = svc.techniques_to_add(ctx, query, chosen)
        if not found:
            st.caption("No technique matches.")
        for tech in found:
            rcols = st.columns([1, 8])
            rcols[0].button("Add", key=W.add(tech.id), on_click=on_add_technique, args=(tech.id,))
            rcols[1].markdown(f"**{literal(tech.label)}**  \n{literal(tech.description)}")


def filter_bar() -> None:
    """Filters and order: drawn with the whole page (a change reruns it all), not with each Save & next."""
    with st.expander("Filters and order", expanded=filters().narrowed):
        # Two rows, so no control is cut at 1280-1920 px: the segmented controls need their full width.
        first = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
        first.segmented_control("Status", list(svc.STATUS_NAMES), key=W.status, on_change=on_filters_changed,
                                format_func=svc.STATUS_NAMES.get)
        first.segmented_control("Order", list(svc.ORDER_NAMES), key=W.order, on_change=on_filters_changed,
                                format_func=svc.ORDER_NAMES.get,
                                help="Uncertain first: the sentences where the model's scores sit closest to "
                                     "its thresholds come first.")
        first.toggle("Has suggestions", key=W.has_suggestions, on_change=on_filters_changed)
        second = st.columns(2)
        second[0].selectbox("Technique", [""] + svc.filter_techniques(cursor, keep=S.get(W.technique)),
                            key=W.technique, on_change=on_filters_changed,
                            format_func=lambda t: label(t) if t else "any technique",
                            help="Sentences of this report labelled with this technique or suggested with it.")
        second[1].text_input("Text contains", key=W.search, placeholder="e.g. powershell",
                             on_change=on_filters_changed)


def follow_in_address(view: svc.SentencePanel) -> None:
    """The address names the sentence on screen (one update, so one URL change for the browser per step)."""
    here = (view.report_id, view.sentence.id)
    if state.link_seen != here:
        st.query_params.update(common.sentence_link(*here))
        state.link_seen = here


def reset_choices(view: svc.SentencePanel) -> None:
    """A newly opened sentence (or version) starts from its own answer, else the model's ticks."""
    if state.ticks_for != view.ticks_for:
        for row in view.suggestions:
            S[W.suggestion(row.rank)] = row.ticked
        state.ticks_for = view.ticks_for
    if state.extra_for != view.extra_for:
        state.extra = list(view.extra)
        state.extra_for = view.extra_for


@st.fragment
def sentence_mode() -> None:
    """The sentence panel. A fragment: Save & next reruns only this part of the page."""
    if cursor.report_id != S.get(W.report):
        st.rerun(scope="app")  # an undo moved to another report: redraw the report picker too
    # Every part whose length changes from sentence to sentence (messages, context, suggestions, conflict) sits in
    # its own container: the elements after it keep their places, so the browser updates them instead of
    # rebuilding them on each Save & next.
    messages = st.container()
    with messages:
        show_notes(cursor.take_notes())
    try:
        svc.read(ctx, cursor, user)
    except UserError as exc:  # a report or model deleted meanwhile
        show_error(exc)
        return
    view = svc.sentence_panel(ctx, cursor, filters())
    prow = st.container(horizontal=True)
    prow.progress(view.report_progress.fraction, text=f"This report: {view.report_progress.text}")
    prow.progress(view.corpus_progress.fraction, text=f"All reports: {view.corpus_progress.text}")
    if view.start_note:
        messages.info(literal(view.start_note))
    if view.sentence is None:
        return
    if view.changed_note:
        messages.warning(literal(view.changed_note))
    if view.double_note:
        messages.info(literal(view.double_note), icon=":material/group:")
    follow_in_address(view)
    state.on_screen = view
    sentence_box(view)
    conflict_box = st.container()
    if view.conflict is not None:
        conflict_panel(conflict_box, view.conflict)
    reset_choices(view)
    with st.container():
        suggestion_rows(view)
    with st.container():
        other_techniques(view)
    answer_buttons()


def context_line(text: str, block: svc.BlockView | None) -> None:
    """A sentence around the current one; a marked block folded under its name, with a way to open it."""
    if block is None:
        st.caption(literal(text))
        return
    with st.expander(literal(block.title), icon=":material/code:"):
        st.code(block.body, language=None)
        st.caption(literal(block.note))
        st.button("Open it to label it", key=W.open_block(block.sentence_id), on_click=on_open_block,
                  args=(block.sentence_id,))


def sentence_box(view: svc.SentencePanel) -> None:
    """Where the sentence sits, the sentences around it, the sentence itself and its stored answer."""
    st.caption(view.position)
    with st.container():
        for text, block in view.context_before:
            context_line(text, block)
    with st.container(border=True, key=W.current):
        if view.block is not None:  # a marked block opened to label it: its lines as in the report
            with st.expander(literal(view.block.title), expanded=True, icon=":material/code:"):
                st.code(view.block.body, language=None)
            st.caption(literal(view.block.note))
        else:
            st.markdown(f"**{literal(view.sentence.text)}**")
    with st.container():
        for text, block in view.context_after:
            context_line(text, block)
    st.caption(literal(view.answer))


def conflict_panel(box, conflict: svc.Conflict) -> None:
    """Someone else's save since this sentence was opened: theirs and mine, and the two ways out."""
    with box:
        st.warning(literal(conflict.line))
        ccols = st.columns(2)
        ccols[0].button("Keep mine (overwrite theirs)", on_click=on_resolve_conflict, args=(False,),
                        disabled=not can_label)
        ccols[1].button("Take theirs", on_click=on_resolve_conflict, args=(True,))


def suggestion_rows(view: svc.SentencePanel) -> None:
    """The model's suggestions: a checkbox per technique with score and threshold, its key (1-5), its summary."""
    if not view.suggestions:
        st.caption(view.no_suggestions)
        return
    st.markdown("**Model suggestions** (ticked: above the model's threshold)")
    for row in view.suggestions:
        key = W.suggestion(row.rank)
        line = st.container(horizontal=True, vertical_alignment="center")
        line.checkbox(row.text, key=key, help=row.help, width="stretch")
        line.button("Tick", key=W.toggle(row.rank), shortcut=str(row.rank), on_click=on_toggle, args=(key,),
                    help=f"Tick or untick {row.technique} (key {row.rank})")
        st.caption(row.caption)


def answer_buttons() -> None:
    """Save & next, no technique, reviewed, previous, skip, undo: each on a key."""
    # One flex row, not six columns: fewer elements for the browser to redraw on each Save & next.
    brow = st.container(horizontal=True)
    if not can_label:
        brow.button("Previous", shortcut="P", on_click=on_previous, width="stretch")
        brow.button("Next", shortcut="K", on_click=on_skip, width="stretch")
        st.caption(literal(f"Labelling needs the annotator role; you are {capabilities().role}."))
        return
    brow.button("Save & next", type="primary", shortcut="S", on_click=on_save, args=(svc.SAVE_LABELS,),
                width="stretch")
    brow.button("No technique", shortcut="N", on_click=on_save, args=(svc.SAVE_NONE,), width="stretch",
                help="This sentence describes no ATT&CK technique (saved as a negative example).")
    brow.button("Mark reviewed", shortcut="V", on_click=on_save, args=(svc.SAVE_REVIEWED,), width="stretch",
                help="Save the ticked techniques and mark the sentence reviewed.")
    brow.button("Previous", shortcut="P", on_click=on_previous, width="stretch")
    brow.button("Skip", shortcut="K", on_click=on_skip, width="stretch",
                help="Go to the next matching sentence without saving.")
    brow.button("Undo last change", shortcut="U", on_click=on_undo, width="stretch")
    st.caption(SHORTCUTS)


def technique_mode() -> None:
    show_notes(cursor.take_notes())
    choices = svc.technique_choices(ctx, labels)
    tech = st.selectbox("Technique", choices.ids, key=W.view_technique, index=None, placeholder="Choose a technique",
                        format_func=choices.label)
    if tech is None:
        st.caption("Every sentence labelled with the technique or suggested with it by the model, across reports, "
                   "to accept or reject one by one.")
        return
    view = svc.technique_view(ctx, tech, cursor.model_id, user)
    st.caption(view.description)
    if view.empty:
        st.info(literal(view.empty))
        return
    st.caption(view.count)
    for hit in view.hits:
        s = hit.sentence
        with st.container(border=True):
            st.markdown(literal(s.text))
            st.caption(literal(hit.facts_line()))
            cols = st.columns([2, 2, 2, 6])
            if can_label:
                cols[0].button("Accept", key=W.accept(tech, s.id, s.version), on_click=on_technique_decision,
                               args=(s, tech, True), disabled=not hit.can_accept,
                               type="primary" if hit.preticked and hit.can_accept else "secondary")
                cols[1].button("Reject", key=W.reject(tech, s.id, s.version), on_click=on_technique_decision,
                               args=(s, tech, False), disabled=not hit.can_reject)
            cols[2].button("Open", key=W.open(tech, s.id), on_click=on_open_sentence, args=(s,))


if S.get(W.mode) == svc.MODE_TECHNIQUE:
    technique_mode()
else:
    try:
        svc.read(ctx, cursor, user)
        filter_bar()
    except UserError as exc:  # a report or model deleted meanwhile
        show_error(exc)
        st.stop()
    sentence_mode()
