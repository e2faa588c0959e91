"""The team's label-quality figures as one record, and as CSV or JSON: what the Agreement page offers for download and
``python -m tram_core agreement`` prints (agreement at both levels, the adjudication queue's size, suggestion
acceptance, throughput)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tram_core.io.csv_cells import csv_bytes
from tram_core.store import Store, utcnow
from tram_core.views import double_annotation as dbl
from tram_core.views.agreement import RESAMPLES, Estimate
from tram_core.views.agreement_summary import LEVELS, AgreementSummary, summarize
from tram_core.views.suggestion_review import acceptance_rows, model_acceptance
from tram_core.views.throughput import team_throughput

FORMATS = ("csv", "json")
CSV_HEADER = ("section", "level", "subject", "figure", "value", "low", "high", "sentences")


@dataclass(frozen=True)
class QualityFigures:
    """Everything measured about the labels of one report (or all of them)."""

    report_id: int | None
    summaries: dict[str, AgreementSummary]  # per level
    pending_adjudication: int
    acceptance: list[dict]
    people: list[dict]
    reports: list[dict]


def quality_figures(store: Store, report_id: int | None = None, resamples: int = RESAMPLES,
                    seed: int = 0) -> QualityFigures:
    """Measure agreement (technique and parent level), the queue, acceptance and throughput."""
    items = dbl.agreement_items(store, report_id)
    summaries = {level: summarize(items, level, resamples, seed) for level in LEVELS}
    names = {m.id: f"#{m.id} {m.name}" for m in store.list_models()}
    people, _, reports = team_throughput(store, report_id=report_id)
    now = utcnow()
    return QualityFigures(
        report_id, summaries, len(dbl.adjudication_queue(store, report_id, limit=100_000)),
        acceptance_rows(model_acceptance(store), names),
        [{"person": p.user, "sentences": p.sentences, "active hours": p.active_hours,
          "per active hour": round(p.per_hour, 2)} for p in people],
        [{"report": r.report_id, "title": r.title, "sentences": r.sentences, "open": r.unanswered,
          "hours to fully answered": None if r.duration is None else round(r.duration.total_seconds() / 3600, 2),
          "state": r.text(now)} for r in reports])


def _estimate_row(section: str, level: str, subject: str, figure: str, e: Estimate) -> list:
    return [section, level, subject, figure, e.value, e.low, e.high, e.sentences]


def figure_rows(figures: QualityFigures) -> list[list]:
    """One row per figure: section, level, subject (technique, pair, week, model, person, report), figure, value,
    interval and sentences."""
    rows = []
    for level, s in figures.summaries.items():
        rows += [_estimate_row("overall", level, "all", "identical answers", s.agreement),
                 _estimate_row("overall", level, "all", "alpha (MASI)", s.alpha_masi),
                 _estimate_row("overall", level, "all", "alpha (Jaccard)", s.alpha_jaccard)]
        for t in s.techniques:
            rows += [_estimate_row("technique", level, t.technique, "kappa", t.kappa),
                     _estimate_row("technique", level, t.technique, "agreement", t.agreement),
                     ["technique", level, t.technique, "disagreements", t.disagreements, None, None,
                      t.kappa.sentences]]
        for p in s.pairs:
            rows += [_estimate_row("pair", level, p.name, name, e) for name, e in
                     (("identical answers", p.agreement), ("kappa", p.kappa), ("alpha (MASI)", p.alpha_masi))]
        rows += [_estimate_row("week", level, w.week, "identical answers", w.agreement) for w in s.periods]
    rows.append(["adjudication", "", "queue", "sentences waiting", figures.pending_adjudication, None, None, None])
    for a in figures.acceptance:
        rows += [["suggestions", "", f"{a['model']} {a['technique']}", name, a[name], None, None, None]
                 for name in ("accepted", "rejected", "added (missed)", "acceptance", "live precision", "live recall")]
    for p in figures.people:
        rows.append(["throughput", "", p["person"], "sentences per active hour", p["per active hour"], None, None,
                     p["sentences"]])
    for r in figures.reports:
        rows.append(["report", "", f"#{r['report']} {r['title']}", "hours to fully answered",
                     r["hours to fully answered"], None, None, r["sentences"]])
    return rows


def _rounded(value):
    return round(value, 4) if isinstance(value, float) else value


def figures_csv(figures: QualityFigures) -> bytes:
    """The figures as CSV (cells that a spreadsheet would run as formulas are made safe)."""
    return csv_bytes(CSV_HEADER, [[_rounded(v) for v in row] for row in figure_rows(figures)])


def figures_json(figures: QualityFigures) -> str:
    def estimate(e: Estimate) -> dict:
        return {"value": e.value, "low": e.low, "high": e.high, "sentences": e.sentences}

    levels = {}
    for level, s in figures.summaries.items():
        levels[level] = {
            "sentences": s.sentences, "identical_answers": estimate(s.agreement),
            "alpha_masi": estimate(s.alpha_masi), "alpha_jaccard": estimate(s.alpha_jaccard),
            "techniques": [{"technique": t.technique, "kappa": estimate(t.kappa), "agreement": estimate(t.agreement),
                            "labelled": t.labelled, "disagreements": t.disagreements} for t in s.techniques],
            "pairs": [{"first": p.first, "second": p.second, "identical_answers": estimate(p.agreement),
                       "kappa": estimate(p.kappa), "alpha_masi": estimate(p.alpha_masi)} for p in s.pairs],
            "weeks": [{"week": w.week, "identical_answers": estimate(w.agreement),
                       "alpha_masi": estimate(w.alpha_masi)} for w in s.periods]}
    return json.dumps({"report": figures.report_id, "agreement": levels,
                       "adjudication_queue": figures.pending_adjudication, "suggestion_acceptance": figures.acceptance,
                       "throughput": figures.people, "reports": figures.reports}, indent=2)
