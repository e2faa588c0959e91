"""OpenID Connect sign-in (TRAM_AUTH=oidc): the provider's claims name the account (the verified email, else
SUB@ISSUER), the first sign-in makes a viewer, an admin's role and a disabled account count, every sign-in is
audited, and such an account has no password to sign in with locally."""

from __future__ import annotations

import pytest

from tram_core import accounts as core_accounts
from tram_core.access import ADMIN, ANNOTATOR, MAINTAINER, VIEWER, Actor, PermissionDenied
from tram_core.errors import UserError
from tram_core.services import accounts

ADA = Actor("ada", ADMIN)
ALICE = {"email": "Alice@Example.com", "email_verified": True, "sub": "0b1c-42", "iss": "https://idp.example.org",
         "name": "Alice"}
PASSWORD = "correct horse battery"


@pytest.fixture
def oidc(ctx, monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "oidc")
    monkeypatch.delenv("TRAM_OIDC_DEFAULT_ROLE", raising=False)
    return ctx


def _audit(ctx) -> list[tuple[str, str, str]]:
    return [(e.user, e.kind, e.target) for e in reversed(ctx.store.audit_events())]  # oldest first


def test_the_first_sign_in_makes_a_viewer_account_and_audits_it(oidc):
    actor = accounts.oidc_sign_in(oidc, ALICE)
    assert (actor, actor.role) == ("alice@example.com", VIEWER)
    account = oidc.store.get_user("alice@example.com")
    assert account.role == VIEWER and account.last_sign_in is not None
    assert accounts.oidc_sign_in(oidc, ALICE) == "alice@example.com"  # the same account the next time
    assert [u.name for u in oidc.store.list_users()] == ["alice@example.com"]
    assert _audit(oidc) == [("alice@example.com", "user add", "alice@example.com"),
                            ("alice@example.com", "sign in", "alice@example.com"),
                            ("alice@example.com", "sign in", "alice@example.com")]
    assert accounts.oidc_user(oidc, ALICE).role == VIEWER


def test_the_default_role_comes_from_the_setting(oidc, monkeypatch):
    monkeypatch.setenv("TRAM_OIDC_DEFAULT_ROLE", "Annotator")
    assert accounts.oidc_sign_in(oidc, ALICE).role == ANNOTATOR
    monkeypatch.setenv("TRAM_OIDC_DEFAULT_ROLE", "owner")
    with pytest.raises(UserError, match="^TRAM_OIDC_DEFAULT_ROLE must be one of viewer, annotator, maintainer, "
                                        "admin, not 'owner'$"):
        accounts.oidc_sign_in(oidc, dict(ALICE, email="bob@example.com"))
    assert oidc.store.get_user("bob@example.com") is None


def test_a_role_an_admin_gave_beforehand_is_kept_and_a_change_counts_at_once(oidc):
    made = accounts.add_oidc_user(oidc, ADA, "ALICE@example.com", ANNOTATOR)
    assert made.name == "alice@example.com"  # as the sign-in will spell it
    assert accounts.oidc_sign_in(oidc, ALICE).role == ANNOTATOR
    accounts.set_role(oidc, ADA, "alice@example.com", MAINTAINER)
    assert accounts.oidc_user(oidc, ALICE).role == MAINTAINER
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        accounts.add_oidc_user(oidc, Actor("max", MAINTAINER), "eve@example.com", ADMIN)
    with pytest.raises(UserError, match="exists already"):
        accounts.add_oidc_user(oidc, ADA, "alice@example.com", VIEWER)


def test_a_disabled_account_is_refused_with_one_line(oidc):
    accounts.add_oidc_user(oidc, ADA, "alice@example.com", ANNOTATOR)
    accounts.set_disabled(oidc, ADA, "alice@example.com")
    with pytest.raises(accounts.SignInError) as refused:
        accounts.oidc_sign_in(oidc, ALICE)
    assert str(refused.value) == "The account alice@example.com is disabled: ask an administrator to enable it"
    assert accounts.oidc_user(oidc, ALICE) is None
    assert _audit(oidc)[-1] == ("alice@example.com", "sign in failed", "alice@example.com")
    [failed] = oidc.store.audit_events(kinds=("sign in failed",))
    assert failed.after == {"reason": "disabled", "via": "oidc"}
    accounts.set_disabled(oidc, ADA, "alice@example.com", False)
    assert accounts.oidc_sign_in(oidc, ALICE).role == ANNOTATOR


