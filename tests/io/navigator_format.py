"""A check of a layer against the ATT&CK Navigator layer format v4.5 (layers/spec/v4.5/layerformat.md of
mitre-attack/attack-navigator): the property names, their types and the values the format allows."""

from __future__ import annotations

import re

LAYER_PROPERTIES = {"versions", "name", "description", "domain", "customDataURL", "filters", "sorting", "layout",
                    "hideDisabled", "techniques", "gradient", "legendItems", "showTacticRowBackground",
                    "tacticRowBackground", "selectTechniquesAcrossTactics", "selectSubtechniquesWithParent",
                    "selectVisibleTechniques", "metadata", "links"}
TECHNIQUE_PROPERTIES = {"techniqueID", "tactic", "comment", "enabled", "score", "color", "metadata", "links",
                        "showSubtechniques"}
COLOR = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")
TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _check_metadata(items: list) -> None:
    for item in items:
        assert item == {"divider": True} or (set(item) == {"name", "value"} and all(
            isinstance(v, str) for v in item.values())), item


def assert_layer_format(layer: dict) -> None:
    """Fail naming the first property of ``layer`` that the v4.5 format does not allow."""
    assert set(layer) <= LAYER_PROPERTIES, set(layer) - LAYER_PROPERTIES
    assert isinstance(layer["name"], str) and layer["name"] and layer["domain"] == "enterprise-attack"
    versions = layer["versions"]
    assert versions["layer"] == "4.5" and _version_tuple(versions["navigator"]) >= (4, 9, 0)
    assert "attack" not in versions or versions["attack"].isdigit()
    assert layer["sorting"] in (0, 1, 2, 3) and layer["layout"]["layout"] in ("side", "flat", "mini")
    assert layer["layout"]["aggregateFunction"] in ("average", "min", "max", "sum")
    assert layer["layout"]["expandedSubtechniques"] in ("none", "all", "annotated")
    gradient = layer["gradient"]
    assert len(gradient["colors"]) >= 2 and all(COLOR.match(c) for c in gradient["colors"])
    assert gradient["maxValue"] > gradient["minValue"]
    assert all(set(item) == {"label", "color"} and COLOR.match(item["color"]) for item in layer["legendItems"])
    _check_metadata(layer["metadata"])
    ids = [t["techniqueID"] for t in layer["techniques"]]
    assert len(ids) == len(set(ids)), "one entry per technique"
    for technique in layer["techniques"]:
        assert set(technique) <= TECHNIQUE_PROPERTIES and TECHNIQUE_ID.match(technique["techniqueID"]), technique
        assert "score" not in technique or isinstance(technique["score"], (int, float))
        assert "color" not in technique or COLOR.match(technique["color"])
        assert isinstance(technique.get("comment", ""), str) and isinstance(technique.get("enabled", True), bool)
        _check_metadata(technique.get("metadata", []))
