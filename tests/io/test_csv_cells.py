"""Spreadsheet-safe CSV cells: formula characters get a leading quote on export, which import takes off again."""

from __future__ import annotations

from tests.io.test_exporters import FORMULA_SENTENCES
from tram_core.io.csv_cells import frame_csv_bytes, spreadsheet_safe, unquote_cell


def test_spreadsheet_safe_cells_and_their_inverse():
    for text in FORMULA_SENTENCES + ["\rcr", "'=x", "''+y", "'plain", "plain", "", "a=b"]:
        assert unquote_cell(spreadsheet_safe(text)) == text
    assert spreadsheet_safe("-2+3") == "'-2+3" and spreadsheet_safe("plain") == "plain"
    assert spreadsheet_safe(-0.5) == -0.5  # numbers stay numbers
    assert unquote_cell("'plain") == "'plain"  # only a quote before a formula character is ours to take off

    import pandas as pd

    frame = pd.DataFrame({"technique": ["=1+1", "T1055"], "f1": [-0.25, float("nan")]})
    assert frame_csv_bytes(frame).decode() == "technique,f1\n'=1+1,-0.25\nT1055,\n"
