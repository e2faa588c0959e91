"""TRAM's SciBERT checkpoint from a local HTTP server: downloaded once with progress, resumed, corruption caught,
and failing fast offline or unreachable."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.ml.base_model_helpers import embedded_path, fake_hub_cache
from tram_core.attack import TRAM_CLASSES
from tram_core.ml.base_model_types import DownloadProgress, ModelUnavailableError
from tram_core.ml.base_models import resolve_base_model
from tram_core.ml.checkpoint_download import tram_scibert_dir


def test_tram_scibert_downloads_once_with_progress(settings, served, tiny_checkpoint):
    events: list[DownloadProgress] = []
    resolved = resolve_base_model("tram-scibert", settings, progress=events.append)
    folder = tram_scibert_dir(settings)
    assert resolved.path == folder and resolved.kind == "tram-scibert"
    assert resolved.classes == list(TRAM_CLASSES)
    assert Path(resolved.tokenizer_path) == embedded_path()
    for name in ("config.json", "pytorch_model.bin"):
        assert (folder / name).read_bytes() == (tiny_checkpoint / name).read_bytes()
        assert not (folder / f"{name}.part").exists()
    weights = [e for e in events if e.filename == "pytorch_model.bin"]
    assert weights[-1].done == weights[-1].total == (tiny_checkpoint / "pytorch_model.bin").stat().st_size
    assert weights[-1].fraction == 1.0 and "pytorch_model.bin" in weights[-1].message
    served_before = len(served.requests)
    again = resolve_base_model("tram-scibert", settings)
    assert again.path == folder
    assert len(served.requests) == served_before  # no second download
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(str(folder))
    assert model.config.num_labels == 50


def test_resume_from_a_truncated_part_file(settings, served, tiny_checkpoint):
    folder = tram_scibert_dir(settings)
    folder.mkdir(parents=True)
    original = (tiny_checkpoint / "pytorch_model.bin").read_bytes()
    half = len(original) // 2
    (folder / "pytorch_model.bin.part").write_bytes(original[:half])
    resolve_base_model("tram-scibert", settings)
    assert ("/multi-label/pytorch_model.bin", f"bytes={half}-") in served.requests
    assert (folder / "pytorch_model.bin").read_bytes() == original


def test_interrupted_download_keeps_the_part_and_resumes(settings, served, tiny_checkpoint):
    size = (tiny_checkpoint / "pytorch_model.bin").stat().st_size
    assert size > 70_000  # more than one 64 KiB chunk arrives before the cut
    served.drop_after["/multi-label/pytorch_model.bin"] = size - 1000
    with pytest.raises(ModelUnavailableError, match="run again to resume"):
        resolve_base_model("tram-scibert", settings)
    part = tram_scibert_dir(settings) / "pytorch_model.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < size
    resolved = resolve_base_model("tram-scibert", settings)
    assert ("/multi-label/pytorch_model.bin", f"bytes={kept}-") in served.requests
    assert (resolved.path / "pytorch_model.bin").read_bytes() == (tiny_checkpoint / "pytorch_model.bin").read_bytes()


def test_corrupt_download_is_detected_and_removed(settings, served):
    (served.root / "pytorch_model.bin").write_bytes(b"this is not a torch checkpoint" * 100)
    with pytest.raises(ModelUnavailableError, match="pytorch_model.bin .* is corrupt"):
        resolve_base_model("tram-scibert", settings)
    folder = tram_scibert_dir(settings)
    assert not (folder / "pytorch_model.bin").exists()
    assert not (folder / "pytorch_model.bin.part").exists()
    assert not (folder / ".complete.json").exists()


def test_wrong_number_of_outputs_is_refused(settings, served):
    config = json.loads((served.root / "config.json").read_text())
    config["id2label"] = {str(i): f"LABEL_{i}" for i in range(3)}
    config["label2id"] = {f"LABEL_{i}": i for i in range(3)}
    (served.root / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelUnavailableError, match="3 outputs"):
        resolve_base_model("tram-scibert", settings)


def test_tram_scibert_offline_without_download_fails_with_alternatives(settings, served):
    with pytest.raises(ModelUnavailableError, match="offline.*'embedded'"):
        resolve_base_model("tram-scibert", replace(settings, offline=True))
    assert served.requests == []


def test_unreachable_checkpoint_server_fails_fast(settings, no_hub, monkeypatch):
    monkeypatch.setenv("TRAM_SCIBERT_URL", f"http://127.0.0.1:{no_hub}/x/")
    start = time.monotonic()
    with pytest.raises(ModelUnavailableError, match="embedded"):
        resolve_base_model("tram-scibert", settings)
    assert time.monotonic() - start < 10


def test_tram_scibert_tokenizer_from_the_hub_cache(settings, served, no_hub, monkeypatch):
    import os

    monkeypatch.delenv("TRAM_SCIBERT_TOKENIZER")
    with pytest.raises(ModelUnavailableError, match="SciBERT tokenizer.*hub can't be reached"):
        resolve_base_model("tram-scibert", settings)
    snapshot = fake_hub_cache(Path(os.environ["HF_HUB_CACHE"]), "allenai/scibert_scivocab_uncased",
                              embedded_path(), names=["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"])
    resolved = resolve_base_model("tram-scibert", replace(settings, offline=True))  # downloaded by the first try
    assert Path(resolved.tokenizer_path) == snapshot
