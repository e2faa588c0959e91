"""Widget code every page shares: the cached store and catalog, who is annotating, and error display."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import streamlit as st

from tram_core.annotation import MODE_SENTENCES, STATUS_ALL
from tram_core.app_state import clean_user_name, default_user_name, escape_markdown, open_store
from tram_core.attack import Catalog, load_catalog
from tram_core.errors import is_user_error
from tram_core.settings import Settings, load_settings

if TYPE_CHECKING:  # the type only: pages reach the store through tram_core (app_state.open_store)
    from tram_core.store import Store

USER_KEY = "tram_user"
APP_RAN_KEY = "_tram_app_ran"  # set by streamlit_app.py on each run


def get_settings() -> Settings:
    """The settings from the environment; a bad variable stops the page with its one-line message, not a traceback."""
    try:
        return load_settings()
    except Exception as exc:  # noqa: BLE001 - only user errors are shown; anything else is a bug and raises
        if not is_user_error(exc):
            raise
        st.error(f"TRAM cannot start with these settings: {literal(str(exc))}")
        st.stop()


def _freeze_long_lived() -> None:
    """Keep the objects built once per server process (Streamlit, the catalog, the store) out of every later
    garbage collection: a full collection over them costs tens of milliseconds of CPU with the GIL held, which
    the analyst feels on each Save & next. Objects made afterwards (each run's, each session's) are collected."""
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False)
def _store_for(database_url: str, _settings: Settings) -> Store:
    store = open_store(_settings)
    _freeze_long_lived()
    return store


def run_through_navigation() -> None:
    """Make sure this page runs inside streamlit_app.py (its navigation, page config and sidebar).

    Streamlit treats an app with a ``pages/`` folder as an old-style multipage app until the main script has
    called ``st.navigation`` once in the process, so a first visit straight to ``/annotate`` on a fresh server
    would run the page script alone. Switch to the main script's navigation and rerun (before any widget was
    used in this session, so no click is lost): the same page then runs through streamlit_app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get(APP_RAN_KEY):
        PagesManager.uses_pages_directory = False
        st.rerun()


def get_store() -> Store:
    """One Store (engine and connection pool) per database for the whole server process.

    Every page asks for the store first, so this is also where a page makes sure it runs through the app's
    navigation (see ``run_through_navigation``).
    """
    run_through_navigation()
    settings = get_settings()
    return _store_for(settings.database_url, settings)


@st.cache_resource(show_spinner=False)
def get_catalog() -> Catalog:
    catalog = load_catalog()
    _freeze_long_lived()
    return catalog


@st.cache_resource(show_spinner=False)
def technique_labels() -> dict[str, str]:
    """``{technique id: 'T1055 Process Injection (defense-evasion, ...)'}`` for pickers, computed once."""
    from tram_core.annotation import technique_label

    catalog = get_catalog()
    return {t.id: technique_label(catalog, t.id) for t in catalog.techniques(include_revoked=True)}


def current_user() -> str:
    """Who is annotating: the sidebar's name (remembered in the session and the URL's ``user``)."""
    return clean_user_name(st.session_state.get(USER_KEY)) or default_user_name()


def show_error(exc: BaseException, doing: str = "") -> None:
    """One clear line for the user: their bad input as is, anything else named without a traceback."""
    prefix = f"{doing}: " if doing else ""
    if is_user_error(exc):
        st.error(f"{prefix}{literal(str(exc))}")
    else:
        st.error(f"{prefix}unexpected error ({type(exc).__name__}): {literal(str(exc))}")


def literal(text: str) -> str:
    """Report or user text made safe for st.markdown (shown literally, never as Markdown or HTML)."""
    return escape_markdown(text)


def open_in_annotate(report_id: int, technique: str | None = None, sentence_id: int | None = None,
                     model_id: int | None = None) -> None:
    """Switch to the Annotate page on a report: its sentence view, optionally filtered to one technique and opened
    at one sentence, with one model's suggestions."""
    S = st.session_state
    S["ann_report"] = report_id
    if technique is not None:
        S.update(ann_tech=technique, ann_mode=MODE_SENTENCES, ann_status=STATUS_ALL, ann_has_sugg=False,
                 ann_search="")
    if model_id is not None:
        S["ann_model"] = model_id
    link = {"report": str(report_id)}
    if sentence_id is not None:
        S["ann_sentence"] = sentence_id
        link["sentence"] = str(sentence_id)
    else:
        S.pop("ann_sentence", None)
    st.switch_page("pages/annotate.py", query_params=link)
