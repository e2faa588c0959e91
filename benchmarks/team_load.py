"""Team-server load: signed-in annotators label shared sentences while a worker trains; saves, latency, lost writes.

Usage: python benchmarks/team_load.py [--backend sqlite|postgresql|both] [--annotators 20] [--seconds 60]
       [--base tiny|minilm] [--reports 8] [--pool 40] [--think 1.0] [--data ../shared/data] [--seed 0] [--profile]

Per backend (a fresh database: SQLite in a temporary TRAM_HOME, PostgreSQL in a throwaway cluster):
1. imports --reports of TRAM's real MAT reports (generated reports when ../shared/data is absent: it says so),
   adds --annotators annotator accounts (team mode, TRAM_AUTH=local) and draws a pool of --pool sentences;
2. queues a training run (a tiny random BERT, or the embedded MiniLM with --base minilm) and starts a real
   ``python -m tram_core worker``, waiting for its first steps: it trains, beats and writes progress throughout;
3. starts one process per annotator (benchmarks/team_load_annotator.py): each signs in with its password and,
   for --seconds, opens pool sentences and answers them through the Annotate page's own service calls, thinking
   0.5..1.5 x --think s before each answer; a save refused as stale is the conflict the page shows;
4. checks every acknowledged write against the stored labels and the label history (benchmarks/team_load_check.py).
Prints saves, saves/s, save latency (p50, p95, max), conflicts shown, lost writes, errors, the worker's training
steps during the load and its longest heartbeat gap, and where the CPU went (this run's processes and everything
else on the machine: read the timings with that line); with --profile, the first annotator's save path (cProfile,
SQL statements per save). Last line: the goal, 0 lost writes and a save p95 <= 50 ms on PostgreSQL, met or not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import team_load_cpu as cpu  # noqa: E402
from benchmarks import team_load_setup as stage  # noqa: E402
from benchmarks.team_load_annotator import PROFILE_ENV  # noqa: E402
from benchmarks.team_load_check import LOSS_KINDS, WriteCheck, check_writes, starting_points  # noqa: E402

GOAL_P95_MS = 50.0
BACKENDS = ("sqlite", "postgresql")


@dataclass
class WorkerProgress:
    """The training job as the database showed it during the load."""

    steps: int = 0
    epochs: tuple[int, int] = (0, 0)
    longest_heartbeat_gap_s: float = 0.0
    status: str = ""


@dataclass
class LoadResult:
    """One backend's run: what the annotators did, what the check found, what the worker did."""

    backend: str
    stored: str
    seconds: float
    records: list[dict] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)
    check: WriteCheck = field(default_factory=WriteCheck)
    worker: WorkerProgress = field(default_factory=WorkerProgress)
    cpu: str = ""
    profile: list[str] = field(default_factory=list)

    def total(self, key: str):
        values = [r[key] for r in self.records]
        return sum(values, []) if values and isinstance(values[0], list) else sum(values)

    @property
    def saves(self) -> list[float]:
        return self.total("save_ms")

    @property
    def errors(self) -> list[str]:
        return self.total("errors") + self.crashed


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    return ordered[max(0, int(round(share * len(ordered))) - 1)] if ordered else 0.0


def cpu_line() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU: {os.cpu_count()} cores, {model}"


# --------------------------------------------------------------------------------------------------- the run


def start_annotators(names: list[str], env: dict, plan: Path, folder: Path, args) -> list[tuple]:
    """One process per annotator, each signed in and waiting for 'go': (name, process, output file, log).
    With --profile the first one profiles its saves into folder/save.prof."""
    started = []
    for i, name in enumerate(names):
        out, log = folder / f"{name}.json", folder / f"{name}.log"
        own_env = {**env, PROFILE_ENV: str(folder / "save.prof")} if args.profile and i == 0 else env
        with open(log, "w") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.team_load_annotator", name, stage.PASSWORD, str(plan), str(out),
                 str(args.seed * 1000 + i)], env=own_env, cwd=REPO_ROOT, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=err, text=True)
        started.append((name, process, out, log))
    for name, process, _, log in started:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{name} did not start: {log.read_text()[-2000:]}")
    return started


