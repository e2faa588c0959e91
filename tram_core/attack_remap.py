"""Moving stored labels to another ATT&CK version: which labelled techniques a catalog revokes, deprecates, moves or
lacks, their replacements, and applying the replacements through the label history (who, when, before, after).

Listing (``plan_remap``) changes nothing. Applying (``apply_remap``) needs the maintainer's permission to edit the
label space; each sentence is relabelled with ``Store.set_labels``, so the label history and undo see the change,
and one audit row sums the remap up.
"""

from __future__ import annotations

from dataclasses import dataclass

from tram_core.access import require
from tram_core.accounts import audit
from tram_core.attack import Catalog, parent_of
from tram_core.store import ConflictError, NotFoundError, Store

REVOKED = "revoked"  # revoked in the catalog, with no replacement
REPLACED = "replaced"  # revoked in favour of another technique (a revoked-by relationship)
MOVED = "moved"  # revoked in favour of the same behaviour under another number (made a sub-technique, or moved)
DEPRECATED = "deprecated"
MISSING = "not in this ATT&CK"


@dataclass(frozen=True)
class LabelChange:
    """One stored technique the catalog no longer holds as current, and what replaces it (None: nothing does)."""

    technique: str
    name: str
    change: str  # REVOKED, REPLACED, MOVED, DEPRECATED or MISSING
    replacement: str | None
    sentence_ids: tuple[int, ...]

    @property
    def note(self) -> str:
        if self.replacement:
            return f"{self.change}: use {self.replacement}"
        return f"{self.change}; no replacement: relabel by hand"


@dataclass(frozen=True)
class RemapPlan:
    """Every stored technique the catalog (``catalog`` names it) revokes, deprecates, moves or lacks."""

    catalog: str
    changes: tuple[LabelChange, ...]

    @property
    def replaceable(self) -> tuple[LabelChange, ...]:
        return tuple(c for c in self.changes if c.replacement)

    @property
    def mapping(self) -> dict[str, str]:
        """Old technique -> its replacement, for the changes that have one."""
        return {c.technique: c.replacement for c in self.replaceable}

    @property
    def sentences_to_relabel(self) -> int:
        return len({sid for c in self.replaceable for sid in c.sentence_ids})


@dataclass(frozen=True)
class RemapResult:
    """What applying a plan did: sentences relabelled, and those skipped because someone changed them meanwhile."""

    relabelled: tuple[int, ...]
    skipped: tuple[int, ...]


def _change_kind(catalog: Catalog, technique_id: str, replacement: str | None) -> str | None:
    tech = catalog.get(technique_id)
    if tech is None:
        return MISSING
    if tech.revoked:
        if replacement is None:
            return REVOKED
        moved = parent_of(technique_id) != parent_of(replacement) or ("." in technique_id) != ("." in replacement)
        return MOVED if moved else REPLACED
    return DEPRECATED if tech.deprecated else None


def plan_remap(store: Store, catalog: Catalog) -> RemapPlan:
    """Every stored label whose technique ``catalog`` revokes, deprecates, moves or lacks; changes nothing."""
    changes = []
    for technique in sorted(store.technique_counts(), key=_id_key):
        replacement = catalog.current_replacement(technique)
        kind = _change_kind(catalog, technique, replacement)
        if kind is None:
            continue
        known = catalog.get(technique)
        sentence_ids = tuple(s.id for s in store.sentences(technique=technique))
        changes.append(LabelChange(technique, known.name if known else "", kind, replacement, sentence_ids))
    return RemapPlan(catalog.description, tuple(changes))


def apply_remap(store: Store, user: str, plan: RemapPlan) -> RemapResult:
    """Relabel every sentence of ``plan``'s replaceable changes (the old technique swapped for its replacement), each
    through the label history as ``user``; needs the permission to edit the label space."""
    actor = require(user, "edit the label space")
    mapping = plan.mapping
    relabelled, skipped = [], []
    for sentence_id in sorted({sid for c in plan.replaceable for sid in c.sentence_ids}):
        try:
            sentence = store.get_sentence(sentence_id)
        except NotFoundError:
            continue  # deleted since the plan was made: nothing to relabel
        new_labels = sorted({mapping.get(t, t) for t in sentence.labels})
        if new_labels == sorted(sentence.labels):
            continue  # relabelled by someone else since the plan was made
        try:
            store.set_labels(sentence.id, new_labels, actor.name, status=sentence.status,
                             expected_version=sentence.version)
        except ConflictError:
            skipped.append(sentence.id)
            continue
        relabelled.append(sentence.id)
    if relabelled:
        before = {c.technique: len(c.sentence_ids) for c in plan.replaceable}
        audit(store, actor.name, "label space", f"ATT&CK remap to {plan.catalog}", before=before,
              after={**mapping, "sentences relabelled": len(relabelled)})
    return RemapResult(tuple(relabelled), tuple(skipped))


def _id_key(technique_id: str) -> tuple[int, int, str]:
    base, _, sub = technique_id[1:].partition(".")
    return (int(base) if base.isdigit() else 0, int(sub) if sub.isdigit() else 0, technique_id)
