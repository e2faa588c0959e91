"""Short texts the status bar, the run history, job rows and the CLI show: durations and one-line error messages."""

from __future__ import annotations

import math

ERROR_LINE_LIMIT = 300


def duration_text(seconds: float | None) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min``; empty for an unknown (None or NaN) duration, 0 s below zero."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    seconds = int(round(max(0.0, seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def error_line(exc: BaseException, limit: int = ERROR_LINE_LIMIT) -> str:
    """An exception's message on one line (its class name when it has none), cut to ``limit`` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
