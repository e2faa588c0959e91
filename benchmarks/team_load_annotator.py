"""One annotator of the team-load benchmark: signs in, then makes the Annotate page's core calls until its time is up.

Started by benchmarks/team_load.py as ``python -m benchmarks.team_load_annotator NAME PASSWORD SETUP OUT SEED``
(TRAM_AUTH=local and the database in the environment). It signs in (Argon2, a real session), prints ``ready`` and
waits for ``go DEADLINE`` on stdin; then, until the deadline (time.time()), it repeats what an analyst does on the
Annotate page, through the same service calls the page makes:

- open a sentence of the shared pool (``open_at``, as a deep link does), then draw it as the page does on every
  run: the session's user (``session_user``), ``read`` and ``sentence_panel``;
- think for a moment (uniform 0.5..1.5 x --think s), then answer: Save & next with one technique ticked or
  unticked, sometimes No technique or Mark reviewed (``save``), and after some saves Undo (``undo``);
- a refused save (someone saved the sentence since it opened) is the conflict the page shows: the analyst keeps
  theirs or saves theirs over it (``resolve_conflict``), half and half.

Each save's time is the page callback's (``svc.save`` / ``svc.resolve_conflict``): check, write, next sentence.
It writes OUT (JSON): every acknowledged write (sentence, version, labels, status, based-on version), the timings,
the conflicts shown and every error line.
"""

from __future__ import annotations

import cProfile
import json
import os
import random
import sys
import time
from pathlib import Path

from tram_core.services import accounts as account_svc
from tram_core.services import annotate as svc
from tram_core.services.common import open_context

UNDO_AFTER_SAVE = 0.05  # share of successful saves followed by an Undo
REVIEWED_SHARE = 0.10  # answers that are Mark reviewed
NONE_SHARE = 0.05  # answers that are No technique
KEEP_MINE_SHARE = 0.5  # conflicts answered with Keep mine (the rest: Take theirs)
PROFILE_ENV = "TRAM_TEAM_LOAD_PROFILE"  # a file: this annotator profiles its saves (cProfile) into it


