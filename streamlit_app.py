"""TRAM dashboard entry point: page config, navigation over pages/, and the sidebar every page shares."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages.ui import APP_RAN_KEY, USER_KEY, current_user, get_settings, get_store, literal
from tram_core.app_state import clean_user_name, default_user_name, parse_view_params, worker_autostart

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="TRAM", page_icon=":material/shield:", layout="wide")
st.session_state[APP_RAN_KEY] = True

view = parse_view_params(st.query_params.to_dict())

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
if navigation in (pages.get("pages/reports.py"), reports_alias) and (view.wants_annotate or view.wants_evaluate):
    target = "pages/annotate.py" if view.wants_annotate else "pages/evaluate.py"
    if target in pages:
        st.switch_page(pages[target], query_params=st.query_params.to_dict())


@st.cache_data(ttl=3, show_spinner=False)
def _worker_line(database_url: str) -> tuple[bool, str]:
    from tram_core import jobs

    state = jobs.worker_state(get_store())
    return state.alive, state.text


@st.fragment(run_every=10)
def _worker_status() -> None:
    try:
        alive, text = _worker_line(get_settings().database_url)
    except Exception as exc:  # the status line must never break a page
        st.caption(f"Worker: unknown ({type(exc).__name__})")
        return
    st.caption(f"Worker: {text}" if alive else f"Worker: {text} (jobs wait until one runs)")


def _start_worker_once() -> None:
    """Start a worker for the user when none runs, once per browser session."""
    if st.session_state.get("_worker_checked") or not worker_autostart():
        return
    st.session_state["_worker_checked"] = True
    try:
        from tram_core import jobs

        if jobs.ensure_worker_running(get_settings()):
            st.toast("Started a background worker for training and prediction jobs.")
    except Exception as exc:  # a worker that cannot start must not block annotation
        st.session_state["_worker_error"] = f"Could not start a worker: {literal(str(exc))}"


def _name_changed() -> None:
    st.session_state[USER_KEY] = clean_user_name(st.session_state.get("tram_user_input"))


def _sidebar() -> None:
    if USER_KEY not in st.session_state:
        st.session_state[USER_KEY] = view.user or default_user_name()
    st.session_state["tram_user_input"] = st.session_state[USER_KEY]
    with st.sidebar:
        st.text_input("Who is annotating", key="tram_user_input", max_chars=100, on_change=_name_changed,
                      help="Your name is recorded with every label you save.")
        user = current_user()
        if not st.session_state.get(USER_KEY):
            st.caption(f"No name given: labels are saved as '{literal(user)}'.")
        if st.query_params.get("user") != user:
            st.query_params["user"] = user
        try:
            st.caption(f"Database: `{get_store().display_url}`")
        except Exception as exc:
            st.error(f"The database cannot be opened: {literal(str(exc))}")
            st.stop()
        _worker_status()
        if st.session_state.get("_worker_error"):
            st.caption(st.session_state["_worker_error"])


_sidebar()
_start_worker_once()
if navigation.url_path != "evaluate":  # Evaluate reads and reports its own ?model=
    for message in view.errors:
        st.warning(literal(message))
navigation.run()