@pytest.mark.parametrize("verified", [False, "false", "FALSE"])
def test_an_unverified_email_falls_back_to_the_subject_at_the_issuer(oidc, verified):
    accounts.add_oidc_user(oidc, ADA, "alice@example.com", ADMIN)  # the email's owner: not who signed in
    actor = accounts.oidc_sign_in(oidc, dict(ALICE, email_verified=verified))
    assert (actor, actor.role) == ("0b1c-42@https://idp.example.org", VIEWER)


def test_an_email_without_email_verified_is_taken_as_given(oidc):
    claims = {k: v for k, v in ALICE.items() if k != "email_verified"}
    assert accounts.oidc_sign_in(oidc, claims) == "alice@example.com"
    no_email = {"sub": "0b1c-42", "iss": "https://idp.example.org"}
    assert accounts.oidc_sign_in(oidc, no_email) == "0b1c-42@https://idp.example.org"


@pytest.mark.parametrize("claims", [{}, {"name": "Alice"}, {"email": "alice@example.com", "email_verified": False},
                                    {"sub": "x" * 120, "iss": "https://idp.example.org"},
                                    {"sub": "two\nlines", "iss": "https://idp.example.org"}])
def test_claims_that_name_nobody_are_refused_with_one_line_and_write_nothing(oidc, claims):
    with pytest.raises(UserError) as refused:
        accounts.oidc_sign_in(oidc, claims)
    assert "\n" not in str(refused.value)
    assert accounts.oidc_user(oidc, claims) is None and accounts.oidc_user(oidc, None) is None
    assert oidc.store.list_users() == [] and oidc.store.audit_events() == []


def test_an_oidc_account_has_no_password_to_sign_in_with(oidc):
    accounts.add_oidc_user(oidc, ADA, "alice@example.com", ADMIN)
    for password in ("", "not a password of anyone", PASSWORD):
        with pytest.raises(accounts.SignInError, match="^Wrong name or password$"):
            accounts.authenticate(oidc, "alice@example.com", password)
    assert "argon2" not in repr(accounts.list_users(oidc, ADA))


def test_an_over_long_password_or_name_is_refused_before_any_hashing(ctx, monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "local")
    accounts.add_user(ctx, ADA, "vera", VIEWER, PASSWORD)
    verified = []
    real_verify = core_accounts.verify_password
    monkeypatch.setattr(core_accounts, "verify_password", lambda *a: verified.append(1) or real_verify(*a))
    for name, password in (("vera", PASSWORD + "x" * core_accounts.MAX_PASSWORD), ("vera" + " " * 300, PASSWORD),
                           ("v" * 100_000, PASSWORD)):
        with pytest.raises(accounts.SignInError, match="^Wrong name or password$"):
            accounts.authenticate(ctx, name, password)
    assert verified == []
    reasons = [e.after["reason"] for e in ctx.store.audit_events(kinds=("sign in failed",))]
    assert reasons == ["too long"] * 3
    assert ctx.store.get_user("vera").failed_attempts == 2  # the guesses at vera count towards the lock
    assert accounts.authenticate(ctx, "vera", PASSWORD).actor == "vera" and verified == [1]


def test_the_secrets_section_is_checked_for_what_sign_in_needs():
    assert "needs an [auth] section in .streamlit/secrets.toml" in accounts.oidc_setup_problem(None)
    base = {"redirect_uri": "https://tram.example.org/oauth2callback", "cookie_secret": "s" * 32}
    provider = {"client_id": "tram", "client_secret": "x",
                "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration"}
    assert accounts.oidc_setup_problem({**base, **provider}) is None
    assert accounts.oidc_providers({**base, **provider, "client_kwargs": {"prompt": "login"}}) == ["default"]
    named = {**base, "keycloak": provider, "microsoft": dict(provider, client_secret="")}
    assert accounts.oidc_providers(named) == ["keycloak", "microsoft"]
    assert accounts.oidc_setup_problem(named).endswith("lacks [auth.microsoft] client_secret")
    assert "lacks cookie_secret, client_id, client_secret and server_metadata_url" in accounts.oidc_setup_problem(
        {"redirect_uri": base["redirect_uri"]})
    assert "must end with /oauth2callback" in accounts.oidc_setup_problem(
        {**base, **provider, "redirect_uri": "https://tram.example.org/"})
    assert "without '_'" in accounts.oidc_setup_problem({**base, "my_idp": provider})
