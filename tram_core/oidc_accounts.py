"""OpenID Connect sign-in (``TRAM_AUTH=oidc``): who a provider's identity claims name, the account and role they get.

The web server (Streamlit's ``st.login``) talks to the provider and checks its tokens; what reaches this module is
the signed-in user's claims (``email``, ``email_verified``, ``sub``, ``iss``, ``name``). The account is the
verified email (lower case), else ``SUB@ISSUER``, in the same users table as local accounts, with no password. The
first sign-in makes the account with ``TRAM_OIDC_DEFAULT_ROLE`` (default viewer); an admin may make it beforehand
with another role (``users add EMAIL --role annotator --oidc``), change the role, or disable it.
"""

from __future__ import annotations

import os
from typing import Mapping

from tram_core import access
from tram_core.accounts import SignInError, audit
from tram_core.errors import UserError
from tram_core.store import Store, StoreError, UserAccount, utcnow
from tram_core.views.app_state import clean_user_name as clean_user

SECRETS_FILE = ".streamlit/secrets.toml"
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
MAX_IDENTITY = 100  # the users table's name length
_FALSE = {"false", "0", "no", "off"}


def default_role(environ: Mapping[str, str] | None = None) -> str:
    """The role a first OpenID Connect sign-in gets: ``TRAM_OIDC_DEFAULT_ROLE`` (default viewer)."""
    env = os.environ if environ is None else environ
    role = (env.get("TRAM_OIDC_DEFAULT_ROLE") or access.VIEWER).strip().lower()
    if role not in access.ROLES:
        raise UserError(f"TRAM_OIDC_DEFAULT_ROLE must be one of {', '.join(access.ROLES)}, not {role!r}")
    return role


def _text(claims: Mapping[str, object], key: str) -> str:
    value = claims.get(key)
    return value.strip() if isinstance(value, str) else ""


def _email_verified(claims: Mapping[str, object]) -> bool:
    """Whether the provider vouches for the email: yes unless it says no (some providers never send the claim)."""
    verified = claims.get("email_verified", True)
    if isinstance(verified, str):
        return verified.strip().lower() not in _FALSE
    return bool(verified)


def identity(claims: Mapping[str, object]) -> str:
    """The account name the claims sign in as: the verified email in lower case, else ``SUB@ISSUER``."""
    email = _text(claims, "email")
    if email and "@" in email and not any(ch.isspace() for ch in email) and _email_verified(claims):
        name = email.lower()
    elif _text(claims, "sub") and _text(claims, "iss"):
        name = f"{_text(claims, 'sub')}@{_text(claims, 'iss')}"
    else:
        raise UserError("The identity provider sent neither a verified email nor a subject (sub) and issuer "
                        "(iss): TRAM cannot tell who signed in")
    if clean_user(name) != name or len(name) > MAX_IDENTITY:
        raise UserError(f"The identity from the provider is not a usable account name (one printable line of at "
                        f"most {MAX_IDENTITY} characters): {name[:MAX_IDENTITY]!r}")
    return name


def account_name(name: str) -> str:
    """An account name an admin gives for OpenID Connect sign-in, as sign-in will spell it: an email in lower case
    (``SUB@ISSUER`` names are kept as given: a subject may be case-sensitive)."""
    clean = clean_user(name)
    if not clean or clean != name:
        raise UserError("A user name must be one printable line of at most 100 characters")
    return clean if "://" in clean else clean.lower()


def oidc_sign_in(store: Store, claims: Mapping[str, object]) -> access.Actor:
    """Sign in the user the claims name: their account (made on the first sign-in, with the default role) as an
    ``Actor``; ``SignInError`` when the account is disabled. Each sign-in (or refusal) is in the audit trail."""
    name = identity(claims)
    account = store.get_user(name) or _first_account(store, name)
    if account.disabled:
        audit(store, name, "sign in failed", name, after={"reason": "disabled", "via": "oidc"})
        raise SignInError(f"The account {name} is disabled: ask an administrator to enable it")
    store.update_user(name, last_sign_in=utcnow())
    audit(store, name, "sign in", name, after={"via": "oidc"})
    return access.Actor(name, account.role)


def _first_account(store: Store, name: str) -> UserAccount:
    role = default_role()
    try:
        account = store.add_user(name, role, "")  # no password: this account signs in through the provider only
    except StoreError:  # made a moment ago by the same user's other tab
        found = store.get_user(name)
        if found is None:
            raise
        return found
    audit(store, name, "user add", name, after={"role": role, "via": "oidc"})
    return account


def oidc_user(store: Store, claims: Mapping[str, object] | None) -> access.Actor | None:
    """The signed-in user of these claims on this request (a role change or a disabled account counts at once);
    None when nobody is signed in, or the account is unknown or disabled. Writes nothing."""
    if not claims:
        return None
    try:
        name = identity(claims)
    except UserError:
        return None
    account = store.get_user(name)
    if account is None or account.disabled:
        return None
    return access.Actor(name, account.role)


def add_oidc_user(store: Store, user: str, name: str, role: str) -> UserAccount:
    """A new account for OpenID Connect sign-in, without a password (admins only): ``name`` is the email (or
    ``SUB@ISSUER``) the provider will sign in."""
    actor = access.require(user, "manage users").name
    if role not in access.ROLES:
        raise UserError(f"Unknown role '{role}'; use one of {', '.join(access.ROLES)}")
    clean = account_name(name)
    account = store.add_user(clean, role, "")
    audit(store, actor, "user add", clean, after={"role": role, "via": "oidc"})
    return account


# --------------------------------------------------------------------------------------------------- configuration


def providers(auth_section: Mapping[str, object] | None) -> list[str]:
    """The providers a visitor may sign in with: ``default`` for settings directly under ``[auth]``, then each
    named ``[auth.NAME]`` section."""
    section = auth_section or {}
    named = [key for key, value in section.items() if isinstance(value, Mapping) and key != "client_kwargs"]
    return (["default"] if section.get("client_id") else []) + named


def setup_problem(auth_section: Mapping[str, object] | None) -> str | None:
    """What is missing from the ``[auth]`` section of the secrets file for sign-in to work; None when nothing."""
    section = auth_section or {}
    wanted = "redirect_uri, cookie_secret, client_id, client_secret and server_metadata_url"
    if not section:
        return f"TRAM_AUTH=oidc needs an [auth] section in {SECRETS_FILE} with {wanted} (see the README, Team server)"
    missing = [key for key in ("redirect_uri", "cookie_secret") if not section.get(key)]
    found = providers(section)
    if not found:
        missing.append("client_id, client_secret and server_metadata_url (or an [auth.NAME] section with them)")
    for name in found:
        keys = section if name == "default" else section[name]
        where = "" if name == "default" else f"[auth.{name}] "
        missing += [f"{where}{key}" for key in PROVIDER_KEYS if not keys.get(key)]
        if "_" in name:
            missing.append(f"a provider name without '_' (not {name!r})")
    if missing:
        return f"TRAM_AUTH=oidc: the [auth] section of {SECRETS_FILE} lacks {', '.join(missing)}"
    if not str(section["redirect_uri"]).endswith("/oauth2callback"):
        return f"TRAM_AUTH=oidc: redirect_uri in {SECRETS_FILE} must end with /oauth2callback"
    return None
