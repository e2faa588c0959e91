"""A base model from a local folder in save_pretrained layout, a trained model's folder (and its card) included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from tram_core.attack import TECHNIQUE_ID
from tram_core.ml.base_model_types import TOKENIZER_FILES, WEIGHT_FILES, BaseModelError, ResolvedBase
from tram_core.ml.model_card import ModelCard, ModelCardError

BASELINE_MANIFEST = "manifest.json"  # baseline_storage.MANIFEST (which imports scikit-learn: not worth it here)


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
