"""Who may do what: the roles, the role -> permission table, and ``require`` (the one permission check).

Roles are ordered; each role may do everything the roles below it may:

- ``viewer``: read reports, labels, runs, charts, and export them;
- ``annotator``: + label (save, undo, review, accept/reject) and import reports;
- ``maintainer``: + train, cancel, promote, run a model, delete models, edit the label space, see the activity;
- ``admin``: + delete reports, manage users.

The acting user is an ``Actor``: a name (a ``str``, so it is written wherever a name was) carrying its role. In
single-user mode (``TRAM_AUTH`` unset or ``none``: today's default) a plain name is the local user with the admin
role, so nothing changes on a laptop. In team mode (``TRAM_AUTH=local``: local accounts and passwords, or
``TRAM_AUTH=oidc``: sign-in through an OpenID Connect provider) only an ``Actor`` made from a signed-in session
(``services.accounts``) acts: a plain name, typed or from a link, is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from tram_core.errors import UserError

VIEWER, ANNOTATOR, MAINTAINER, ADMIN = "viewer", "annotator", "maintainer", "admin"
ROLES = (VIEWER, ANNOTATOR, MAINTAINER, ADMIN)  # lowest first

# Each permission (named as the refusal says it) and the lowest role that has it.
PERMISSIONS: dict[str, str] = {
    "view": VIEWER,
    "export": VIEWER,
    "label sentences": ANNOTATOR,
    "undo": ANNOTATOR,
    "import reports": ANNOTATOR,
    "run a model": MAINTAINER,
    "start training": MAINTAINER,
    "cancel a run": MAINTAINER,
    "promote a model": MAINTAINER,
    "delete a model": MAINTAINER,
    "edit the label space": MAINTAINER,
    "set up double annotation": MAINTAINER,
    "adjudicate": MAINTAINER,
    "see the activity": MAINTAINER,
    "delete a report": ADMIN,
    "manage users": ADMIN,
}

AUTH_NONE, AUTH_LOCAL, AUTH_OIDC = "none", "local", "oidc"
AUTH_MODES = (AUTH_NONE, AUTH_LOCAL, AUTH_OIDC)


class PermissionDenied(UserError):
    """The acting user's role does not allow the action: the message says who, what, and which role it needs."""


class Actor(str):
    """A user's name that carries the user's role (a ``str``: stored and shown as the name)."""

    role: str

    def __new__(cls, name: str, role: str) -> "Actor":
        if role not in ROLES:
            raise UserError(f"Unknown role '{role}'; use one of {', '.join(ROLES)}")
        actor = super().__new__(cls, name)
        actor.role = role
        return actor

    def __reduce__(self):
        return (Actor, (str(self), self.role))

    @property
    def name(self) -> str:
        return str.__str__(self)


def auth_mode(environ: Mapping[str, str] | None = None) -> str:
    """``local`` or ``oidc`` (team mode: accounts and sign-in, with a password or through an OpenID Connect
    provider) or ``none`` (single-user mode), from ``TRAM_AUTH``."""
    env = os.environ if environ is None else environ
    mode = (env.get("TRAM_AUTH") or AUTH_NONE).strip().lower()
    if mode in {"", "0", "off", "no", "false"}:
        mode = AUTH_NONE
    if mode not in AUTH_MODES:
        raise UserError(f"TRAM_AUTH must be '{AUTH_NONE}', '{AUTH_LOCAL}' or '{AUTH_OIDC}', not {mode!r}")
    return mode


def team_mode(environ: Mapping[str, str] | None = None) -> bool:
    """Whether sign-in is on (``TRAM_AUTH=local`` or ``oidc``): only signed-in users act, each with a role."""
    return auth_mode(environ) in (AUTH_LOCAL, AUTH_OIDC)


def check_listen_address(address: str | None, environ: Mapping[str, str] | None = None) -> None:
    """Refuse to serve single-user mode (everyone is admin) on an address other machines can reach.

    Loopback (``127.0.0.1``, ``::1``, ``localhost``) is always fine; another address needs sign-in
    (``TRAM_AUTH=local`` or ``oidc``) or an explicit ``TRAM_ALLOW_ANONYMOUS=1`` saying open access is intended.
    """
    import ipaddress

    env = os.environ if environ is None else environ
    host = (address or "").strip().strip("[]")
    try:
        if host == "localhost" or team_mode(env):
            return
    except UserError:
        return  # a bad TRAM_AUTH is refused on its own, with its own message
    try:
        if host and ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass  # a host name other than localhost: may resolve anywhere
    if (env.get("TRAM_ALLOW_ANONYMOUS") or "").strip().lower() in {"1", "true", "yes", "on"}:
        return
    where = host or "every interface"
    raise UserError(
        f"TRAM is in single-user mode (everyone who reaches it is admin) but listens on {where}: sign-in is off. "
        "Set TRAM_AUTH=local and add accounts (python -m tram_core users add NAME --role admin) or TRAM_AUTH=oidc, "
        "listen on 127.0.0.1, or set TRAM_ALLOW_ANONYMOUS=1 if open access is intended"
    )


def local_user(name: str) -> Actor:
    """The single-user mode's user (and the command line's operator): ``name`` with the admin role."""
    return Actor(name, ADMIN)


def actor_of(user: str) -> Actor | None:
    """The ``Actor`` acting: as given, else (single-user mode only) the local admin of that name; None in team mode
    for a plain name (nobody signed in)."""
    if isinstance(user, Actor):
        return user
    return None if team_mode() else local_user(user)


def role_allows(role: str, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")  # a bug: every checked action is in the table
    return ROLES.index(role) >= ROLES.index(PERMISSIONS[permission])


def require(user: str, permission: str) -> Actor:
    """The acting ``Actor`` when its role allows ``permission``; else ``PermissionDenied`` saying who, what, and the
    role it needs."""
    needed = PERMISSIONS.get(permission)
    if needed is None:
        raise KeyError(f"unknown permission {permission!r}")
    actor = actor_of(user)
    if actor is None:
        raise PermissionDenied(f"Cannot {permission}: sign in first (it needs the {needed} role)")
    if not role_allows(actor.role, permission):
        raise PermissionDenied(f"{actor.name} ({actor.role}) may not {permission}: it needs the {needed} role")
    return actor


@dataclass(frozen=True)
class Capabilities:
    """What a user may do, for the pages to show only the controls that work."""

    name: str
    role: str
    allowed: frozenset[str]

    def can(self, permission: str) -> bool:
        return permission in self.allowed

    @property
    def label(self) -> bool:
        return self.can("label sentences")

    @property
    def import_reports(self) -> bool:
        return self.can("import reports")

    @property
    def train(self) -> bool:
        return self.can("start training")

    @property
    def delete_reports(self) -> bool:
        return self.can("delete a report")


def capabilities(user: str) -> Capabilities:
    """What ``user`` may do (nothing when nobody is signed in in team mode)."""
    actor = actor_of(user)
    if actor is None:
        return Capabilities(str(user), "", frozenset())
    return Capabilities(actor.name, actor.role,
                        frozenset(p for p in PERMISSIONS if role_allows(actor.role, p)))
