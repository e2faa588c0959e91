"""Key/value application settings (the ``app_settings`` table)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tram_core.store.base import StoreBase
from tram_core.store.schema import SettingRow


def put_setting(s: Session, key: str, value: str) -> None:
    """Insert or overwrite one setting inside the caller's transaction."""
    row = s.get(SettingRow, key)
    if row is None:
        s.add(SettingRow(key=key, value=value))
    else:
        row.value = value


class SettingsMixin(StoreBase):
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.session() as s:
            row = s.get(SettingRow, key)
            return row.value if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self.session() as s:
            put_setting(s, key, value)
