"""One report's techniques at a glance: what analysts labelled beside what a model finds in the report as a whole."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from tram_core.attack import load_catalog
from tram_core.ml.predict import SUGGESTION_MIN_SCORE
from tram_core.ml.technique_scores import score_matrix
from tram_core.ml.thresholds import REPORT_TOP_K, model_thresholds, report_evidence, report_rule_text
from tram_core.store import JOB_DONE, UNLABELLED, Store, TrainedModel
from tram_core.views.model_choice import model_or_promoted

LABELLED_AND_FOUND = "labelled, and the model finds it"
LABELLED_ONLY = "labelled; the model does not find it"
FOUND_ONLY = "found by the model; not labelled yet"
SUGGESTED_ONLY = "suggested on a sentence; too little evidence for the report"
LABELLED = "labelled"
PREDICTION_JOBS_READ = 1000  # finished prediction jobs read back (newest first) for a model's last run over a report


@dataclass(frozen=True)
class ModelRun:
    """When a model last finished a prediction run that covered a report: over the report itself, or over every
    unlabelled sentence (all reports)."""

    finished_at: datetime
    whole_report: bool


def last_model_run(store: Store, model_id: int, report_id: int) -> ModelRun | None:
    """The newest finished prediction job of ``model_id`` over ``report_id`` (or over every unlabelled sentence),
    from the jobs table; None when the model never ran over it (or not within the last PREDICTION_JOBS_READ)."""
    for job in store.list_jobs(limit=PREDICTION_JOBS_READ, status=JOB_DONE, kind="predict"):
        params = job.params or {}
        if params.get("model_id") != model_id or job.finished_at is None:
            continue
        if params.get("report_id") == report_id:
            return ModelRun(job.finished_at, True)
        if params.get("report_id") is None:
            return ModelRun(job.finished_at, False)
    return None


@dataclass(frozen=True)
class ReportTechnique:
    """One technique of a report: sentences that carry it, and the model's report-level evidence for it."""

    technique: str
    name: str
    labelled_sentences: int  # sentences an analyst labelled with it
    suggested_sentences: int  # sentences the model scores above its threshold for it, answered or not
    evidence: float | None  # the model's report evidence (thresholds.report_evidence); None: no stored scores
    model_finds: bool  # the model's rule says the report has it
    agreement: str  # one of the constants above
    best_sentences: tuple[tuple[int, float], ...] = ()  # (sentence id, score) of the model's two best, best first

    @property
    def needs_review(self) -> bool:
        """Found by the model but not labelled on any sentence: worth a look before the report is done."""
        return self.agreement == FOUND_ONLY


@dataclass(frozen=True)
class ReportSummary:
    """All techniques of one report, most evidence first, and how the model decided."""

    report_id: int
    model: TrainedModel | None
    rule: str
    sentences_scored: int  # sentences with at least one stored suggestion of the model
    sentences: int
    techniques: list[ReportTechnique]
    last_run: ModelRun | None = None  # read only when the model has no suggestion here: ran, or never ran?

    def identity(self) -> str:
        """Report, model and listed techniques in one short string: changes whenever the table's rows do."""
        listed = ",".join(t.technique for t in self.techniques)
        return f"{self.report_id}-{self.model.id if self.model else 0}-{zlib.crc32(listed.encode()):08x}"

    def table_rows(self) -> list[dict]:
        """One dict per technique with the column names the Reports page shows (blank, not None, where empty)."""
        return [{"Technique": t.technique, "Name": t.name, "Labelled sentences": t.labelled_sentences,
                 "Sentences above threshold": t.suggested_sentences,
                 "Report evidence": "" if t.evidence is None else f"{t.evidence:.2f}", "Finding": t.agreement}
                for t in self.techniques]

    def caption(self) -> str:
        if self.model is None:
            return "No model: only the analysts' labels are listed. Promote or choose a model to see its findings."
        if not self.sentences_scored:
            return self._nothing_found()
        found = sum(t.model_finds for t in self.techniques)
        review = sum(t.needs_review for t in self.techniques)
        return (f"Model #{self.model.id} has suggestions for {self.sentences_scored:,} of {self.sentences:,} "
                f"sentences and finds {found} technique(s); {review} of them are not labelled on any sentence yet. "
                f"Rule: {self.rule}.")

    def _nothing_found(self) -> str:
        """No suggestion of the model in this report: it ran and found nothing, or it never ran over it."""
        run, floor = self.last_run, f"{SUGGESTION_MIN_SCORE:.2f}"
        if run is None:
            return (f"Model #{self.model.id} has no suggestions for this report yet and no record of a run over it: "
                    "run it over the report to see which techniques it finds.")
        if run.whole_report:
            return (f"Model #{self.model.id} ran over this report on {run.finished_at:%Y-%m-%d} and found nothing "
                    f"above {floor}: no sentence scored {floor} or more for any technique.")
        return (f"Model #{self.model.id} ran over the unlabelled sentences on {run.finished_at:%Y-%m-%d} and found "
                f"nothing above {floor} in this report. Run it over the report to score its labelled sentences too.")


