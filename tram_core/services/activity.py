"""The audit trail as the services write and read it: one ``record`` after every change, and the Activity view
(who did what, when, on what, before and after) filtered by person, kind and date, exported as safe CSV.

Label changes (label, undo, review) are read from the label history (``label_events``); every other change
(import, delete report, train, cancel, promote, run a model, delete model, users, sign-in) from ``audit_events``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Sequence

from tram_core.accounts import AUDIT_KINDS, audit
from tram_core.io.csv_cells import csv_bytes
from tram_core.services.common import Context, check_user
from tram_core.store import REVIEWED, utcnow

LABEL_KINDS = ("label", "undo", "review")
KINDS = LABEL_KINDS + AUDIT_KINDS
CSV_HEADER = ("at", "user", "kind", "target", "before", "after")


@dataclass(frozen=True)
class Activity:
    """One change: when (UTC), who, what kind, on what, and the before/after where it matters."""

    at: datetime
    user: str
    kind: str
    target: str
    before: Any = None
    after: Any = None


def record(ctx: Context, user: str, kind: str, target: object = "", before: Any = None, after: Any = None) -> None:
    """Append one change to the audit trail (``kind`` one of AUDIT_KINDS).

    For the services only, after the change's own ``check_user`` (which returns the checked name passed here); pages
    never call it, so the trail holds only changes that passed a permission check.
    """
    audit(ctx.store, user, kind, target, before, after)


def _label_kind(event) -> str:
    if event.action == "undo":
        return "undo"
    return "review" if event.after_status == REVIEWED else "label"


def _label_activity(ctx: Context, limit: int) -> list[Activity]:
    return [Activity(e.at, e.user, _label_kind(e), f"sentence {e.sentence_id} (report {e.report_id})",
                     {"status": e.before_status, "labels": list(e.before_labels)},
                     {"status": e.after_status, "labels": list(e.after_labels)})
            for e in ctx.store.label_history(limit=limit)]


def _bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(since, time.min) if since else None
    end = datetime.combine(until, time.min) + timedelta(days=1) if until else None  # 'until' is inclusive
    return start, end


def list_activity(ctx: Context, user: str, person: str = "", kinds: Sequence[str] = (), since: date | None = None,
                  until: date | None = None, limit: int = 1000) -> list[Activity]:
    """The changes, newest first, by ``person`` (any when empty), of ``kinds`` (all when empty), between the dates
    ``since`` and ``until`` (inclusive, UTC). Maintainers and admins only."""
    check_user(user, "see the activity")
    wanted = set(kinds) or set(KINDS)
    start, end = _bounds(since, until)
    rows: list[Activity] = []
    if wanted & set(LABEL_KINDS):
        rows += [a for a in _label_activity(ctx, limit * 4) if a.kind in wanted]
    audit_kinds = tuple(k for k in AUDIT_KINDS if k in wanted)
    if audit_kinds:
        rows += [Activity(e.at, e.user, e.kind, e.target, e.before, e.after)
                 for e in ctx.store.audit_events(person or None, audit_kinds, start, end, limit)]
    rows = [a for a in rows if (not person or a.user == person) and (start is None or a.at >= start)
            and (end is None or a.at < end)]
    rows.sort(key=lambda a: a.at, reverse=True)
    return rows[:limit]


def _cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, default=str)


def activity_csv(rows: Sequence[Activity]) -> bytes:
    """The rows as CSV that spreadsheets do not run as formulas."""
    return csv_bytes(CSV_HEADER, ([f"{a.at:%Y-%m-%d %H:%M:%S}", a.user, a.kind, a.target, _cell(a.before),
                                   _cell(a.after)] for a in rows))


def export_activity(ctx: Context, user: str, **filters) -> bytes:
    """The filtered activity (as ``list_activity``) as spreadsheet-safe CSV."""
    return activity_csv(list_activity(ctx, user, **filters))


def today() -> date:
    """Today's date in UTC (the activity's dates are UTC)."""
    return utcnow().date()


def activity_frame(rows: Sequence[Activity]):
    """The rows as the Activity table shows them (before/after as compact JSON)."""
    import pandas as pd

    return pd.DataFrame([{"at": a.at, "user": a.user, "kind": a.kind, "target": a.target, "before": _cell(a.before),
                          "after": _cell(a.after)} for a in rows], columns=list(CSV_HEADER))
