"""Team mode (TRAM_AUTH=local, and oidc) through AppTest: an anonymous visitor sees only the way to sign in, a forged
?user= changes nothing, the signed-in identity is who acts, and a viewer sees no write control."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.views.test_annotation import SCORES, add_model, add_report
from tram_core import accounts
from tram_core.access import ADMIN, Actor

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
PASSWORD = "correct horse battery"
WRITE_BUTTONS = ("Import files", "Import text", "Fetch and import", "Delete report", "Run the model",
                 "Save & next", "No technique", "Mark reviewed", "Undo last change", "Start training",
                 "Promote and refresh", "Cancel this run")


@pytest.fixture
def team(tram_home, store, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.setenv("TRAM_AUTH", "local")
    ada = Actor("ada", ADMIN)
    accounts.add_user(store, ada, "vera", "viewer", PASSWORD)
    accounts.add_user(store, ada, "ada", "admin", PASSWORD)
    report_id, ids = add_report(store)
    add_model(store, ids, SCORES)
    return store


def _open(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="app_sign_in_name").input(name)
    at.text_input(key="app_sign_in_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def _labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def _only_the_sign_in_form(at: AppTest) -> None:
    assert [t.value for t in at.title] == ["Sign in to TRAM"]
    assert [t.label for t in at.text_input] == ["Name", "Password"]
    assert _labels(at) == ["Sign in"] and not at.dataframe and not at.get("file_uploader")


def test_an_anonymous_visitor_sees_only_the_sign_in_form(team):
    _only_the_sign_in_form(_open())


def test_a_forged_user_link_changes_nothing(team):
    at = _open({"user": "ada", "report": "1"})
    _only_the_sign_in_form(at)
    assert not [t for t in at.text_input if t.label == "Who is annotating"]


def test_a_wrong_password_stays_on_the_form_with_one_line(team):
    at = _sign_in(_open(), "vera", "not the password")
    assert [e.value for e in at.error] == ["Not signed in: Wrong name or password"]
    _only_the_sign_in_form(at)


def test_a_viewer_sees_the_reports_but_no_write_control(team):
    at = _sign_in(_open(), "vera")
    assert [t.value for t in at.title] == ["Reports"] and at.dataframe
    assert any("Signed in as vera (viewer)" in c.value.replace("\\", "") for c in at.sidebar.caption)
    assert not [t for t in at.text_input if t.label == "Who is annotating"]
    assert not any(label.startswith(WRITE_BUTTONS) for label in _labels(at)), _labels(at)
    assert not at.get("file_uploader") and "user" not in at.query_params
    for page in ("pages/annotate.py", "pages/train.py"):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        assert not any(label.startswith(WRITE_BUTTONS) for label in _labels(at)), (page, _labels(at))


def test_an_admin_signs_in_acts_as_themself_and_signs_out(team):
    at = _sign_in(_open({"user": "mallory"}), "ada")
    assert any(label.startswith("Delete report") for label in _labels(at))
    assert any("Signed in as ada (admin)" in c.value.replace("\\", "") for c in at.sidebar.caption)
    next(b for b in at.button if b.label == "Sign out").click().run()
    _only_the_sign_in_form(at)
    assert [e.user for e in team.audit_events(kinds=("sign in", "sign out"))] == ["ada", "ada"]


def test_the_activity_page_lists_the_changes_for_an_admin(team):
    at = _sign_in(_open(), "ada")
    at.switch_page("pages/activity.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Activity"]
    [frame] = [df.value for df in at.dataframe]
    assert {"sign in", "user add"} <= set(frame["kind"]) and "argon2" not in frame.to_csv()


def test_a_bad_auth_setting_stops_the_app_with_one_line(tram_home, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.setenv("TRAM_AUTH", "ldap")
    at = _open()
    assert [e.value for e in at.error] == ["TRAM cannot start with these settings: TRAM\\_AUTH must be 'none', "
                                           "'local' or 'oidc', not 'ldap'"]


def test_single_user_mode_is_unchanged(tram_home, store, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.delenv("TRAM_AUTH", raising=False)
    add_report(store)
    at = _open({"user": "laptop"})
    assert [t.value for t in at.title] == ["Reports"]
    assert [t.value for t in at.text_input if t.label == "Who is annotating"] == ["laptop"]
    assert any(label.startswith("Delete report") for label in _labels(at)) and at.get("file_uploader")
    assert "Sign out" not in _labels(at) and "activity" not in str(at.get("navigation"))


def test_single_user_mode_on_every_interface_shows_only_the_refusal(tram_home, monkeypatch):
    from streamlit import config

    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.delenv("TRAM_AUTH", raising=False)
    monkeypatch.delenv("TRAM_ALLOW_ANONYMOUS", raising=False)
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        assert not at.exception
        assert any("listens on 0.0.0.0" in e.value and "TRAM\\_AUTH\\=local" in e.value for e in at.error)  # escaped
        assert not at.file_uploader and not at.button  # no page was drawn
        monkeypatch.setenv("TRAM_ALLOW_ANONYMOUS", "1")
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        assert not at.exception and not at.error
    finally:
        config.set_option("server.address", before)


# --------------------------------------------------------------------------------------------------- TRAM_AUTH=oidc
# AppTest seeds ``st.user`` (``at.user``) and ``st.secrets`` (``at.secrets``); the provider round trip itself
# (st.login's redirect, the callback, the cookie) is covered in Chromium by tests/e2e/test_team_sign_in.py.

AUTH = {"redirect_uri": "https://tram.example.org/oauth2callback", "cookie_secret": "a long random string here",
        "client_id": "tram", "client_secret": "client secret",
        "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration"}
ALICE = {"is_logged_in": True, "email": "Alice@Example.com", "email_verified": True, "sub": "a-1",
         "iss": "https://idp.example.org", "name": "Alice", "provider": "default"}


@pytest.fixture
def oidc_team(tram_home, store, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.setenv("TRAM_AUTH", "oidc")
    monkeypatch.delenv("TRAM_OIDC_DEFAULT_ROLE", raising=False)
    add_report(store)
    return store


def _open_oidc(user: dict, query: dict | None = None, auth: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["auth"] = AUTH if auth is None else auth
    at.user = user
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _plain(shown: str) -> str:
    """Text as the reader sees it: without Markdown escapes and the invisible joiners that stop autolinks."""
    return shown.replace("\\", "").replace("\u2060", "")


def _only_the_sign_in_button(at: AppTest, labels: tuple[str, ...] = ("Sign in",)) -> None:
    assert [t.value for t in at.title] == ["Sign in to TRAM"]
    assert tuple(_labels(at)) == labels and not at.text_input and not at.dataframe
    assert not at.get("file_uploader") and not at.get("download_button") and not at.sidebar.caption
    assert "Sign out" not in _labels(at)


def test_oidc_without_an_auth_section_stops_with_what_to_configure(tram_home, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.setenv("TRAM_AUTH", "oidc")
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["unrelated"] = "value"
    at.run()
    assert not at.exception, at.exception
    [error] = [e.value.replace("\\", "") for e in at.error]
    assert "needs an [auth] section in .streamlit/secrets.toml" in error and "server_metadata_url" in error
    assert "\n" not in error and not at.button and not at.title


def test_oidc_anonymous_visitor_sees_only_the_sign_in_button(oidc_team):
    _only_the_sign_in_button(_open_oidc({"is_logged_in": False}))
    _only_the_sign_in_button(_open_oidc({"is_logged_in": False}, {"user": "ada", "report": "1", "sentence": "2"}))
    assert oidc_team.list_users() == []


def test_oidc_offers_one_button_per_named_provider(oidc_team):
    named = {k: AUTH[k] for k in ("redirect_uri", "cookie_secret")}
    for name in ("google", "microsoft"):
        named[name] = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    _only_the_sign_in_button(_open_oidc({"is_logged_in": False}, auth=named),
                             ("Sign in with google", "Sign in with microsoft"))


def test_oidc_first_sign_in_makes_a_viewer_and_a_forged_user_changes_nothing(oidc_team):
    at = _open_oidc(ALICE, {"user": "mallory"})
    assert [t.value for t in at.title] == ["Reports"] and at.dataframe
    assert any("Signed in as alice@example.com (viewer)" in _plain(c.value) for c in at.sidebar.caption)
    assert not any(label.startswith(WRITE_BUTTONS) for label in _labels(at)), _labels(at)
    assert [(u.name, u.role) for u in oidc_team.list_users()] == [("alice@example.com", "viewer")]
    at.run()  # a rerun is the same sign-in: one audit row
    assert [(e.user, e.kind) for e in oidc_team.audit_events(kinds=("sign in", "user add"))] == [
        ("alice@example.com", "sign in"), ("alice@example.com", "user add")]  # newest first


def test_oidc_role_comes_from_the_account_and_sign_out_leaves_the_button(oidc_team):
    from tram_core import oidc_accounts

    oidc_accounts.add_oidc_user(oidc_team, Actor("ada", ADMIN), "alice@example.com", "admin")
    at = _open_oidc(ALICE)
    assert any(label.startswith("Delete report") for label in _labels(at))
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert not at.exception, at.exception
    assert at.user == {"is_logged_in": False}  # st.logout() forgot the provider's sign-in
    at.run()  # the browser comes back from Streamlit's sign-out address
    _only_the_sign_in_button(at)
    assert [e.kind for e in oidc_team.audit_events(user="alice@example.com")] == ["sign out", "sign in"]


def test_oidc_disabled_account_is_refused_with_one_line(oidc_team):
    from tram_core import oidc_accounts

    oidc_accounts.add_oidc_user(oidc_team, Actor("ada", ADMIN), "alice@example.com", "annotator")
    accounts.set_disabled(oidc_team, Actor("ada", ADMIN), "alice@example.com")
    at = _open_oidc(ALICE, {"report": "1"})
    assert [_plain(e.value) for e in at.error] == [
        "Not signed in: The account alice@example.com is disabled: ask an administrator to enable it"]
    assert _labels(at) == ["Sign out"] and not at.dataframe and not at.sidebar.caption
