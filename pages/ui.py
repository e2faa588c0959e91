"""Widget code every page shares: the cached context, who is acting, errors and notes, and ``page_state`` (each
page's state object, from pages/page_states.py, re-exported here: ``page_state(AnnotateState)``)."""

from __future__ import annotations

import gc
from typing import TypeVar

import streamlit as st

from pages.page_states import (PAGE_STATES, ActivityState, AgreementState, AnnotateState, AppState,  # noqa: F401
                               EvaluateState, ReportsState, TrainState)
from tram_core.services import accounts, common
from tram_core.services.common import Context

State = TypeVar("State")


# --------------------------------------------------------------------------------------------------- page state


def page_state(cls: type[State]) -> State:
    """The page's state object, created on the session's first visit (one key per page: ``cls.KEY``)."""
    state = st.session_state.get(cls.KEY)
    if not isinstance(state, cls):  # a new session (or the class was reloaded while developing)
        state = cls()
        st.session_state[cls.KEY] = state
    return state




# --------------------------------------------------------------------------------------------------- context


def _setting_or_stop(read):
    """``read()``, or, when a setting is bad, its one-line message and the page stops (no traceback)."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - only user errors are shown; anything else is a bug and raises
        if not common.is_user_error(exc):
            raise
        st.error(f"TRAM cannot start with these settings: {literal(str(exc))}")
        st.stop()


def get_settings():
    """The settings from the environment; a bad variable stops the page with its one-line message."""
    return _setting_or_stop(common.load_settings)


def _freeze_long_lived() -> None:
    """Keep the objects built once per server process (Streamlit, the catalog, the store) out of every later
    garbage collection: a full collection over them costs tens of milliseconds of CPU with the GIL held, which
    the analyst feels on each Save & next. Objects made afterwards (each run's, each session's) are collected."""
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False)
def _store_for(database_url: str, _settings):
    store = common.open_store(_settings)
    _freeze_long_lived()
    return store


@st.cache_resource(show_spinner=False)
def _catalog():
    catalog = common.load_catalog()
    _freeze_long_lived()
    return catalog


def run_through_navigation() -> None:
    """Make sure this page runs inside streamlit_app.py (its navigation, page config and sidebar).

    Streamlit treats an app with a ``pages/`` folder as an old-style multipage app until the main script has
    called ``st.navigation`` once in the process, so a first visit straight to ``/annotate`` on a fresh server
    would run the page script alone. Switch to the main script's navigation and rerun (before any widget was
    used in this session, so no click is lost): the same page then runs through streamlit_app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not page_state(AppState).ran:
        PagesManager.uses_pages_directory = False
        st.rerun()


def get_context() -> Context:
    """The settings, the store (one engine and pool per database for the whole server process) and the catalog.

    Every page asks for its context first, so this is also where a page makes sure it runs through the app's
    navigation (see ``run_through_navigation``).
    """
    run_through_navigation()
    settings = get_settings()
    return Context(settings, _setting_or_stop(lambda: _store_for(settings.database_url, settings)), _catalog())


@st.cache_resource(show_spinner=False)
def technique_labels() -> dict[str, str]:
    """``{technique id: 'T1055 Process Injection (defense-evasion, ...)'}`` for pickers, computed once."""
    return common.technique_labels(_catalog())


def team_mode() -> bool:
    """Whether the app is a team server (``TRAM_AUTH=local`` or ``oidc``); a bad TRAM_AUTH stops the page."""
    return _setting_or_stop(common.team_mode)


def oidc_claims() -> dict | None:
    """The identity claims of the user Streamlit's ``st.login`` signed in (``TRAM_AUTH=oidc``); None when nobody."""
    return st.user.to_dict() if st.user.get("is_logged_in") is True else None


def current_user() -> str:
    """Who is acting. Single-user mode: the sidebar's name (remembered in the session and the URL's ``user``).
    Team mode: the signed-in user (with its role) of this session's token, or of the OpenID Connect sign-in the
    app has recorded; else '' (nobody: every action refused)."""
    app = page_state(AppState)
    if team_mode() and _setting_or_stop(accounts.auth_mode) == accounts.AUTH_OIDC:
        user = accounts.oidc_user(get_context(), oidc_claims())
        return user if user is not None and user == app.signed_in_as else ""
    if team_mode():
        return accounts.session_user(get_context(), app.token) or ""
    return common.acting_user(app.user)


def capabilities() -> common.Capabilities:
    """What the acting user may do: a page shows only the controls whose action the role allows."""
    return common.capabilities(current_user())


# --------------------------------------------------------------------------------------------------- messages


def literal(text: str) -> str:
    """Report or user text made safe for st.markdown (shown literally, never as Markdown or HTML)."""
    return common.literal(text)


def show_error(exc: BaseException, doing: str = "") -> None:
    """One clear line for the user: their bad input as is, anything else named without a traceback."""
    st.error(literal(common.error_line(exc, doing)))


def show_notes(notes) -> None:
    """Each note as its kind of message box (success, info, warning, error)."""
    for note in notes:
        getattr(st, note.kind)(literal(note.text))


def open_in_annotate(report_id: int, technique: str | None = None, sentence_id: int | None = None,
                     model_id: int | None = None) -> None:
    """Switch to the Annotate page on a report: its sentence view, optionally filtered to one technique and opened
    at one sentence, with one model's suggestions."""
    page_state(AnnotateState).open_at(report_id, technique, sentence_id, model_id)
    st.switch_page("pages/annotate.py", query_params=common.sentence_link(report_id, sentence_id))
