"""Where the CPU went during the team load (Linux /proc), and the save profile of one annotator as printable lines.

Groups: the machine, the annotators, the worker, the database server, and everything else on the machine (other
people's work: the noise in the timings).
"""

from __future__ import annotations

import os
import pstats
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> tuple[float, float]:
    """(busy CPU seconds, all CPU seconds) of the whole machine since boot, summed over cores."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields) - idle) / TICK, sum(fields) / TICK


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, ValueError, IndexError):
        return 0.0


def with_descendants(pid: int) -> list[int]:
    """``pid`` and every process started under it (a worker's threads count in its own figure)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class CpuSnapshot:
    """CPU seconds used so far: the machine, and each group of this run's processes."""

    machine: tuple[float, float]
    groups: dict[str, float] = field(default_factory=dict)


def snapshot(groups: dict[str, list[int]]) -> CpuSnapshot:
    return CpuSnapshot(machine_busy_s(), {name: sum(process_cpu_s(p) for p in pids) for name, pids in groups.items()})


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server of a tests/pg_cluster.py database URL (its data folder's postmaster.pid)."""
    if "host=" not in url:
        return None
    pid_file = Path(url.split("host=", 1)[1]).parent / "data" / "postmaster.pid"
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cpu_lines(before: CpuSnapshot, after: CpuSnapshot, seconds: float) -> str:
    """Cores used on average during the load: the machine, each group of this run, everything else."""
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    cores = os.cpu_count() or 1
    used = {name: after.groups[name] - before.groups.get(name, 0.0) for name in after.groups}
    others = max(0.0, busy - sum(used.values()))
    parts = ", ".join(f"{name} {value / seconds:.2f}" for name, value in used.items())
    return (f"  CPU during the load (cores busy on average, of {cores}): machine {busy / seconds:.2f} "
            f"({100 * busy / max(total, 1e-9):.0f}% busy); {parts}; "
            f"other processes on the machine {others / seconds:.2f}")


def profile_lines(path: Path, saves: int, top: int = 14) -> list[str]:
    """The save path's heaviest calls (cumulative wall ms per save) from one annotator's cProfile."""
    if not path.exists() or saves == 0:
        return []
    stats = pstats.Stats(str(path)).stats  # {(file, line, name): (calls, primitive, tottime, cumtime, callers)}
    rows = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)
    lines = []
    for (file, line, name), (calls, _, own, cumulative, _) in rows[:top]:
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else file
        lines.append(f"    {cumulative * 1000 / saves:7.1f} ms/save cumulative, {own * 1000 / saves:6.1f} own, "
                     f"{calls / saves:5.1f} calls/save  {name} ({where})")
    return lines
