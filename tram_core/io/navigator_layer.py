"""ATT&CK Navigator layers of the labelled techniques (one report or the corpus), plus a model's findings if given;
and the layer document every TRAM layer shares (format 4.5, the catalog's ATT&CK version)."""

from __future__ import annotations

from dataclasses import dataclass

from tram_core.attack import Catalog, load_catalog, parent_of
from tram_core.store import Store

NAVIGATOR_VERSIONS = {"attack": "18", "navigator": "5.1.0", "layer": "4.5"}  # "attack": the catalog's major version
NAVIGATOR_MODEL_COLOR = "#66b1ffff"  # techniques a model finds in a report that no sentence is labelled with
NAVIGATOR_COMMENT_SENTENCES = 5
NAVIGATOR_COMMENT_CHARS = 240
_PLATFORMS = ["Windows", "Linux", "macOS", "Network", "PRE", "Containers", "IaaS", "SaaS", "Office Suite",
              "Identity Provider", "ESXi"]


@dataclass(frozen=True)
class ModelFindings:
    """What a model finds in one report that no sentence is labelled with: the model as the layer names it
    (``#3 run 3``) and, per technique, the comment of its entry."""

    model: str
    techniques: tuple[tuple[str, str], ...]


def navigator_export(store: Store, report_id: int | None, findings: ModelFindings | None = None) -> dict:
    """The layer of one report (plus a model's ``findings`` there, in their own colour) or of the corpus."""
    if report_id is None:
        return navigator_layer(store, "TRAM corpus", "Techniques labelled in every TRAM report", None)
    report = store.get_report(report_id)
    description = f"Techniques labelled in '{report.title}' (TRAM)"
    if findings is not None:
        description += f", and techniques model {findings.model} finds there that are not labelled yet"
    return navigator_layer(store, report.title[:100], description, report_id,
                           list(findings.techniques) if findings is not None else None)


def navigator_layer(store: Store, name: str, description: str, report_id: int | None,
                    findings: list[tuple[str, str]] | None = None) -> dict:
    """A layer scoring each technique by its labelled sentences, plus ``findings`` (technique, comment)."""
    catalog = load_catalog()
    examples = store.examples(include_unlabelled=False, report_id=report_id)
    entries = _labelled_entries(examples, catalog) + _finding_entries(findings or [], catalog)
    merged = _merged(entries)
    expand_parents(merged, {parent_of(e["techniqueID"]) for e in entries if "." in e["techniqueID"]})
    return _layer(name, description, merged, len(examples), findings, catalog)


def shown_technique(catalog: Catalog, tid: str, how: str) -> tuple[str, str]:
    """The ID to show (a revoked ID's current replacement) and a note saying so, or (tid, "")."""
    replacement = catalog.current_replacement(tid)
    if replacement is not None:
        return replacement, f"{how} as {tid}, which ATT&CK revoked in favour of {replacement}\n"
    return tid, ""


def _labelled_entries(examples, catalog: Catalog) -> list[dict]:
    """One scored entry per labelled technique: its sentence count, and the first sentences as its comment."""
    by_technique: dict[str, list[str]] = {}
    for ex in examples:
        for tech in ex.labels:
            by_technique.setdefault(tech, []).append(ex.text)
    entries = []
    for tid in sorted(by_technique, key=_id_sort):
        texts = by_technique[tid]
        shown_id, note = shown_technique(catalog, tid, "labelled")
        comment_lines = [truncate_comment(t, NAVIGATOR_COMMENT_CHARS) for t in texts[:NAVIGATOR_COMMENT_SENTENCES]]
        if len(texts) > NAVIGATOR_COMMENT_SENTENCES:
            comment_lines.append(f"(and {len(texts) - NAVIGATOR_COMMENT_SENTENCES} more sentences)")
        entries.append({
            "techniqueID": shown_id, "score": len(texts), "comment": note + "\n".join(f"- {c}" for c in comment_lines),
            "enabled": True, "metadata": [], "links": [], "showSubtechniques": False,
        })
    return entries


