"""Annotate: one report sentence by sentence (with context and model suggestions), or one technique across reports."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from pages.ui import current_user, get_catalog, get_store, literal, show_error, technique_labels
from tram_core import annotation as ann
from tram_core.app_state import parse_view_params
from tram_core.errors import UserError
from tram_core.model_choice import default_model, model_label

S = st.session_state
MODE_SENTENCES = ann.MODE_SENTENCES
MODE_TECHNIQUE = ann.MODE_TECHNIQUE
STATUS_NAMES = {ann.STATUS_ALL: "All", ann.UNLABELLED: "Unlabelled", ann.LABELLED: "Labelled",
                ann.REVIEWED: "Reviewed"}
ORDER_NAMES = {ann.ORDER_REPORT: "Report order", ann.ORDER_UNCERTAIN: "Uncertain first"}
SHORTCUTS = "Keys: **S** save & next · **P** previous · **K** skip · **N** no technique · **V** mark reviewed · " \
            "**U** undo · **1**–**5** tick/untick a suggestion"


@dataclass(frozen=True)
class OnScreen:
    """The sentence on screen as it was opened, with the widgets' keys, for the button callbacks."""

    report_id: int
    sentence: ann.Sentence
    suggested: tuple[str, ...]
    model_id: int | None

    # One checkbox key per suggestion rank, kept from sentence to sentence (its tick is reset when another
    # sentence or version opens): the browser updates those widgets in place instead of building new ones.
    def box_key(self, technique: str) -> str:
        return f"ann_sg_{self.suggested.index(technique) + 1}"

    @property
    def ticks_for(self) -> tuple:
        """What the suggestion ticks were set up for: this sentence version with these suggestions."""
        return self.sentence.id, self.sentence.version, self.suggested

    # One multiselect for every sentence (updated, not rebuilt, as the analyst moves on: cheaper to redraw).
    extra_key = "ann_extra"

    def chosen(self) -> list[str]:
        ticked = [t for t in self.suggested if S.get(self.box_key(t))]
        return sorted(set(ticked) | set(S.get(self.extra_key) or ()))


store = get_store()
catalog = get_catalog()
labels = technique_labels()
user = current_user()


def short_description(technique_id: str, limit: int = 220) -> str:
    return catalog.summary(technique_id, limit)


def current_filter() -> ann.SentenceFilter:
    return ann.SentenceFilter(status=S.get("ann_status") or ann.STATUS_ALL,
                              has_suggestions=bool(S.get("ann_has_sugg")),
                              technique=S.get("ann_tech") or None, search=S.get("ann_search") or "")


def go_to(sentence_id: int | None, remember: bool = True) -> None:
    here = S.get("ann_sentence")
    if sentence_id is None:
        S["ann_flash"] = ("info", (S.get("ann_flash") or ("", ""))[1] + " No more sentences match the filters "
                                  "after this one.")
        return
    if remember and here is not None and here != sentence_id:
        S.setdefault("ann_history", []).append(here)
    S["ann_sentence"] = sentence_id
    S.pop("ann_conflict", None)


def drawn_queue(saved: ann.Sentence | None = None) -> ann.ReportQueue:
    """The queue the last run drew (no new query), with a just-saved sentence in place."""
    queue = S["ann_drawn"].queue
    return queue.with_sentence(saved) if saved is not None else queue


def remember_own_save(saved: ann.Sentence) -> None:
    S["ann_drawn"] = ann.after_own_save(store, S["ann_drawn"], saved)


def next_sentence(view: OnScreen, saved: ann.Sentence | None = None) -> int | None:
    return drawn_queue(saved).next_after(view.sentence.id, current_filter(), S.get("ann_order") or ann.ORDER_REPORT)


# --------------------------------------------------------------------------------------------------- callbacks


def on_save(kind: str) -> None:
    """Save the answer on screen (labels, no technique, reviewed), then move to the next matching sentence."""
    view: OnScreen = S["ann_view"]
    chosen = view.chosen()
    try:
        result = ann.save_answer(store, view.sentence, chosen, user, catalog=catalog,
                                 no_technique=kind == "none", reviewed=kind == "reviewed")
    except Exception as exc:  # noqa: BLE001 - shown to the user as one line
        S["ann_error"] = exc
        return
    if result.conflict is not None:
        S["ann_conflict"] = {"mine": chosen, "kind": kind, "theirs": result.conflict}
        return
    S["ann_flash"] = ("success" if result.saved else "info", result.message)
    if result.sentence is not None:
        S["ann_opened"] = result.sentence
        if result.saved:
            remember_own_save(result.sentence)
    go_to(next_sentence(view, result.sentence))


