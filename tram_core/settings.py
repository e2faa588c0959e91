"""One settings object read from environment variables: where data lives, which database, device and base model."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from tram_core.errors import UserError
from tram_core.io.limits import DEFAULT_LIMITS, InputLimits, limits_from_env


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
    url_allowed_networks: tuple[str, ...] = ()  # CIDRs a URL import may reach besides the public internet
    limits: InputLimits = DEFAULT_LIMITS  # how far one imported file may expand
    model_folders: tuple[Path, ...] = ()  # TRAM_MODEL_FOLDERS: where non-admins may point at model folders
    models_root: Path | None = None  # TRAM_MODELS_DIR: trained models, shared by the app and every worker
    worker_host: str = ""  # TRAM_WORKER_HOST: the host name a worker goes by (default: this machine's)
    extra: dict = field(default_factory=dict)

    @property
    def models_dir(self) -> Path:
        """Where trained models are saved and loaded: TRAM_MODELS_DIR, else TRAM_HOME/models."""
        return self.models_root or self.home / "models"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    def ensure_dirs(self) -> None:
        for path in (self.home, self.models_dir, self.cache_dir):
            path.mkdir(parents=True, exist_ok=True)


class SettingsError(UserError):
    """An environment variable holds a value TRAM cannot use; the message names the variable."""


def parse_allowed_networks(value: str, variable: str = "TRAM_URL_ALLOW_NETWORKS") -> tuple[str, ...]:
    """Comma-separated CIDRs (``10.20.0.0/16,127.0.0.1/32``) as normalized strings; a bad one names ``variable``."""
    networks: list[str] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item)))
        except ValueError as exc:
            raise SettingsError(
                f"{variable}: {item!r} is not a network in CIDR form such as 10.20.0.0/16 ({exc})"
            ) from None
    return tuple(networks)


def parse_model_folders(value: str) -> tuple[Path, ...]:
    """TRAM_MODEL_FOLDERS: folders (``os.pathsep``-separated) where users other than admins may point the Train page
    at a model folder, besides the models folder; each made absolute (``~`` expanded), empty entries skipped."""
    return tuple(Path(part.strip()).expanduser().absolute() for part in value.split(os.pathsep) if part.strip())


def this_host(environ: dict[str, str] | None = None) -> str:
    """The host name this process goes by among workers: TRAM_WORKER_HOST, else the machine's host name."""
    env = os.environ if environ is None else environ
    return (env.get("TRAM_WORKER_HOST") or "").strip() or socket.gethostname()


def parse_models_dir(value: str, home: Path) -> Path | None:
    """TRAM_MODELS_DIR as an absolute folder (``~`` expanded), None when unset (TRAM_HOME/models); a file refused."""
    if not value.strip():
        return None
    path = Path(value.strip()).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise SettingsError(f"TRAM_MODELS_DIR: {str(path)!r} is a file, not a folder")
    return None if path == home / "models" else path


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _url_timeout(value: str) -> float:
    """TRAM_URL_TIMEOUT_S: seconds, above 0 and at most 600 (inf or nan would disable the fetch deadline)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 600:  # also false for nan
        raise SettingsError(f"TRAM_URL_TIMEOUT_S: {value!r} is not a number of seconds between 0 and 600")
    return seconds


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
        url_timeout_s=_url_timeout(env.get("TRAM_URL_TIMEOUT_S", "20")),
        url_allowed_networks=parse_allowed_networks(env.get("TRAM_URL_ALLOW_NETWORKS", "")),
        limits=limits_from_env(env),
        models_root=parse_models_dir(env.get("TRAM_MODELS_DIR", ""), home),
        worker_host=this_host(env),
        model_folders=parse_model_folders(env.get("TRAM_MODEL_FOLDERS", "")),
    )
