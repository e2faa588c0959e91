"""Command-line commands for data: import, export, reports, techniques."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the data commands to the ``python -m tram_core`` parser."""
