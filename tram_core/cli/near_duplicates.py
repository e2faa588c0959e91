"""The import command's answer to "this file is the same document as a stored report": --on-duplicate, else a
question on a terminal, else keep with a warning."""

from __future__ import annotations

import sys
from typing import Callable, TextIO

from tram_core.io.import_duplicates import KEEP, MERGE, SKIP, NearDuplicate, check_decision

_KEYS = {"m": MERGE, "merge": MERGE, "k": KEEP, "keep": KEEP, "s": SKIP, "skip": SKIP}


def decider(on_duplicate: str | None, stdin: TextIO | None = None, stderr: TextIO | None = None,
            ask: Callable[[str], str] | None = None):
    """What to do with each near-duplicate: ``on_duplicate`` (merge, keep or skip) for all; without it, ask on a
    terminal, and keep each with a warning when nobody can be asked (a pipe, a script, CI)."""
    chosen = check_decision(on_duplicate, "--on-duplicate") if on_duplicate else None
    stdin = stdin or sys.stdin
    err = stderr or sys.stderr
    ask = ask or input

    def decide(duplicates: list[NearDuplicate]) -> dict:
        decisions = {}
        for dup in duplicates:
            if chosen is not None:
                decisions[dup.key] = chosen
            elif stdin.isatty():
                decisions[dup.key] = _ask(dup, ask, err)
            else:
                decisions[dup.key] = KEEP
                print(f"warning: {dup.question.removesuffix(' Merge, keep both or skip?')}; kept as a report of its "
                      "own (--on-duplicate merge|keep|skip decides)", file=err)
        return decisions

    return decide


def _ask(dup: NearDuplicate, ask: Callable[[str], str], err: TextIO) -> str:
    while True:
        try:
            answer = ask(f"{dup.question} [m]erge / [k]eep both / [s]kip: ").strip().lower()
        except EOFError:
            print(f"{dup.file}: no answer; kept as a report of its own", file=err)
            return KEEP
        if answer in _KEYS:
            return _KEYS[answer]
        print("Answer m (merge into the stored report), k (keep both) or s (skip this file).", file=err)
