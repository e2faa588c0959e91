"""Agreement page: how far the team's independent answers agree, the adjudication queue and its decisions, what
reviewers did with the model's suggestions, throughput, and the double-annotation setup (maintainers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import altair as alt
import pandas as pd

from tram_core import access
from tram_core.services.annotate_actions import Note
from tram_core.services.common import Context, capabilities, check_user, error_line, team_mode
from tram_core.store import utcnow
from tram_core.views import agreement_charts as charts
from tram_core.views import double_annotation as dbl
from tram_core.views.agreement import PARENT_LEVEL, TECHNIQUE_LEVEL
from tram_core.views.agreement_export import figures_csv, figures_json, quality_figures
from tram_core.views.agreement_summary import AgreementSummary, summarize
from tram_core.views.suggestion_review import model_acceptance
from tram_core.views.throughput import team_throughput

LEVEL_NAMES = {TECHNIQUE_LEVEL: "Techniques", PARENT_LEVEL: "Parent techniques (T1059.001 counts as T1059)"}
PAGE_RESAMPLES = 500  # bootstrap resamples behind the page's intervals (the command line uses 1000)
__all__ = ["ADJUDICATE", "LEVEL_NAMES", "Note", "PARENT_LEVEL", "SET_UP", "TECHNIQUE_LEVEL", "adjudicate",
           "adjudication_queue", "acceptance", "agreement", "can_adjudicate", "can_set_up", "download", "failure",
           "report_choices", "set_share", "share_lines", "throughput"]
# The permissions these actions will have (tram_core.access); until they are added, the maintainer's nearest one.
SET_UP = "set up double annotation" if "set up double annotation" in access.PERMISSIONS else "edit the label space"
ADJUDICATE = "adjudicate" if "adjudicate" in access.PERMISSIONS else "edit the label space"


# --------------------------------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class AgreementView:
    """The agreement figures at one level, as tables and charts."""

    summary: AgreementSummary
    overview: pd.DataFrame
    techniques: pd.DataFrame
    pairs: pd.DataFrame
    weeks: pd.DataFrame
    disagreement_chart: alt.Chart
    pair_chart: alt.LayerChart
    week_chart: alt.LayerChart

    @property
    def empty(self) -> str:
        if self.summary.sentences:
            return ""
        return ("No sentence has two independent answers yet: a maintainer sets a double-annotation share below, and "
                "two annotators answer the chosen sentences on the Annotate page.")

    @property
    def caption(self) -> str:
        return (f"{self.summary.sentences:,} sentence(s) answered by two annotators. Intervals: 95% bootstrap over "
                "sentences. Kappa: one technique present or absent; alpha: whole answers, partly overlapping ones "
                "partly agreeing (MASI, Jaccard).")


def agreement(ctx: Context, user: str, report_id: int | None = None, level: str = TECHNIQUE_LEVEL,
              resamples: int = PAGE_RESAMPLES) -> AgreementView:
    check_user(user, "view")
    summary = summarize(dbl.agreement_items(ctx.store, report_id), level, resamples)
    names = {t.id: t.name for t in ctx.catalog.techniques(include_revoked=True)}
    return AgreementView(summary, charts.overview_frame(summary), charts.technique_frame(summary, names),
                         charts.pair_frame(summary), charts.period_frame(summary), charts.disagreement_chart(summary),
                         charts.pair_chart(summary), charts.period_chart(summary))


def report_choices(ctx: Context) -> dict[int | None, str]:
    """``{None: 'All reports', id: '#id title'}`` for the page's report picker."""
    return {None: "All reports", **{rid: f"#{rid} {title}" for rid, title in ctx.store.annotation_report_titles()
                                    .items()}}


def download(ctx: Context, user: str, report_id: int | None, fmt: str) -> bytes:
    """Every figure (both levels, the queue, acceptance, throughput) as CSV or JSON."""
    check_user(user, "export")
    figures = quality_figures(ctx.store, report_id)
    return figures_csv(figures) if fmt == "csv" else figures_json(figures).encode("utf-8")


# --------------------------------------------------------------------------------------------------- adjudication


