"""Local accounts (team mode, ``TRAM_AUTH=local``): Argon2 passwords, sign-in with a growing lock after repeated
failures, sessions that expire, the admin's user management, and the audit trail's one writer (``audit``).

An account made for OpenID Connect sign-in (``oidc_accounts``) has no password: its stored hash is empty, and a
password sign-in to it is refused like a wrong password.

The pages reach this through ``services.accounts``; the command line (``users``) directly. No password or hash
leaves this module: ``UserAccount`` records carry none, and neither do the audit rows.
"""

from __future__ import annotations

import functools
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tram_core import access
from tram_core.errors import UserError
from tram_core.store import Store, UserAccount, utcnow
from tram_core.views.app_state import clean_user_name as clean_user

# What the audit trail records besides label changes (those are the label history's: label, undo, review).
AUDIT_KINDS = ("import", "delete report", "train", "cancel", "promote", "run model", "delete model",
               "label space", "user add", "user role", "user disable", "user enable", "user password",
               "sign in", "sign in failed", "sign out")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # longer is refused at sign-in before any hashing work (a long input costs Argon2 time)
MAX_SIGN_IN_NAME = 200  # a name typed at sign-in; longer cannot be an account (names have at most 100 characters)
FREE_ATTEMPTS = 3  # failures before the first lock
FIRST_LOCK = timedelta(seconds=30)  # doubled with each further failure
LONGEST_LOCK = timedelta(hours=1)
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """The hash checked for a name without a password, so both cost the same; made at the first sign-in, not at
    import (an Argon2 hash takes about a quarter of a second)."""
    return _hasher.hash("not a password of anyone")


class SignInError(UserError):
    """A refused sign-in: the same words for an unknown name and a wrong password."""


@dataclass(frozen=True)
class SignIn:
    """A signed-in user: who (an ``Actor`` with the role) and the session token the browser keeps."""

    actor: access.Actor
    token: str
    expires_at: datetime


def session_hours(environ=None) -> float:
    """How long a session lasts: ``TRAM_SESSION_HOURS`` (default 12)."""
    env = os.environ if environ is None else environ
    raw = env.get("TRAM_SESSION_HOURS") or "12"
    try:
        hours = float(raw)
    except ValueError:
        raise UserError(f"TRAM_SESSION_HOURS must be a number of hours, not {raw!r}") from None
    if not 0 < hours <= 24 * 30:
        raise UserError("TRAM_SESSION_HOURS must be more than 0 and at most 720")
    return hours


