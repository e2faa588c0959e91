"""Agreement: how far independent answers agree, the adjudication queue, what reviewers did with the model's
suggestions, throughput, and the double-annotation setup (maintainers)."""

from __future__ import annotations

import streamlit as st

from pages.ui import AgreementState, current_user, get_context, literal, page_state, show_notes, technique_labels
from tram_core.services import agreement as svc

S = st.session_state


W = AgreementState.widgets
ctx = get_context()
user = current_user()
state = page_state(AgreementState)


def act(doing: str, action, *args) -> None:
    """Run one action of the page; its line (or why it failed) is shown on the next run."""
    try:
        state.notes = [svc.Note("success", action(ctx, user, *args))]
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        state.notes = [svc.Note("error", svc.failure(exc, doing))]


def on_take(sentence_id: int, choice: str) -> None:
    act("Not adjudicated", svc.adjudicate, sentence_id, choice)


def on_save_final(sentence_id: int) -> None:
    act("Not adjudicated", svc.adjudicate, sentence_id, "edited", [S.get(W.final(sentence_id)) or ""])


def on_set_share() -> None:
    act("Not set", svc.set_share, S.get(W.share), S.get(W.scope), S.get(W.annotators) or "")


st.title("Agreement")
with st.container():  # always there, empty or not: the tabs below keep their place, so the open tab stays open
    show_notes(state.notes)
state.notes = []
reports = svc.report_choices(ctx)
top = st.columns([3, 2])
report = top[0].selectbox("Report", list(reports), key=W.report, format_func=reports.get)
level = top[1].segmented_control("Level", list(svc.LEVEL_NAMES), key=W.level, format_func=svc.LEVEL_NAMES.get,
                                 default=svc.TECHNIQUE_LEVEL) or svc.TECHNIQUE_LEVEL
agreement_tab, queue_tab, review_tab, speed_tab, setup_tab = st.tabs(
    ["Agreement", "Adjudication", "Suggestions", "Throughput", "Double annotation"])

with agreement_tab:
    view = svc.agreement(ctx, user, report, level)
    if view.empty:
        st.info(view.empty)
    else:
        st.caption(view.caption)
        st.dataframe(view.overview, hide_index=True)
        cols = st.columns(2)
        cols[0].altair_chart(view.disagreement_chart, width="stretch")
        cols[1].altair_chart(view.pair_chart, width="stretch")
        st.altair_chart(view.week_chart, width="stretch")
        st.dataframe(view.techniques, hide_index=True, width="stretch")
        st.dataframe(view.pairs, hide_index=True, width="stretch")
    dl = st.container(horizontal=True)
    dl.download_button("Figures as CSV", data=lambda: svc.download(ctx, user, report, "csv"), key=W.csv,
                       file_name="tram-agreement.csv", mime="text/csv")
    dl.download_button("Figures as JSON", data=lambda: svc.download(ctx, user, report, "json"), key=W.json,
                       file_name="tram-agreement.json", mime="application/json")

with queue_tab:
    rows = svc.adjudication_queue(ctx, user, report)
    can_decide = svc.can_adjudicate(user)
    labels = technique_labels()
    st.caption(f"{len(rows)} sentence(s) whose two answers differ. Until decided, the first answer is the "
               "sentence's label (what training reads); the decision becomes its label, marked reviewed, and both "
               "answers stay in its history.")
    for row in rows:
        with st.container(border=True):
            st.caption(literal(f"{row.report} · sentence {row.sentence_id}"))
            st.markdown(f"**{literal(row.text)}**")
            answers = st.columns(2)
            for col, which, choice, who in ((answers[0], 1, "first", row.first_user),
                                            (answers[1], 2, "second", row.second_user)):
                col.markdown(literal(row.answer_line(which, labels)))
                if can_decide:
                    col.button(f"Take {literal(who)}'s answer", key=W.take(row.sentence_id, choice), on_click=on_take,
                               args=(row.sentence_id, choice))
            if can_decide:
                edit = st.container(horizontal=True, vertical_alignment="bottom")
                edit.text_input("Or the final answer (technique IDs; empty: no technique)",
                                key=W.final(row.sentence_id), placeholder="e.g. T1059.001, T1027")
                edit.button("Save this answer", key=W.save_final(row.sentence_id), on_click=on_save_final,
                            args=(row.sentence_id,))
    if rows and not can_decide:
        st.caption(literal(f"Adjudicating needs the {svc.ADJUDICATE!r} permission (maintainers)."))

with review_tab:
    review = svc.acceptance(ctx, user)
    if review.empty:
        st.info(review.empty)
    else:
        st.caption("Per model and technique: its suggestions the reviewers kept or dropped, techniques they added that "
                   "it missed; live precision = kept among its above-threshold suggestions, live recall = its "
                   "above-threshold suggestions among the techniques kept.")
        st.altair_chart(review.chart, width="stretch")
        st.dataframe(review.table, hide_index=True, width="stretch")

with speed_tab:
    speed = svc.throughput(ctx, user, report)
    st.caption("Sentences answered per active hour (a clock hour with at least one answer), and each report's time "
               "from import to its last open sentence answered. Times are UTC.")
    st.dataframe(speed.people, hide_index=True, width="stretch")
    st.altair_chart(speed.chart, width="stretch")
    st.dataframe(speed.reports, hide_index=True, width="stretch")

with setup_tab:
    for line in svc.share_lines(ctx):
        st.caption(literal(line))
    if svc.can_set_up(user):
        with st.form(W.set_share):
            st.number_input("Share of sentences two annotators label (%)", min_value=0.0, max_value=100.0,
                            step=5.0, key=W.share)
            st.selectbox("For", list(reports), key=W.scope, format_func=reports.get)
            st.text_input("Annotators (optional, comma-separated: only they answer the chosen sentences)",
                          key=W.annotators, max_chars=500)
            st.form_submit_button("Set the share", on_click=on_set_share)
        st.caption("The same sentences stay chosen (a hash of each sentence's id); a larger share only adds some. "
                   "Each annotator sees only their own answer until both have answered.")
