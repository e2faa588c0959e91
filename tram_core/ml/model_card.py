"""A trained model folder's own description (tram_model.json) as one typed record: its one reader and one writer.

Training writes the card last, so a folder whose card reads is complete. Every layout found in folders today
is read, older ones upgraded on the way in (``ModelCard.from_json`` lists them); writing always produces the
current layout, format ``FORMAT_VERSION``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tram_core.errors import UserError
from tram_core.ml.thresholds import Thresholds, ThresholdsError

MODEL_INFO_FILE = "tram_model.json"
FORMAT_VERSION = 1
CARD_KINDS = ("transformer", "baseline")

# The keys this version writes, in the order it writes them; anything else a card holds is kept in ``extra``.
_KNOWN_KEYS = ("format", "kind", "classes", "thresholds", "base_model", "pooling", "max_length", "options", "data",
               "history", "best_epoch", "evaluation", "timings", "device", "job")


class ModelCardError(UserError, ValueError):
    """A tram_model.json that is missing or cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class TrainingJobInfo:
    """The training job that wrote the folder, so a worker start can record a folder its job never did."""

    id: int | None
    label_event_id: int | None = None  # the label-history watermark the job trained at
    examples: int | None = None  # labelled sentences it trained on (all splits)
    reports: int | None = None
    split: dict | None = None  # splits.DataSplit.to_dict(): sentence ids per part, seed, test reports

    def to_json(self) -> dict:
        return {"id": self.id, "label_event_id": self.label_event_id, "examples": self.examples,
                "reports": self.reports, "split": self.split}

    @classmethod
    def from_json(cls, obj: Any) -> "TrainingJobInfo | None":
        if obj is None:
            return None
        if not isinstance(obj, Mapping):
            raise ModelCardError(f"'job' should be a JSON object, not {type(obj).__name__}")
        split = obj.get("split")
        if split is not None and not isinstance(split, Mapping):
            raise ModelCardError(f"'job.split' should be a JSON object, not {type(split).__name__}")
        # An id that is not a whole number names no job (folder_job_id falls back to the folder name).
        ids = [obj.get(k) if isinstance(obj.get(k), int) and not isinstance(obj.get(k), bool) else None
               for k in ("id", "label_event_id", "examples", "reports")]
        return cls(*ids, split=dict(split) if split is not None else None)


