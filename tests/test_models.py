"""tram_core.models, the base models' old address, still offers every name callers import from it, as the same
objects as the modules that now hold them (the tests of each job are in test_base_models, test_local_base_model,
test_hub_models and test_checkpoint_download)."""

from __future__ import annotations

import importlib

import pytest

from tram_core import models


@pytest.mark.parametrize("name", models.__all__)
def test_the_old_address_re_exports_the_same_object(name):
    homes = ("base_models", "base_model_types", "local_base_model", "hub_models", "checkpoint_download")
    owners = [home for home in homes if hasattr(importlib.import_module(f"tram_core.{home}"), name)]
    assert owners, f"{name} is in no new module"
    assert getattr(models, name) is getattr(importlib.import_module(f"tram_core.{owners[0]}"), name)
