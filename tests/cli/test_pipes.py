"""`python -m tram_core ... | head`: a command whose reader goes away stops quietly (no BrokenPipeError traceback),
with the shell's exit status for it (141), in real subprocesses writing into real pipes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.engine_helpers import fill_store
from tram_core.cli import SIGPIPE_EXIT

pytestmark = pytest.mark.slow  # real interpreters start (a second or two each)

NOISE = ("Traceback", "BrokenPipeError", "Exception ignored", "Broken pipe")


def _start(home, *argv: str) -> subprocess.Popen:
    env = {**os.environ, "TRAM_HOME": str(home), "PYTHONPATH": str(REPO_ROOT), "TRAM_USER": "tester"}
    env.pop("TRAM_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "tram_core", *argv], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    stderr = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    return proc.wait(timeout=120), stderr


def test_a_reader_that_stops_after_one_line_ends_the_command_quietly(tram_home):
    # Every technique, revoked ones included: about 80 kB, more than a pipe holds, so the command is still
    # writing when the reader goes away.
    proc = _start(tram_home, "techniques", "a", "--all", "--limit", "5000")
    first = proc.stdout.readline().decode()
    proc.stdout.close()  # what `| head -n 1` does after its line
    code, stderr = _finish(proc)
    assert first.split() == ["id", "name", "tactics", "note"]
    assert code == SIGPIPE_EXIT == 141
    assert not [word for word in NOISE if word in stderr], stderr


def test_reports_into_a_pipe_closed_before_any_output(tram_home, store):
    fill_store(store, reports=2)
    proc = _start(tram_home, "reports")
    proc.stdout.close()  # the reader is gone before the command prints its table
    code, stderr = _finish(proc)
    assert code == SIGPIPE_EXIT
    assert not [word for word in NOISE if word in stderr], stderr


def test_the_same_command_into_a_reader_that_reads_it_all_exits_0(tram_home, store):
    fill_store(store, reports=2)
    proc = _start(tram_home, "reports")
    out = proc.stdout.read().decode()
    proc.stdout.close()
    code, stderr = _finish(proc)
    assert code == 0 and "report 0" in out and "report 1" in out
    assert not [word for word in NOISE if word in stderr], stderr
