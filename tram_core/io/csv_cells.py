"""CSV that spreadsheets do not run as formulas (the OWASP CSV-injection rule), and its inverse for TRAM's importer."""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterable, Sequence

# A cell starting with one of these (after any leading quotes) is a formula to Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Leading quotes count too, so a text that already starts with "'=" is quoted again and reads back unchanged.
_FORMULA_AFTER_QUOTES = re.compile(r"'*[=+\-@\t\r]")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, with a leading ``'``; anything else (numbers too) as is."""
    if isinstance(value, str) and _FORMULA_AFTER_QUOTES.match(value):
        return "'" + value
    return value


def unquote_cell(text: str) -> str:
    """The text ``spreadsheet_safe`` quoted: one leading ``'`` dropped when a formula character follows it."""
    if text.startswith("'") and _FORMULA_AFTER_QUOTES.match(text, 1):
        return text[1:]
    return text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV of ``header`` and ``rows`` (``\\n`` line ends), every text cell passed through spreadsheet_safe."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_safe(name) for name in header])
    for row in rows:
        writer.writerow([spreadsheet_safe(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def frame_csv_bytes(frame) -> bytes:
    """A pandas DataFrame (index left out) as spreadsheet-safe CSV bytes, like ``csv_bytes``; missing values are
    empty cells, as ``DataFrame.to_csv`` writes them."""
    import pandas as pd

    def cell(value: Any) -> Any:
        if isinstance(value, (list, tuple, dict, set)):
            return value
        return None if pd.isna(value) else value

    rows = ([cell(value) for value in row] for row in frame.itertuples(index=False, name=None))
    return csv_bytes([str(c) for c in frame.columns], rows)
