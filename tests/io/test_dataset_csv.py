"""CSV datasets: a byte order mark, titles, negatives, bad input, and files without a labels column."""

from __future__ import annotations

import pytest

from tests.io.dataset_helpers import corpus, load
from tram_core.io.dataset_checks import DatasetError
from tram_core.store import LABELLED, REVIEWED, UNLABELLED


def test_csv_with_bom_titles_and_negatives(store):
    content = "\ufeffsentence,labels,doc_title\n" \
              '"It ran whoami; then net user.",T1033;T1087.001,R1\n' \
              "Nothing to see here.,,R1\n" \
              "Untitled row uses WMI.,T1047,\n" \
              '"Commas are forgiven.","T1055, T1057",R2\n'
    result = load(store, content.encode("utf-8"), "labels.csv")
    assert result.kind == "csv"
    assert corpus(store) == [
        ("R1", "It ran whoami; then net user.", ("T1033", "T1087.001"), LABELLED),
        ("R1", "Nothing to see here.", (), LABELLED),
        ("labels", "Untitled row uses WMI.", ("T1047",), LABELLED),
        ("R2", "Commas are forgiven.", ("T1055", "T1057"), LABELLED),
    ]


def test_csv_bad_input(store):
    with pytest.raises(DatasetError, match="labels.csv: line 1: the header needs a 'sentence' column"):
        load(store, b"text,label\nx,T1055\n", "labels.csv")
    with pytest.raises(DatasetError, match="header but no rows"):
        load(store, b"sentence,labels\n", "labels.csv")
    with pytest.raises(DatasetError) as caught:
        load(store, b"sentence,labels\nfine,T1055\nbad,T1055;T9999\n,T1055\nx,T1055,extra\n", "labels.csv")
    message = str(caught.value)
    assert "row 2 (line 3): unknown technique 'T9999'" in message
    assert "row 3 (line 4): 'sentence' is empty" in message
    assert "row 4 (line 5): 3 fields but the header has 2" in message
    assert store.corpus_counts()["sentences"] == 0


def test_csv_without_a_labels_column_imports_unlabelled_sentences_with_a_warning(store):
    content = "doc_title,sentence\nR1,It ran whoami.\nR1,It dumped LSASS.\nR2,Nothing here.\n"
    result = load(store, content.encode("utf-8"), "plain.csv")
    assert corpus(store) == [
        ("R1", "It ran whoami.", (), UNLABELLED),
        ("R1", "It dumped LSASS.", (), UNLABELLED),
        ("R2", "Nothing here.", (), UNLABELLED),
    ]
    assert "no 'labels' column: 3 sentences imported as unlabelled" in result.warnings
    assert store.corpus_counts()["labelled"] == 0


def test_csv_with_a_labels_column_keeps_an_empty_cell_as_no_technique(store):
    result = load(store, b"sentence,labels\nIt ran whoami.,T1033\nNothing here.,\n", "labels.csv")
    assert corpus(store) == [("labels", "It ran whoami.", ("T1033",), LABELLED),
                             ("labels", "Nothing here.", (), LABELLED)]
    assert not any("'labels' column" in w for w in result.warnings)


def test_csv_without_a_labels_column_honours_a_status_it_states(store):
    result = load(store, b"sentence,status\nChecked: no technique.,reviewed\nNot looked at.,\n", "plain.csv")
    assert corpus(store) == [("plain", "Checked: no technique.", (), REVIEWED),
                             ("plain", "Not looked at.", (), UNLABELLED)]
    assert "no 'labels' column: 1 sentence imported as unlabelled" in result.warnings
