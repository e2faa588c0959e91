"""Hub IDs: resolved offline from the local cache, and failing fast, naming the alternatives, when the hub is away."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.ml.base_model_helpers import embedded_path, fake_hub_cache
from tram_core.ml.base_model_types import ModelUnavailableError
from tram_core.ml.base_models import list_base_models, resolve_base_model


@pytest.mark.parametrize("how", ["settings", "env", "network"])
def test_hub_id_fails_fast_when_the_hub_cannot_be_reached(settings, no_hub, monkeypatch, how):
    if how == "settings":
        settings = replace(settings, offline=True)
    elif how == "env":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ModelUnavailableError) as info:
        resolve_base_model("allenai/scibert_scivocab_uncased", settings)
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert "hub can't be reached" in message
    assert "'embedded'" in message and "local folder" in message and "trained model" in message
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_cached_hub_model_resolves_offline(settings, no_hub, monkeypatch):
    import os

    snapshot = fake_hub_cache(Path(os.environ["HF_HUB_CACHE"]), "acme/tiny-bert", embedded_path())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_base_model("acme/tiny-bert", replace(settings, offline=True))
    assert resolved.kind == "hub" and resolved.name == "acme/tiny-bert"
    assert resolved.path == snapshot.resolve()
    specs = {s.key: s for s in list_base_models(settings)}
    assert not specs["allenai/scibert_scivocab_uncased"].ready
