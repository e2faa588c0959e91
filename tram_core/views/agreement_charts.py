"""The Agreement page's tables and Altair charts: techniques the team disagrees on most, pairs who differ most,
agreement by week, suggestion acceptance and throughput, built from the agreement and review records."""

from __future__ import annotations

from typing import Mapping, Sequence

import altair as alt
import pandas as pd

from tram_core.views.agreement import Estimate
from tram_core.views.agreement_summary import AgreementSummary
from tram_core.views.suggestion_review import Acceptance, acceptance_rows
from tram_core.views.throughput import PersonThroughput, ReportTime

TOP = 15  # bars in a "most" chart
_SHARE = alt.Scale(domain=[0, 1])
_ALL_LABELS = alt.Axis(labelOverlap=False, labelLimit=260)


def _cells(prefix: str, e: Estimate) -> dict:
    """An estimate as table cells: the value, its interval and the sentences behind it."""
    def rounded(x):
        return None if x is None else round(x, 3)

    return {prefix: rounded(e.value), f"{prefix} low": rounded(e.low), f"{prefix} high": rounded(e.high)}


def overview_frame(summary: AgreementSummary) -> pd.DataFrame:
    rows = [{"figure": name, "value": e.value, "low": e.low, "high": e.high, "sentences": e.sentences}
            for name, e in (("identical answers (share)", summary.agreement),
                            ("Krippendorff's alpha, MASI distance", summary.alpha_masi),
                            ("Krippendorff's alpha, Jaccard distance", summary.alpha_jaccard))]
    return pd.DataFrame(rows, columns=["figure", "value", "low", "high", "sentences"]).round(3)


def technique_frame(summary: AgreementSummary, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    names = names or {}
    rows = [{"technique": t.technique, "name": names.get(t.technique, ""), "disagreements": t.disagreements,
             "labelled in": t.labelled, **_cells("kappa", t.kappa), **_cells("agreement", t.agreement),
             "sentences": t.kappa.sentences} for t in summary.techniques]
    columns = ["technique", "name", "disagreements", "labelled in", "kappa", "kappa low", "kappa high", "agreement",
               "agreement low", "agreement high", "sentences"]
    return pd.DataFrame(rows, columns=columns)


def pair_frame(summary: AgreementSummary) -> pd.DataFrame:
    rows = [{"pair": p.name, **_cells("agreement", p.agreement), **_cells("kappa", p.kappa),
             **_cells("alpha (MASI)", p.alpha_masi), "sentences": p.agreement.sentences} for p in summary.pairs]
    columns = ["pair", "agreement", "agreement low", "agreement high", "kappa", "kappa low", "kappa high",
               "alpha (MASI)", "alpha (MASI) low", "alpha (MASI) high", "sentences"]
    return pd.DataFrame(rows, columns=columns)


def period_frame(summary: AgreementSummary) -> pd.DataFrame:
    rows = [{"week": p.week, **_cells("agreement", p.agreement), **_cells("alpha (MASI)", p.alpha_masi),
             "sentences": p.agreement.sentences} for p in summary.periods]
    columns = ["week", "agreement", "agreement low", "agreement high", "alpha (MASI)", "alpha (MASI) low",
               "alpha (MASI) high", "sentences"]
    return pd.DataFrame(rows, columns=columns)


def disagreement_chart(summary: AgreementSummary, top: int = TOP) -> alt.Chart:
    """The techniques most often in one answer and not the other."""
    data = technique_frame(summary)
    data = data[data["disagreements"] > 0].head(top)
    return (alt.Chart(data, title="Techniques the team disagrees on most")
            .mark_bar()
            .encode(y=alt.Y("technique:N", sort="-x", title="technique", axis=_ALL_LABELS),
                    x=alt.X("disagreements:Q", title="sentences where only one answer has it"),
                    tooltip=["technique:N", "disagreements:Q", "labelled in:Q",
                             alt.Tooltip("kappa:Q", format=".2f"), "sentences:Q"])
            .properties(height=max(60, 20 * len(data))))


def pair_chart(summary: AgreementSummary) -> alt.LayerChart:
    """Each pair's share of identical answers with its interval, the pair that differs most on top."""
    data = pair_frame(summary)
    y = alt.Y("pair:N", sort=alt.EncodingSortField("agreement", order="ascending"), title="pair", axis=_ALL_LABELS)
    base = alt.Chart(data, title="Identical answers per pair (95% interval)").encode(y=y)
    bars = base.mark_bar().encode(x=alt.X("agreement:Q", scale=_SHARE, title="share of identical answers"),
                                  tooltip=["pair:N", alt.Tooltip("agreement:Q", format=".2f"),
                                           alt.Tooltip("kappa:Q", format=".2f"),
                                           alt.Tooltip("alpha (MASI):Q", format=".2f"), "sentences:Q"])
    whiskers = base.mark_rule().encode(x="agreement low:Q", x2="agreement high:Q")
    return alt.layer(bars, whiskers).properties(height=max(60, 24 * len(data)))


def period_chart(summary: AgreementSummary) -> alt.LayerChart:
    """Agreement by week of the second answer, with its interval as a band."""
    data = period_frame(summary)
    base = alt.Chart(data, title="Identical answers by week (95% interval)").encode(
        x=alt.X("week:T", title="week of the second answer"))
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("agreement low:Q", scale=_SHARE, title="share"),
                                               y2="agreement high:Q")
    line = base.mark_line(point=True).encode(y="agreement:Q", tooltip=["week:T",
                                                                       alt.Tooltip("agreement:Q", format=".2f"),
                                                                       "sentences:Q"])
    return alt.layer(band, line).properties(height=240)