def watch_worker(store, job_id: int, until: float) -> WorkerProgress:
    """Sample the training job until ``until`` (time.time()), as the Train page's progress does."""
    first = store.get_job(job_id)
    beats, job, highest = [first.heartbeat_at], first, first.step
    while time.time() < until:
        time.sleep(0.25)
        job = store.get_job(job_id)
        if job.phase == first.phase:  # steps of a later phase (evaluating, saving) count from 0 again
            highest = max(highest, job.step)
        if job.heartbeat_at != beats[-1]:
            beats.append(job.heartbeat_at)
    gaps = [(b - a).total_seconds() for a, b in zip(beats, beats[1:]) if a and b]
    return WorkerProgress(highest - first.step, (first.epoch, job.epoch), max(gaps, default=0.0), job.status)


def collect(started: list[tuple], seconds: float) -> tuple[list[dict], list[str]]:
    """Every annotator's output; a line for each that crashed or wrote nothing."""
    records, crashed = [], []
    for name, process, out, log in started:
        try:
            process.wait(timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.returncode == 0 and out.exists():
            records.append(json.loads(out.read_text()))
        else:
            crashed.append(f"{name} exited {process.returncode}: {log.read_text()[-500:]}")
    return records, crashed


def prepare(store, args, home: Path) -> tuple[str, list[str], dict, Path]:
    """Reports, accounts and the pool: (what was stored, annotator names, starting points, plan file)."""
    stored = stage.fill(store, args.data, args.reports)
    names = stage.add_annotators(store, args.annotators)
    pool = stage.sentence_pool(store, args.pool, args.seed)
    plan = home / "plan.json"
    plan.write_text(json.dumps({"pool": pool, "techniques": stage.techniques(), "think_s": args.think}))
    return stored, names, starting_points(store, [sentence for _, sentence in pool]), plan


def load(store, url: str, args, names: list[str], folder: Path, env: dict, plan: Path, worker) -> LoadResult:
    """The load itself: the annotators go together for --seconds while the worker trains; CPU use measured."""
    started = start_annotators(names, env, plan, folder, args)
    groups = {"annotators": [process.pid for _, process, _, _ in started],
              "worker": cpu.with_descendants(worker.process.pid)}
    server = cpu.postmaster_pid(url)
    if server is not None:
        groups["database server"] = cpu.with_descendants(server)
    groups["benchmark"] = [os.getpid()]
    deadline = time.time() + args.seconds
    before = cpu.snapshot(groups)
    for _, process, _, _ in started:
        process.stdin.write(f"go {deadline}\n")
        process.stdin.flush()
    progress = watch_worker(store, worker.job_id, deadline)
    if server is not None:  # connections opened during the load started server processes of their own
        groups["database server"] = cpu.with_descendants(server)
    cpu_use = cpu.cpu_lines(before, cpu.snapshot(groups), args.seconds)
    records, crashed = collect(started, args.seconds)
    result = LoadResult("", "", args.seconds, records, crashed, worker=progress, cpu=cpu_use)
    first = next((r for r in records if r["user"] == names[0]), None)
    result.profile = cpu.profile_lines(folder / "save.prof", len(first["save_ms"]) if first else 0)
    if first and first.get("save_statements"):
        counts = first["save_statements"]
        result.profile.insert(0, f"    SQL statements + commits per save: mean {sum(counts) / len(counts):.1f}, "
                                 f"max {max(counts)} (each one a round trip to a server database)")
    return result


def run_load(backend: str, args, say=print) -> LoadResult:
    """One backend, start to finish: the benchmark's core (``args`` as ``parse_args`` makes them)."""
    from tram_core.store import Store

    with tempfile.TemporaryDirectory(prefix="tram-team-load-") as tmp, \
            stage.database(backend, Path(tmp) / "home") as url:
        home = Path(tmp) / "home"
        home.mkdir(exist_ok=True)
        env = stage.environment(home, url)
        store = Store(url)
        stored, names, start, plan = prepare(store, args, home)
        say(f"{backend}: {stored}; pool {args.pool} sentences; {len(names)} annotators")
        worker = stage.start_worker(store, env, stage.training_options(args.base, Path(tmp), args.seconds),
                                    Path(tmp) / "worker.log")
        try:
            result = load(store, url, args, names, Path(tmp), env, plan, worker)
        finally:
            stage.stop_worker(store, worker)
        result.backend, result.stored = backend, stored
        result.check = check_writes(store, result.records, start)
        store.engine.dispose()
    return result


# --------------------------------------------------------------------------------------------------- the figures


def report(result: LoadResult) -> None:
    r, check, saves = result, result.check, result.saves
    stored = check.acknowledged - sum(1 for rec in r.records for a in rec["acks"] if a["action"] == "undo")
    print(f"  saves {len(saves):,} ({stored:,} stored, {r.total('conflicts'):,} refused as stale, "
          f"{r.total('unchanged'):,} not stored: unchanged or nothing chosen) = {len(saves) / r.seconds:.1f} saves/s; "
          f"save latency p50 {percentile(saves, 0.5):.0f} ms, p95 {percentile(saves, 0.95):.0f} ms, "
          f"max {max(saves, default=0):.0f} ms")
    own = r.total("save_cpu_ms")
    print(f"  of a save, the annotator process's own CPU: p50 {percentile(own, 0.5):.1f} ms, p95 "
          f"{percentile(own, 0.95):.1f} ms (the rest: the database, and waiting for a core)")
    views, undos = r.total("view_ms"), r.total("undo_ms")
    print(f"  sentence view (session, read, panel) p50 {percentile(views, 0.5):.0f} ms, p95 "
          f"{percentile(views, 0.95):.0f} ms; undos {len(undos)} (p95 {percentile(undos, 0.95):.0f} ms)")
    print(f"  conflicts shown {r.total('conflicts'):,} (then kept mine {r.total('kept_mine'):,}, took theirs "
          f"{r.total('took_theirs'):,}); undos refused because someone answered later {r.total('undos_refused'):,}; "
          f"'changed since you opened it' notes {r.total('changed_notes'):,}")
    kinds = ", ".join(f"{kind} {check.lost[kind]}" for kind in LOSS_KINDS)
    print(f"  lost writes {check.lost_total} of {check.acknowledged:,} acknowledged ({kinds}); "
          f"unacknowledged writes {check.unacknowledged}")
    for example in check.examples:
        print(f"    e.g. {example}")
    print(f"  errors {len(r.errors)}" + "".join(f"\n    {line[:300]}" for line in sorted(set(r.errors))[:5]))
    warnings = r.total("warnings")
    if warnings:
        print(f"  warnings {len(warnings)} (saved, with a note)" +
              "".join(f"\n    {line[:300]}" for line in sorted(set(warnings))[:3]))
    w = r.worker
    print(f"  worker: {w.steps:,} training steps during the load ({w.steps / r.seconds:.1f} steps/s, epoch "
          f"{w.epochs[0]} -> {w.epochs[1]}), longest gap between heartbeats {w.longest_heartbeat_gap_s:.1f} s, "
          f"job {w.status} at the end" + (" (kept training)" if w.steps > 0 and w.status == "running" else ""))
    print(r.cpu)
    if r.profile:
        print("  save profile (one annotator, cProfile, wall time):")
        print("\n".join(r.profile))


def goal_line(results: list[LoadResult]) -> str:
    lost = sum(r.check.lost_total + len(r.crashed) for r in results)
    pg = [r for r in results if r.backend == "postgresql"]
    if not pg:
        return f"goal: 0 lost, p95 <= {GOAL_P95_MS:.0f} ms on PostgreSQL: not measured (no PostgreSQL run); lost {lost}"
    p95 = percentile(pg[0].saves, 0.95)
    met = lost == 0 and p95 <= GOAL_P95_MS
    return (f"goal: 0 lost, p95 <= {GOAL_P95_MS:.0f} ms on PostgreSQL: {'met' if met else 'not met'} "
            f"(lost {lost}, PostgreSQL p95 {p95:.0f} ms = {p95 / GOAL_P95_MS:.2f} x the goal)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load")
    parser.add_argument("--base", choices=(stage.TINY_BERT, stage.MINILM), default=stage.TINY_BERT,
                        help="what the worker trains: a tiny random BERT, or the embedded MiniLM")
    parser.add_argument("--reports", type=int, default=8, help="real reports imported")
    parser.add_argument("--pool", type=int, default=40, help="sentences the annotators share")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds an analyst looks before answering")
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="profile the first annotator's saves (cProfile)")
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args()
    print(cpu_line())
    print(f"{args.annotators} annotators, {args.seconds:.0f} s, think {args.think:.1f} s, worker trains "
          f"{'a tiny BERT' if args.base == stage.TINY_BERT else 'the embedded MiniLM'}")
    results = []
    for backend in BACKENDS if args.backend == "both" else (args.backend,):
        results.append(run_load(backend, args))
        report(results[-1])
    if len(results) == 2:
        (lite, pg) = results
        ratio = percentile(pg.saves, 0.95) / max(percentile(lite.saves, 0.95), 1e-9)
        print(f"PostgreSQL / SQLite: saves {len(pg.saves) / max(len(lite.saves), 1):.2f} x, p95 save {ratio:.2f} x")
    print(goal_line(results))
    return 0 if all(r.check.lost_total == 0 and not r.crashed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
