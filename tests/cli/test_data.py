"""The data commands of ``python -m tram_core``: import, export, reports, techniques, label, history."""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tram_core.attack import TRAM_CLASSES
from tram_core.cli import main
from tram_core.store import LABELLED, REVIEWED, Store

SMALL_MJSON = ["Threat_Advisory_3CX_Softphone_Supply_Chain_Compromise.mjson",
               "Increasing_The_Sting_of_HIVE_Ransomware.mjson"]


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    good = tmp_path / "good.json"
    good.write_text(json.dumps([
        {"sentence": "The loader injected code into explorer.exe.", "labels": ["T1055"], "doc_title": "Good"},
        {"sentence": "Nothing here.", "labels": [], "doc_title": "Good"},
        {"sentence": "It side-loaded a DLL.", "labels": ["T1574.002"], "doc_title": "Good"},
    ]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([
        {"sentence": "Fine.", "labels": ["T1055"], "doc_title": "Bad"},
        {"sentence": "Broken.", "labels": ["T9999"], "doc_title": "Bad"},
    ]))
    text = tmp_path / "notes.txt"
    text.write_text("The actor ran whoami. Then it listed shares with net view.")
    return {"good": good, "bad": bad, "text": text}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_prints_a_line_per_file_and_dedups(tram_home, capsys, files):
    code, out, err = run(capsys, "import", str(files["good"]))
    assert code == 0
    assert "good.json: created report 1 'Good': 3 sentences, 3 labelled" in out
    assert "warning: T1574.002 is revoked in ATT&CK; use T1574.001" in out
    code, out, _ = run(capsys, "import", str(files["good"]))
    assert code == 0 and "good.json: duplicate: already imported as report 1 ('Good')" in out


def test_one_bad_file_exits_2_with_one_line_naming_it(tram_home, capsys, files, store):
    code, out, err = run(capsys, "import", str(files["bad"]))
    assert code == 2
    acting_line, *lines = err.strip().splitlines()
    assert acting_line.startswith("acting as local admin")
    assert len(lines) == 1 and lines[0].startswith("error: bad.json:") and "row 2: unknown technique 'T9999'" in lines[0]
    assert store.corpus_counts()["sentences"] == 0


def test_several_files_one_bad_imports_nothing_and_exits_2(tram_home, capsys, files, store):
    code, out, err = run(capsys, "import", str(files["good"]), str(files["bad"]), str(files["text"]))
    assert code == 2 and out == ""
    assert "error: bad.json: row 2: unknown technique 'T9999'" in err
    assert "nothing imported: 1 of 3 files could not be read (--skip-bad-files imports the others)" in err
    assert store.list_reports() == []


def test_skip_bad_files_imports_the_others_and_exits_1(tram_home, capsys, files, store):
    code, out, err = run(capsys, "import", "--skip-bad-files", str(files["good"]), str(files["bad"]),
                         str(files["text"]))
    assert code == 1
    assert "error: bad.json:" in err
    assert ("2 of 3 files imported in one transaction: 2 reports created, 0 duplicates, 5 sentences, 3 labelled; "
            "skipped files: bad.json") in out
    assert {r.title for r in store.list_reports()} == {"Good", "notes"}


def test_skip_bad_rows_flag(tram_home, capsys, files, store):
    code, out, _ = run(capsys, "import", "--skip-bad-rows", str(files["bad"]))
    assert code == 0 and "1 bad rows skipped" in out and "row 2: unknown technique 'T9999'" in out
    assert [s.text for s in store.sentences()] == ["Fine."]


def test_roll_up_flags(tram_home, capsys, tmp_path, store):
    path = tmp_path / "sub.json"
    path.write_text(json.dumps([{"sentence": "Packed with UPX.", "labels": ["T1027.002", "T1059.001"]}]))
    code, out, _ = run(capsys, "import", "--roll-up-tram50", str(path))
    assert code == 0 and "T1027.002 -> T1027" in out
    assert store.sentences()[0].labels == ("T1027", "T1059.001")

    other = tmp_path / "sub2.json"
    other.write_text(json.dumps([{"sentence": "Ran a PowerShell script.", "labels": ["T1059.001"]}]))
    code, _, _ = run(capsys, "import", "--roll-up-to", "T1059,T1027", str(other))
    assert code == 0 and store.sentences()[-1].labels == ("T1059",)
    code, _, err = run(capsys, "import", "--roll-up-to", "T9999", str(other))
    assert code == 2 and "T9999" in err


def test_import_real_mjson_with_roll_up(tram_home, capsys, shared_data, store):
    paths = [str(shared_data / "tram2" / "mjson" / name) for name in SMALL_MJSON]
    code, out, _ = run(capsys, "import", "--roll-up-tram50", *paths)
    assert code == 0
    assert "2 of 2 files imported in one transaction: 2 reports created" in out
    counts = store.corpus_counts()
    assert counts["reports"] == 2 and counts["labelled"] > 0 and counts["with_technique"] > 0
    labels = set(store.technique_counts())
    assert not {t for t in labels if t not in TRAM_CLASSES and t.split(".")[0] in TRAM_CLASSES}


def test_import_a_folder(tram_home, capsys, files, store):
    folder = files["good"].parent
    (folder / "ignored.png").write_bytes(b"\x89PNG")
    code, out, err = run(capsys, "import", str(folder))
    assert code == 2 and store.list_reports() == []  # bad.json fails, so nothing is imported
    code, out, err = run(capsys, "import", "--skip-bad-files", str(folder))
    assert code == 1  # good.json and notes.txt import; the .png is not picked up
    assert "2 of 3 files imported" in out and "ignored.png" not in out + err
    code, _, err = run(capsys, "import", str(folder / "empty-folder-does-not-exist"))
    assert code == 2 and "no such file" in err


def test_export_to_a_missing_folder_is_one_line(tram_home, capsys, tmp_path):
    code, _, err = run(capsys, "export", "-f", "csv", "-o", str(tmp_path / "nowhere" / "out.csv"))
    assert code == 2 and err.startswith("error: cannot write") and err.count("\n") == 1


def test_export_formats(tram_home, capsys, files, tmp_path, store):
    run(capsys, "import", str(files["good"]), str(files["text"]))
    out_file = tmp_path / "out.json"
    code, out, _ = run(capsys, "export", "--format", "tram-multilabel", "-o", str(out_file))
    assert code == 0 and "wrote" in out
    assert [r["sentence"] for r in json.loads(out_file.read_text())] == [
        "The loader injected code into explorer.exe.", "Nothing here.", "It side-loaded a DLL."]
    code, _, _ = run(capsys, "export", "--format", "tram-multilabel", "--include-unlabelled", "-o", str(out_file))
    rows = json.loads(out_file.read_text())
    assert [r["status"] for r in rows][-2:] == ["unlabelled", "unlabelled"]

    folder = tmp_path / "exports"
    folder.mkdir()
    for fmt in ("tram-report", "csv", "navigator"):
        code, out, _ = run(capsys, "export", "-f", fmt, "--report", "1", "-o", str(folder))
        assert code == 0
    written = sorted(p.name for p in folder.iterdir())
    assert written == ["report-1-good-navigator-layer.json", "report-1-good.csv", "report-1-good.json"]
    layer = json.loads((folder / "report-1-good-navigator-layer.json").read_text())
    assert {t["techniqueID"] for t in layer["techniques"] if "score" in t} == {"T1055", "T1574.001"}

    code, out, _ = run(capsys, "export", "-f", "csv", "-o", "-")
    assert code == 0 and out.startswith("doc_title,sentence,labels,status")
    code, _, err = run(capsys, "export", "-f", "csv", "--report", "99", "-o", "-")
    assert code == 2 and "No report with id 99" in err


def test_reports_table(tram_home, capsys, files):
    code, out, _ = run(capsys, "reports")
    assert code == 0 and "no reports yet" in out
    run(capsys, "import", str(files["good"]), str(files["text"]))
    code, out, _ = run(capsys, "reports")
    assert run(capsys, "reports", "list")[1] == out  # list is also the default action
    header, first, second = out.strip().splitlines()
    assert header.split() == ["id", "title", "sentences", "labelled", "reviewed", "progress", "imported", "by",
                              "techniques"]
    login = os.environ.get("TRAM_USER") or getpass.getuser()
    assert first.split()[:6] == ["1", "Good", "3", "3", "0", "100%"] and "T1055 T1574.002" in first
    assert first.split()[8] == login and re.fullmatch(r"\d{4}-\d\d-\d\d", first.split()[6])
    assert second.split()[:6] == ["2", "notes", "2", "0", "0", "0%"]


def test_techniques_search(tram_home, capsys):
    code, out, _ = run(capsys, "techniques", "process", "injection", "--limit", "3")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 4 and lines[1].startswith("T1055 ") and "Process Injection" in lines[1]
    code, out, _ = run(capsys, "techniques", "T1574.002")
    assert "revoked" in out and "T1574.001" in out
    code, out, _ = run(capsys, "techniques", "zzqqxx")
    assert "no technique matches" in out


def test_label_and_history(tram_home, capsys, files, store):
    run(capsys, "import", str(files["text"]))
    first, second = store.sentences()
    code, out, _ = run(capsys, "--user", "alice", "label", str(first.id), "T1033", "t1087.001")
    assert code == 0 and f"sentence {first.id} (labelled, version 1): T1033 T1087.001" in out
    code, out, _ = run(capsys, "--user", "bob", "label", str(second.id), "--none", "--reviewed")
    assert code == 0 and "no technique" in out
    assert store.get_sentence(second.id).status == REVIEWED and store.get_sentence(first.id).status == LABELLED

    code, _, err = run(capsys, "label", str(first.id), "T9999")
    assert code == 2 and "T9999" in err and store.get_sentence(first.id).labels == ("T1033", "T1087.001")
    code, _, err = run(capsys, "label", str(first.id))
    assert code == 2 and "--none" in err
    code, _, err = run(capsys, "label", str(first.id), "T1574.002")
    assert code == 0 and "revoked" in err
    code, _, err = run(capsys, "label", str(first.id), "T1055", "--expected-version", "1")
    assert code == 2 and "was changed by" in err

    code, out, _ = run(capsys, "history", "--sentence", str(first.id))
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 3  # header + two changes, newest first
    assert "T1574.002" in lines[1] and "alice" in lines[2] and "unlabelled -> labelled" in lines[2]


@pytest.mark.parametrize("command", ["import", "export", "reports", "techniques", "label", "undo", "history"])
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m tram_core " + command) and len(out.splitlines()) > 3


@pytest.mark.slow
def test_real_subprocess_exit_codes(tmp_path, files, shared_data):
    env = {**os.environ, "TRAM_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("TRAM_DATABASE_URL", None)
    mjson = shared_data / "tram2" / "mjson" / SMALL_MJSON[0]
    none = subprocess.run([sys.executable, "-m", "tram_core", "import", str(mjson), str(files["bad"])],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120)
    assert none.returncode == 2 and "nothing imported" in none.stderr and "Traceback" not in none.stderr
    ok = subprocess.run([sys.executable, "-m", "tram_core", "import", "--skip-bad-files", str(mjson), str(files["bad"])],
                        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120)
    assert ok.returncode == 1, ok.stderr
    assert f"{mjson.name}: created report 1" in ok.stdout and "1 of 2 files imported" in ok.stdout
    assert "error: bad.json:" in ok.stderr
    bad = subprocess.run([sys.executable, "-m", "tram_core", "import", str(files["bad"])],
                         capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert [line.split(" ")[0] for line in bad.stderr.splitlines()] == ["acting", "error:"]  # who acts, then why not
    store = Store(f"sqlite:///{tmp_path / 'home' / 'tram.sqlite3'}")
    assert [r.title for r in store.list_reports()] == ["Threat Advisory: 3CX Softphone Supply Chain Compromise"]


def test_export_a_report_layer_with_the_models_findings(tram_home, capsys, store, tmp_path):
    from tests.views.test_annotation import add_model, add_report

    report_id, ids = add_report(store, labels={3: ("T1003.001",)})
    model_id = add_model(store, ids, {0: {"T1566.001": 0.93}}, thresholds={"global": 0.5, "report": 0.5},
                         promote=False)
    out_file = tmp_path / "layer.json"
    code, _, err = run(capsys, "export", "-f", "navigator", "--report", str(report_id), "--model-findings",
                       "-o", str(out_file))
    assert code == 2 and "No model to add findings from" in err  # none promoted, none named
    code, _, _ = run(capsys, "export", "-f", "navigator", "--report", str(report_id), "--model-findings",
                     "--model", str(model_id), "-o", str(out_file))
    assert code == 0
    entries = {t["techniqueID"]: t for t in json.loads(out_file.read_text())["techniques"]}
    assert entries["T1566.001"]["comment"].startswith(f"found by model #{model_id} run-1, not labelled yet")


def test_undo_takes_back_the_acting_user_s_last_label_change(tram_home, capsys, files, store):
    run(capsys, "import", str(files["text"]))
    first, second = store.sentences()
    run(capsys, "--user", "alice", "label", str(first.id), "T1033")
    run(capsys, "--user", "alice", "label", str(first.id), "T1033", "T1087.001")
    run(capsys, "--user", "bob", "label", str(second.id), "T1135")
    code, out, err = run(capsys, "--user", "alice", "undo")
    assert code == 0 and out == f"undone: sentence {first.id} is labelled again: T1033\n"
    assert err.startswith("acting as local admin 'alice'")
    code, out, _ = run(capsys, "--user", "alice", "undo")
    assert out == f"undone: sentence {first.id} is unlabelled again\n" and store.get_sentence(first.id).labels == ()
    code, out, _ = run(capsys, "--user", "alice", "undo")
    assert code == 0 and out == "nothing to undo: 'alice' has no label change that is not undone yet\n"
    assert store.get_sentence(second.id).labels == ("T1135",)


def test_export_writes_a_stix_bundle_of_labels_or_the_models_findings(tram_home, capsys, store, tmp_path):
    from tests.views.test_annotation import add_model, add_report

    report_id, ids = add_report(store, labels={3: ("T1003.001",)})
    code, out, _ = run(capsys, "export", "--format", "stix", "-o", str(tmp_path))
    assert code == 0 and "tram-corpus-stix.json" in out
    bundle = json.loads((tmp_path / "tram-corpus-stix.json").read_text())
    assert [o["name"] for o in bundle["objects"] if o["type"] == "report"] == ["APT report"]
    add_model(store, ids, {0: {"T1566.001": 0.93}}, thresholds={"global": 0.5, "report": 0.5})
    out_file = tmp_path / "findings.json"
    code, _, _ = run(capsys, "export", "-f", "stix", "--report", str(report_id), "--model-findings",
                     "--without-labels", "-o", str(out_file))
    notes = [o for o in json.loads(out_file.read_text())["objects"] if o["type"] == "note"]
    assert code == 0 and [n["labels"] for n in notes] == [["tram-model-finding"]]
    code, _, err = run(capsys, "export", "-f", "csv", "--without-labels", "-o", str(out_file))
    assert code == 2 and "Only a STIX bundle can leave the labelled sentences out" in err
