"""What the engine's command modules share: the store the parsed arguments point to, and scores as printed."""

from __future__ import annotations


def open_store(args):
    """The store of ``args.settings`` (the command line's settings)."""
    from tram_core.store import Store

    return Store.from_settings(args.settings)


def score_text(value) -> str:
    """A score to three decimals, or "-" when there is none."""
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"
