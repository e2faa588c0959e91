"""TRAM's SciBERT checkpoint: downloaded once (a cut download resumes), checked, installed, resolved for training."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Mapping

from tram_core.attack import TRAM_CLASSES
from tram_core.ml.base_model_types import (
    OFFLINE_ALTERNATIVES,
    TOKENIZER_FILES,
    BaseModelError,
    DownloadProgress,
    ModelUnavailableError,
    ProgressCallback,
    ResolvedBase,
)
from tram_core.ml.hub_models import fetch_hub, offline

TRAM_SCIBERT_URL = "https://ctidtram.blob.core.windows.net/tram-models/multi-label-20230803/"
TRAM_SCIBERT_FILES = ("config.json", "pytorch_model.bin")
TRAM_SCIBERT_TOKENIZER = "allenai/scibert_scivocab_uncased"
COMPLETE_MARKER = ".complete.json"


def tram_scibert_dir(settings) -> Path:
    return Path(settings.models_dir) / "base" / "tram-scibert"


def tram_scibert_downloaded(settings) -> bool:
    return _complete(tram_scibert_dir(settings))


def tram_scibert_url() -> str:
    return (os.environ.get("TRAM_SCIBERT_URL") or TRAM_SCIBERT_URL).rstrip("/") + "/"


def resolve_tram_scibert(settings, progress: ProgressCallback | None = None) -> ResolvedBase:
    """TRAM's released multi-label SciBERT: downloaded once into TRAM_HOME/models/base/tram-scibert."""
    folder = tram_scibert_dir(settings)
    if not _complete(folder):
        if offline(settings):
            raise ModelUnavailableError(
                f"TRAM's SciBERT checkpoint is not downloaded yet ({folder}) and TRAM is offline, so "
                f"{tram_scibert_url()} can't be reached. {OFFLINE_ALTERNATIVES}"
            )
        download_tram_scibert(folder, settings, progress=progress)
    tokenizer = _scibert_tokenizer(settings)
    return ResolvedBase(path=folder, tokenizer_path=tokenizer, classes=list(TRAM_CLASSES), kind="tram-scibert",
                        name="TRAM SciBERT multi-label (2023-08-03)", pooling_hint="cls")


def _scibert_tokenizer(settings) -> str | Path:
    """The SciBERT tokenizer: TRAM_SCIBERT_TOKENIZER (a folder), else the hub ID from the cache or the hub."""
    extra = getattr(settings, "extra", {}) or {}
    local = os.environ.get("TRAM_SCIBERT_TOKENIZER") or extra.get("scibert_tokenizer")
    if local:
        path = Path(local).expanduser()
        if not path.is_dir() or not any((path / name).is_file() for name in TOKENIZER_FILES):
            raise BaseModelError(f"TRAM_SCIBERT_TOKENIZER={local} is not a folder with tokenizer files (vocab.txt).")
        return path
    return fetch_hub(TRAM_SCIBERT_TOKENIZER, settings, what=f"The SciBERT tokenizer ({TRAM_SCIBERT_TOKENIZER})",
                     tokenizer_only=True)


def _complete(folder: Path) -> bool:
    marker = folder / COMPLETE_MARKER
    if not marker.is_file():
        return False
    try:
        sizes = json.loads(marker.read_text(encoding="utf-8")).get("sizes", {})
    except (OSError, json.JSONDecodeError):
        return False
    return all((folder / name).is_file() and (folder / name).stat().st_size == size for name, size in sizes.items()) \
        and set(sizes) >= set(TRAM_SCIBERT_FILES)


def download_tram_scibert(folder: Path, settings, progress: ProgressCallback | None = None) -> Path:
    """Download config.json and pytorch_model.bin, resuming any .part file, then check and install them."""
    import requests

    folder.mkdir(parents=True, exist_ok=True)
    base = tram_scibert_url()
    read_timeout = float(getattr(settings, "url_timeout_s", 20.0) or 20.0)
    with requests.Session() as session:
        for name in TRAM_SCIBERT_FILES:
            _download_file(session, base + name, folder / (name + ".part"), read_timeout, progress)
    parts = {name: folder / (name + ".part") for name in TRAM_SCIBERT_FILES}
    _check_config(parts["config.json"], base)
    _check_weights(parts["pytorch_model.bin"], base)
    sizes = {}
    for name, part in parts.items():
        sizes[name] = part.stat().st_size
        os.replace(part, folder / name)
    (folder / COMPLETE_MARKER).write_text(json.dumps({"url": base, "sizes": sizes}, indent=2), encoding="utf-8")
    return folder