def on_skip() -> None:
    view: OnScreen = S["ann_view"]
    S.pop("ann_flash", None)
    go_to(next_sentence(view))


def on_previous() -> None:
    view: OnScreen = S["ann_view"]
    history = S.get("ann_history") or []
    queue = drawn_queue()
    while history:
        candidate = history.pop()
        if candidate in queue:
            go_to(candidate, remember=False)
            return
    previous = queue.previous_before(view.sentence.id, current_filter(), (S.get("ann_order") or ann.ORDER_REPORT))
    if previous is None:
        S["ann_flash"] = ("info", "This is the first matching sentence.")
    else:
        go_to(previous, remember=False)


def on_undo() -> None:
    try:
        restored = ann.undo_last(store, user)
    except Exception as exc:  # noqa: BLE001
        S["ann_error"] = exc
        return
    if restored is None:
        S["ann_flash"] = ("info", f"Nothing to undo for {literal(user)}.")
        return
    S["ann_flash"] = ("success", f"Undid your last change on sentence {restored.id}.")
    S["ann_report"] = restored.report_id
    S["ann_opened"] = restored
    go_to(restored.id)


def on_toggle(key: str) -> None:
    S[key] = not S.get(key, False)


def on_add_technique(extra_key: str, technique_id: str) -> None:
    chosen = list(S.get(extra_key) or [])
    if technique_id not in chosen:
        S[extra_key] = sorted(chosen + [technique_id])
    S["ann_find"] = ""


def on_resolve_conflict(take_theirs: bool) -> None:
    view: OnScreen = S["ann_view"]
    conflict = S.pop("ann_conflict", None)
    if conflict is None:
        return
    theirs: ann.Sentence = conflict["theirs"]
    if take_theirs:
        S["ann_opened"] = theirs
        S["ann_flash"] = ("info", f"Kept {literal(theirs.updated_by or 'their')} answer for sentence {theirs.id}.")
        return  # the page reopens the sentence at their version
    result = ann.save_answer(store, theirs, conflict["mine"], user, catalog=catalog,
                             no_technique=conflict["kind"] == "none", reviewed=conflict["kind"] == "reviewed")
    if result.conflict is not None:
        S["ann_conflict"] = {**conflict, "theirs": result.conflict}
        return
    S["ann_flash"] = ("success", result.message)
    S["ann_opened"] = result.sentence
    remember_own_save(result.sentence)
    go_to(next_sentence(view, result.sentence))


def on_technique_decision(sentence: ann.Sentence, technique: str, accept: bool) -> None:
    result = ann.apply_technique_decision(store, sentence, technique, accept, user)
    if result.conflict is not None:
        S["ann_flash"] = ("warning", f"{literal(result.message)}. Their answer: "
                                     f"{', '.join(result.conflict.labels) or 'no technique'}. Look again below.")
    else:
        S["ann_flash"] = ("success", result.message)


def on_open_sentence(sentence: ann.Sentence) -> None:
    S["ann_report"] = sentence.report_id
    S["ann_mode"] = MODE_SENTENCES
    go_to(sentence.id)


# --------------------------------------------------------------------------------------------------- page

st.title("Annotate")

titles = store.annotation_report_titles()
if not titles:
    st.info("No reports yet. Import a report (a PDF, DOCX, HTML or text file, pasted text, a URL, or a TRAM/MAT "
            "dataset) on the Reports page, then come back here to label its sentences.")
    st.page_link("pages/reports.py", label="Go to Reports", icon=":material/upload_file:")
    st.stop()

# A deep link (?report=12&sentence=340) opens that sentence; afterwards the URL follows the analyst.
link = parse_view_params(st.query_params.to_dict())
link_key = (link.report, link.sentence)
if link_key != (None, None) and link_key != S.get("ann_link_seen"):
    S["ann_link_seen"] = link_key
    target = ann.link_target(store, link.report, link.sentence, titles)
    for warning in target.warnings:
        st.warning(warning)
    if target.report_id is not None:
        S["ann_report"] = target.report_id
    if target.sentence_id is not None:
        S["ann_sentence"] = target.sentence_id
    elif target.clear_sentence:
        S.pop("ann_sentence", None)

