"""MAT .mjson reports: sentences labelled by span overlap, bad spans and IDs, the real TRAM 2 reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.io.dataset_helpers import MJSON_SAMPLE, check_offsets, fresh_store, load
from tram_core.attack import TRAM_CLASSES
from tram_core.io.dataset_checks import DatasetError, ImportOptions
from tram_core.store import LABELLED, UNLABELLED, Store


def mjson(signal: str, *asets: dict) -> dict:
    base = [{"type": "zone", "annots": [[0, len(signal), "body"]]}, {"type": "lex", "annots": [[0, 5]]},
            {"type": "SEGMENT", "annots": [[0, len(signal), "someone", "content", "human gold"]]}]
    return {"signal": signal, "asets": base + list(asets), "metadata": {}, "version": 2}


def span(text: str, fragment: str, start_at: int = 0) -> list[int]:
    start = text.index(fragment, start_at)
    return [start, start + len(fragment)]


def test_mjson_labels_sentences_by_overlap(store):
    signal = ("title: Hand Made Report\nurl: https://example.org/report\n\n"
              "The loader injected shellcode into a remote process. It then ran whoami to learn the user. "
              "The weather was fine that day. Files were packed with UPX. A new service was created. "
              "Operators used the HMI. Logs were wiped afterwards.")
    doc = mjson(
        signal,
        {"type": "Process Injection (T1055)", "annots": [span(signal, "injected shellcode")]},
        # crosses a sentence boundary: evidence for both sentences
        {"type": "System Owner/User Discovery (T1033)", "annots": [span(signal, "the user. The weather")]},
        # clips only the previous sentence's full stop: that sentence gets nothing from it
        {"type": "Software Packing (T1027.002)", "annots": [span(signal, ". Files were packed")]},
        {"type": "[OTHER]", "annots": [span(signal, "A new service") + ["T1543.003"], span(signal, "wiped")]},
        {"type": "[WUZZA]", "annots": [span(signal, "Logs were")]},
        {"type": "[OTHER]", "annots": [span(signal, "used the HMI") + ["T0823"]]},
    )
    result = load(store, doc, "hand.mjson")
    assert result.kind == "mat-mjson"
    report = store.get_report(result.outcomes[0].report_id)
    assert report.title == "Hand Made Report" and report.source == "https://example.org/report"
    assert report.text == signal
    got = [(s.text, s.labels, s.status) for s in store.sentences()]
    assert got == [
        ("The loader injected shellcode into a remote process.", ("T1055",), LABELLED),
        ("It then ran whoami to learn the user.", ("T1033",), LABELLED),
        ("The weather was fine that day.", ("T1033",), LABELLED),
        ("Files were packed with UPX.", ("T1027.002",), LABELLED),
        ("A new service was created.", ("T1543.003",), LABELLED),
        ("Operators used the HMI.", (), UNLABELLED),  # only an ATT&CK for ICS span touches it
        ("Logs were wiped afterwards.", (), LABELLED),  # [OTHER] without ID and [WUZZA] are not techniques
    ]
    assert any("T0823" in w for w in result.warnings)
    check_offsets(store)

    rolled = fresh_store(store_path_parent(store), "rolled")
    load(rolled, doc, "hand.mjson", ImportOptions(roll_up_to=TRAM_CLASSES))
    assert [s.labels for s in rolled.sentences()][3] == ("T1027",)


def store_path_parent(store: Store) -> Path:
    return Path(store.url[len("sqlite:///"):]).parent.parent


def test_mjson_bad_spans_and_ids(store):
    signal = "First sentence here. Second sentence here."
    doc = mjson(signal, {"type": "Made Up (T1999)", "annots": [[0, 5]]},
                {"type": "Process Injection (T1055)", "annots": [[30, 500], [0, 5]]})
    with pytest.raises(DatasetError) as caught:
        load(store, doc, "bad.mjson")
    message = str(caught.value)
    assert "bad.mjson" in message and "unknown technique 'T1999'" in message
    assert "span 1 of aset 'Process Injection (T1055)'" in message and "[30, 500]" in message
    assert store.corpus_counts()["reports"] == 0
    with pytest.raises(DatasetError, match="missing 'signal'"):
        load(store, {"asets": []}, "nosignal.mjson")

    # Skipping: the bad aset's spans leave their sentence unlabelled instead of making it a negative.
    result = load(store, doc, "bad.mjson", ImportOptions(skip_bad_rows=True))
    assert result.skipped_rows == 2
    assert [(s.labels, s.status) for s in store.sentences()] == [(("T1055",), LABELLED), ((), LABELLED)]


def test_mjson_real_reports(store, shared_data):
    folder = shared_data / "tram2" / "mjson"
    warnings = []
    for name in MJSON_SAMPLE:
        path = folder / name
        result = load(store, path.read_bytes(), name)
        warnings += result.warnings
        doc = json.loads(path.read_text(encoding="utf-8"))
        report = store.get_report(result.outcomes[0].report_id)
        assert report.text == doc["signal"]
        assert report.title == doc["signal"].split("\n")[0][len("title:"):].strip()
        assert report.source.startswith("http")
        sentences = store.sentences(report_id=report.id)
        labelled = [s for s in sentences if s.labels]
        assert len(sentences) > 5 and 0 < len(labelled) < len(sentences)
        header = len("\n".join(doc["signal"].split("\n")[:2]))
        assert sentences[0].start > header  # the title and url lines are not sentences
        # Each technique aset's text appears in a sentence carrying that technique.
        for aset in doc["asets"]:
            if aset["type"].endswith("(T1083)"):
                for start, end, *_ in aset["annots"]:
                    assert any(s.start < end and start < s.end and "T1083" in s.labels for s in sentences)
    assert any("T1574.002 is revoked" in w for w in warnings)
    assert any("T0809" in w and "T0823" in w for w in warnings)
    check_offsets(store)