def _download_file(session, url: str, part: Path, read_timeout: float, progress: ProgressCallback | None) -> None:
    """Download ``url`` into ``part``, resuming what it holds; a cut or oversized download is one line."""
    import requests

    have = part.stat().st_size if part.exists() else 0
    try:
        response, have, total, mode = _open_download(session, url, part, have, read_timeout)
        if response is None:  # the .part already holds the whole file
            return
        _write_download(response, part, mode, have, total, progress)
    except requests.RequestException as exc:
        got = part.stat().st_size if part.exists() else 0
        raise ModelUnavailableError(
            f"Downloading {url} failed after {got} bytes ({type(exc).__name__}: {exc}); run again to resume. "
            f"{OFFLINE_ALTERNATIVES}"
        ) from exc
    _check_downloaded_size(url, part, total)


def _open_download(session, url: str, part: Path, have: int, read_timeout: float):
    """(response, bytes kept, total size or None, file mode) of a GET resuming after ``have`` bytes; the response
    is None when the .part file is complete already."""
    response = session.get(url, stream=True, timeout=(5, read_timeout),
                           headers={"Range": f"bytes={have}-"} if have else {})
    if response.status_code == 416:  # the .part already holds everything, or more than the file
        total = _total_from_content_range(response.headers.get("Content-Range"))
        response.close()
        if total == have:
            return None, have, total, ""
        part.unlink()
        have = 0
        response = session.get(url, stream=True, timeout=(5, read_timeout))
    if response.status_code == 206:
        total = _total_from_content_range(response.headers.get("Content-Range"))
        if total is None and response.headers.get("Content-Length"):
            total = have + int(response.headers["Content-Length"])
        return response, have, total, "ab"
    if response.status_code == 200:
        total = int(response.headers["Content-Length"]) if response.headers.get("Content-Length") else None
        return response, 0, total, "wb"
    raise ModelUnavailableError(f"{url} answered HTTP {response.status_code}; TRAM's SciBERT checkpoint "
                                f"cannot be downloaded now. {OFFLINE_ALTERNATIVES}")


def _write_download(response, part: Path, mode: str, have: int, total: int | None,
                    progress: ProgressCallback | None) -> None:
    """Stream the response body into ``part`` with a progress bar and ``progress`` reports."""
    from tqdm import tqdm

    name = part.name[: -len(".part")]
    done = have
    with open(part, mode) as out, tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=name,
                                       disable=None, file=sys.stderr) as bar:
        if progress:
            progress(DownloadProgress(name, done, total))
        for chunk in response.iter_content(chunk_size=1 << 16):
            if not chunk:
                continue
            out.write(chunk)
            done += len(chunk)
            bar.update(len(chunk))
            if progress:
                progress(DownloadProgress(name, done, total))


def _check_downloaded_size(url: str, part: Path, total: int | None) -> None:
    """A download shorter than announced stays to be resumed; a longer one is removed."""
    size = part.stat().st_size
    if total is not None and size < total:
        raise ModelUnavailableError(f"Download of {url} stopped at {size} of {total} bytes; run again to resume.")
    if total is not None and size > total:
        part.unlink()
        raise ModelUnavailableError(f"Download of {url} gave {size} bytes, more than the {total} announced; "
                                    "the partial file was removed, run again.")


def _total_from_content_range(value: str | None) -> int | None:
    match = re.search(r"/(\d+)\s*$", value or "")
    return int(match.group(1)) if match else None


def _check_config(part: Path, base: str) -> None:
    try:
        config = json.loads(part.read_text(encoding="utf-8"))
        if not isinstance(config, dict) or "model_type" not in config and "architectures" not in config:
            raise ValueError("not a transformers config")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        part.unlink(missing_ok=True)
        raise ModelUnavailableError(
            f"The downloaded config.json from {base} is corrupt ({exc}); it was removed, run again."
        ) from exc
    labels = config.get("id2label")
    count = len(labels) if isinstance(labels, dict) else config.get("num_labels")
    if count is not None and count != len(TRAM_CLASSES):
        part.unlink(missing_ok=True)
        raise ModelUnavailableError(
            f"The config.json from {base} has {count} outputs, but TRAM's checkpoint has {len(TRAM_CLASSES)}; "
            "it was removed. Check TRAM_SCIBERT_URL."
        )


def _check_weights(part: Path, base: str) -> None:
    import torch

    try:
        state = torch.load(part, map_location="cpu", weights_only=True)
        if not isinstance(state, Mapping) or not state or not all(torch.is_tensor(v) for v in state.values()):
            raise ValueError("not a state dict of tensors")
        head = state.get("classifier.weight")
        if head is not None and head.shape[0] != len(TRAM_CLASSES):
            raise ValueError(f"classifier has {head.shape[0]} outputs, expected {len(TRAM_CLASSES)}")
    except Exception as exc:  # noqa: BLE001 - any failure to load means a bad file
        part.unlink(missing_ok=True)
        raise ModelUnavailableError(
            f"The downloaded pytorch_model.bin from {base} is corrupt ({type(exc).__name__}: {exc}); "
            "it was removed, run again to download it afresh."
        ) from exc