def _finding_entries(findings: list[tuple[str, str]], catalog: Catalog) -> list[dict]:
    """One entry per model finding; no score: drawn in their own colour, not on the labelled gradient."""
    entries = []
    for tid, comment in findings:
        shown_id, note = shown_technique(catalog, tid, "found")
        entries.append({
            "techniqueID": shown_id, "color": NAVIGATOR_MODEL_COLOR, "comment": note + comment, "enabled": True,
            "metadata": [{"name": "source", "value": "model"}], "links": [], "showSubtechniques": False,
        })
    return entries


def _merged(entries: list[dict]) -> dict[str, dict]:
    """One entry per ID: a revoked ID's and its replacement's labels merged; labels win over findings."""
    merged: dict[str, dict] = {}
    for entry in entries:
        current = merged.get(entry["techniqueID"])
        if current is None:
            merged[entry["techniqueID"]] = entry
        elif "score" in current and "score" in entry:
            current["score"] += entry["score"]
            current["comment"] += "\n" + entry["comment"]
    return merged


def expand_parents(merged: dict[str, dict], parents: set[str]) -> None:
    """Show the sub-techniques of each parent in ``parents``, adding an entry for a parent not in the layer."""
    for parent in sorted(parents):
        if parent in merged:
            merged[parent]["showSubtechniques"] = True
        else:
            merged[parent] = {"techniqueID": parent, "enabled": True, "metadata": [], "links": [],
                              "showSubtechniques": True}


def _layer(name: str, description: str, merged: dict[str, dict], labelled_sentences: int,
           findings: list[tuple[str, str]] | None, catalog: Catalog) -> dict:
    """The labelled layer: sentence counts on a yellow-to-red gradient, findings in their own colour."""
    # Navigator needs maxValue above minValue: a layer whose techniques all have one sentence still spans 1 to 2,
    # but its legend names only the counts it holds ("1 sentence", never "1 sentences" or an absent "2 sentences").
    most = max((e.get("score", 0) for e in merged.values()), default=0)
    max_score = max(most, 2)
    legend = [{"label": "labelled in 1 sentence", "color": "#ffe766ff"}]
    if most > 1:
        legend.append({"label": f"labelled in {most} sentences", "color": "#ff6666ff"})
    metadata = [{"name": "labelled sentences", "value": str(labelled_sentences)}]
    if findings:
        legend.append({"label": "found by the model, not labelled yet", "color": NAVIGATOR_MODEL_COLOR})
        metadata.append({"name": "model findings", "value": str(sum(1 for e in merged.values() if "color" in e))})
    gradient = {"colors": ["#ffe766ff", "#ff6666ff"], "minValue": 1, "maxValue": max_score}
    return layer_document(name, description, list(merged.values()), gradient, legend, metadata, catalog)


def layer_versions(catalog: Catalog) -> dict:
    """The layer's ``versions``: the catalog's ATT&CK major version (left out when unknown), Navigator's, 4.5."""
    versions = {**NAVIGATOR_VERSIONS, "attack": catalog.major_version}
    return versions if versions["attack"] else {k: v for k, v in versions.items() if k != "attack"}


def layer_document(name: str, description: str, techniques: list[dict], gradient: dict, legend: list[dict],
                   metadata: list[dict], catalog: Catalog) -> dict:
    """A layer in Navigator's format 4.5 for the catalog's ATT&CK version, techniques in ID order, scores sorted
    high to low."""
    return {
        "name": name,
        "versions": layer_versions(catalog),
        "domain": "enterprise-attack",
        "description": description,
        "filters": {"platforms": list(_PLATFORMS)},
        "sorting": 3,  # by score, descending
        "layout": {"layout": "side", "aggregateFunction": "average", "showID": True, "showName": True,
                   "showAggregateScores": False, "countUnscored": False, "expandedSubtechniques": "annotated"},
        "hideDisabled": False,
        "techniques": sorted(techniques, key=lambda e: _id_sort(e["techniqueID"])),
        "gradient": gradient,
        "legendItems": legend,
        "metadata": [{"name": "generated by", "value": "TRAM dashboard"},
                     {"name": "ATT&CK version", "value": catalog.version}, *metadata],
        "links": [],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }


def _id_sort(tid: str) -> tuple[int, int]:
    base, _, sub = tid[1:].partition(".")
    return (int(base) if base.isdigit() else 0, int(sub) if sub.isdigit() else 0)


def truncate_comment(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word to at most ``limit`` characters (an ellipsis says so)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
