"""Accounts for the pages (team mode, ``TRAM_AUTH=local``): sign in, the session's user, sign out, and the admin's
user management; each a thin door onto ``tram_core.accounts`` with the page's context."""

from __future__ import annotations

from datetime import datetime

from tram_core import accounts
from tram_core.access import Actor
from tram_core.accounts import SignIn, SignInError
from tram_core.services.common import Context, check_user
from tram_core.store import UserAccount

__all__ = ["SignIn", "SignInError", "authenticate", "session_user", "sign_out", "accounts_exist", "add_user",
           "list_users", "set_role", "set_disabled", "reset_password"]


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
