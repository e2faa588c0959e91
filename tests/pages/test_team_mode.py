"""Team mode (TRAM_AUTH=local) through AppTest: an anonymous visitor sees only the sign-in form, a forged ?user=
changes nothing, the signed-in identity is who acts, and a viewer sees no write control."""

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
    assert [e.value for e in at.error] == ["TRAM cannot start with these settings: TRAM\\_AUTH must be 'none' or "
                                           "'local', not 'ldap'"]


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
