"""The worker registry: each worker process as it last reported itself, kept in app_settings under ``worker:<name>``."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, select

from tram_core.store.base import StoreBase
from tram_core.store.records import WorkerInfo
from tram_core.store.schema import SettingRow, utcnow
from tram_core.store.settings import put_setting

WORKER_KEY_PREFIX = "worker:"


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
