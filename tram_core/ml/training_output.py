"""What a run leaves behind: the tuned thresholds and test evaluation, the model files, and the card, written into
a ``.partial`` folder that is renamed into place only when whole (and removed when anything fails)."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np

from tram_core.ml.model_card import MODEL_INFO_FILE, ModelCard, TrainingJobInfo
from tram_core.ml.procedure_training import COLD_START
from tram_core.ml.thresholds import UNTUNED_REPORT_THRESHOLD, Thresholds
from tram_core.ml.training_data import binarize
from tram_core.ml.training_model import HEAD_FILE
from tram_core.ml.training_run import ProgressEvent, TrainingRun, TrainResult

# ----------------------------------------------------------------------------------------------- the card


def thresholds_and_evaluation(run: TrainingRun, val_scores: np.ndarray | None, test_scores: np.ndarray | None):
    """(thresholds tuned on validation, the test evaluation or None); 0.5 everywhere without validation."""
    from tram_core.ml.metrics import evaluate
    from tram_core.ml.threshold_tuning import tune_report_threshold, tune_thresholds

    classes = run.classes
    if run.parts["validation"]:
        val_true = run.true_labels("validation")
        global_t, per_tech = tune_thresholds(val_true, val_scores, classes)
        if run.procedure is not None and run.procedure.stage == COLD_START:
            # A cold start validates on ATT&CK sources, each a list of one group's techniques: nothing like a
            # report's few findings among hundreds of sentences. A report threshold tuned on them came out at 0.2
            # (report F1 0.660 on TRAM 2's seed-13 test reports); the neutral value scored 0.718/0.686/0.658 on
            # split seeds 13/14/15, ahead of TF-IDF trained on 20 labelled reports on all three (README).
            report_t = UNTUNED_REPORT_THRESHOLD
        else:
            report_t = tune_report_threshold(run.report_ids("validation"), val_true, val_scores, classes)
    else:
        global_t, per_tech, report_t = 0.5, {c: 0.5 for c in classes}, None
    # No report threshold tuned: the model keeps the union rule (see threshold_tuning.tune_report_threshold).
    thresholds = Thresholds(global_t, {c: per_tech.get(c, global_t) for c in classes}, report_t)
    evaluation = None
    if run.parts["test"]:
        evaluation = evaluate(run.true_labels("test"), test_scores, classes, thresholds,
                              report_ids=run.report_ids("test"))
    return thresholds, evaluation


def split_snapshot(run: TrainingRun) -> dict:
    """The card's ``data``: the split seed, every part's sentence ids, and counts per part of the analysts'
    labelled sentences only; what the run did with ATT&CK's procedure examples, if anything, is apart under
    ``procedure_examples``."""
    counts = {}
    for name, exs in run.parts.items():
        exs = [e for e in exs if getattr(e, "status", None) != "procedure"]
        y = binarize([e.labels for e in exs], run.classes)
        counts[name] = {"sentences": len(exs), "with_technique": int(y.any(1).sum()),
                        "reports": len({e.report_id for e in exs}), "labels": int(y.sum())}
    data = {"split_seed": run.split.seed, "sentence_ids": {name: list(getattr(run.split, name)) for name in run.parts},
            "counts": counts}
    if run.procedure is not None:
        data["procedure_examples"] = run.procedure.summary()
    return data


# ----------------------------------------------------------------------------------------------- the folder


@contextmanager
def partial_folder(output_dir: Path) -> Iterator[Path]:
    """A fresh ``.<name>.<random>.partial`` folder next to ``output_dir``, removed if the block raises."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", suffix=".partial", dir=output_dir.parent))
    try:
        yield tmp_dir
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise


def publish(run: TrainingRun, folder: Path, card: ModelCard, provenance: dict | None) -> TrainResult:
    """Write the card into the filled ``folder`` and rename it to the run's output folder.

    The card goes last: a folder whose card reads is complete. ``provenance`` (the job that asked) is part of the
    card before the rename, so a worker killed between the rename and the model row leaves a folder that names
    its job.
    """
    run.check_cancelled()
    if provenance is not None:
        card = replace(card, job=TrainingJobInfo.from_json({**provenance, "split": run.split.to_dict()}))
    card.write(folder)
    run.emit(ProgressEvent("saving", 1, 1, message=f"saved to {run.output_dir}"))
    os.replace(folder, run.output_dir)
    return TrainResult(run.output_dir, card, run.split)


def save_transformer(model, tokenizer, pooling: str, classes: list[str], folder: Path) -> None:
    """save_pretrained layout: a BertForSequenceClassification for cls pooling; encoder + head file for mean."""
    from safetensors.torch import save_file

    folder = Path(folder)
    if pooling == "cls":
        model.model.save_pretrained(folder)
    else:
        model.encoder.save_pretrained(folder)
        save_file({name: tensor.detach().cpu().contiguous() for name, tensor in model.classifier.state_dict().items()},
                  str(folder / HEAD_FILE))
        readme = MEAN_POOL_README if pooling == "mean" else LABEL_ATTENTION_README
        (folder / "README.md").write_text(readme.format(n=len(classes), head=HEAD_FILE, info=MODEL_INFO_FILE))
    tokenizer.save_pretrained(folder)


MEAN_POOL_README = """# TRAM multi-label technique classifier (mean pooling)

The encoder is saved with `save_pretrained`; the classifier head ({n} techniques) is `{head}`
(`weight` [{n}, hidden], `bias` [{n}]). The technique order and tuned thresholds are in `{info}`
(`classes`, `thresholds`). Rebuild with plain transformers:

```python
import json, torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer

folder = "path/to/this/folder"
info = json.load(open(f"{{folder}}/{info}"))
tokenizer = AutoTokenizer.from_pretrained(folder)
encoder = AutoModel.from_pretrained(folder).eval()
head = torch.nn.Linear(encoder.config.hidden_size, len(info["classes"]))
head.load_state_dict(load_file(f"{{folder}}/{head}"))

batch = tokenizer(["The actor used PowerShell to download a payload."], padding=True, truncation=True,
                  max_length=info.get("max_length") or 128, return_tensors="pt")
with torch.no_grad():
    hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    scores = torch.sigmoid(head((hidden * mask).sum(1) / mask.sum(1)))   # column j = info["classes"][j]
```
"""


LABEL_ATTENTION_README = """# TRAM multi-label technique classifier (label attention)

The encoder is saved with `save_pretrained`; the label-attention head ({n} techniques) is `{head}`: `query`,
`weight` [{n}, hidden] and `bias` [{n}]. For technique c, with the encoder's token vectors H (padding masked out):
`a = softmax(H @ query[c] / sqrt(hidden))`, `score = sigmoid((a @ H) . weight[c] + bias[c])`. The technique order
and tuned thresholds are in `{info}` (`classes`, `thresholds`); `tram_core.ml.trained.load_trained(folder)`
rebuilds it.
"""
