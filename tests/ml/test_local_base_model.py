"""Local base-model folders: save_pretrained layout, errors naming what is missing, a trained folder's card."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.ml.base_model_helpers import embedded_path
from tram_core.ml.base_model_types import BaseModelError
from tram_core.ml.base_models import resolve_base_model


def test_local_folder_in_save_pretrained_layout(tmp_path):
    folder = tmp_path / "my-model"
    shutil.copytree(embedded_path(), folder)
    resolved = resolve_base_model(str(folder), None)
    assert resolved.kind == "local" and resolved.path == folder.resolve()
    assert resolved.pooling_hint == "mean"  # a sentence-transformers folder with mean pooling


def test_bad_local_folder_errors_name_what_is_missing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BaseModelError, match="missing config.json; tokenizer files .*; weights"):
        resolve_base_model(str(empty), None)
    only_config = tmp_path / "only-config"
    only_config.mkdir()
    (only_config / "config.json").write_text("{}")
    (only_config / "model.safetensors").write_bytes(b"x")
    with pytest.raises(BaseModelError, match=r"missing tokenizer files") as info:
        resolve_base_model(str(only_config), None)
    assert "config.json" not in str(info.value).split("missing", 1)[1]
    with pytest.raises(BaseModelError, match="does not exist"):
        resolve_base_model(str(tmp_path / "nowhere"), None)
    with pytest.raises(BaseModelError, match="Unknown base model"):
        resolve_base_model("not a model", None)


def test_trained_folder_with_manifest_keeps_its_classes(tmp_path):
    folder = tmp_path / "run-7"
    shutil.copytree(embedded_path(), folder)
    (folder / "tram_model.json").write_text(json.dumps({"kind": "transformer", "classes": ["T1005", "T1027"],
                                                        "name": "run 7", "pooling": "mean"}))
    resolved = resolve_base_model(str(folder), None)
    assert resolved.kind == "trained" and resolved.classes == ["T1005", "T1027"] and resolved.name == "run 7"
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    (baseline / "manifest.json").write_text(json.dumps({"kind": "baseline", "classes": ["T1005"]}))
    with pytest.raises(BaseModelError, match="baseline"):
        resolve_base_model(str(baseline), None)
    with pytest.raises(BaseModelError, match="needs the store|give the model's folder"):
        resolve_base_model("trained:3", None)
