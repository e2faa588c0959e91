"""Small ATT&CK STIX bundles written by the tests (a few attack-patterns shaped like MITRE's, with revoked-by
relationships, a deprecated technique and a collection that names the release), and a stored report whose labels
such a bundle outdates."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

from tram_core.store import LABELLED, REVIEWED, UNLABELLED, NewSentence

MITRE = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"


def _uuid(key: str) -> uuid.UUID:
    """A UUIDv4-shaped id derived from ``key``, as ATT&CK's ids are version 4."""
    return uuid.UUID(bytes=hashlib.sha256(key.encode()).digest()[:16], version=4)


def pattern_id(technique_id: str) -> str:
    return f"attack-pattern--{_uuid('test-bundle/' + technique_id)}"


def attack_pattern(technique_id: str, name: str, tactics=("execution",), **extra) -> dict:
    """An attack-pattern as ATT&CK's enterprise bundle writes one."""
    return {
        "type": "attack-pattern", "spec_version": "2.1", "id": pattern_id(technique_id),
        "created": "2020-01-01T00:00:00.000Z", "modified": "2026-04-01T00:00:00.000Z", "created_by_ref": MITRE,
        "name": name, "description": f"{name}: adversaries may do this. (Citation: Someone)",
        "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": t} for t in tactics],
        "external_references": [{"source_name": "mitre-attack", "external_id": technique_id,
                                 "url": f"https://attack.mitre.org/techniques/{technique_id.replace('.', '/')}"}],
        "x_mitre_is_subtechnique": "." in technique_id, "x_mitre_domains": ["enterprise-attack"],
        "x_mitre_platforms": ["Windows"], **extra,
    }


def revoked_by(old: str, new: str) -> dict:
    return {"type": "relationship", "spec_version": "2.1", "relationship_type": "revoked-by",
            "id": f"relationship--{_uuid(old + '->' + new)}",
            "source_ref": pattern_id(old), "target_ref": pattern_id(new),
            "created": "2026-04-01T00:00:00.000Z", "modified": "2026-04-01T00:00:00.000Z"}


def write_bundle(path: Path, objects: list[dict], version: str | None = "19.0") -> Path:
    collection = [{"type": "x-mitre-collection", "id": "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019",
                   "name": "Enterprise ATT&CK", "x_mitre_version": version}] if version else []
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--0f5f1533-f617-4ca8-9ab4-6a02367fa019",
                                "objects": collection + objects}), encoding="utf-8")
    return path


def remap_bundle(path: Path, version: str = "19.0") -> Path:
    """ATT&CK 'v19.0' as the remap tests know it: T1574.002 revoked in favour of T1574.001 (replaced), T1086 revoked
    in favour of T1059.001 (moved: a technique made a sub-technique), T1027 deprecated, T1047 gone; T1055,
    T1003.001 current."""
    objects = [
        attack_pattern("T1055", "Process Injection", ("defense-evasion",)),
        attack_pattern("T1003.001", "LSASS Memory", ("credential-access",)),
        attack_pattern("T1574.001", "DLL", ("persistence",)),
        attack_pattern("T1574.002", "DLL Side-Loading", ("persistence",), revoked=True),
        attack_pattern("T1059.001", "PowerShell"),
        attack_pattern("T1086", "PowerShell", revoked=True),
        attack_pattern("T1027", "Obfuscated Files or Information", ("defense-evasion",), x_mitre_deprecated=True),
        revoked_by("T1574.002", "T1574.001"),
        revoked_by("T1086", "T1059.001"),
    ]
    return write_bundle(path, objects, version)


SENTENCES = [  # (text, labels, status)
    ("It side-loaded a DLL.", ("T1574.002",), LABELLED),
    ("It side-loaded the DLL next to a signed binary.", ("T1574.001", "T1574.002"), REVIEWED),
    ("It ran PowerShell.", ("T1086", "T1055"), LABELLED),
    ("The payload was packed.", ("T1027",), LABELLED),
    ("It used WMI.", ("T1047",), LABELLED),
    ("It injected into explorer.exe.", ("T1055",), LABELLED),
    ("The weather was fine.", (), UNLABELLED),
]


def stored_report(store) -> list[int]:
    """A report of SENTENCES; its sentence ids in order."""
    text, sentences = "", []
    for sentence, labels, status in SENTENCES:
        start = len(text)
        text += sentence + " "
        sentences.append(NewSentence(sentence, start, start + len(sentence), labels, status))
    report_id = store.add_report("Remap report", text, sentences, user="importer").report_id
    return [s.id for s in store.sentences(report_id=report_id)]
