"""TRAM dashboard entry point: page config, navigation over pages/, and the sidebar every page shares."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages.ui import AppState, current_user, get_context, literal, page_state
from tram_core.services import common

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="TRAM", page_icon=":material/shield:", layout="wide")
app = page_state(AppState)
app.ran = True

view = common.read_link(st.query_params.to_dict())

PAGES = [
    ("pages/reports.py", "Reports", ":material/description:"),
    ("pages/annotate.py", "Annotate", ":material/edit_note:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/evaluate.py", "Evaluate", ":material/monitoring:"),
]
pages = {
    path: st.Page(path, title=title, icon=icon, default=path == "pages/reports.py",
                  url_path="home" if path == "pages/reports.py" else None)
    for path, title, icon in PAGES
    if (HERE / path).is_file()
}
# Reports is the default page, served at the root; /reports (a natural address to type or bookmark) opens it too
# instead of a "page not found" dialog.
reports_alias = st.Page("pages/reports.py", title="Reports", url_path="reports", visibility="hidden")
navigation = st.navigation([*pages.values(), reports_alias])

# A deep link to the app's root (?report=12&sentence=340, ?model=7) opens the page it is meant for.
target = common.link_page(view)
if navigation in (pages.get("pages/reports.py"), reports_alias) and target is not None:
    if f"pages/{target}.py" in pages:
        st.switch_page(pages[f"pages/{target}.py"], query_params=st.query_params.to_dict())


@st.cache_data(ttl=3, show_spinner=False)
def _worker_line(database_url: str) -> str:
    return common.worker_status_line(get_context())


@st.fragment(run_every=10)
def _worker_status() -> None:
    st.caption(literal(_worker_line(get_context().settings.database_url)))


def _start_worker_once() -> None:
    """Start a worker for the user when none runs, once per browser session."""
    if app.worker_checked:
        return
    app.worker_checked = True
    outcome = common.start_worker(get_context())
    if outcome.started:
        st.toast(outcome.started)
    app.worker_error = outcome.error


def _name_changed() -> None:
    app.user = common.clean_user(st.session_state.get(AppState.widgets.user))


def _sidebar() -> None:
    if app.user is None:
        app.user = common.first_user(view.user)
    st.session_state[AppState.widgets.user] = app.user
    with st.sidebar:
        st.text_input("Who is annotating", key=AppState.widgets.user, max_chars=100, on_change=_name_changed,
                      help="Your name is recorded with every label you save.")
        user = current_user()
        note = common.unnamed_note(app.user)
        if note:
            st.caption(literal(note))
        if st.query_params.get("user") != user:
            st.query_params["user"] = user
        try:
            st.caption(f"Database: `{common.database_name(get_context())}`")
        except Exception as exc:
            st.error(f"The database cannot be opened: {literal(str(exc))}")
            st.stop()
        _worker_status()
        if app.worker_error:
            st.caption(literal(app.worker_error))


_sidebar()
_start_worker_once()
if navigation.url_path != "evaluate":  # Evaluate reads and reports its own ?model=
    for message in view.errors:
        st.warning(literal(message))
navigation.run()
