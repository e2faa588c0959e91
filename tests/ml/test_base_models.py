"""The base-model picker and resolver: the embedded model offline, the picker's entries, trained models in the store."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from tests.ml.base_model_helpers import embedded_path
from tram_core.ml.base_model_types import BaseModelError
from tram_core.ml.base_models import list_base_models, resolve_base_model


def test_embedded_resolves_offline_and_its_tokenizer_loads(settings, monkeypatch):
    from transformers import AutoTokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_base_model("embedded", replace(settings, offline=True))
    assert resolved.kind == "embedded" and resolved.pooling_hint == "mean" and resolved.classes is None
    assert (resolved.path / "config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(str(resolved.tokenizer_path))
    assert tokenizer("Mimikatz dumped LSASS memory")["input_ids"][0] == tokenizer.cls_token_id


def test_list_base_models(settings, no_hub):
    specs = {s.key: s for s in list_base_models(settings)}
    assert specs["embedded"].ready
    assert specs["tram-scibert"].kind == "tram-scibert" and not specs["tram-scibert"].ready
    assert specs["allenai/scibert_scivocab_uncased"].kind == "hub"


def test_trained_model_from_the_store(settings, store, tmp_path):
    folder = tmp_path / "run-9"
    shutil.copytree(embedded_path(), folder)
    run = store.add_model("run 9", "transformer", str(folder), "embedded", ["T1005"], {"global": 0.5}, {}, {})
    tfidf = store.add_model("tfidf", "baseline", str(tmp_path), "", ["T1005"], {}, {}, {})
    resolved = resolve_base_model(f"trained:{run}", settings, store=store)
    assert resolved.kind == "trained" and resolved.classes == ["T1005"] and resolved.path == folder.resolve()
    assert resolved.name == "run 9"
    with pytest.raises(BaseModelError, match="baseline"):
        resolve_base_model(f"trained:{tfidf}", settings, store=store)
    keys = [s.key for s in list_base_models(settings, store)]
    assert f"trained:{run}" in keys and f"trained:{tfidf}" not in keys
