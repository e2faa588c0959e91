"""One report, several files: an import's new documents checked against the stored reports (and each other) for the
same document in another format, and stored as the user decides: merge, keep or skip."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

from tram_core.errors import UserError
from tram_core.io import near_duplicates as nd
from tram_core.io.dataset_checks import ImportResult
from tram_core.io.importer import KIND_DOCUMENT, KIND_TEXT, KIND_URL, BatchResult, PreparedFile, prepare_sources
from tram_core.store import ImportOutcome, NewReport, Store, content_hash

MERGE, KEEP, SKIP = "merge", "keep", "skip"
DECISIONS = (MERGE, KEEP, SKIP)
DECISION_NAMES = {MERGE: "Merge: keep the stored report, record this file as another source of it",
                  KEEP: "Keep both: import this file as a report of its own",
                  SKIP: "Skip: import nothing from this file"}
_CHECKED_KINDS = (KIND_DOCUMENT, KIND_TEXT, KIND_URL)  # unlabelled documents; a dataset brings labels to keep


class DecisionError(UserError):
    """A decision on a near-duplicate that is not merge, keep or skip."""


@dataclass(frozen=True)
class NearDuplicate:
    """A new file whose text is the same document as a stored report (``existing_id``) or as an earlier file of the
    same import (``earlier_file``, its report not stored yet)."""

    file: str
    report: int  # the report's index in its file (0 for a document)
    title: str
    existing_id: int | None
    existing_title: str
    earlier_file: str
    likeness: nd.Likeness
    earlier_report: int = 0  # the earlier file's report it is like

    @property
    def key(self) -> tuple[str, int]:
        return self.file, self.report

    @property
    def target(self) -> str:
        if self.existing_id is not None:
            return f"report #{self.existing_id} '{self.existing_title}'"
        return f"{self.earlier_file} ('{self.existing_title}') in this import"

    @property
    def question(self) -> str:
        """One line for a person: which file, like what, how alike."""
        share = max(self.likeness.jaccard, self.likeness.contained)
        return (f"{self.file} looks like the same document as {self.target}: {share:.0%} of its five-word runs "
                "match. Merge, keep both or skip?")


def check_decision(decision: str, where: str = "") -> str:
    """``decision`` in canonical form, or a one-line DecisionError."""
    value = (decision or "").strip().lower()
    if value not in DECISIONS:
        place = f"{where}: " if where else ""
        raise DecisionError(f"{place}'{decision}' is not a way to handle a near-duplicate; use merge, keep or skip")
    return value


# --- finding ----------------------------------------------------------------------------------------------------


def stored_fingerprints(store: Store) -> list[tuple[int, str, str, dict]]:
    """(id, title, content hash, fingerprint) of every stored report; missing or outdated fingerprints are made from
    the report's text and stored, once."""
    rows = store.report_fingerprints()
    missing = {rid: nd.fingerprint(store.get_report(rid).text) for rid, _, _, fp in rows if not nd.usable(fp)}
    if missing:
        store.set_report_fingerprints(missing)
    return [(rid, title, digest, missing.get(rid, fp)) for rid, title, digest, fp in rows]


def find_near_duplicates(store: Store, files: Sequence[PreparedFile]) -> list[NearDuplicate]:
    """Every new document of ``files`` that is the same document as a stored report or an earlier file of ``files``.

    Each new report gets its fingerprint (stored with it). A text already stored word for word is left to the store,
    which never stores it twice; datasets are not checked (their labels are not to be merged away).
    """
    stored = stored_fingerprints(store)
    hashes = {digest for _, _, digest, _ in stored}
    by_id = {rid: (title, fp) for rid, title, _, fp in stored}
    earlier: list[tuple[tuple[str, int, str], dict]] = []
    found: list[NearDuplicate] = []
    for prepared in files:
        for i, report in enumerate(prepared.reports):
            report.fingerprint = report.fingerprint if nd.usable(report.fingerprint) else nd.fingerprint(report.text)
            if prepared.kind not in _CHECKED_KINDS or content_hash(report.text) in hashes:
                earlier.append(((prepared.name, i, report.title), report.fingerprint))
                continue
            match = nd.best_match(report.fingerprint, [(rid, fp) for rid, (_, fp) in by_id.items()])
            if match is not None:
                found.append(NearDuplicate(prepared.name, i, report.title, match.key, by_id[match.key][0], "",
                                           match.likeness))
                continue
            match = nd.best_match(report.fingerprint, earlier)
            if match is not None:
                name, index, title = match.key
                found.append(NearDuplicate(prepared.name, i, report.title, None, title, name, match.likeness, index))
                continue
            earlier.append(((prepared.name, i, report.title), report.fingerprint))
    return found


