"""One settings object read from environment variables: where data lives, which database, device and base model."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where TRAM keeps its state and how it runs.

    Every path lives under ``home`` (``TRAM_HOME``), so one folder backs up the whole tool.
    """

    home: Path
    database_url: str
    device: str = "auto"
    default_base_model: str = "embedded"
    offline: bool = False
    max_upload_bytes: int = 50 * 1024 * 1024
    url_timeout_s: float = 20.0
    extra: dict = field(default_factory=dict)

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    def ensure_dirs(self) -> None:
        for path in (self.home, self.models_dir, self.cache_dir):
            path.mkdir(parents=True, exist_ok=True)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    home = Path(env.get("TRAM_HOME") or "./tram_data").expanduser().resolve()
    database_url = env.get("TRAM_DATABASE_URL") or f"sqlite:///{home / 'tram.sqlite3'}"
    offline = _truthy(env.get("TRAM_OFFLINE")) or _truthy(env.get("HF_HUB_OFFLINE"))
    return Settings(
        home=home,
        database_url=database_url,
        device=env.get("TRAM_DEVICE", "auto"),
        default_base_model=env.get("TRAM_BASE_MODEL", "embedded"),
        offline=offline,
        max_upload_bytes=int(env.get("TRAM_MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        url_timeout_s=float(env.get("TRAM_URL_TIMEOUT_S", "20")),
    )
