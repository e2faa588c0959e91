"""STIX 2.1 bundles of one report or the corpus: a report per stored report, pointing at ATT&CK's attack-patterns,
with each evidence sentence (labelled, or found by a model) as a note on the report and the technique.

What a bundle holds:

- an ``identity`` for TRAM (the tool that made the mapping: ``created_by_ref`` of everything TRAM writes);
- an ``extension-definition`` for ``x_tram_attack_version``: the ATT&CK release the mapping used, on each report;
- one ``attack-pattern`` per technique, with ATT&CK's own STIX id, timestamps and ``created_by_ref`` from the
  catalog (the embedded data and official bundles both carry them), its ``mitre-attack`` external reference (the
  technique ID and URL) and tactics. A stored technique the catalog lacks gets a stand-in with a deterministic id of
  TRAM's, created by TRAM, whose description says so. A revoked technique is exported as its replacement;
- one ``report`` per report with labelled techniques or findings: name, published (the import time),
  ``object_refs`` to its attack-patterns;
- one ``note`` per evidence sentence and technique: the sentence as ``content``, what put it there as ``abstract``
  (``labels`` ``tram-labelled`` or ``tram-model-finding``; a finding's ``confidence`` is its score in percent),
  ``object_refs`` to the report and the attack-pattern.

Report text is data: titles and sentences go into STIX strings as they are, never rendered or escaped as markup.
Ids TRAM makes are derived from what they name (UUIDv4-shaped), so exporting again gives the same ids with a newer
``modified``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from tram_core.attack import Catalog, Technique, load_catalog
from tram_core.errors import UserError
from tram_core.store import Example, Report, Store

STIX_CONTENTS = ("labelled", "model", "both")  # what a bundle holds: labelled sentences, a model's findings, or both
MITRE_IDENTITY = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"  # ATT&CK's creator, "The MITRE Corporation"
TRAM_NAME = "TRAM (Threat Report ATT&CK Mapper)"
TRAM_SINCE = "2025-01-01T00:00:00.000Z"  # created/modified of the objects that never change: identity, extension
LABELLED_NOTE, FINDING_NOTE = "tram-labelled", "tram-model-finding"
VERSION_PROPERTY = "x_tram_attack_version"


def tram_stix_id(kind: str, key: str) -> str:
    """A deterministic STIX id of ``kind`` for what ``key`` names (UUIDv4-shaped, as STIX recommends for SDOs)."""
    digest = hashlib.sha256(f"tram|{kind}|{key}".encode("utf-8")).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


TRAM_IDENTITY = tram_stix_id("identity", "tram")
VERSION_EXTENSION = tram_stix_id("extension-definition", VERSION_PROPERTY)


@dataclass(frozen=True)
class StixFinding:
    """A technique a model finds in a report: its report evidence and best sentences (text, score), best first."""

    technique: str
    evidence: float | None
    sentences: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class StixFindings:
    """A model's findings in one report: the model as the notes name it (``#3 run-3``) and its techniques."""

    model: str
    techniques: tuple[StixFinding, ...]


