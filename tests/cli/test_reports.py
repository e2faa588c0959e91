"""The reports group of `python -m tram_core`: ``reports list`` and ``reports delete ID --yes``."""

from __future__ import annotations

from tests.cli.helpers import run
from tests.views.test_annotation import add_report


def test_list_shows_who_imported_each_report_and_when(store, capsys):
    first, _ = add_report(store, title="First", labels={0: ("T1055",)})
    add_report(store, title="Second", texts=["A second report.", "With its own text."])
    code, out, err = run(capsys, "reports", "list")
    header, *rows = out.strip().splitlines()
    assert code == 0 and err == ""
    assert header.split() == ["id", "title", "sentences", "labelled", "reviewed", "progress", "imported", "by",
                              "techniques"]
    stored = {r.id: r for r in store.list_reports()}
    cells = rows[0].split()
    assert cells[:6] == [str(first), "First", str(stored[first].sentences), "1", "0",
                         f"{100 * stored[first].progress:.0f}%"]
    assert cells[6:9] == [f"{stored[first].created_at:%Y-%m-%d}", f"{stored[first].created_at:%H:%M}", "importer"]
    assert rows[1].split()[1] == "Second"


def test_delete_without_yes_says_what_would_go_and_deletes_nothing(store, capsys):
    report_id, ids = add_report(store, title="Keep me", labels={0: ("T1055",), 1: ()})
    store.set_labels(ids[2], ["T1105"], "ana", status="reviewed")
    code, out, err = run(capsys, "reports", "delete", str(report_id))
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == (f"error: would delete report #{report_id} 'Keep me': {len(ids)} sentences, 2 "
                                    "labelled, 1 reviewed, with their labels and suggestions: add --yes to delete "
                                    "it (nothing deleted)")
    assert [r.id for r in store.list_reports()] == [report_id]
    assert store.audit_events(kinds=("delete report",)) == []


def test_delete_with_yes_deletes_and_writes_an_audit_row(store, capsys):
    report_id, ids = add_report(store, title="Old report", labels={0: ("T1055",)})
    other, _ = add_report(store, title="Other", texts=["Another sentence here.", "And one more."])
    code, out, err = run(capsys, "reports", "delete", str(report_id), "--yes")
    assert code == 0 and out == f"deleted report #{report_id} 'Old report': {len(ids)} sentences, 1 labelled, " \
                                "0 reviewed\n"
    assert err.startswith("acting as local admin 'ana'")
    assert [r.id for r in store.list_reports()] == [other]
    [audited] = store.audit_events(kinds=("delete report",))
    assert (audited.user, audited.target, audited.before["title"]) == ("ana", f"report {report_id}", "Old report")


def test_an_unknown_report_is_one_line(store, capsys):
    code, out, err = run(capsys, "reports", "delete", "404", "--yes")
    assert code == 2 and out == "" and err.splitlines()[-1] == "error: No report with id 404"
    assert len(err.splitlines()) == 2  # who acts, then why not