def _agreement(is_labelled: bool, found: bool, model_scored: bool) -> str:
    if is_labelled:
        if not model_scored:
            return LABELLED
        return LABELLED_AND_FOUND if found else LABELLED_ONLY
    return FOUND_ONLY if found else SUGGESTED_ONLY


def report_summary(store: Store, report_id: int, model_id: int | None = None) -> ReportSummary:
    """The techniques of ``report_id``: analysts' labels and ``model_id``'s (default: the promoted model's) finding.

    The finding uses the model's stored suggestions (the best ``predict.SUGGESTION_TOP_K`` per sentence with a
    score of at least ``predict.SUGGESTION_MIN_SCORE``) and its report rule: the two best sentence scores for a
    technique must add up to more than the model's report threshold. A model without one (an older or imported
    model) finds a technique when any sentence is above that technique's threshold.

    Scores below ``SUGGESTION_MIN_SCORE`` are not stored, so a technique whose second-best sentence scored under
    0.05 can fall short here while ``predict`` on the report file finds it (by at most 0.05 of evidence). The
    threshold was tuned on labelled reports and is applied here to every sentence of the report.
    """
    sentences = store.sentences(report_id=report_id)
    model = model_or_promoted(store, model_id)
    labelled: dict[str, int] = {}
    for s in sentences:
        if s.status != UNLABELLED:
            for tech in s.labels:
                labelled[tech] = labelled.get(tech, 0) + 1
    suggestions = store.suggestions_for([s.id for s in sentences], model_id=model.id) if model else {}
    scored = {sid: pairs for sid, pairs in suggestions.items() if pairs}
    techniques = sorted({tech for pairs in scored.values() for tech, _ in pairs})
    column = {tech: j for j, tech in enumerate(techniques)}
    scores = score_matrix([dict(pairs) for pairs in scored.values()], techniques)
    sentence_ids = list(scored)
    best: dict[str, tuple[tuple[int, float], ...]] = {}
    for tech, j in column.items():
        order = np.argsort(-scores[:, j], kind="stable")[:REPORT_TOP_K]
        best[tech] = tuple((sentence_ids[i], float(scores[i, j])) for i in order if scores[i, j] > 0)
    evidence: dict[str, float] = {}
    if scored:
        _, matrix = report_evidence([report_id] * len(scored), scores)
        evidence = {tech: float(matrix[0, j]) for tech, j in column.items()}
    tuned = model_thresholds(model)
    cut = tuned.vector(techniques)
    above = {tech: int((scores[:, j] > cut[j]).sum()) for tech, j in column.items()}
    finds = tuned.report_predictions(scores, [report_id] * len(scored), techniques).get(report_id, set())
    catalog = load_catalog()
    rows = []
    for tech in set(labelled) | finds | {t for t, n in above.items() if n}:
        known = catalog.get(tech)
        found = tech in finds
        rows.append(ReportTechnique(tech, known.name if known else "", labelled.get(tech, 0), above.get(tech, 0),
                                    evidence.get(tech), found, _agreement(tech in labelled, found, bool(scored)),
                                    best.get(tech, ())))
    rows.sort(key=lambda r: (not r.model_finds and not r.labelled_sentences, -(r.evidence or 0.0),
                             -r.labelled_sentences, r.technique))
    rule = report_rule_text(tuned.report) if model else ""
    ran = last_model_run(store, model.id, report_id) if model is not None and not scored else None
    return ReportSummary(report_id, model, rule, len(scored), len(sentences), rows, ran)
