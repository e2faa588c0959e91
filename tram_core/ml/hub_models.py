"""Base models from the Hugging Face hub: the local cache first, else one download that fails fast when offline."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from tram_core.ml.base_model_types import (
    OFFLINE_ALTERNATIVES,
    TOKENIZER_FILES,
    WEIGHT_FILES,
    ModelUnavailableError,
    ProgressCallback,
    ResolvedBase,
)
from tram_core.ml.local_base_model import resolve_local_folder

TOKENIZER_PATTERNS = ["vocab*", "tokenizer*", "special_tokens_map.json", "config.json", "*.model", "merges.txt"]
HUB_IGNORE = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "*.tflite", "tf_*", "flax_*", "rust_model*", "onnx/*",
              "openvino/*", "*.mlmodel", "coreml/*"]


def _hub_cache_dir() -> str | None:
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None


def _hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def offline(settings) -> bool:
    """Offline by settings, or by TRAM_OFFLINE / HF_HUB_OFFLINE set now."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRAM_OFFLINE", ""))
    return bool(getattr(settings, "offline", False)) or any(f.strip().lower() in {"1", "true", "yes", "on"} for f in flags)


def hub_cached(repo_id: str) -> bool:
    """Whether the local Hugging Face cache holds a usable snapshot of ``repo_id`` (no network)."""
    return _usable(_hub_snapshot(repo_id, local_only=True), tokenizer_only=False)


def _hub_snapshot(repo_id: str, local_only: bool, endpoint: str | None = None,
                  allow_patterns: list[str] | None = None) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(repo_id, cache_dir=_hub_cache_dir(), local_files_only=local_only,
                                 allow_patterns=allow_patterns, ignore_patterns=HUB_IGNORE, endpoint=endpoint,
                                 etag_timeout=10)
    except Exception:  # noqa: BLE001 - any failure of a cache-only look-up means "not cached"
        if local_only:
            return None
        raise
    return Path(path)


def _usable(path: Path | None, tokenizer_only: bool) -> bool:
    if path is None:
        return False
    has_tokenizer = any((path / name).is_file() for name in TOKENIZER_FILES)
    if tokenizer_only:
        return has_tokenizer
    return has_tokenizer and (path / "config.json").is_file() and any((path / n).is_file() for n in WEIGHT_FILES)


def _reachable(url: str, timeout_s: float = 3.0) -> str | None:
    """None when a TCP connection to ``url``'s host opens within ``timeout_s``; else the reason."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def resolve_hub_model(repo_id: str, settings, progress: ProgressCallback | None = None) -> ResolvedBase:
    """A hub ID: the local Hugging Face cache first; else one download, failing fast when offline."""
    path = fetch_hub(repo_id, settings, what=f"Base model {repo_id!r}")
    folder = resolve_local_folder(path)
    return ResolvedBase(path=folder.path, tokenizer_path=folder.path, classes=folder.classes, kind="hub",
                        name=repo_id, pooling_hint=folder.pooling_hint)


def fetch_hub(repo_id: str, settings, what: str, tokenizer_only: bool = False) -> Path:
    """A hub snapshot folder: from the cache when it holds what is needed, else downloaded (only the tokenizer
    files when ``tokenizer_only``)."""
    cached = _hub_snapshot(repo_id, local_only=True)
    if _usable(cached, tokenizer_only):
        return cached
    if offline(settings):
        raise ModelUnavailableError(
            f"{what} is not in the local Hugging Face cache and TRAM is offline (TRAM_OFFLINE or HF_HUB_OFFLINE), "
            f"so the hub can't be reached. {OFFLINE_ALTERNATIVES}"
        )
    endpoint = _hub_endpoint()
    reason = _reachable(endpoint)
    if reason:
        raise ModelUnavailableError(
            f"{what} is not in the local Hugging Face cache and the hub can't be reached at {endpoint} "
            f"({reason}). {OFFLINE_ALTERNATIVES}"
        )
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        path = _hub_snapshot(repo_id, local_only=False, endpoint=endpoint,
                             allow_patterns=TOKENIZER_PATTERNS if tokenizer_only else None)
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise ModelUnavailableError(f"{what}: no such model on the Hugging Face hub, or it needs a login ({exc}).") from exc
    except Exception as exc:  # noqa: BLE001 - network and HTTP failures all mean "not available now"
        raise ModelUnavailableError(
            f"{what} could not be downloaded from the hub at {endpoint} ({type(exc).__name__}: {exc}). "
            f"{OFFLINE_ALTERNATIVES}"
        ) from exc
    if not _usable(path, tokenizer_only):
        needed = "tokenizer files" if tokenizer_only else "config.json, tokenizer files and weights"
        raise ModelUnavailableError(f"{what}: the hub snapshot at {path} lacks {needed}.")
    return path
