"""Fixtures for the base-model tests: a tiny TRAM-layout checkpoint served over HTTP with Range support and an
unreachable hub."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.ml.base_model_helpers import RangeServer, embedded_path
from tram_core.attack import TRAM_CLASSES


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A tiny random BertForSequenceClassification in TRAM's layout: config.json + pytorch_model.bin, 50 labels."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-tram-scibert")
    config = BertConfig(vocab_size=1000, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, num_labels=len(TRAM_CLASSES),
                        problem_type="multi_label_classification")
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    config.to_json_file(str(folder / "config.json"))
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return folder


@pytest.fixture
def served(tiny_checkpoint, tmp_path, monkeypatch):
    root = tmp_path / "served"
    shutil.copytree(tiny_checkpoint, root)
    with RangeServer(root) as server:
        monkeypatch.setenv("TRAM_SCIBERT_URL", server.url)
        monkeypatch.setenv("TRAM_SCIBERT_TOKENIZER", str(embedded_path()))
        yield server


@pytest.fixture
def no_hub(tmp_path, monkeypatch):
    """An empty Hugging Face cache and a hub endpoint that refuses connections: tests never reach the real hub."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on this port now
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRAM_OFFLINE", raising=False)
    return port
