"""TRAM dashboard entry point: page config, navigation over pages/, and the sidebar every page shares."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import streamlit as st

from pages.ui import AppState, current_user, get_context, literal, oidc_claims, page_state, team_mode
from tram_core.services import accounts, common

HERE = Path(__file__).resolve().parent

# The favicon is a file served by the app itself: a :material/...: icon would be fetched from a font CDN (offline: none).
st.set_page_config(page_title="TRAM", page_icon=str(HERE / "assets" / "tram-icon.png"), layout="wide")
try:  # single-user mode (everyone is admin) is served on loopback only, unless stated otherwise
    common.check_listen_address(st.get_option("server.address"))
except common.UserError as exc:
    st.error(literal(str(exc)))
    st.stop()
app = page_state(AppState)
app.ran = True


def _auth_section() -> dict | None:
    """The ``[auth]`` section of Streamlit's secrets file (what ``st.login`` signs in with); None when absent."""
    if not st.secrets.load_if_toml_exists():
        return None
    section = st.secrets.get("auth")
    return section if isinstance(section, Mapping) else None


def _record_oidc_sign_in() -> str:
    """TRAM_AUTH=oidc: record the provider's signed-in user once per browser session (their account is made on
    the first sign-in); the one-line refusal (a disabled account), else ''."""
    claims = oidc_claims()
    if claims is None or (app.signed_in_as and current_user()):
        return ""
    try:
        app.signed_in_as = accounts.oidc_sign_in(get_context(), claims)
    except Exception as exc:  # noqa: BLE001 - one line: the account is disabled or the claims name nobody
        app.signed_in_as = ""
        return common.error_line(exc, "Not signed in")
    return ""


oidc = team_mode() and accounts.auth_mode() == accounts.AUTH_OIDC
if oidc and (problem := accounts.oidc_setup_problem(_auth_section())):
    st.error(literal(problem))
    st.stop()
oidc_refusal = _record_oidc_sign_in() if oidc else ""

view = common.read_link(st.query_params.to_dict())
# Team mode (TRAM_AUTH=local or oidc): a visitor who has not signed in sees nothing but the way to sign in.
signed_out = team_mode() and not current_user()

PAGES = [
    ("pages/reports.py", "Reports", ":material/description:"),
    ("pages/annotate.py", "Annotate", ":material/edit_note:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/evaluate.py", "Evaluate", ":material/monitoring:"),
    ("pages/agreement.py", "Agreement", ":material/groups:"),
]
if team_mode() and common.capabilities(current_user()).can("see the activity"):
    PAGES.append(("pages/activity.py", "Activity", ":material/history:"))
pages = {
    path: st.Page(path, title=title, icon=icon, default=path == "pages/reports.py",
                  url_path="home" if path == "pages/reports.py" else None)
    for path, title, icon in PAGES
    if (HERE / path).is_file()
}
# Reports is the default page, served at the root; /reports (a natural address to type or bookmark) opens it too
# instead of a "page not found" dialog.
reports_alias = st.Page("pages/reports.py", title="Reports", url_path="reports", visibility="hidden")
navigation = st.navigation([*pages.values(), reports_alias], position="hidden" if signed_out else "sidebar")

# A deep link to the app's root (?report=12&sentence=340, ?model=7) opens the page it is meant for.
target = common.link_page(view)
if not signed_out and navigation in (pages.get("pages/reports.py"), reports_alias) and target is not None:
    if f"pages/{target}.py" in pages:
        st.switch_page(pages[f"pages/{target}.py"], query_params=st.query_params.to_dict())


@st.cache_data(ttl=1, show_spinner=False)
def _worker_line(database_url: str) -> str:
    return common.worker_status_line(get_context())


@st.fragment(run_every=2)  # as often as the Train panel, so the two never disagree for long
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


def _sign_in_gate() -> None:
    """Team mode: nothing but the sign-in form until this browser session holds a valid (unexpired) session."""
    ctx = get_context()
    if accounts.session_user(ctx, app.token) is not None:
        return
    app.token = ""
    st.title("Sign in to TRAM")
    if not accounts.accounts_exist(ctx):
        st.info("No accounts yet: an administrator adds one with `python -m tram_core users add NAME --role admin`.")
    with st.form(AppState.widgets.sign_in):
        name = st.text_input("Name", key=AppState.widgets.sign_in_name, max_chars=100)
        password = st.text_input("Password", type="password", key=AppState.widgets.sign_in_password)
        if st.form_submit_button("Sign in", type="primary"):
            try:
                app.token = accounts.authenticate(ctx, name, password).token
            except Exception as exc:  # noqa: BLE001 - one line (a refused sign-in never says which part was wrong)
                st.error(literal(common.error_line(exc, "Not signed in")))
            else:
                st.rerun()
    st.stop()


def _oidc_gate(refusal: str) -> None:
    """TRAM_AUTH=oidc: nothing but the provider's "Sign in" button(s) (or why the sign-in was refused, and a way
    out) until the provider has signed this browser in to an enabled account."""
    if current_user():
        return
    st.title("Sign in to TRAM")
    if refusal:
        st.error(literal(refusal))
        if st.button("Sign out", key=AppState.widgets.sign_out):
            st.logout()
        st.stop()
    providers = accounts.oidc_providers(_auth_section())
    for provider in providers:
        label = "Sign in" if len(providers) == 1 else f"Sign in with {provider}"
        if st.button(label, type="primary", key=AppState.widgets.provider_sign_in(provider)):
            st.login(None if provider == "default" else provider)
    st.stop()


def _team_sidebar() -> None:
    """Team mode: who is signed in (with the role) and the sign-out button; no name box, no ?user=."""
    user = current_user()
    with st.sidebar:
        st.caption(literal(f"Signed in as {user} ({common.capabilities(user).role})"))
        if st.button("Sign out", key=AppState.widgets.sign_out):
            if oidc:
                accounts.oidc_sign_out(get_context(), user)
                app.signed_in_as = ""
                st.logout()  # the browser goes to Streamlit's sign-out address, which forgets the sign-in
                st.stop()
            accounts.sign_out(get_context(), app.token)
            app.token = ""
            st.rerun()
        _sidebar_status()


def _sidebar_status() -> None:
    try:
        st.caption(f"Database: `{common.database_name(get_context())}`")
    except Exception as exc:
        st.error(f"The database cannot be opened: {literal(str(exc))}")
        st.stop()
    _worker_status()
    if app.worker_error:
        st.caption(literal(app.worker_error))


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
        _sidebar_status()


if oidc:
    _oidc_gate(oidc_refusal)
    _team_sidebar()
elif team_mode():
    _sign_in_gate()
    _team_sidebar()
else:
    _sidebar()
_start_worker_once()
if navigation.url_path != "evaluate":  # Evaluate reads and reports its own ?model=
    for message in view.errors:
        st.warning(literal(message))
navigation.run()