def stix_export(store: Store, report_id: int | None, labelled: bool = True, findings: StixFindings | None = None,
                catalog: Catalog | None = None) -> bytes:
    """The STIX 2.1 bundle (JSON bytes) of one report or, ``report_id`` None, of every report: its labelled
    sentences (``labelled``), a model's ``findings`` in the one report, or both."""
    bundle = stix_bundle(store, report_id, labelled, findings, catalog)
    # stix2's own pretty printing grows with the square of the bundle (minutes for a corpus): indent its compact JSON.
    document = json.loads(bundle.serialize())
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def stix_bundle(store: Store, report_id: int | None, labelled: bool = True, findings: StixFindings | None = None,
                catalog: Catalog | None = None):
    """The ``stix2`` Bundle that ``stix_export`` writes; a UserError when it would hold no technique."""
    from stix2.v21 import Bundle

    if not labelled and findings is None:
        raise UserError("Nothing to export: choose the labelled sentences, the model's findings, or both")
    if findings is not None and report_id is None:
        raise UserError("The model's findings go into a STIX bundle of one report: choose a report")
    writer = _BundleWriter(catalog or load_catalog())
    reports = [store.get_report(report_id)] if report_id is not None else [
        store.get_report(r.id) for r in store.list_reports()]
    examples = _examples_by_report(store, report_id) if labelled else {}
    for report in reports:
        writer.add_report(report, examples.get(report.id, []), findings)
    if not writer.reports:
        where = f"report {report_id}" if report_id is not None else "any report"
        what = "labelled technique" if findings is None else "labelled technique or model finding"
        raise UserError(f"Nothing to export: {where} has no {what}")
    return Bundle(objects=writer.objects(), allow_custom=True)


def _examples_by_report(store: Store, report_id: int | None) -> dict[int, list[Example]]:
    found: dict[int, list[Example]] = {}
    for example in store.examples(report_id=report_id):
        if example.labels:
            found.setdefault(example.report_id, []).append(example)
    return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


class _BundleWriter:
    """Collects a bundle's objects: TRAM's identity, the version extension, attack-patterns, reports and notes."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.now = datetime.now(timezone.utc)
        self.patterns: dict[str, object] = {}
        self.reports: list = []
        self.notes: list = []

    def objects(self) -> list:
        return [_tram_identity(), _version_extension(), *self.patterns.values(), *self.reports, *self.notes]

    def add_report(self, report: Report, examples: list[Example], findings: StixFindings | None) -> None:
        """The report's object and its notes, when it has a labelled technique or a finding; else nothing."""
        from stix2.v21 import Report as StixReport

        report_ref = tram_stix_id("report", f"{report.content_hash}|{report.title}")
        created = _utc(report.created_at)
        notes = [self._labelled_note(report_ref, created, ex, tid) for ex in examples for tid in ex.labels]
        if findings is not None:
            notes += [self._finding_note(report_ref, created, findings.model, finding, text, score)
                      for finding in findings.techniques for text, score in finding.sentences]
        if not notes:
            return
        refs = list(dict.fromkeys(ref for note in notes for ref in note.object_refs if ref != report_ref))
        version = self.catalog.version
        self.reports.append(StixReport(
            id=report_ref, created_by_ref=TRAM_IDENTITY, created=created, modified=max(self.now, created),
            name=report.title or f"Report {report.id}", published=created, report_types=["threat-report"],
            description=f"MITRE ATT&CK v{version} techniques TRAM mapped in this report: {len(refs)} technique(s), "
                        f"{len(notes)} evidence sentence(s) as notes.",
            object_refs=refs, external_references=_source_reference(report.source),
            extensions={VERSION_EXTENSION: {"extension_type": "toplevel-property-extension"}},
            allow_custom=True, **{VERSION_PROPERTY: version}))
        self.notes.extend(notes)

    def _labelled_note(self, report_ref: str, created: datetime, example: Example, tid: str):
        pattern_ref, shown, how = self._pattern(tid, "labelled")
        abstract = f"{shown}: labelled by an analyst{how}"
        return self._note(f"{report_ref}|labelled|{example.sentence_id}|{tid}", report_ref, pattern_ref, created,
                          example.text, abstract, LABELLED_NOTE)

    def _finding_note(self, report_ref: str, created: datetime, model: str, finding: StixFinding, text: str,
                      score: float):
        pattern_ref, shown, how = self._pattern(finding.technique, "found")
        evidence = f", report evidence {finding.evidence:.2f}" if finding.evidence is not None else ""
        abstract = f"{shown}: found by model {model} (sentence score {score:.2f}{evidence}){how}"
        key = f"{report_ref}|model|{model}|{finding.technique}|{text}"
        return self._note(key, report_ref, pattern_ref, created, text, abstract, FINDING_NOTE,
                          confidence=max(0, min(100, round(100 * score))))

    def _note(self, key: str, report_ref: str, pattern_ref: str, created: datetime, text: str, abstract: str,
              label: str, **extra):
        from stix2.v21 import Note

        return Note(id=tram_stix_id("note", key), created_by_ref=TRAM_IDENTITY, created=created,
                    modified=max(self.now, created), abstract=abstract, content=text or "(empty sentence)",
                    object_refs=[report_ref, pattern_ref], labels=[label], **extra)

    def _pattern(self, tid: str, how: str) -> tuple[str, str, str]:
        """The attack-pattern id for ``tid`` (a revoked one's replacement), its ``T1055 Name``, and a note on
        the replacement ("" when none)."""
        tech = self.catalog.get(tid)
        replacement = self.catalog.current_replacement(tid)
        note = ""
        if replacement is not None:
            note = f"; {how} as {tid}, which ATT&CK revoked in favour of {replacement}"
            tid, tech = replacement, self.catalog.get(replacement)
        if tid not in self.patterns:
            self.patterns[tid] = _attack_pattern(tid, tech, self.catalog.version)
        shown = f"{tid} {tech.name}" if tech is not None else tid
        return self.patterns[tid].id, shown, note


