"""The worker registry: each worker process as it last reported itself, kept in app_settings under ``worker:<name>``;
and leases, which let one worker of several (on any machine) do a chore, such as retraining the quick model, alone."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tram_core.store.base import StoreBase
from tram_core.store.records import WorkerInfo
from tram_core.store.schema import SettingRow, utcnow
from tram_core.store.settings import put_setting

WORKER_KEY_PREFIX = "worker:"
LEASE_KEY_PREFIX = "lease:"


class WorkersMixin(StoreBase):
    _WORKER_KEY_PREFIX = WORKER_KEY_PREFIX

    def register_worker(self, name: str, pid: int, host: str, device: str) -> None:
        """Record a worker process as alive now (kept in app_settings under ``worker:<name>``)."""
        now = utcnow().isoformat()
        info = {"name": name, "pid": pid, "host": host, "device": device, "started_at": now, "heartbeat_at": now,
                "job_id": None}
        with self.session() as s:
            put_setting(s, self._WORKER_KEY_PREFIX + name, json.dumps(info))

    def worker_heartbeat(self, name: str, job_id: int | None = None) -> None:
        with self.session() as s:
            row = s.get(SettingRow, self._WORKER_KEY_PREFIX + name)
            if row is None:
                return
            info = json.loads(row.value)
            info["heartbeat_at"] = utcnow().isoformat()
            info["job_id"] = job_id
            row.value = json.dumps(info)

    def unregister_worker(self, name: str) -> None:
        with self.session() as s:
            s.execute(delete(SettingRow).where(SettingRow.key == self._WORKER_KEY_PREFIX + name))

    def list_workers(self) -> list[WorkerInfo]:
        with self.session() as s:
            rows = list(s.scalars(select(SettingRow).where(SettingRow.key.startswith(self._WORKER_KEY_PREFIX))))
        out = []
        for row in rows:
            try:
                info = json.loads(row.value)
                out.append(WorkerInfo(info["name"], int(info["pid"]), info["host"], info.get("device", ""),
                                      datetime.fromisoformat(info["started_at"]),
                                      datetime.fromisoformat(info["heartbeat_at"]), info.get("job_id")))
            except (ValueError, KeyError, TypeError):
                continue
        return sorted(out, key=lambda w: w.heartbeat_at, reverse=True)

    def take_lease(self, lease: str, worker_name: str, stale_after_s: float) -> bool:
        """Hold ``lease`` for ``worker_name``; True when it holds it now (it may already have). Another worker's
        lease is taken over only once that worker has left the registry or its heartbeat is older than
        ``stale_after_s`` seconds. Compare-and-set on the lease's row, so of two workers asking at once one wins."""
        key = LEASE_KEY_PREFIX + lease
        insert = postgresql_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.session() as s:
            added = s.execute(insert(SettingRow).values(key=key, value=worker_name)
                              .on_conflict_do_nothing(index_elements=["key"]))
            if added.rowcount == 1:
                return True
            holder = s.scalar(select(SettingRow.value).where(SettingRow.key == key))
            if holder is None:  # given back between the two statements: ask again next time
                return False
            if holder != worker_name and self._worker_is_fresh(s, holder, stale_after_s):
                return False
            taken = s.execute(update(SettingRow).where(SettingRow.key == key, SettingRow.value == holder)
                              .values(value=worker_name))
            return taken.rowcount == 1

    def release_lease(self, lease: str, worker_name: str) -> None:
        """Give ``lease`` back (only when ``worker_name`` holds it)."""
        with self.session() as s:
            s.execute(delete(SettingRow).where(SettingRow.key == LEASE_KEY_PREFIX + lease,
                                               SettingRow.value == worker_name))

    def _worker_is_fresh(self, s, name: str, stale_after_s: float) -> bool:
        row = s.get(SettingRow, self._WORKER_KEY_PREFIX + name)
        try:
            beat = datetime.fromisoformat(json.loads(row.value)["heartbeat_at"]) if row is not None else None
        except (ValueError, KeyError, TypeError):
            beat = None
        return beat is not None and utcnow() - beat <= timedelta(seconds=stale_after_s)
