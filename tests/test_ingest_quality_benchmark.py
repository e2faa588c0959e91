"""The ingest quality benchmark runs on a few real reports and prints a line per format."""

from __future__ import annotations

from benchmarks.ingest_quality import main


def test_it_prints_a_line_per_format(shared_data, capsys):
    main(["--data", str(shared_data), "--limit", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["text (MAT .txt)", "DOCX (MAT text)", "HTML (MAT text)",
                                                       "PDF (AA20-302A)", "DOCX (simple-test)"]
    assert all("s/MB" in line and "/page" in line for line in lines)
    assert "100.00% of 3 spans whole" in lines[-1]