@dataclass(frozen=True)
class QueueRow:
    """A sentence waiting for a reviewer: its text and report, and both answers with who gave them."""

    sentence_id: int
    report: str
    text: str
    first_user: str
    first_labels: tuple[str, ...]
    second_user: str
    second_labels: tuple[str, ...]

    def answer_line(self, which: int, labels: dict[str, str]) -> str:
        who, given = (self.first_user, self.first_labels) if which == 1 else (self.second_user, self.second_labels)
        return f"{who} ({'first' if which == 1 else 'second'}): " + (
            "; ".join(labels.get(t, t) for t in given) if given else "no technique")


def adjudication_queue(ctx: Context, user: str, report_id: int | None = None) -> list[QueueRow]:
    check_user(user, "view")
    return [QueueRow(e.sentence.id, f"#{e.sentence.report_id} {e.report_title}", e.sentence.text, e.first.user,
                     e.first.labels, e.second.user, e.second.labels)
            for e in dbl.adjudication_queue(ctx.store, report_id)]


def can_adjudicate(user: str) -> bool:
    return capabilities(user).can(ADJUDICATE)


def adjudicate(ctx: Context, user: str, sentence_id: int, choice: str, labels: Sequence[str] = ()) -> str:
    """Decide one sentence (``first``, ``second`` or ``edited`` with ``labels``); the line to show."""
    user = check_user(user, ADJUDICATE)
    decided = dbl.adjudicate(ctx.store, user, sentence_id, choice, labels, ctx.catalog)
    return f"Adjudicated sentence {sentence_id}: {dbl.answer_text(decided.labels)} (both answers kept in its history)."


# --------------------------------------------------------------------------------------------------- setup


def can_set_up(user: str) -> bool:
    return capabilities(user).can(SET_UP)


def set_share(ctx: Context, user: str, percent: object, report_id: int | None = None,
              annotators: str | Sequence[str] = "") -> str:
    """Set the double-annotation share (0-100 %) of a report or, with None, of every report; the line to show."""
    user = check_user(user, SET_UP)
    names = [a.strip() for a in (annotators.split(",") if isinstance(annotators, str) else annotators) if a.strip()]
    share = dbl.set_share(ctx.store, user, percent, report_id, names, team_mode())
    where = "every report without its own share" if report_id is None else f"report {report_id}"
    who = f" by {' and '.join(share.annotators)}" if share.annotators else ""
    return f"{share.percent:g} % of the sentences of {where} are now double-annotated{who}."


def share_lines(ctx: Context) -> list[str]:
    """The shares in force, one line each (the corpus-wide one first)."""
    shares = dbl.load_plan(ctx.store).shares
    titles = ctx.store.annotation_report_titles()
    lines = []
    for rid in sorted(shares, key=lambda r: (r is not None, r or 0)):
        s = shares[rid]
        where = "All reports" if rid is None else f"Report #{rid} {titles.get(rid, '')}"
        who = f", by {' and '.join(s.annotators)}" if s.annotators else ""
        lines.append(f"{where}: {s.percent:g} %{who} (set by {s.set_by} at {s.set_at:%Y-%m-%d %H:%M} UTC)")
    return lines or ["No double annotation yet: every sentence is labelled by one person."]


# --------------------------------------------------------------------------------------------------- review


@dataclass(frozen=True)
class AcceptanceView:
    table: pd.DataFrame
    chart: alt.Chart | None
    empty: str = ""


def acceptance(ctx: Context, user: str, model_id: int | None = None) -> AcceptanceView:
    """Per model and technique: suggestions accepted, rejected, techniques added that the model missed."""
    check_user(user, "view")
    rows = model_acceptance(ctx.store, model_id)
    names = {m.id: f"#{m.id} {m.name}" for m in ctx.store.list_models()}
    if not rows:
        return AcceptanceView(charts.acceptance_frame([]), None, "No answer on a sentence with model suggestions yet.")
    return AcceptanceView(charts.acceptance_frame(rows, names), charts.acceptance_chart(rows))


@dataclass(frozen=True)
class ThroughputView:
    people: pd.DataFrame
    chart: alt.Chart
    reports: pd.DataFrame


def throughput(ctx: Context, user: str, report_id: int | None = None) -> ThroughputView:
    check_user(user, "view")
    people, hourly, reports = team_throughput(ctx.store, report_id=report_id)
    return ThroughputView(charts.throughput_frame(people), charts.throughput_chart(hourly),
                          charts.report_time_frame(reports, utcnow()))


def failure(exc: BaseException, doing: str) -> str:
    return error_line(exc, doing)