class Annotator:
    """One signed-in analyst on the Annotate page: a cursor, and a record of everything that happened."""

    def __init__(self, ctx, token: str, pool: list[list[int]], techniques: list[str], rng: random.Random):
        self.ctx, self.token, self.pool, self.techniques, self.rng = ctx, token, pool, techniques, rng
        self.cursor = svc.Cursor()
        self.profiler = cProfile.Profile() if os.environ.get(PROFILE_ENV) else None
        self.statements = 0  # SQL statements sent, counted while profiling
        if self.profiler is not None:
            from sqlalchemy import event

            event.listen(ctx.store.engine, "before_cursor_execute", self._count_statement)
            event.listen(ctx.store.engine, "commit", self._count_statement)
        self.record: dict = {"acks": [], "save_ms": [], "save_cpu_ms": [], "undo_ms": [], "view_ms": [],
                             "conflicts": 0, "undos_refused": 0, "kept_mine": 0, "took_theirs": 0, "unchanged": 0, "changed_notes": 0,
                             "errors": [], "warnings": [], "steps": 0}

    def _count_statement(self, *_args, **_kwargs) -> None:
        self.statements += 1

    def user(self):
        """Who acts, as the page finds out on each run: the signed-in user of the session's token."""
        return account_svc.session_user(self.ctx, self.token) or ""

    def open(self, report_id: int, sentence_id: int) -> svc.SentencePanel:
        """Open a pool sentence and draw it (one page run); the time it took goes to ``view_ms``."""
        started = time.perf_counter()
        self.user()
        svc.open_at(self.cursor, report_id, sentence_id)
        svc.read(self.ctx, self.cursor)
        view = svc.sentence_panel(self.ctx, self.cursor, svc.DEFAULT_FILTERS)
        self.record["view_ms"].append((time.perf_counter() - started) * 1000)
        self.record["changed_notes"] += bool(view.changed_note)
        return view

    def choose(self, view: svc.SentencePanel) -> list[str]:
        """The ticks as the page sets them up, with one technique ticked or unticked by the analyst."""
        ticked = [row.rank for row in view.suggestions if row.ticked]
        extra = set(view.extra)
        extra ^= {self.rng.choice(self.techniques)}
        return view.chosen(ticked, sorted(extra))

    def _outcome(self, opened, kind: str, elapsed_ms: float, action: str = "label") -> str:
        """What the page would show after a save, undo or resolution: saved, conflict, unchanged or error."""
        notes = self.cursor.take_notes()
        errors = [n.text for n in notes if n.kind == "error"]
        refused = [e for e in errors if e.startswith("Not undone:") and "after your change: nothing undone" in e]
        self.record["undos_refused"] += len(refused)  # another's later answer kept: the page's conflict for an undo
        errors = [e for e in errors if e not in refused]
        self.record["warnings"] += [n.text for n in notes if n.kind == "warning"]
        if errors:
            self.record["errors"] += errors
            return "error"
        if refused:
            return "conflict"
        if action == "label" and self.cursor.conflict is not None:
            self.record["conflicts"] += 1
            return "conflict"
        now = self.cursor.opened
        wrote = now is not None and (opened is None or (now.id, now.version) != (opened.id, opened.version))
        if wrote and any(n.kind == "success" for n in notes):  # Keep mine equal to theirs: 'Unchanged', a success
            self.record["acks"].append({"sentence": now.id, "version": now.version, "labels": list(now.labels),
                                        "status": now.status, "action": action, "kind": kind,
                                        "based_on": opened.version if opened is not None else None,
                                        "ms": elapsed_ms})
            return "saved"
        self.record["unchanged"] += 1
        return "unchanged"

    def timed_save(self, call, *args) -> float:
        """Run a page save callback; its wall time (ms, returned and kept) and this process's CPU time in it."""
        user = self.user()
        cpu, started = time.process_time(), time.perf_counter()
        if self.profiler is not None:
            counted = self.statements
            self.profiler.enable()
        call(self.ctx, user, self.cursor, *args, svc.DEFAULT_FILTERS)
        if self.profiler is not None:
            self.profiler.disable()
            self.record.setdefault("save_statements", []).append(self.statements - counted)
        elapsed = (time.perf_counter() - started) * 1000
        self.record["save_ms"].append(elapsed)
        self.record["save_cpu_ms"].append((time.process_time() - cpu) * 1000)
        return elapsed

    def save(self, view: svc.SentencePanel, kind: str) -> str:
        opened = self.cursor.opened
        elapsed = self.timed_save(svc.save, self.choose(view), kind)
        outcome = self._outcome(opened, kind, elapsed)
        if outcome == "conflict":
            outcome = self.resolve()
        return outcome

    def resolve(self) -> str:
        """The conflict panel: Keep mine (a save over theirs, timed as a save) or Take theirs."""
        conflict = self.cursor.conflict
        if self.rng.random() >= KEEP_MINE_SHARE:
            self.record["took_theirs"] += 1
            svc.resolve_conflict(self.ctx, self.user(), self.cursor, True, svc.DEFAULT_FILTERS)
            self.cursor.take_notes()
            return "took theirs"
        self.record["kept_mine"] += 1
        elapsed = self.timed_save(svc.resolve_conflict, False)
        outcome = self._outcome(conflict.theirs, conflict.kind, elapsed)
        if outcome == "conflict":  # refused again: the analyst gives up on this sentence
            self.cursor.conflict = None
        return outcome

    def undo(self) -> None:
        user = self.user()
        started = time.perf_counter()
        svc.undo(self.ctx, user, self.cursor)
        elapsed = (time.perf_counter() - started) * 1000
        self.record["undo_ms"].append(elapsed)
        self._outcome(None, "undo", elapsed, action="undo")

    def step(self, think_s: float) -> None:
        """One sentence: open it, think, answer (and sometimes undo the answer after another moment)."""
        report_id, sentence_id = self.rng.choice(self.pool)
        view = self.open(report_id, sentence_id)
        time.sleep(think_s * self.rng.uniform(0.5, 1.5))
        if view.sentence is None:
            return
        draw = self.rng.random()
        kind = svc.SAVE_REVIEWED if draw < REVIEWED_SHARE else \
            svc.SAVE_NONE if draw < REVIEWED_SHARE + NONE_SHARE else svc.SAVE_LABELS
        if self.save(view, kind) == "saved" and self.rng.random() < UNDO_AFTER_SAVE:
            time.sleep(think_s * self.rng.uniform(0.5, 1.5))
            self.undo()


def run(name: str, password: str, setup: Path, out: Path, seed: int) -> int:
    plan = json.loads(setup.read_text())
    ctx = open_context()
    token = account_svc.authenticate(ctx, name, password).token
    annotator = Annotator(ctx, token, plan["pool"], plan["techniques"], random.Random(seed))
    print("ready", flush=True)
    command = sys.stdin.readline().split()
    deadline = float(command[1]) if len(command) == 2 and command[0] == "go" else time.time()
    while time.time() < deadline:
        annotator.record["steps"] += 1
        try:
            annotator.step(plan["think_s"])
        except Exception as exc:  # noqa: BLE001 - the page shows an error line and the analyst goes on
            annotator.record["errors"].append(f"{type(exc).__name__}: {exc}")
            annotator.cursor = svc.Cursor()
    out.write_text(json.dumps({"user": name, **annotator.record}))
    if annotator.profiler is not None:
        annotator.profiler.dump_stats(os.environ[PROFILE_ENV])
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5])))
