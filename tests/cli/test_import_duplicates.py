"""``import --on-duplicate merge|keep|skip``: the same document in another format merged, kept or skipped; without
the option a terminal is asked and a script gets keep with a warning."""

from __future__ import annotations

import io

import pytest

from tests.io.test_near_duplicates import _formats
from tram_core.cli import main
from tram_core.cli.near_duplicates import decider
from tram_core.io.import_duplicates import KEEP, MERGE, SKIP
from tram_core.store import Store


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, data in _formats().items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_merge_keeps_one_report_with_the_other_files_as_its_sources(tram_home, capsys, files, settings):
    code, out, err = run(capsys, "import", str(files["intrusion.pdf"]))
    assert code == 0 and "created report 1" in out
    code, out, err = run(capsys, "import", "--on-duplicate", "merge", str(files["intrusion.docx"]),
                         str(files["intrusion.html"]))
    assert code == 0, err
    assert "intrusion.docx: duplicate: merged into report #1" in out and "intrusion.html: duplicate: merged" in out
    store = Store.from_settings(settings)
    assert len(store.list_reports()) == 1
    assert store.get_report(1).other_sources == ("intrusion.docx", "intrusion.html")


def test_skip_imports_nothing_and_keep_imports_a_report_of_its_own(tram_home, capsys, files, settings):
    run(capsys, "import", str(files["intrusion.pdf"]))
    code, out, _ = run(capsys, "import", "--on-duplicate", "skip", str(files["intrusion.docx"]))
    assert code == 0 and "duplicate: skipped: the same document as report #1" in out
    store = Store.from_settings(settings)
    assert len(store.list_reports()) == 1
    code, out, _ = run(capsys, "import", "--on-duplicate", "keep", str(files["intrusion.docx"]))
    assert code == 0 and "created report 2" in out and len(store.list_reports()) == 2


def test_without_the_option_a_script_keeps_it_with_a_warning(tram_home, capsys, files, settings):
    run(capsys, "import", str(files["intrusion.pdf"]))
    code, out, err = run(capsys, "import", str(files["intrusion.html"]))
    assert code == 0 and "created report 2" in out
    warning = [line for line in err.splitlines() if line.startswith("warning: intrusion.html")]
    assert len(warning) == 1 and "report #1" in warning[0] and "--on-duplicate merge|keep|skip" in warning[0]


def test_a_bad_choice_is_refused_by_the_parser(tram_home, capsys, files):
    with pytest.raises(SystemExit) as stopped:
        main(["import", "--on-duplicate", "maybe", str(files["intrusion.pdf"])])
    assert stopped.value.code == 2 and "invalid choice: 'maybe'" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_each_near_duplicate_is_asked_until_the_answer_is_clear(tmp_path):
    from tests.io.test_near_duplicates import SENTENCES
    from tram_core.io.import_duplicates import find_near_duplicates
    from tram_core.io.importer import prepare_text, store_prepared

    store = Store(f"sqlite:///{tmp_path / 'ask.sqlite3'}")
    store_prepared(store, [prepare_text(". ".join(SENTENCES), "Intrusion")], "ana")
    found = find_near_duplicates(store, [prepare_text(". ".join(SENTENCES[:-1]) + ". Updated.", "Intrusion 2"),
                                         prepare_text(". ".join(SENTENCES[1:]), "Intrusion 3")])
    answers, asked, err = iter(["perhaps", "m", "s"]), [], io.StringIO()

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    decisions = decider(None, stdin=Terminal(), stderr=err, ask=ask)(found)
    assert list(decisions.values()) == [MERGE, SKIP] and len(asked) == 3
    assert "[m]erge / [k]eep both / [s]kip" in asked[0] and "Answer m (merge" in err.getvalue()
    assert decider("keep")(found) == {d.key: KEEP for d in found}
