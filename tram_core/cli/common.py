"""What the command modules share: the store the parsed arguments point to, who the command acts as (a team account
or the local admin), scores and tables as printed, and the audit row of a change."""

from __future__ import annotations

import sys

from tram_core.access import Actor

READING = ("view", "export", "see the activity")  # permissions of commands that change nothing


def open_store(args):
    """The store of ``args.settings`` (the command line's settings)."""
    from tram_core.store import Store

    return Store.from_settings(args.settings)


def score_text(value) -> str:
    """A score to three decimals, or "-" when there is none."""
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def table(headers: list[str], rows: list[list], max_width: dict[int, int] | None = None) -> str:
    """Rows as aligned columns under ``headers``; column ``i`` cut to ``max_width[i]`` characters (with '…')."""
    max_width = max_width or {}
    cells = [[str(c) for c in row] for row in rows]
    for row in cells:
        for i, limit in max_width.items():
            if len(row[i]) > limit:
                row[i] = row[i][: limit - 1] + "…"
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------- who acts


def identity(args, store) -> tuple[Actor, str]:
    """Who the command acts as, and the line saying so.

    ``--user NAME`` naming an account in the store acts as that team account with its role (a disabled account is
    refused); a ``--user`` naming no account, or no ``--user`` at all, acts as the local admin of that name
    (whoever can reach the database from a shell is its admin).
    """
    from tram_core.access import PermissionDenied, local_user
    from tram_core.errors import CommandError
    from tram_core.views.app_state import clean_user_name

    name = clean_user_name(args.user)
    if not name:
        raise CommandError("--user: give a name (one printable line of at most 100 characters)")
    account = store.get_user(name)
    if account is not None and getattr(args, "user_given", True):
        if account.disabled:
            raise PermissionDenied(f"The account '{name}' is disabled: it cannot act (an admin can enable it with "
                                   f"python -m tram_core users enable {name})")
        return Actor(name, account.role), f"acting as team account '{name}' ({account.role})"
    if account is not None:
        why = f"no --user given; give --user {name} to act as the team account"
    else:
        why = f"no account named '{name}'; give --user NAME to act as a team account"
    return local_user(name), f"acting as local admin '{name}' ({why})"


def acting(args, permission: str, store=None) -> Actor:
    """The ``Actor`` the command acts as (``identity``), checked for ``permission`` by ``access.require``: refused
    with the line a page would show. The first check of a change that passes says on stderr who acts (a reading
    command says nothing); ``args.user`` becomes the checked name (what audit and label rows record) and
    ``args.actor`` the Actor."""
    from tram_core.access import require

    actor = getattr(args, "actor", None)
    if actor is None:
        actor, args.acting_line = identity(args, store if store is not None else open_store(args))
        args.actor = actor
    require(actor, permission)
    if getattr(args, "acting_line", "") and permission not in READING:
        print(args.acting_line, file=sys.stderr)
        args.acting_line = ""
    args.user = actor.name
    return actor


def audit(store, args, kind: str, target: object = "", before=None, after=None) -> None:
    """One audit-trail row for a change made from the command line (by ``args.user``, the checked name)."""
    from tram_core.accounts import audit as record

    record(store, args.user, kind, target, before, after)
