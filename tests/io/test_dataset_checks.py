"""Row checks: bad rows listed (and nothing stored) or skipped and counted; revoked IDs kept; roll-ups."""

from __future__ import annotations

import pytest

from tests.io.dataset_helpers import load, snapshot
from tram_core.attack import TRAM_CLASSES
from tram_core.io.dataset_checks import DatasetError, ImportOptions


def test_bad_rows_are_listed_and_nothing_is_stored(store):
    load(store, [{"sentence": "Already here.", "labels": ["T1055"]}], "first.json")
    before = snapshot(store)
    rows = [
        {"sentence": "Good row.", "labels": ["T1055"]},
        {"sentence": "Unknown ID.", "labels": ["T9999"]},
        {"labels": ["T1055"]},
        {"sentence": "Labels not a list.", "labels": "T1055"},
        {"sentence": 42, "labels": []},
        "not an object",
        {"sentence": "Not an ID.", "labels": ["process injection"]},
    ]
    with pytest.raises(DatasetError) as caught:
        load(store, rows, "bad.json")
    message = str(caught.value)
    assert "bad.json" in message and "6 bad rows" in message
    assert "row 2: unknown technique 'T9999'" in message
    assert "row 3: missing 'sentence'" in message
    assert "row 4: 'labels' must be a list" in message
    assert "row 5: 'sentence' must be text" in message
    assert "row 6: expected an object" in message
    assert "row 7: 'process injection' is not an ATT&CK technique ID" in message
    assert "\n" not in message
    assert snapshot(store) == before


def test_error_lists_first_twenty_and_counts_the_rest(store):
    rows = [{"sentence": f"Row {i}.", "labels": [f"T9{i:03d}"]} for i in range(1, 26)]
    with pytest.raises(DatasetError) as caught:
        load(store, rows, "many.json")
    assert len(caught.value.problems) == 25
    message = str(caught.value)
    assert "row 20:" in message and "row 21:" not in message and "and 5 more" in message
    assert store.corpus_counts()["sentences"] == 0


def test_a_row_with_two_problems_counts_once(store):
    rows = [{"sentence": "Two bad IDs.", "labels": ["T9998", "T9999"]}, {"sentence": 1, "labels": []}]
    with pytest.raises(DatasetError) as caught:
        load(store, rows, "two.json")
    assert caught.value.bad_rows == 2 and len(caught.value.problems) == 3
    message = str(caught.value)
    assert "2 bad rows (3 problems): row 1: unknown technique 'T9998'" in message
    assert "row 1: unknown technique 'T9999'" in message


def test_skip_bad_rows_imports_the_rest_and_counts_skipped(store):
    rows = [
        {"sentence": "Good one.", "labels": ["T1055"], "doc_title": "D"},
        {"sentence": "Bad one.", "labels": ["T9999"], "doc_title": "D"},
        {"sentence": "Good two.", "labels": [], "doc_title": "D"},
    ]
    result = load(store, rows, "partial.json", ImportOptions(skip_bad_rows=True))
    assert result.skipped_rows == 1
    assert any("row 2: unknown technique 'T9999'" in w for w in result.warnings)
    assert [(s.text, s.labels) for s in store.sentences()] == [("Good one.", ("T1055",)), ("Good two.", ())]
    assert "1 bad rows skipped" in result.summary()


def test_revoked_technique_is_kept_with_a_warning_naming_the_replacement(store):
    result = load(store, [{"sentence": "It side-loaded a DLL.", "labels": ["T1574.002"]}], "revoked.json")
    assert store.sentences()[0].labels == ("T1574.002",)
    assert any("T1574.002 is revoked" in w and "T1574.001" in w and "row 1" in w for w in result.warnings)


def test_roll_up_to_tram_classes(store):
    rows = [{"sentence": "It packed the payload with UPX.", "labels": ["T1027.002", "T1055.001", "T1003.001"]}]
    result = load(store, rows, "r.json", ImportOptions(roll_up_to=TRAM_CLASSES))
    # T1027 and T1055 are TRAM classes; T1003.001 is a class itself and stays.
    assert store.sentences()[0].labels == ("T1003.001", "T1027", "T1055")
    assert any("T1027.002 -> T1027" in w for w in result.warnings)