def _attack_pattern(tid: str, tech: Technique | None, version: str):
    """ATT&CK's attack-pattern for ``tid`` (its id, timestamps, creator), or TRAM's stand-in when the catalog has
    none."""
    from stix2.v21 import AttackPattern

    url = (tech.url if tech is not None and tech.url else
           f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}")
    common = {"external_references": [{"source_name": "mitre-attack", "external_id": tid, "url": url}]}
    if tech is not None and tech.tactics:
        common["kill_chain_phases"] = [{"kill_chain_name": "mitre-attack", "phase_name": t} for t in tech.tactics]
    if tech is not None and tech.stix_id and tech.created and tech.modified:
        return AttackPattern(id=tech.stix_id, created=tech.created, modified=tech.modified,
                             created_by_ref=MITRE_IDENTITY, name=tech.name or tid, **common)
    name = tech.name if tech is not None and tech.name else tid
    return AttackPattern(
        id=tram_stix_id("attack-pattern", tid), created=TRAM_SINCE, modified=TRAM_SINCE, created_by_ref=TRAM_IDENTITY,
        name=name, description=f"TRAM's stand-in for {tid}: ATT&CK v{version} as TRAM reads it has no STIX object "
                               "for this technique, so this id is TRAM's, not ATT&CK's.", **common)


def _source_reference(source: str) -> list[dict]:
    """The report's web address as an external reference; none for a file or pasted text."""
    source = (source or "").strip()
    if source.lower().startswith(("http://", "https://")):
        return [{"source_name": "report source", "url": source}]
    return []


def _tram_identity():
    from stix2.v21 import Identity

    return Identity(id=TRAM_IDENTITY, created=TRAM_SINCE, modified=TRAM_SINCE, name=TRAM_NAME,
                    identity_class="system", description="Maps threat-report sentences to MITRE ATT&CK techniques, "
                                                         "by analysts' labels and trained models.")


def _version_extension():
    from stix2.v21 import ExtensionDefinition

    return ExtensionDefinition(
        id=VERSION_EXTENSION, created_by_ref=TRAM_IDENTITY, created=TRAM_SINCE, modified=TRAM_SINCE,
        name="TRAM ATT&CK version", version="1.0.0",
        description="The MITRE ATT&CK release a TRAM report's techniques were mapped with.",
        extension_types=["toplevel-property-extension"], extension_properties=[VERSION_PROPERTY],
        schema=f"{VERSION_PROPERTY} (string, on a report): the MITRE ATT&CK release, such as 18.1, whose techniques "
               "TRAM mapped the report to.")
