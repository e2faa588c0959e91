"""Team-mode sign-in in a real browser: through an OpenID Connect provider (a mock one on 127.0.0.1) and with local
accounts. An anonymous visitor sees no page, report text or download, not even through a deep link; the signed-in
user is the author of what they label; a forged ?user= changes nothing."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import wait_for
from tests.e2e.harness import chromium_page, require_browser, streamlit_server, wait_for_app
from tests.views.test_annotation import TEXTS, add_report
from tram_core import accounts
from tram_core.access import ADMIN, ANNOTATOR, Actor
from tram_core.store import LABELLED

pytestmark = pytest.mark.slow  # a real Streamlit server, a real OpenID Connect provider and Chromium

OPERATOR = Actor("operator", ADMIN)  # the command line's admin, who makes the accounts
PASSWORD = "correct horse battery"
ALICE = {"email": "alice@example.com", "email_verified": True, "name": "Alice"}
TEAM_ENV = {"TRAM_WORKER_AUTOSTART": "0", "TRAM_OIDC_DEFAULT_ROLE": "viewer"}


@pytest.fixture
def browser_ready():
    require_browser(("oidc_provider_mock", "oidc-provider-mock"))


@contextmanager
def oidc_provider(users: dict[str, dict]) -> Iterator[str]:
    """A mock OpenID Connect provider on 127.0.0.1 whose authorize page offers ``users`` (sub -> claims) as
    buttons; yields its base URL (the issuer)."""
    import werkzeug.serving
    from oidc_provider_mock import User, app

    provider = app(user_claims=[User(sub=sub, claims=claims) for sub, claims in users.items()])
    server = werkzeug.serving.make_server("127.0.0.1", 0, provider, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def write_secrets(path: Path, issuer: str) -> Path:
    """The Streamlit secrets file pointing ``st.login`` at ``issuer`` (the server fills in its own port)."""
    path.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a test cookie secret that is long enough"\n'
        'client_id = "tram-e2e"\n'
        'client_secret = "tram-e2e-secret"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8")
    return path


def _wait_for_sidebar(page, text: str) -> None:
    """Wait until the sidebar says ``text`` (read without the invisible joiners that stop autolinks)."""
    page.wait_for_function(
        "(want) => { const bar = document.querySelector('[data-testid=\"stSidebar\"]');"
        " return bar && bar.innerText.replace(/\\u2060/g, '').includes(want); }", arg=text, timeout=30_000)


def _goto(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)


def _sees_nothing(page, url: str, report_id: int, *, sign_in: str) -> None:
    """An anonymous visitor, at the root, a deep link and with a forged ?user=: only the way to sign in."""
    for address in (url, f"{url}/annotate?report={report_id}", f"{url}/reports?report={report_id}&user=operator"):
        _goto(page, address)
        page.get_by_role("heading", name="Sign in to TRAM").wait_for()
        page.get_by_role("button", name=sign_in).wait_for()
        content = page.content()
        assert not any(text in content for text in TEXTS), address
        assert "Signed in as" not in content and "Who is annotating" not in content
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        assert page.locator('[data-testid="stDownloadButton"]').count() == 0
        assert page.locator('input[type="file"]').count() == 0


def _label_current_sentence(page, store, report_id: int):
    """In Annotate: label the sentence on screen T1055 and save; its stored record once saved."""
    page.wait_for_selector(".st-key-ann_current strong")
    wait_for_app(page)
    shown = " ".join(page.locator(".st-key-ann_current strong").inner_text().replace("\u2060", "").split())
    [sentence] = [s for s in store.sentences(report_id) if s.text == shown]
    page.get_by_label("Add a technique").fill("T1055")
    page.keyboard.press("Enter")
    wait_for_app(page)
    page.locator(".st-key-ann_add_T1055 button").click()
    wait_for_app(page)
    page.get_by_role("button", name="Save & next").click()
    return wait_for(lambda: (s := store.get_sentence(sentence.id)).status == LABELLED and s, 30, 0.3,
                    "the sentence to be saved")


def test_oidc_sign_in_creates_the_account_and_the_user_is_the_author(browser_ready, tram_home, store, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the mock provider speaks plain http on 127.0.0.1
    report_id, _ = add_report(store)
    with oidc_provider({"alice": ALICE}) as issuer:
        secrets = write_secrets(tmp_path / "secrets.toml", issuer)
        env = {**TEAM_ENV, "TRAM_AUTH": "oidc", "AUTHLIB_INSECURE_TRANSPORT": "1"}
        with streamlit_server(tram_home, extra_env=env, secrets_file=secrets) as url, chromium_page() as page:
            _sees_nothing(page, url, report_id, sign_in="Sign in")
            assert store.list_users() == []

            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("button", name="alice").click()  # the provider's page: sign in as alice
            page.wait_for_url(f"{url}/**")
            wait_for_app(page)
            _wait_for_sidebar(page, "Signed in as alice@example.com (viewer)")
            assert [(u.name, u.role) for u in store.list_users()] == [("alice@example.com", "viewer")]
            assert page.get_by_role("button", name="Save & next").count() == 0

            accounts.set_role(store, OPERATOR, "alice@example.com", ANNOTATOR)
            # A new page load keeps the provider's sign-in (a cookie); the forged ?user= is ignored.
            _goto(page, f"{url}/annotate?report={report_id}&user=mallory")
            saved = _label_current_sentence(page, store, report_id)
            assert saved.labels == ("T1055",) and saved.updated_by == "alice@example.com"
            _wait_for_sidebar(page, "Signed in as alice@example.com (annotator)")
            assert "mallory" not in page.content()

            # Sign out ends the app's sign-in (the provider then asks about its own): the next visit sees nothing.
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{issuer}/oauth2/end_session**")  # the app's cookie is gone on the way there
            _sees_nothing(page, url, report_id, sign_in="Sign in")
    kinds = [e.kind for e in reversed(store.audit_events(user="alice@example.com"))]
    assert kinds[:2] == ["user add", "sign in"] and kinds[-1] == "sign out"  # a sign-in per visit


def test_local_sign_in_shows_nothing_before_and_the_user_is_the_author(browser_ready, tram_home, store):
    report_id, _ = add_report(store)
    accounts.add_user(store, OPERATOR, "ann", ANNOTATOR, PASSWORD)
    env = {**TEAM_ENV, "TRAM_AUTH": "local"}
    with streamlit_server(tram_home, extra_env=env) as url, chromium_page() as page:
        _sees_nothing(page, url, report_id, sign_in="Sign in")

        _goto(page, f"{url}/?user=mallory")  # a forged name in the address, kept while signed in
        page.get_by_role("textbox", name="Name").fill("ann")
        page.get_by_role("textbox", name="Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Wrong name or password").wait_for()
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        _wait_for_sidebar(page, "Signed in as ann (annotator)")
        wait_for_app(page)

        # The session lives in this browser tab's connection: open Annotate through the app's navigation.
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Annotate").click()
        saved = _label_current_sentence(page, store, report_id)
        assert saved.labels == ("T1055",) and saved.updated_by == "ann"
        assert "mallory" not in page.locator('[data-testid="stSidebar"]').inner_text()

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in to TRAM").wait_for()
        wait_for_app(page)
        assert not any(text in page.content() for text in TEXTS)
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert [e.kind for e in reversed(store.audit_events(user="ann", kinds=("sign in", "sign out")))] == [
        "sign in", "sign out"]
