"""How fast the team labels: sentences answered per hour per person (over the hours they were answering) and, per
report, the time from import to the last sentence answered."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from tram_core.store import Store
from tram_core.store.label_review import AnswerEvent, ReportCompletion


@dataclass(frozen=True)
class PersonThroughput:
    """One person: the sentences they answered, in how many clock hours they answered at least one, and the rate."""

    user: str
    sentences: int
    active_hours: int
    first: datetime
    last: datetime

    @property
    def per_hour(self) -> float:
        return self.sentences / self.active_hours if self.active_hours else 0.0


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def person_throughput(events: Sequence[AnswerEvent]) -> list[PersonThroughput]:
    """Per person, fastest first: distinct sentences answered / hours with at least one answer. A sentence answered
    again later counts once; the hours count every hour the person was answering."""
    by_user: dict[str, list[AnswerEvent]] = defaultdict(list)
    for e in events:
        by_user[e.user].append(e)
    out = [PersonThroughput(user, len({e.sentence_id for e in rows}), len({_hour(e.at) for e in rows}),
                            min(e.at for e in rows), max(e.at for e in rows)) for user, rows in by_user.items()]
    return sorted(out, key=lambda p: (-p.per_hour, p.user))


def hourly_answers(events: Sequence[AnswerEvent]) -> list[dict]:
    """Answers per person and clock hour (UTC), for the chart over time."""
    counts: dict[tuple[str, datetime], int] = defaultdict(int)
    for e in events:
        counts[(e.user, _hour(e.at))] += 1
    return [{"person": user, "hour": hour, "answers": n} for (user, hour), n in sorted(counts.items(),
                                                                                   key=lambda kv: (kv[0][1], kv[0][0]))]


@dataclass(frozen=True)
class ReportTime:
    """A report from import to fully answered: the time it took, or how far it is while sentences are open."""

    report_id: int
    title: str
    sentences: int
    unanswered: int
    imported: datetime
    completed: datetime | None

    @property
    def duration(self) -> timedelta | None:
        return self.completed - self.imported if self.completed is not None else None

    def text(self, now: datetime) -> str:
        if self.duration is not None:
            return f"fully answered in {_span(self.duration)}"
        if not self.sentences:
            return "no sentences"
        return f"{self.unanswered:,} of {self.sentences:,} open after {_span(now - self.imported)}"


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(delta.total_seconds() / 60, 0):.0f} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def report_times(rows: Sequence[ReportCompletion]) -> list[ReportTime]:
    return [ReportTime(r.report_id, r.title, r.sentences, r.unanswered, r.created_at, r.completed_at) for r in rows]


def team_throughput(store: Store, since: datetime | None = None, report_id: int | None = None
                    ) -> tuple[list[PersonThroughput], list[dict], list[ReportTime]]:
    """(per person, per person and hour, per report) from the store."""
    events = store.answer_events(since, report_id)
    reports = [r for r in report_times(store.report_completion()) if report_id is None or r.report_id == report_id]
    return person_throughput(events), hourly_answers(events), reports