def acceptance_frame(rows: Sequence[Acceptance], model_names: Mapping[int, str] | None = None) -> pd.DataFrame:
    columns = ["model", "technique", "accepted", "rejected", "added (missed)", "acceptance", "live precision",
               "live recall"]
    return pd.DataFrame(acceptance_rows(rows, model_names), columns=columns)


def acceptance_chart(rows: Sequence[Acceptance], top: int = TOP) -> alt.Chart:
    """The most reviewed techniques of one model: suggestions accepted, rejected, and techniques it missed."""
    techniques = [r for r in rows if r.technique != "*"][:top]
    data = pd.DataFrame([{"technique": a.technique, "decision": kind, "sentences": n} for a in techniques
                         for kind, n in (("accepted", a.accepted), ("rejected", a.rejected),
                                         ("added (missed)", a.added))],
                        columns=["technique", "decision", "sentences"])
    return (alt.Chart(data, title="What the reviewers did with the model's suggestions")
            .mark_bar()
            .encode(y=alt.Y("technique:N", title="technique", axis=_ALL_LABELS),
                    x=alt.X("sentences:Q", stack="zero", title="sentences"),
                    color=alt.Color("decision:N", sort=["accepted", "rejected", "added (missed)"], title=""),
                    tooltip=["technique:N", "decision:N", "sentences:Q"])
            .properties(height=max(60, 20 * data["technique"].nunique())))


def throughput_frame(people: Sequence[PersonThroughput]) -> pd.DataFrame:
    rows = [{"person": p.user, "sentences answered": p.sentences, "active hours": p.active_hours,
             "per active hour": round(p.per_hour, 1), "first": p.first, "last": p.last} for p in people]
    return pd.DataFrame(rows, columns=["person", "sentences answered", "active hours", "per active hour", "first",
                                       "last"])


def throughput_chart(hourly: Sequence[dict]) -> alt.Chart:
    data = pd.DataFrame(list(hourly), columns=["person", "hour", "answers"])
    return (alt.Chart(data, title="Sentences answered per hour")
            .mark_bar()
            .encode(x=alt.X("hour:T", title="hour (UTC)"), y=alt.Y("answers:Q", stack="zero", title="answers"),
                    color=alt.Color("person:N", title=""), tooltip=["person:N", "hour:T", "answers:Q"])
            .properties(height=220))


def report_time_frame(reports: Sequence[ReportTime], now) -> pd.DataFrame:
    rows = [{"report": r.report_id, "title": r.title, "sentences": r.sentences, "open": r.unanswered,
             "imported": r.imported, "fully answered": r.completed,
             "hours to fully answered": None if r.duration is None else round(r.duration.total_seconds() / 3600, 2),
             "state": r.text(now)} for r in reports]
    return pd.DataFrame(rows, columns=["report", "title", "sentences", "open", "imported", "fully answered",
                                       "hours to fully answered", "state"])
