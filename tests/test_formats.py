"""Dataset parsers and exporters on real TRAM data and small hand-made files, with every kind of bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tram_core.attack import TRAM_CLASSES
from tram_core.formats import (
    EXPORT_FORMATS,
    NAVIGATOR_VERSIONS,
    DatasetError,
    ImportOptions,
    export_data,
    parse_dataset,
    store_dataset,
)
from tram_core.store import LABELLED, REVIEWED, UNLABELLED, Store

MJSON_SAMPLE = [  # a handful of real reports: small, one with T1574.002, one with ATT&CK for ICS IDs
    "Threat_Advisory_3CX_Softphone_Supply_Chain_Compromise.mjson",
    "Increasing_The_Sting_of_HIVE_Ransomware.mjson",
    "AA21076A_TrickBot_Malware.mjson",
]


def load(store: Store, data: bytes | str | list | dict, filename: str, options: ImportOptions | None = None):
    if not isinstance(data, bytes):
        data = (data if isinstance(data, str) else json.dumps(data)).encode("utf-8")
    parsed = parse_dataset(data, filename, options=options)
    return store_dataset(store, parsed, filename, "tester")


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


# --------------------------------------------------------------------------------------------------- multi-label


def test_multilabel_groups_by_doc_title_and_keeps_negatives(store):
    rows = [
        {"sentence": "The actor injected code into explorer.exe.", "labels": ["T1055"], "doc_title": "A"},
        {"sentence": "The weather was nice.", "labels": [], "doc_title": "A"},
        {"sentence": "It listed running processes and services.", "labels": ["T1057", "T1007"], "doc_title": "B"},
        {"sentence": "No title on this one uses WMI.", "labels": ["T1047"]},
    ]
    result = load(store, rows, "seed.json")
    assert result.kind == "tram-multilabel"
    assert result.reports_created == 3 and result.sentences == 4 and result.labelled == 4
    assert corpus(store) == [
        ("A", "The actor injected code into explorer.exe.", ("T1055",), LABELLED),
        ("A", "The weather was nice.", (), LABELLED),
        ("B", "It listed running processes and services.", ("T1007", "T1057"), LABELLED),
        ("seed", "No title on this one uses WMI.", ("T1047",), LABELLED),
    ]
    assert any("without doc_title" in w for w in result.warnings)
    report_a = store.get_report(store.list_reports()[0].id)
    assert report_a.text == "The actor injected code into explorer.exe.\nThe weather was nice."
    check_offsets(store)


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


def test_same_report_twice_is_not_duplicated(store):
    rows = [{"sentence": "It used PowerShell.", "labels": ["T1059.001"], "doc_title": "X"}]
    first = load(store, rows, "a.json")
    before = snapshot(store)
    second = load(store, rows, "a-again.json")
    assert first.reports_created == 1
    assert second.reports_created == 0 and second.duplicates == 1 and second.sentences == 0
    assert "already imported as report" in second.summary()
    assert snapshot(store) == before


def test_roll_up_to_tram_classes(store):
    rows = [{"sentence": "It packed the payload with UPX.", "labels": ["T1027.002", "T1055.001", "T1003.001"]}]
    result = load(store, rows, "r.json", ImportOptions(roll_up_to=TRAM_CLASSES))
    # T1027 and T1055 are TRAM classes; T1003.001 is a class itself and stays.
    assert store.sentences()[0].labels == ("T1003.001", "T1027", "T1055")
    assert any("T1027.002 -> T1027" in w for w in result.warnings)


def test_status_field_keeps_reviewed_and_unlabelled_rows(store):
    rows = [
        {"sentence": "Reviewed.", "labels": ["T1055"], "status": "reviewed"},
        {"sentence": "Not answered yet.", "labels": [], "status": "unlabelled"},
    ]
    load(store, rows, "s.json")
    assert [(s.text, s.status) for s in store.sentences()] == [("Reviewed.", REVIEWED), ("Not answered yet.", UNLABELLED)]
    with pytest.raises(DatasetError, match="row 1: an unlabelled row cannot carry labels"):
        load(store, [{"sentence": "X.", "labels": ["T1055"], "status": "unlabelled"}], "bad-status.json")
    with pytest.raises(DatasetError, match="row 1: 'status' must be one of"):
        load(store, [{"sentence": "X.", "labels": [], "status": "done"}], "bad-status.json")


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


# --------------------------------------------------------------------------------------------------- single label


def test_single_label_rows_merge_labels_per_text_and_document(store):
    rows = [
        {"text": "dumped LSASS and injected code", "label": "T1003.001", "doc_title": "R1"},
        {"text": "dumped LSASS and injected code", "label": "T1055", "doc_title": "R1"},
        {"text": "dumped LSASS and injected code", "label": "T1055", "doc_title": "R2"},
        {"text": "ran whoami", "label": "T1033", "doc_title": "R1"},
    ]
    result = load(store, rows, "single.json")
    assert result.kind == "tram-single-label"
    assert corpus(store) == [
        ("R1", "dumped LSASS and injected code", ("T1003.001", "T1055"), LABELLED),
        ("R1", "ran whoami", ("T1033",), LABELLED),
        ("R2", "dumped LSASS and injected code", ("T1055",), LABELLED),
    ]


def test_single_label_real_export(store, shared_data):
    path = shared_data / "tram2" / "single_label.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    result = load(store, path.read_bytes(), path.name)
    distinct = {(r["doc_title"], r["text"]) for r in rows}
    assert result.sentences == len(distinct) == store.corpus_counts()["labelled"]
    assert result.reports_created == len({r["doc_title"] for r in rows})
    labels = {tech for ex in store.examples() for tech in ex.labels}
    assert labels <= set(TRAM_CLASSES) and "T1574.002" in labels
    check_offsets(store)


def test_single_label_bad_row_names_the_row(store):
    rows = [{"text": "a", "label": "T1055", "doc_title": "R"}, {"text": "b", "doc_title": "R"},
            {"text": "c", "label": 1055, "doc_title": "R"}]
    with pytest.raises(DatasetError) as caught:
        load(store, rows, "single.json")
    assert "row 2: missing 'label'" in str(caught.value) and "row 3: technique ID must be text" in str(caught.value)
    assert store.corpus_counts()["sentences"] == 0


# --------------------------------------------------------------------------------------------------- report export


def test_report_export_real_training_data(store, shared_data):
    path = shared_data / "tram1" / "test-training-data.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    result = load(store, path.read_bytes(), path.name)
    assert result.kind == "tram-report" and result.reports_created == 1
    sentences = store.sentences()
    assert len(sentences) == len(data["sentences"])
    accepted = [s for s in data["sentences"] if s["disposition"] == "accept"]
    assert sum(1 for s in sentences if s.status == LABELLED) == len(accepted)
    by_text = {s.text: s for s in sentences}
    first = data["sentences"][0]
    assert by_text[first["text"]].labels == tuple(sorted(m["attack_id"] for m in first["mappings"]))
    # The report's "text" does not hold its sentences, so the stored text is the sentences joined.
    assert store.get_report(sentences[0].report_id).text.startswith(first["text"])
    check_offsets(store)


def test_report_export_with_suggestions_and_old_ids(store, shared_data):
    path = shared_data / "reports" / "report-for-simple-testdocx.json"
    result = load(store, path.read_bytes(), path.name)
    report = store.get_report(result.outcomes[0].report_id)
    assert report.text == "Test data sentence 1. Test data sentence 2. Test sentence 3. Test sentence 4."
    s1, s2, s3, s4 = store.sentences(report_id=report.id)
    assert (s1.status, s2.status, s3.status, s4.status) == (UNLABELLED, LABELLED, UNLABELLED, LABELLED)
    assert s2.labels == ()  # accepted with no mapping: a labelled negative
    assert s4.labels == ("T1003.004", "T1200")  # PRE-ATT&CK T1396 and T1256 dropped with a warning
    assert (s1.start, s1.end) == (0, 21) and report.text[s4.start:s4.end] == "Test sentence 4."
    model = next(m for m in store.list_models() if m.name == "DummyModel")
    suggested = store.suggestions_for([s1.id, s3.id], model_id=model.id)
    assert sorted(suggested[s1.id]) == [("T1053.002", pytest.approx(0.642)), ("T1059.005", pytest.approx(0.928))]
    assert suggested[s3.id] == []  # T1321 and T1345 are retired PRE-ATT&CK IDs
    assert any("T1321" in w and "T1345" in w for w in result.warnings)
    assert any("T1256" in w and "T1396" in w for w in result.warnings)


def test_report_export_unknown_accepted_id_is_an_error(store):
    report = {"name": "R", "text": "One. Two.", "sentences": [
        {"text": "One.", "order": 0, "disposition": "accept", "mappings": [{"attack_id": "T1055", "confidence": "100"}]},
        {"text": "Two.", "order": 1, "disposition": "accept", "mappings": [{"attack_id": "T1999", "confidence": "99"}]},
    ]}
    with pytest.raises(DatasetError, match=r"sentence 2: unknown technique 'T1999'"):
        load(store, report, "r.json")
    assert store.corpus_counts()["reports"] == 0


# --------------------------------------------------------------------------------------------------- MAT mjson


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


# --------------------------------------------------------------------------------------------------- CSV


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


FORMULA_SENTENCES = ['=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(A1)", "\tstart"]


def _report_of(store: Store, title: str, rows: list[tuple[str, tuple[str, ...]]]) -> None:
    from tram_core.store import NewSentence

    text, sentences = "", []
    for sentence, labels in rows:
        start = len(text)
        text += sentence + "\n"
        sentences.append(NewSentence(sentence, start, start + len(sentence), labels, LABELLED))
    store.add_report(title, text, sentences, user="tester")


def test_csv_export_quotes_formula_cells_and_import_restores_them(store, tmp_path):
    import pandas as pd

    rows = [(text, ("T1059",) if i % 2 else ()) for i, text in enumerate(FORMULA_SENTENCES)]
    rows += [("'=already quoted", ()), ("'plain quote", ()), ("Plain - text", ())]
    _report_of(store, "=cmd|' /C calc'!A0", rows)
    content, filename = export_data(store, "csv")

    frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    sentences = list(frame["sentence"])
    for original in FORMULA_SENTENCES:
        assert "'" + original in sentences  # the text intact after the quote: a spreadsheet shows it, runs nothing
    assert "''=already quoted" in sentences and "'plain quote" in sentences and "Plain - text" in sentences
    assert set(frame["doc_title"]) == {"'=cmd|' /C calc'!A0"}
    assert not any(str(cell).startswith(tuple("=+-@\t\r")) for cell in frame.to_numpy().ravel())

    other = fresh_store(tmp_path)
    load(other, content, filename)
    assert corpus(other) == corpus(store)
    assert [ex.text for ex in other.examples()][:len(FORMULA_SENTENCES)] == FORMULA_SENTENCES


def test_spreadsheet_safe_cells_and_their_inverse():
    from tram_core.csv_cells import frame_csv_bytes, spreadsheet_safe, unquote_cell

    for text in FORMULA_SENTENCES + ["\rcr", "'=x", "''+y", "'plain", "plain", "", "a=b"]:
        assert unquote_cell(spreadsheet_safe(text)) == text
    assert spreadsheet_safe("-2+3") == "'-2+3" and spreadsheet_safe("plain") == "plain"
    assert spreadsheet_safe(-0.5) == -0.5  # numbers stay numbers
    assert unquote_cell("'plain") == "'plain"  # only a quote before a formula character is ours to take off

    import pandas as pd

    frame = pd.DataFrame({"technique": ["=1+1", "T1055"], "f1": [-0.25, float("nan")]})
    assert frame_csv_bytes(frame).decode() == "technique,f1\n'=1+1,-0.25\nT1055,\n"


# --------------------------------------------------------------------------------------------------- exports


def import_sample(store: Store, shared_data: Path) -> None:
    for name in MJSON_SAMPLE:
        path = shared_data / "tram2" / "mjson" / name
        load(store, path.read_bytes(), name)


def test_mjson_round_trip_through_multilabel(store, shared_data, tmp_path):
    import_sample(store, shared_data)
    # A reviewed answer and an unlabelled sentence must survive too.
    first, second = store.sentences()[:2]
    store.set_labels(first.id, ["T1059.001"], "tester", status=REVIEWED)
    store.set_labels(second.id, [], "tester", status=UNLABELLED)
    content, filename = export_data(store, "tram-multilabel", include_unlabelled=True)
    assert filename.endswith(".json")
    rows = json.loads(content)
    assert {r["status"] for r in rows} == {LABELLED, REVIEWED, UNLABELLED}
    other = fresh_store(tmp_path)
    load(other, content, filename)
    assert corpus(other) == corpus(store)

    default_rows = json.loads(export_data(store, "tram-multilabel")[0])
    assert len(default_rows) == len(rows) - 1 and all(r["status"] != UNLABELLED for r in default_rows)
    assert set(default_rows[0]) == {"sentence", "labels", "doc_title", "status"}


def test_round_trip_through_csv(store, shared_data, tmp_path):
    import_sample(store, shared_data)
    store.set_labels(store.sentences()[0].id, ["T1055"], "tester", status=REVIEWED)
    content, filename = export_data(store, "csv")
    header = next(csv.reader(io.StringIO(content.decode("utf-8"))))
    assert header == ["doc_title", "sentence", "labels", "status"]
    other = fresh_store(tmp_path)
    load(other, content, filename)
    assert corpus(other) == corpus(store)


def test_round_trip_through_tram_report(store, shared_data, tmp_path):
    import_sample(store, shared_data)
    path = shared_data / "reports" / "report-for-simple-testdocx.json"
    load(store, path.read_bytes(), path.name)
    store.set_labels(store.sentences()[3].id, ["T1055"], "tester", status=REVIEWED)
    content, filename = export_data(store, "tram-report")
    reports = json.loads(content)
    assert isinstance(reports, list) and len(reports) == len(MJSON_SAMPLE) + 1
    other = fresh_store(tmp_path)
    result = load(other, content, filename)
    assert result.reports_created == len(reports)
    assert corpus(other) == corpus(store)
    # Same texts and offsets: the report text came back whole.
    for a, b in zip(store.list_reports(), other.list_reports()):
        assert store.get_report(a.id).text == other.get_report(b.id).text
        assert [(s.start, s.end) for s in store.sentences(report_id=a.id)] == \
               [(s.start, s.end) for s in other.sentences(report_id=b.id)]

    one, one_name = export_data(store, "tram-report", report_id=store.list_reports()[0].id)
    single = json.loads(one)
    assert isinstance(single, dict) and single["name"] == store.list_reports()[0].title
    assert one_name.startswith("report-1-")


def test_navigator_layer_shape(store, shared_data):
    rows = [{"sentence": f"Side-loading number {i} with a very long tail " + "x" * 400, "labels": ["T1574.002"],
             "doc_title": "R"} for i in range(7)]
    rows += [{"sentence": "Injected into lsass.", "labels": ["T1055.001", "T1003.001"], "doc_title": "R"},
             {"sentence": "Unlabelled.", "labels": [], "status": "unlabelled", "doc_title": "R"}]
    load(store, rows, "nav.json")
    layer = json.loads(export_data(store, "navigator")[0])
    assert layer["versions"] == NAVIGATOR_VERSIONS == {"attack": "18", "navigator": "5.1.0", "layer": "4.5"}
    assert layer["domain"] == "enterprise-attack"
    entries = {t["techniqueID"]: t for t in layer["techniques"]}
    # T1574.002 is revoked in ATT&CK 18: the layer shows its replacement, and says so.
    assert "T1574.002" not in entries and entries["T1574.001"]["score"] == 7
    comment = entries["T1574.001"]["comment"]
    assert "T1574.002" in comment and "(and 2 more sentences)" in comment and len(comment) < 2000
    assert entries["T1055.001"]["score"] == 1 and entries["T1055"]["showSubtechniques"] is True
    assert "score" not in entries["T1055"]  # a parent shown only to expand its sub-technique
    assert layer["gradient"]["maxValue"] == 7 and len(layer["gradient"]["colors"]) >= 2
    assert layer["legendItems"] and all({"label", "color"} <= set(item) for item in layer["legendItems"])

    report_id = store.list_reports()[0].id
    per_report, filename = export_data(store, "navigator", report_id=report_id)
    assert json.loads(per_report)["name"] == "R" and filename.endswith("navigator-layer.json")


def test_every_export_format_has_a_filename_and_unknown_format_fails(store):
    load(store, [{"sentence": "It used WMI.", "labels": ["T1047"], "doc_title": "W"}], "w.json")
    names = {fmt: export_data(store, fmt)[1] for fmt in EXPORT_FORMATS}
    assert len(set(names.values())) == len(EXPORT_FORMATS)
    with pytest.raises(Exception, match="Unknown export format 'xml'"):
        export_data(store, "xml")


def test_a_row_with_two_problems_counts_once(store):
    rows = [{"sentence": "Two bad IDs.", "labels": ["T9998", "T9999"]}, {"sentence": 1, "labels": []}]
    with pytest.raises(DatasetError) as caught:
        load(store, rows, "two.json")
    assert caught.value.bad_rows == 2 and len(caught.value.problems) == 3
    message = str(caught.value)
    assert "2 bad rows (3 problems): row 1: unknown technique 'T9998'" in message
    assert "row 1: unknown technique 'T9999'" in message


def test_tram_report_export_carries_the_promoted_models_suggestions(store, tmp_path):
    report = {"name": "R", "text": "It injected code. It ran whoami.", "sentences": [
        {"text": "It injected code.", "order": 0, "disposition": None, "mappings": []},
        {"text": "It ran whoami.", "order": 1, "disposition": "accept", "mappings": [{"attack_id": "T1033"}]},
    ]}
    load(store, report, "r.json")
    first = store.sentences()[0]
    model_id = store.add_model("scibert-run-3", "transformer", str(tmp_path), "embedded", ["T1055"], {}, {}, {})
    store.replace_suggestions(model_id, {first.id: {"T1055": 0.875}})
    store.promote_model(model_id)
    exported = json.loads(export_data(store, "tram-report", report_id=first.report_id)[0])
    assert exported["ml_model"] == "scibert-run-3"
    assert exported["sentences"][0]["mappings"] == [{"attack_id": "T1055", "confidence": "87.5"}]
    assert exported["sentences"][1] == {"text": "It ran whoami.", "order": 1, "disposition": "accept",
                                        "status": LABELLED, "mappings": [{"attack_id": "T1033", "confidence": "100.0"}]}
    other = fresh_store(tmp_path)
    load(other, json.dumps(exported).encode(), "exported.json")
    again = other.sentences()[0]
    imported = next(m for m in other.list_models() if m.name == "scibert-run-3")
    assert other.suggestions_for([again.id], model_id=imported.id)[again.id] == [("T1055", pytest.approx(0.875))]
    assert corpus(other) == corpus(store)


def test_a_report_layer_can_add_the_models_findings_in_their_own_colour(store):
    from tests.test_annotation import TEXTS, add_model, add_report
    from tram_core.formats import NAVIGATOR_MODEL_COLOR
    from tram_core.errors import UserError

    report_id, ids = add_report(store, labels={3: ("T1003.001",)})
    with pytest.raises(UserError, match="No model to add findings from"):
        export_data(store, "navigator", report_id=report_id, model_findings=True)
    add_model(store, ids, {0: {"T1566.001": 0.93}, 2: {"T1055": 0.3}, 4: {"T1055": 0.25}, 3: {"T1003.001": 0.9}},
              thresholds={"global": 0.5, "report": 0.5})
    plain = json.loads(export_data(store, "navigator", report_id=report_id)[0])
    assert [t["techniqueID"] for t in plain["techniques"] if "score" in t] == ["T1003.001"]
    layer = json.loads(export_data(store, "navigator", report_id=report_id, model_findings=True)[0])
    entries = {t["techniqueID"]: t for t in layer["techniques"]}
    assert set(entries) == {"T1003", "T1003.001", "T1055", "T1566", "T1566.001"}  # parents expand their subs
    assert entries["T1003.001"]["score"] == 1 and "color" not in entries["T1003.001"]  # labelled: on the gradient
    finding = entries["T1055"]
    assert finding["color"] == NAVIGATOR_MODEL_COLOR and "score" not in finding
    assert finding["comment"].splitlines() == [
        "found by model #1 run-1, not labelled yet: report evidence 0.55",
        f"- {TEXTS[2]} (score 0.30)", f"- {TEXTS[4]} (score 0.25)"]
    assert {"label": "found by the model, not labelled yet", "color": NAVIGATOR_MODEL_COLOR} in layer["legendItems"]
    assert {"name": "model findings", "value": "2"} in layer["metadata"]
    other_id, _ = add_report(store, title="Not scored", texts=[t.upper() for t in TEXTS])
    with pytest.raises(UserError, match=f"Model #1 has no suggestions for report {other_id} yet"):
        export_data(store, "navigator", report_id=other_id, model_findings=True)
    with pytest.raises(UserError, match="Navigator layer of one report"):
        export_data(store, "csv", report_id=report_id, model_findings=True)
    with pytest.raises(UserError, match="Navigator layer of one report"):
        export_data(store, "navigator", model_findings=True)
