"""What the engine's command modules share: the store the parsed arguments point to, and scores as printed."""

from __future__ import annotations


def open_store(args):
    """The store of ``args.settings`` (the command line's settings)."""
    from tram_core.store import Store

    return Store.from_settings(args.settings)


def score_text(value) -> str:
    """A score to three decimals, or "-" when there is none."""
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def acting(args, permission: str) -> str:
    """The operator's name, checked for ``permission``: whoever can reach the database from a shell is the local
    admin (``tram_core.access.local_user``), in single-user and team mode alike."""
    from tram_core.access import local_user, require

    return require(local_user(args.user), permission).name


def audit(store, args, kind: str, target: object = "", before=None, after=None) -> None:
    """One audit-trail row for a change made from the command line (by ``args.user``)."""
    from tram_core.accounts import audit as record

    record(store, args.user, kind, target, before, after)