if S.get("ann_report") not in titles:
    S["ann_report"] = next(iter(titles))
    S.pop("ann_sentence", None)

models = store.list_models()
model_ids = [m.id for m in models]
model_names = {m.id: model_label(m) for m in models}
if S.get("ann_model") not in model_ids:
    first = default_model(models)
    S["ann_model"] = first.id if first is not None else None


def _report_changed() -> None:
    S["ann_report"] = S["ann_report_pick"]
    S.pop("ann_sentence", None)
    S["ann_history"] = []


def _model_changed() -> None:
    S["ann_model"] = S["ann_model_pick"]


for _key, _default in (("ann_mode", MODE_SENTENCES), ("ann_status", ann.STATUS_ALL),
                       ("ann_order", ann.ORDER_REPORT)):
    S.setdefault(_key, _default)

top = st.columns([5, 4, 3])
S["ann_report_pick"], S["ann_model_pick"] = S["ann_report"], S["ann_model"]
top[0].selectbox("Report", list(titles), key="ann_report_pick", format_func=lambda rid: f"#{rid} {titles[rid]}",
                 on_change=_report_changed)
if model_ids:
    top[1].selectbox("Suggestions from", model_ids, key="ann_model_pick", on_change=_model_changed,
                     format_func=lambda mid: model_names.get(mid, str(mid)),
                     help="The model whose scores are shown as suggestions (the promoted model by default). "
                          "Run a model over a report on the Reports page.")
else:
    top[1].caption("Suggestions: no trained model yet.")
top[2].segmented_control("Mode", [MODE_SENTENCES, MODE_TECHNIQUE], key="ann_mode")



def on_filters_changed() -> None:
    """New filters or order: start again at the first sentence they select."""
    S.pop("ann_sentence", None)
    S["ann_history"] = []


