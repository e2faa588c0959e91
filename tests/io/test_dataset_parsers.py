"""Picking the parser and storing its reports: unreadable files name the file and the reason; no duplicates."""

from __future__ import annotations

import pytest

from tests.io.dataset_helpers import load, snapshot
from tram_core.io.dataset_checks import DatasetError
from tram_core.io.dataset_parsers import parse_dataset


@pytest.mark.parametrize("content, reason", [
    (b"", "the file is empty"),
    (b"   \n", "the file is empty"),
    (b'[{"sentence": "x", "labels": []', "not valid JSON"),
    (b"[]", "empty"),
    (b'{"foo": 1}', "not a known dataset"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
])
def test_unreadable_files_name_the_file_and_the_reason(store, content, reason):
    with pytest.raises(DatasetError) as caught:
        parse_dataset(content, "upload.json")
    assert "upload.json" in str(caught.value) and reason in str(caught.value)


def test_same_report_twice_is_not_duplicated(store):
    rows = [{"sentence": "It used PowerShell.", "labels": ["T1059.001"], "doc_title": "X"}]
    first = load(store, rows, "a.json")
    before = snapshot(store)
    second = load(store, rows, "a-again.json")
    assert first.reports_created == 1
    assert second.reports_created == 0 and second.duplicates == 1 and second.sentences == 0
    assert "already imported as report" in second.summary()
    assert snapshot(store) == before
