"""ATT&CK Navigator layers of a trained model's coverage: each technique of its label space scored by its test F1,
or by its training support (labelled training sentences), with a comment giving both.

The F1 is the one the Evaluate page shows: the model's stored test scores per technique at its tuned thresholds
(``metrics['at_tuned']``, else at 0.5). The support counts the model's training sentences (its recorded split) that
carry each technique with today's labels; a model without a recorded split counts every labelled sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from tram_core.attack import Catalog, load_catalog, parent_of
from tram_core.errors import UserError
from tram_core.io.navigator_layer import expand_parents, layer_document, shown_technique
from tram_core.store import Store, TrainedModel

COVERAGE_KINDS = ("f1", "support")  # what scores a technique: its test F1, or its training sentences
COVERAGE_COLORS = ["#ff6666ff", "#ffe766ff", "#8ec843ff"]  # low (red) through middling (yellow) to high (green)
NOT_MEASURED_COLOR = "#c8c8c8ff"  # a technique with no test sentence: its F1 was not measured


@dataclass(frozen=True)
class TechniqueCoverage:
    """One class of the model: its test scores (None when it had no test sentence) and training sentences."""

    technique: str
    f1: float | None
    precision: float | None
    recall: float | None
    test_sentences: int
    training_sentences: int

    def comment(self, threshold: float | None) -> str:
        trained = f"{self.training_sentences} training sentence(s)"
        if self.f1 is None:
            return f"not measured: no test sentence carries it · {trained}"
        cut = f" · threshold {threshold:.2f}" if threshold is not None else ""
        return (f"test F1 {self.f1:.2f} (precision {_fmt(self.precision)}, recall {_fmt(self.recall)}) on "
                f"{self.test_sentences} test sentence(s){cut} · {trained}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def technique_coverage(store: Store, model: TrainedModel) -> tuple[list[TechniqueCoverage], str]:
    """Per class of ``model``: test scores and training sentences; and where the training counts come from."""
    scores = (model.metrics or {}).get("at_tuned") or (model.metrics or {}).get("at_0_5") or {}
    per_technique = {str(item.get("technique")): item for item in scores.get("per_technique") or []}
    training, counted = _training_counts(store, model)
    rows = []
    for tid in model.classes:
        item = per_technique.get(tid, {})
        support = int(item.get("support") or 0)
        rows.append(TechniqueCoverage(tid, _number(item.get("f1")) if support else None,
                                      _number(item.get("precision")) if support else None,
                                      _number(item.get("recall")) if support else None, support,
                                      training.get(tid, 0)))
    return rows, counted


def _training_counts(store: Store, model: TrainedModel) -> tuple[dict[str, int], str]:
    """Labelled training sentences per class of ``model`` (today's labels), and which sentences were counted."""
    split = (model.options or {}).get("split") or {}
    train_ids = set(split.get("train") or []) if isinstance(split, dict) else set()
    classes = set(model.classes)
    counts: dict[str, int] = {}
    for example in store.examples():
        if train_ids and example.sentence_id not in train_ids:
            continue
        for tid in classes.intersection(example.labels):
            counts[tid] = counts.get(tid, 0) + 1
    counted = ("the model's training sentences, with today's labels" if train_ids else
               "every labelled sentence (the model's training split is not recorded)")
    return counts, counted


def model_coverage_layer(store: Store, model_id: int, by: str = "f1", catalog: Catalog | None = None) -> dict:
    """The Navigator layer of model ``model_id``'s label space scored ``by`` test F1 or training support."""
    if by not in COVERAGE_KINDS:
        raise UserError(f"Unknown coverage '{by}'; use one of {', '.join(COVERAGE_KINDS)}")
    catalog = catalog or load_catalog()
    model = store.get_model(model_id)
    rows, counted = technique_coverage(store, model)
    if by == "f1" and all(row.f1 is None for row in rows):
        raise UserError(f"Model #{model.id} has no test scores per technique (it was trained without a test "
                        "split, or imported): score it by training support instead")
    entries = _coverage_entries(rows, by, _thresholds(model), catalog)
    expand_parents(entries, {parent_of(t) for t in entries if "." in t})
    return _coverage_document(model, by, entries, rows, counted, catalog)


def _thresholds(model: TrainedModel) -> dict[str, float]:
    """The model's tuned threshold per class, as stored (``per_technique`` over ``global``, or the older flat dict)."""
    stored = model.thresholds if isinstance(model.thresholds, dict) else {}
    per = stored.get("per_technique")
    per = per if isinstance(per, dict) else stored
    default = _number(stored.get("global"))
    found = {}
    for tid in model.classes:
        value = _number(per.get(tid))
        value = default if value is None else value
        if value is not None:
            found[tid] = value
    return found


def _coverage_entries(rows: list[TechniqueCoverage], by: str, thresholds: dict,
                      catalog: Catalog) -> dict[str, dict]:
    """One entry per shown technique (a revoked class as its replacement, said in the comment)."""
    entries: dict[str, dict] = {}
    for row in rows:
        shown_id, note = shown_technique(catalog, row.technique, "a class")
        comment = note + row.comment(_number(thresholds.get(row.technique)))
        if shown_id in entries:  # a revoked class and its replacement both in the label space: one entry, both notes
            entries[shown_id]["comment"] += "\n" + comment
            continue
        entry = {"techniqueID": shown_id, "comment": comment, "enabled": True, "links": [],
                 "showSubtechniques": False, "metadata": [
                     {"name": "test F1", "value": _fmt(row.f1)},
                     {"name": "training sentences", "value": str(row.training_sentences)}]}
        if by == "support":
            entry["score"] = row.training_sentences
        elif row.f1 is not None:
            entry["score"] = round(row.f1, 3)
        else:
            entry["color"] = NOT_MEASURED_COLOR
        entries[shown_id] = entry
    return entries


def _coverage_document(model: TrainedModel, by: str, entries: dict[str, dict], rows: list[TechniqueCoverage],
                       counted: str, catalog: Catalog) -> dict:
    """The layer: F1 from 0 to 1, or training sentences from 0 to the most, on a red-yellow-green gradient."""
    if by == "f1":
        name, top = f"TRAM model #{model.id} test F1", 1
        legend = [{"label": "test F1 0", "color": COVERAGE_COLORS[0]},
                  {"label": "test F1 0.5", "color": COVERAGE_COLORS[1]},
                  {"label": "test F1 1", "color": COVERAGE_COLORS[2]},
                  {"label": "no test sentence: F1 not measured", "color": NOT_MEASURED_COLOR}]
        description = (f"Each technique model #{model.id} '{model.name}' predicts, scored by its test F1 at the "
                       f"model's tuned thresholds; comments give precision, recall and training sentences ({counted}).")
    else:
        top = max((row.training_sentences for row in rows), default=0) or 1
        name = f"TRAM model #{model.id} training support"
        legend = [{"label": "no training sentence", "color": COVERAGE_COLORS[0]},
                  {"label": f"{top} training sentence{'' if top == 1 else 's'}", "color": COVERAGE_COLORS[2]}]
        description = (f"Each technique model #{model.id} '{model.name}' predicts, scored by its training sentences "
                       f"({counted}); comments give the test F1.")
    gradient = {"colors": list(COVERAGE_COLORS), "minValue": 0, "maxValue": top}
    measured = [row.f1 for row in rows if row.f1 is not None]
    metadata = [{"name": "model", "value": f"#{model.id} {model.name}"},
                {"name": "techniques", "value": str(len(rows))},
                {"name": "techniques with test F1", "value": str(len(measured))}]
    return layer_document(name[:100], description, list(entries.values()), gradient, legend, metadata, catalog)
