"""Running a command in-process for the command tests (their fixtures are in tests/cli/conftest.py)."""

from __future__ import annotations


from tram_core.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["--user", "ana", *argv])
    out, err = capsys.readouterr()
    return code, out, err
