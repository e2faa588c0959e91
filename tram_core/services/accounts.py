"""Accounts for the pages (team mode, ``TRAM_AUTH=local`` or ``oidc``): sign in, the session's user, sign out, and
the admin's user management; each a thin door onto ``tram_core.accounts`` (and ``oidc_accounts``) with the page's
context."""

from __future__ import annotations

from datetime import datetime
from typing import Mapping

from tram_core import access, accounts, oidc_accounts
from tram_core.access import AUTH_LOCAL, AUTH_NONE, AUTH_OIDC, Actor
from tram_core.accounts import SignIn, SignInError
from tram_core.services.common import Context, check_user
from tram_core.store import UserAccount

__all__ = ["SignIn", "SignInError", "AUTH_NONE", "AUTH_LOCAL", "AUTH_OIDC", "auth_mode", "authenticate",
           "session_user", "sign_out", "accounts_exist", "add_user", "add_oidc_user", "list_users", "set_role",
           "set_disabled", "reset_password", "oidc_sign_in", "oidc_user", "oidc_sign_out", "oidc_providers",
           "oidc_setup_problem"]


def auth_mode() -> str:
    """How people sign in: ``none`` (single-user mode), ``local`` (passwords) or ``oidc`` (an OpenID Connect
    provider), from ``TRAM_AUTH``; a bad value raises a one-line UserError."""
    return access.auth_mode()


def authenticate(ctx: Context, name: str, password: str, now: datetime | None = None) -> SignIn:
    """Sign in: a session token and the signed-in ``Actor``; ``SignInError`` (one line) when refused."""
    return accounts.authenticate(ctx.store, name, password, now)


def session_user(ctx: Context, token: str | None, now: datetime | None = None) -> Actor | None:
    """The signed-in user of a session token; None when it is unknown or expired, or the account disabled."""
    return accounts.session_user(ctx.store, token, now)


def sign_out(ctx: Context, token: str | None) -> None:
    accounts.sign_out(ctx.store, token)


def accounts_exist(ctx: Context) -> bool:
    return accounts.accounts_exist(ctx.store)


def add_user(ctx: Context, user: str, name: str, role: str, password: str) -> UserAccount:
    check_user(user, "manage users")
    return accounts.add_user(ctx.store, user, name, role, password)


def list_users(ctx: Context, user: str) -> list[UserAccount]:
    check_user(user, "manage users")
    return accounts.list_users(ctx.store, user)


def set_role(ctx: Context, user: str, name: str, role: str) -> UserAccount:
    check_user(user, "manage users")
    return accounts.set_role(ctx.store, user, name, role)


def set_disabled(ctx: Context, user: str, name: str, disabled: bool = True) -> UserAccount:
    check_user(user, "manage users")
    return accounts.set_disabled(ctx.store, user, name, disabled)


def reset_password(ctx: Context, user: str, name: str, password: str) -> UserAccount:
    check_user(user, "manage users")
    return accounts.reset_password(ctx.store, user, name, password)


def add_oidc_user(ctx: Context, user: str, name: str, role: str) -> UserAccount:
    """A new account (admins only) for the email (or SUB@ISSUER) a provider signs in, without a password."""
    check_user(user, "manage users")
    return oidc_accounts.add_oidc_user(ctx.store, user, name, role)


# --------------------------------------------------------------------------------------------------- OpenID Connect


def oidc_sign_in(ctx: Context, claims: Mapping[str, object]) -> Actor:
    """Sign in the provider's signed-in user (``st.user``'s claims): their account, made with the default role on
    the first sign-in; ``SignInError`` (one line) when it is disabled. Once per browser session: it audits."""
    return oidc_accounts.oidc_sign_in(ctx.store, claims)


def oidc_user(ctx: Context, claims: Mapping[str, object] | None) -> Actor | None:
    """Who acts on this request, from the provider's claims; None when nobody, or the account is disabled."""
    return oidc_accounts.oidc_user(ctx.store, claims)


def oidc_sign_out(ctx: Context, user: str) -> None:
    """Record the sign-out of a provider-signed-in user (the web server ends the sign-in itself)."""
    if user:
        accounts.audit(ctx.store, user, "sign out", user, after={"via": "oidc"})


def oidc_providers(auth_section: Mapping[str, object] | None) -> list[str]:
    """The providers of the secrets file's ``[auth]`` section (``default`` for the unnamed one)."""
    return oidc_accounts.providers(auth_section)


def oidc_setup_problem(auth_section: Mapping[str, object] | None) -> str | None:
    """One line saying what the ``[auth]`` section lacks for sign-in to work; None when nothing."""
    return oidc_accounts.setup_problem(auth_section)
