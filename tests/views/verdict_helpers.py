"""Models for the verdict tests: runs scored by the real metrics.evaluate on another model's test sentences, and a
corpus on which the quick TF-IDF model is not perfect."""

from __future__ import annotations

import numpy as np

from tram_core.store import Store, TrainedModel


def scored_run(store: Store, like: TrainedModel, name: str = "run 9 · embedded", constant: float | None = None,
               split: dict | None = None) -> int:
    """A transformer run's record, scored on ``split``'s test sentences (default: ``like``'s) and ``like``'s
    techniques. ``constant``: every score that value (0.04 learns nothing: nothing at 0.5 nor at the tuned 0.05,
    the grid's end); None: 0.9 for each true technique and 0.1 otherwise (every test sentence right)."""
    from tram_core.ml import metrics

    split = split or like.options["split"]
    test = set(split["test"])
    examples = [e for e in store.examples() if e.sentence_id in test]
    classes = list(like.classes)
    truth = [set(e.labels) & set(classes) for e in examples]
    if constant is None:
        scores = np.array([[0.9 if c in labels else 0.1 for c in classes] for labels in truth])
        threshold = 0.5
    else:
        scores, threshold = np.full((len(examples), len(classes)), constant), 0.05
    evaluation = metrics.evaluate(truth, scores, classes, threshold, report_ids=[e.report_id for e in examples])
    options = {"split": split, "examples": like.options.get("examples"), "reports": like.options.get("reports")}
    return store.add_model(name, "transformer", "/nowhere", "embedded", classes, evaluation["thresholds"],
                           evaluation, options, None)


def zero_signal_run(store: Store, like: TrainedModel, name: str = "run 9 · embedded · 1 epoch") -> int:
    """A run that learned nothing, scored on ``like``'s test sentences: micro-F1 0.000 at 0.5 and tuned to 0.05."""
    return scored_run(store, like, name, constant=0.04)


def confuse_labels(store: Store, per_report: int = 2) -> None:
    """Relabel ``per_report`` download sentences of each report as credential dumping, so TF-IDF gets some wrong."""
    for report in store.list_reports():
        downloads = [e for e in store.examples(report_id=report.id) if "T1105" in e.labels][:per_report]
        for example in downloads:
            store.set_labels(example.sentence_id, ["T1003.001"], "ana")