# --- storing as decided -----------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What to store: the kept reports (per file), the merges into stored reports, and the outcome of each report
    that is not stored (a merge or a skip), filled in once the kept ones have ids."""

    keep: list[tuple[int, int, NewReport]] = field(default_factory=list)  # (file, report, the report)
    merges: list[tuple[int, str]] = field(default_factory=list)
    later: dict[tuple[int, int], Callable[[dict], ImportOutcome]] = field(default_factory=dict)


def _plan(store: Store, files: Sequence[PreparedFile], duplicates: Sequence[NearDuplicate],
          decisions: Mapping[tuple[str, int], str], default: str) -> _Plan:
    near = {d.key: d for d in duplicates}
    position = {(f.name, i): (n, i) for n, f in enumerate(files) for i in range(len(f.reports))}
    plan = _Plan()
    for n, prepared in enumerate(files):
        for i, report in enumerate(prepared.reports):
            dup = near.get((prepared.name, i))
            choice = check_decision(decisions.get((prepared.name, i), default), prepared.name) if dup else KEEP
            if choice == KEEP:
                plan.keep.append((n, i, report))
            elif dup.existing_id is not None:
                if choice == MERGE:
                    plan.merges.append((dup.existing_id, prepared.name))
                plan.later[(n, i)] = _fixed_outcome(store, dup, choice)
            else:
                target = position[(dup.earlier_file, dup.earlier_report)]
                if choice == MERGE:
                    files[target[0]].reports[target[1]].other_sources.append(prepared.name)
                plan.later[(n, i)] = _earlier_outcome(dup, choice, target)
    return plan


def _fixed_outcome(store: Store, dup: NearDuplicate, choice: str) -> Callable[[dict], ImportOutcome]:
    sentences = len(store.sentences(dup.existing_id)) if choice == MERGE else 0
    return lambda _stored: _outcome(dup.existing_id, dup.existing_title, sentences, choice, dup.target)


def _earlier_outcome(dup: NearDuplicate, choice: str, target: tuple[int, int]) -> Callable[[dict], ImportOutcome]:
    def outcome(stored: dict) -> ImportOutcome:
        kept = stored[target]
        return _outcome(kept.report_id, kept.title, kept.sentences, choice, f"report #{kept.report_id} '{kept.title}'")

    return outcome


def _outcome(report_id: int, title: str, sentences: int, choice: str, target: str) -> ImportOutcome:
    if choice == MERGE:
        message = f"merged into {target}: the same document, recorded as another source of it"
    else:
        message = f"skipped: the same document as {target}"
    return ImportOutcome(report_id, title, False, sentences, 0, message)


def store_decided(store: Store, files: Sequence[PreparedFile], user: str, duplicates: Sequence[NearDuplicate] = (),
                  decisions: Mapping[tuple[str, int], str] | None = None, default: str = KEEP) -> list[ImportResult]:
    """Store ``files`` in ONE transaction as decided: a near-duplicate is merged (the stored report stays, the file
    is recorded as another source of it), kept (stored as a report of its own) or skipped (nothing stored).

    ``decisions`` maps a near-duplicate's key (file name, report index) to merge, keep or skip; ``default`` decides
    the rest.
    """
    files = [replace(f, reports=[replace(r, other_sources=list(r.other_sources)) for r in f.reports]) for f in files]
    plan = _plan(store, files, duplicates, decisions or {}, check_decision(default))
    outcomes = store.add_reports([report for _, _, report in plan.keep], user, merges=plan.merges)
    stored = {(n, i): outcome for (n, i, _), outcome in zip(plan.keep, outcomes)}
    results = []
    for n, prepared in enumerate(files):
        mine = [stored[(n, i)] if (n, i) in stored else plan.later[(n, i)](stored)
                for i in range(len(prepared.reports))]
        results.append(ImportResult(source=prepared.name, kind=prepared.kind, outcomes=mine,
                                    warnings=prepared.warnings, skipped_rows=prepared.skipped_rows))
    return results


# --- the whole import -----------------------------------------------------------------------------------------------


Decide = Callable[[list[NearDuplicate]], Mapping[tuple[str, int], str]]


def import_checked(store: Store, sources: Sequence[tuple[str, Callable[[], PreparedFile]]], user: str,
                   decide: Decide, skip_bad_files: bool = False,
                   on_prepared: Callable[[int, str, str | None], None] | None = None) -> BatchResult:
    """importer.import_batch with near-duplicates found and ``decide``d (merge, keep or skip each) before the one
    transaction that stores them; undecided ones are kept."""
    prepared, failures = prepare_sources(sources, on_prepared)
    if failures and not skip_bad_files or not prepared:
        return BatchResult(results=[], failures=failures)
    duplicates = find_near_duplicates(store, prepared)
    decisions = decide(duplicates) if duplicates else {}
    return BatchResult(results=store_decided(store, prepared, user, duplicates, decisions), failures=failures)