def show_messages() -> None:
    if S.get("ann_error") is not None:
        show_error(S.pop("ann_error"), "Not saved")
    flash = S.pop("ann_flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])


def _extra_changed(widget_key: str) -> None:
    S[OnScreen.extra_key] = sorted(S.get(widget_key) or [])


def other_techniques(opened: ann.Sentence) -> None:
    """Techniques beyond the suggestions: chosen ones as pills (click to drop), a search over ID, name and
    description to add more, and (on demand) a picker over every technique: heavy to redraw, so off by default."""
    chosen = list(S.get(OnScreen.extra_key) or [])
    if S.get("ann_browse_all"):
        S["ann_extra_all"] = chosen
        st.multiselect("Other techniques", ann.technique_choices(catalog, keep=opened.labels), key="ann_extra_all",
                       format_func=lambda t: labels.get(t, t), placeholder="Type an ID, name or tactic",
                       on_change=_extra_changed, args=("ann_extra_all",))
    elif chosen:
        S["ann_extra_pills"] = chosen
        st.pills("Other techniques (click one to drop it)", chosen, selection_mode="multi", key="ann_extra_pills",
                 format_func=lambda t: labels.get(t, t), on_change=_extra_changed, args=("ann_extra_pills",))
    for tech in chosen:
        st.caption(f"{tech}: {short_description(tech)}")
    frow = st.container(horizontal=True, vertical_alignment="bottom")
    query = frow.text_input("Add a technique", key="ann_find",
                            placeholder="An ID, a name, or words from its description (e.g. lsass memory)")
    frow.toggle("Browse all", key="ann_browse_all", help="Pick from a list of every ATT&CK technique.")
    if query.strip():
        found = ann.techniques_to_add(catalog, query, chosen)
        if not found:
            st.caption("No technique matches.")
        for tech in found:
            rcols = st.columns([1, 8])
            rcols[0].button("Add", key=f"add_{tech.id}", on_click=on_add_technique,
                            args=(OnScreen.extra_key, tech.id))
            rcols[1].markdown(f"**{literal(labels.get(tech.id, tech.id))}**  \n{literal(short_description(tech.id))}")


def filter_bar(queue: ann.ReportQueue) -> None:
    """Filters and order: drawn with the whole page (a change reruns it all), not with each Save & next."""
    with st.expander("Filters and order", expanded=bool(S.get("ann_tech") or S.get("ann_search"))):
        cols = st.columns([3, 2, 3, 3, 2])
        cols[0].segmented_control("Status", list(STATUS_NAMES), key="ann_status", on_change=on_filters_changed,
                                  format_func=STATUS_NAMES.get)
        cols[1].toggle("Has suggestions", key="ann_has_sugg", on_change=on_filters_changed)
        cols[2].selectbox("Technique", [""] + queue.techniques(keep=S.get("ann_tech")), key="ann_tech",
                          on_change=on_filters_changed,
                          format_func=lambda t: labels.get(t, t) if t else "any technique",
                          help="Sentences of this report labelled with this technique or suggested with it.")
        cols[3].text_input("Text contains", key="ann_search", placeholder="e.g. powershell",
                           on_change=on_filters_changed)
        cols[4].segmented_control("Order", list(ORDER_NAMES), key="ann_order", on_change=on_filters_changed,
                                  format_func=ORDER_NAMES.get,
                                  help="Uncertain first: the sentences where the model's scores sit closest to "
                                       "its thresholds come first.")


@st.fragment
def sentence_mode() -> None:
    """The sentence panel. A fragment: Save & next reruns only this part of the page."""
    if S.get("ann_report") != S.get("ann_report_pick"):
        st.rerun(scope="app")  # an undo moved to another report: redraw the report picker too
    # Every part whose length changes from sentence to sentence (messages, context, suggestions, conflict) sits in
    # its own container: the elements after it keep their places, so the browser updates them instead of
    # rebuilding them on each Save & next.
    messages = st.container()
    with messages:
        show_messages()
    try:
        drawn = ann.current_state(store, S.get("ann_drawn"), S["ann_report"], S["ann_model"])
    except UserError as exc:  # a report or model deleted meanwhile
        show_error(exc)
        return
    S["ann_drawn"] = drawn
    queue = drawn.queue
    flt = current_filter()
    order = S.get("ann_order") or ann.ORDER_REPORT

    report_progress = queue.progress()
    corpus = drawn.corpus
    prow = st.container(horizontal=True)
    prow.progress(report_progress.fraction, text=f"This report: {report_progress.text}")
    prow.progress(corpus.fraction, text=f"All reports: {corpus.text}")

    sentence_id, message = ann.resolve_start(queue, S.get("ann_sentence"), flt, order)
    if message:
        messages.info(message)
    if sentence_id is None:
        return
    S["ann_sentence"] = sentence_id
    if S.get("ann_link_seen") != (queue.report_id, sentence_id):
        # One update, so one URL change for the browser per step (two assignments would send two).
        st.query_params.update(report=str(queue.report_id), sentence=str(sentence_id))
        S["ann_link_seen"] = (queue.report_id, sentence_id)

    now = queue.get(sentence_id)
    opened: ann.Sentence = S.get("ann_opened") if S.get("ann_opened") and S["ann_opened"].id == sentence_id else now
    if opened.version != now.version and "ann_conflict" not in S:
        messages.warning(literal(ann.changed_since_opened_line(now)))
        opened = now
    S["ann_opened"] = opened

    suggestions = queue.suggestions(sentence_id)
    view = OnScreen(queue.report_id, opened, tuple(s.technique for s in suggestions), S.get("ann_model"))
    S["ann_view"] = view

    matching = queue.matching(flt, order)
    st.caption(ann.position_line(queue, opened, matching))

    before, after = queue.context(sentence_id)
    with st.container():
        for s in before:
            st.caption(literal(s.text))
    with st.container(border=True, key="ann_current"):
        st.markdown(f"**{literal(opened.text)}**")
    with st.container():
        for s in after:
            st.caption(literal(s.text))

    st.caption(literal(ann.answer_line(opened)))

    conflict = S.get("ann_conflict")
    conflict_box = st.container()
    if conflict:
        conflict_panel(conflict_box, conflict)

    choice = ann.initial_choice(opened, suggestions)
    if S.get("ann_sg_for") != view.ticks_for:
        for s in suggestions:
            S[view.box_key(s.technique)] = s.technique in choice
        S["ann_sg_for"] = view.ticks_for
    with st.container():
        suggestion_rows(view, suggestions, queue.model is not None)

    if S.get("ann_extra_for") != (opened.id, opened.version):
        S[view.extra_key] = sorted(t for t in choice if t not in view.suggested)
        S["ann_extra_for"] = (opened.id, opened.version)
    with st.container():
        other_techniques(opened)
    answer_buttons()


def conflict_panel(box, conflict: dict) -> None:
    """Someone else's save since this sentence was opened: theirs and mine, and the two ways out."""
    with box:
        theirs: ann.Sentence = conflict["theirs"]
        st.warning(literal(ann.conflict_line(theirs, conflict["mine"])))
        ccols = st.columns(2)
        ccols[0].button("Keep mine (overwrite theirs)", on_click=on_resolve_conflict, args=(False,))
        ccols[1].button("Take theirs", on_click=on_resolve_conflict, args=(True,))


def suggestion_rows(view: OnScreen, suggestions: list, has_model: bool) -> None:
    """The model's suggestions: a checkbox per technique with score and threshold, its key (1-5), its summary."""
    if not suggestions:
        st.caption("The model suggests nothing for this sentence." if has_model else
                   "No model suggestions: run a trained model over this report on the Reports page.")
        return
    st.markdown("**Model suggestions** (ticked: above the model's threshold)")
    for s in suggestions:
        key = view.box_key(s.technique)
        row = st.container(horizontal=True, vertical_alignment="center")
        mark = ">" if s.above_threshold else "≤"
        row.checkbox(f"{labels.get(s.technique, s.technique)} — score {s.score:.2f} {mark} "
                     f"{s.threshold:.2f}", key=key, help=short_description(s.technique, 600), width="stretch")
        row.button(str(s.rank), key=f"tg_{key}", shortcut=str(s.rank), on_click=on_toggle, args=(key,),
                   help=f"Tick or untick {s.technique} (key {s.rank})")
        st.caption(short_description(s.technique))


def answer_buttons() -> None:
    """Save & next, no technique, reviewed, previous, skip, undo: each on a key."""
    # One flex row, not six columns: fewer elements for the browser to redraw on each Save & next.
    brow = st.container(horizontal=True)
    brow.button("Save & next", type="primary", shortcut="S", on_click=on_save, args=("labels",), width="stretch")
    brow.button("No technique", shortcut="N", on_click=on_save, args=("none",), width="stretch",
                help="This sentence describes no ATT&CK technique (saved as a negative example).")
    brow.button("Mark reviewed", shortcut="V", on_click=on_save, args=("reviewed",), width="stretch",
                help="Save the ticked techniques and mark the sentence reviewed.")
    brow.button("Previous", shortcut="P", on_click=on_previous, width="stretch")
    brow.button("Skip", shortcut="K", on_click=on_skip, width="stretch",
                help="Go to the next matching sentence without saving.")
    brow.button("Undo last change", shortcut="U", on_click=on_undo, width="stretch")
    st.caption(SHORTCUTS)


def technique_mode() -> None:
    show_messages()
    counts = store.technique_counts()
    tech = st.selectbox("Technique", ann.technique_view_choices(catalog, counts), key="ann_view_tech", index=None, placeholder="Choose a technique",
                        format_func=lambda t: f"{labels.get(t, t)} — {counts.get(t, 0)} labelled")
    if tech is None:
        st.caption("Every sentence labelled with the technique or suggested with it by the model, across reports, "
                   "to accept or reject one by one.")
        return
    st.caption(short_description(tech, 600))
    hits = ann.technique_hits(store, tech, S.get("ann_model"), limit=100)
    if not hits:
        st.info(f"No sentence is labelled with {tech}, and the chosen model suggests it nowhere.")
        return
    st.caption(f"{len(hits)} sentence(s)" + (" (the first 100)" if len(hits) >= 100 else ""))
    for hit in hits:
        s = hit.sentence
        with st.container(border=True):
            st.markdown(literal(s.text))
            st.caption(literal(hit.facts_line()))
            cols = st.columns([2, 2, 2, 6])
            cols[0].button("Accept", key=f"acc_{tech}_{s.id}_{s.version}", on_click=on_technique_decision,
                           args=(s, tech, True), type="primary" if hit.preticked and not hit.has_technique
                           else "secondary", disabled=hit.has_technique)
            cols[1].button("Reject", key=f"rej_{tech}_{s.id}_{s.version}", on_click=on_technique_decision,
                           args=(s, tech, False), disabled=hit.labelled and not hit.has_technique)
            cols[2].button("Open", key=f"open_{tech}_{s.id}", on_click=on_open_sentence, args=(s,))


if S.get("ann_mode") == MODE_TECHNIQUE:
    technique_mode()
else:
    try:
        S["ann_drawn"] = ann.current_state(store, S.get("ann_drawn"), S["ann_report"], S["ann_model"])
        filter_bar(S["ann_drawn"].queue)
    except UserError as exc:  # a report or model deleted meanwhile
        show_error(exc)
        st.stop()
    sentence_mode()
