"""Command-line commands for the engine: train, worker, jobs, models, evaluate, predict."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the engine commands to the ``python -m tram_core`` parser."""
