"""Helpers for the dataset parser and exporter tests: load a file into a store, and read the store back."""

from __future__ import annotations

import json
from pathlib import Path

from tram_core.io.dataset_checks import ImportOptions
from tram_core.io.importer import import_bytes
from tram_core.store import Store


MJSON_SAMPLE = [  # a handful of real reports: small, one with T1574.002, one with ATT&CK for ICS IDs
    "Threat_Advisory_3CX_Softphone_Supply_Chain_Compromise.mjson",
    "Increasing_The_Sting_of_HIVE_Ransomware.mjson",
    "AA21076A_TrickBot_Malware.mjson",
]


def load(store: Store, data: bytes | str | list | dict, filename: str, options: ImportOptions | None = None):
    if not isinstance(data, bytes):
        data = (data if isinstance(data, str) else json.dumps(data)).encode("utf-8")
    return import_bytes(store, data, filename, "tester", options)


def snapshot(store: Store) -> tuple:
    """Everything an import could change: counts by status, labels, reports, history, suggestions."""
    suggestions = store.suggestions_for([s.id for s in store.sentences()], model_id=None)
    models = len(store.list_models())
    return (tuple(sorted(store.corpus_counts().items())), len(store.label_history(limit=10**6)),
            sum(len(v) for v in suggestions.values()), models)


def corpus(store: Store, include_unlabelled: bool = True) -> list[tuple]:
    """The corpus as a user sees it: (report title, sentence, label set, status), in order."""
    return [(ex.doc_title, ex.text, ex.labels, ex.status) for ex in store.examples(include_unlabelled)]


def fresh_store(tmp_path: Path, name: str = "other") -> Store:
    return Store(f"sqlite:///{tmp_path / name / 'tram.sqlite3'}")


def check_offsets(store: Store) -> None:
    for summary in store.list_reports():
        text = store.get_report(summary.id).text
        for sent in store.sentences(report_id=summary.id):
            assert " ".join(text[sent.start:sent.end].split()) == " ".join(sent.text.split())


def import_sample(store: Store, shared_data: Path) -> None:
    for name in MJSON_SAMPLE:
        path = shared_data / "tram2" / "mjson" / name
        load(store, path.read_bytes(), name)
