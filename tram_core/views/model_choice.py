"""Which trained model's suggestions are shown when nobody picked one, and how a picker names a model.

Annotate, Reports, Evaluate and Train all offer models in pickers; one label and one default keep them telling
the same story.
"""

from __future__ import annotations

from typing import Sequence

from tram_core.ml.model_card import key_scores
from tram_core.store import Store, TrainedModel

PROMOTED_MARK = "★ promoted"


def model_label(model: TrainedModel) -> str:
    """``#3 run 3 · MiniLM · 2025-05-01 14:02 · micro-F1 0.52 ★ promoted``: the id, the name, the test micro-F1 at
    tuned thresholds when the model has one (imported suggestions have none), and the promoted model's mark."""
    micro = key_scores(model.metrics).get("micro_f1")
    return (f"#{model.id} {model.name}" + (f" · micro-F1 {micro:.2f}" if micro is not None else "")
            + (f" {PROMOTED_MARK}" if model.promoted else ""))


def default_model(models: Sequence[TrainedModel]) -> TrainedModel | None:
    """The model a page shows first: the promoted one, else the newest; None when there is none.

    The promoted model is the one analysts agreed makes the suggestions; without one the newest run is the best
    guess at what someone just trained and wants to see.
    """
    if not models:
        return None
    promoted = [m for m in models if m.promoted]
    return max(promoted or models, key=lambda m: m.id)


def model_or_promoted(store: Store, model_id: int | None) -> TrainedModel | None:
    """``model_id``'s model (``NotFoundError`` when it is gone); with None, the promoted model, or None.

    Library calls and the command line never guess past the promoted model: an export "with the model's findings"
    names a model or means the promoted one. A page picks its model with ``default_model`` and passes its id.
    """
    if model_id is not None:
        return store.get_model(int(model_id))
    return store.promoted_model()