def audit(store: Store, user: str, kind: str, target: object = "", before=None, after=None) -> None:
    """Append one change to the audit trail (``kind`` one of AUDIT_KINDS): who, what, on what, before/after."""
    if kind not in AUDIT_KINDS:
        raise KeyError(f"unknown audit kind {kind!r}")
    store.record_audit(str(user), kind, str(target), before, after)


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (checked for length first)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise UserError(f"A password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"A password may have at most {MAX_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def lock_for(failures: int) -> timedelta | None:
    """How long an account stays locked after ``failures`` failures in a row: none for the first few, then
    30 s doubling up to an hour."""
    if failures < FREE_ATTEMPTS:
        return None
    return min(FIRST_LOCK * (2 ** min(failures - FREE_ATTEMPTS, 20)), LONGEST_LOCK)


# --------------------------------------------------------------------------------------------------- sign-in


def _refuse(store: Store, name: str, why: str, account: UserAccount | None, now: datetime) -> None:
    if account is not None:
        store.count_failed_sign_in(account.name, lock_for, now)  # atomic: parallel guesses all count
    audit(store, name, "sign in failed", name, after={"reason": why})
    raise SignInError("Wrong name or password")  # one answer for every reason: it tells a guesser nothing


def authenticate(store: Store, name: str, password: str, now: datetime | None = None) -> SignIn:
    """Sign ``name`` in: a new session on success; ``SignInError`` on a wrong name or password, a disabled or
    locked account. Each failure is counted; after a few the account is locked for a growing time."""
    now = now or utcnow()
    too_long = len(name or "") > MAX_SIGN_IN_NAME or len(password or "") > MAX_PASSWORD
    name = clean_user(name)
    account = store.get_user(name) if name else None
    stored = store.user_password_hash(name) if account else None
    if too_long:  # refused like a wrong password, before any Argon2 work
        good = False
    else:  # an account without a password (OpenID Connect only) checks the dummy hash, and is refused all the same
        good = verify_password(stored or _dummy_hash(), password or "") and bool(stored)
    if account is not None and account.locked_until is not None and account.locked_until > now:
        wait = int((account.locked_until - now).total_seconds()) + 1
        audit(store, name, "sign in failed", name, after={"reason": "locked"})
        raise SignInError(f"Too many failed sign-ins: try again in {wait} s")
    if account is None or not good:
        _refuse(store, name, "too long" if too_long else "wrong", account, now)
    if account.disabled:  # refused like a wrong password, so a guesser cannot tell a right one
        _refuse(store, name, "disabled", None, now)
    store.update_user(name, failed_attempts=0, locked_until=None, last_sign_in=now)
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=session_hours())
    store.add_user_session(name, token, expires)
    audit(store, name, "sign in", name)
    return SignIn(access.Actor(name, account.role), token, expires)


def session_user(store: Store, token: str | None, now: datetime | None = None) -> access.Actor | None:
    """The signed-in user of a session ``token``; None when the token is unknown, expired, or its account is
    disabled."""
    if not token:
        return None
    account = store.session_account(token, now or utcnow())
    if account is None or account.disabled:
        return None
    return access.Actor(account.name, account.role)


def sign_out(store: Store, token: str | None) -> None:
    if token:
        actor = session_user(store, token)
        store.end_user_session(token)
        if actor is not None:
            audit(store, actor, "sign out", actor.name)


def accounts_exist(store: Store) -> bool:
    return store.count_users() > 0


# --------------------------------------------------------------------------------------------------- user management


def _role(role: str) -> str:
    if role not in access.ROLES:
        raise UserError(f"Unknown role '{role}'; use one of {', '.join(access.ROLES)}")
    return role


def add_user(store: Store, user: str, name: str, role: str, password: str) -> UserAccount:
    """A new account (admins only)."""
    actor = access.require(user, "manage users").name
    clean = clean_user(name)
    if not clean or clean != name:
        raise UserError("A user name must be one printable line of at most 100 characters")
    account = store.add_user(clean, _role(role), hash_password(password))
    audit(store, actor, "user add", clean, after={"role": role})
    return account


def list_users(store: Store, user: str) -> list[UserAccount]:
    """Every account, without any password hash (admins only)."""
    access.require(user, "manage users")
    return store.list_users()


def set_role(store: Store, user: str, name: str, role: str) -> UserAccount:
    actor = access.require(user, "manage users").name
    before, after = store.update_user(name, role=_role(role))
    audit(store, actor, "user role", name, {"role": before.role}, {"role": after.role})
    return after


def set_disabled(store: Store, user: str, name: str, disabled: bool = True) -> UserAccount:
    """Disable (ending the user's sessions) or enable an account."""
    actor = access.require(user, "manage users").name
    before, after = store.update_user(name, disabled=disabled)
    audit(store, actor, "user disable" if disabled else "user enable", name,
                    {"disabled": before.disabled}, {"disabled": after.disabled})
    return after


def reset_password(store: Store, user: str, name: str, password: str) -> UserAccount:
    """A new password (ending the user's sessions and any lock)."""
    actor = access.require(user, "manage users").name
    _, after = store.update_user(name, password_hash=hash_password(password), failed_attempts=0,
                                     locked_until=None)
    audit(store, actor, "user password", name)
    return after
