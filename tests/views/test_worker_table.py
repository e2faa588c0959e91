"""The workers table (views/worker_table.py): what each worker is doing, how fresh it is, which are stale."""

from __future__ import annotations

from datetime import datetime, timedelta

from tram_core.store import Job, WorkerInfo
from tram_core.views.worker_table import WORKER_COLUMNS, job_state_text, stale_note, worker_rows

NOW = datetime(2025, 3, 4, 14, 10, 0)


def worker(name: str, device: str = "cpu", silent_s: float = 2.0, job_id: int | None = None) -> WorkerInfo:
    host, pid = name.split(":")
    return WorkerInfo(name, int(pid), host, device, NOW - timedelta(hours=1), NOW - timedelta(seconds=silent_s),
                      job_id)


def running_job(job_id: int, worker_name: str, step: int = 42, total: int = 100, kind: str = "train") -> Job:
    started = NOW - timedelta(minutes=5, seconds=2)
    return Job(job_id, kind, "running", {}, "ana", started, started, None, NOW, worker_name, "cpu", "training",
               step, total, 1, 0.5, None, "", {}, False, None, worker_name.split(":")[0])


def test_each_worker_says_where_it_runs_and_what_it_does():
    workers = [worker("box-b:20", "cuda:0", job_id=7), worker("box-a:10")]
    table = worker_rows(workers, [running_job(7, "box-b:20")], NOW, stale_after_s=30)
    assert list(table.columns) == list(WORKER_COLUMNS)
    assert table.to_dict("records") == [
        {"host": "box-a", "device": "cpu", "pid": 10, "state": "idle", "last heartbeat": "2 s ago", "stale": False},
        {"host": "box-b", "device": "cuda:0", "pid": 20,
         "state": "running job 7: train, 42%, since 14:04 UTC (5 min 02 s)", "last heartbeat": "2 s ago",
         "stale": False},
    ]


def test_a_silent_worker_is_marked_stale_and_listed_last_and_a_long_gone_one_is_left_out():
    workers = [worker("box-a:10", silent_s=95), worker("box-b:20"), worker("box-c:30", silent_s=4000)]
    table = worker_rows(workers, [], NOW, stale_after_s=30)
    assert list(table["host"]) == ["box-b", "box-a"]
    assert list(table["stale"]) == [False, True]
    assert table.iloc[1]["last heartbeat"] == "1 min 35 s ago"
    assert stale_note(table, 30) == ("1 worker sent no heartbeat for more than 30 s: stopped, or cut off from the "
                                     "database.")
    assert stale_note(worker_rows(workers[1:2], [], NOW, 30), 30) == ""


def test_a_worker_whose_process_exited_is_stale_at_once_and_says_what_it_was_doing():
    table = worker_rows([worker("box-a:10", job_id=3)], [running_job(3, "box-a:10", kind="predict", step=1,
                                                                      total=4)],
                        NOW, stale_after_s=30, exited=lambda info: info.pid == 10)
    assert table.iloc[0]["stale"]
    assert table.iloc[0]["state"].startswith("exited (was running job 3: predict, 25%")


def test_a_job_counts_for_the_worker_that_claimed_it_only():
    # The heartbeat named job 5, but another worker runs it now (this one's claim was failed as stale meanwhile).
    table = worker_rows([worker("box-a:10", job_id=5)], [running_job(5, "box-b:20")], NOW, stale_after_s=30)
    assert table.iloc[0]["state"] == "idle"
    assert job_state_text(None, NOW) == "idle"
    assert worker_rows([], [], NOW, 30).empty