@dataclass(frozen=True)
class ModelCard:
    """What tram_model.json says about a trained model: how to load it, how it decides, and how it was made."""

    kind: str  # one of CARD_KINDS
    classes: tuple[str, ...]  # technique IDs in score-column order
    thresholds: Thresholds = field(default_factory=Thresholds)
    base_model: str | dict | None = None  # 'baseline', or {'spec', 'kind', 'name', 'path'} of the encoder
    pooling: str | None = None  # 'cls' or 'mean' for transformers; None for the baseline
    max_length: int | None = None  # tokens per sentence the transformer was trained with
    options: dict = field(default_factory=dict)  # the resolved TrainOptions
    data: dict = field(default_factory=dict)  # the split snapshot: split_seed, sentence_ids, counts per part
    history: list = field(default_factory=list)  # one dict per epoch (losses, validation scores)
    best_epoch: int | None = None
    evaluation: dict | None = None  # metrics.evaluate on the test split; None without test reports
    timings: dict = field(default_factory=dict)
    device: str | dict | None = None
    job: TrainingJobInfo | None = None
    format: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)  # keys this version does not know, written back unchanged

    # ------------------------------------------------------------------------------------------- reading

    @classmethod
    def read(cls, folder: str | Path) -> "ModelCard":
        """The card of ``folder``; a ModelCardError naming the folder when it is not a trained model's."""
        path = Path(folder) / MODEL_INFO_FILE
        if not path.is_file():
            raise ModelCardError(f"{folder} is not a trained TRAM model folder: {MODEL_INFO_FILE} is missing")
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ModelCardError(f"{path} is not valid JSON: {exc}") from exc
        try:
            return cls.from_json(obj)
        except (ModelCardError, ThresholdsError) as exc:
            raise ModelCardError(f"{path}: {exc}") from exc

    @classmethod
    def read_if_present(cls, folder: str | Path) -> "ModelCard | None":
        """The card of ``folder``, or None when it has none (a plain save_pretrained folder, say)."""
        return cls.read(folder) if (Path(folder) / MODEL_INFO_FILE).is_file() else None

    @classmethod
    def of_trained_base(cls, store, base: str) -> "ModelCard | None":
        """The card of the trained model a ``trained:<id>`` base names; None for another base, an unknown model or
        a folder without a readable card (resolving the base says what is wrong)."""
        if store is None or not str(base).startswith("trained:"):
            return None
        try:
            model = store.get_model(int(str(base).split(":", 1)[1]))
            return cls.read_if_present(model.path) if model.path else None
        except Exception:  # noqa: BLE001 - NotFoundError, a bad id, a folder gone or unreadable
            return None

    @classmethod
    def from_json(cls, obj: Any) -> "ModelCard":
        """A card from the parsed JSON. Older layouts are upgraded:

        - no ``format`` (cards written by hand or by early versions): format 1;
        - no ``kind``: a transformer (the only kind there was);
        - no ``thresholds``, or thresholds in any older layout: see Thresholds.from_json (none: 0.5 everywhere);
        - no ``job`` (folders from before cards named their job): ``job`` is None, and ``recorded_split`` and
          ``trained_on`` fall back to the ``data`` snapshot.
        """
        if not isinstance(obj, Mapping):
            raise ModelCardError(f"should hold a JSON object, not {type(obj).__name__}")
        version = obj.get("format", FORMAT_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ModelCardError(f"'format' should be a whole number from 1, not {version!r}")
        if version > FORMAT_VERSION:
            raise ModelCardError(f"has format {version}, written by a newer TRAM; this version reads format "
                                 f"{FORMAT_VERSION} and older")
        kind = obj.get("kind", "transformer")
        if kind not in CARD_KINDS:
            raise ModelCardError(f"'kind' should be one of {', '.join(CARD_KINDS)}, not {kind!r}")
        if "classes" not in obj:
            raise ModelCardError("lacks 'classes' (the technique of each score column)")
        classes = obj["classes"]
        if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
            raise ModelCardError("'classes' should be a list of technique IDs")
        if len(set(classes)) != len(classes):
            raise ModelCardError("'classes' lists a technique twice")
        return cls(
            kind=kind,
            classes=tuple(classes),
            thresholds=Thresholds.from_json(obj.get("thresholds")),
            base_model=obj.get("base_model"),
            pooling=_optional(obj, "pooling", str),
            max_length=_optional(obj, "max_length", int),
            options=_object(obj, "options"),
            data=_object(obj, "data"),
            history=_list(obj, "history"),
            best_epoch=_optional(obj, "best_epoch", int),
            evaluation=_object(obj, "evaluation") if obj.get("evaluation") is not None else None,
            timings=_object(obj, "timings"),
            device=obj.get("device"),
            job=TrainingJobInfo.from_json(obj.get("job")),
            format=FORMAT_VERSION,
            extra={k: v for k, v in obj.items() if k not in _KNOWN_KEYS},
        )

    # ------------------------------------------------------------------------------------------- writing

    def to_json(self) -> dict:
        """The current layout; keys without a value are left out where a reader would default them anyway."""
        out: dict[str, Any] = {"format": FORMAT_VERSION, "kind": self.kind, "classes": list(self.classes),
                               "thresholds": self.thresholds.to_json(), "base_model": self.base_model,
                               "pooling": self.pooling}
        if self.max_length is not None:
            out["max_length"] = self.max_length
        out.update(options=self.options, data=self.data, history=self.history)
        if self.best_epoch is not None:
            out["best_epoch"] = self.best_epoch
        out.update(evaluation=self.evaluation, timings=self.timings, device=self.device)
        if self.job is not None:
            out["job"] = self.job.to_json()
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out

    def write(self, folder: str | Path) -> Path:
        """Write ``folder``/tram_model.json whole or not at all (a folder with a readable card counts as complete,
        so a card cut short by a killed process must never be left behind)."""
        folder = Path(folder)
        text = json.dumps(self.to_json(), indent=1, default=_json_default)
        handle, temporary = tempfile.mkstemp(prefix=f".{MODEL_INFO_FILE}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, folder / MODEL_INFO_FILE)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return folder / MODEL_INFO_FILE

    # ------------------------------------------------------------------------------------------- questions

    def key_scores(self) -> dict[str, float | None]:
        """The headline test scores of this model (see ``key_scores``)."""
        return key_scores(self.evaluation)

    def sentence_ids(self, part: str) -> list[int]:
        """The sentence ids of one part of the split it trained on ('train', 'validation' or 'test')."""
        return list(((self.data.get("sentence_ids") or {}).get(part)) or [])

    def recorded_split(self) -> dict:
        """The split as model rows record it: the job's, else (a card from before it named its job) the sentence
        ids of the data snapshot with its seed."""
        if self.job is not None and self.job.split is not None:
            return dict(self.job.split)
        return {**(self.data.get("sentence_ids") or {}), "seed": self.data.get("split_seed")}

    def trained_on(self) -> tuple[int, int]:
        """(labelled sentences, reports) the run used: the job's counts, else the data snapshot's totals."""
        counts = [c for c in (self.data.get("counts") or {}).values() if isinstance(c, Mapping)]
        examples = self.job.examples if self.job and self.job.examples is not None else \
            sum(int(c.get("sentences", 0)) for c in counts)
        reports = self.job.reports if self.job and self.job.reports is not None else \
            sum(int(c.get("reports", 0)) for c in counts)
        return examples, reports


def key_scores(evaluation: Mapping[str, Any] | None) -> dict[str, float | None]:
    """The headline scores of a model's evaluation (a card's, or a model row's ``metrics``): test micro and macro
    F1 at tuned thresholds and at 0.5, and report F1; None where the evaluation has no such score.

    Besides metrics.evaluate's layout, two others are read: the same nested under 'test', and bare top-level
    'micro_f1' / 'macro_f1' (evaluations that only kept the tuned headline).
    """

    def pick(*paths: tuple[str, ...]) -> float | None:
        for path in paths:
            node: Any = evaluation
            for key in path:
                if not isinstance(node, Mapping) or key not in node:
                    node = None
                    break
                node = node[key]
            if isinstance(node, (int, float)) and not isinstance(node, bool):
                return float(node)
        return None

    return {
        "micro_f1": pick(("test", "at_tuned", "micro_f1"), ("at_tuned", "micro_f1"), ("micro_f1",)),
        "macro_f1": pick(("test", "at_tuned", "macro_f1"), ("at_tuned", "macro_f1"), ("macro_f1",)),
        "micro_f1_at_0_5": pick(("test", "at_0_5", "micro_f1"), ("at_0_5", "micro_f1")),
        "macro_f1_at_0_5": pick(("test", "at_0_5", "macro_f1"), ("at_0_5", "macro_f1")),
        "report_f1": pick(("test", "document", "micro_f1"), ("document", "micro_f1")),
    }


def evaluated_thresholds(evaluation: Mapping[str, Any] | None) -> Thresholds | None:
    """The thresholds an evaluation was scored at (metrics.evaluate stores them), or None when it stored none."""
    stored = (evaluation or {}).get("thresholds")
    return Thresholds.from_json(stored) if isinstance(stored, Mapping) and stored else None


_TYPE_WORDS = {int: "whole number", str: "string"}


def _optional(obj: Mapping, key: str, kind: type) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ModelCardError(f"{key!r} should be a {_TYPE_WORDS.get(kind, kind.__name__)} or null, "
                             f"not {value!r:.60}")
    return value


def _object(obj: Mapping, key: str) -> dict:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ModelCardError(f"{key!r} should be a JSON object, not {type(value).__name__}")
    return dict(value)


def _list(obj: Mapping, key: str) -> list:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ModelCardError(f"{key!r} should be a JSON list, not {type(value).__name__}")
    return list(value)


def _json_default(value: Any) -> Any:
    """numpy numbers and arrays, sets, tuples and paths as JSON (training hands over such values)."""
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
