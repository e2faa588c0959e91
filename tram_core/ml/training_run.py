"""What one training run carries from its set-up to its saved folder: the run's context (``TrainingRun``, passed
instead of long argument lists), the progress events it reports, its result, and the cancel it may stop on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tram_core.ml.model_card import ModelCard
from tram_core.ml.thresholds import Thresholds


@dataclass
class ProgressEvent:
    """What the loop is doing now; the jobs worker writes these to the database."""

    phase: str  # preparing | tokenizing | training | evaluating | saving
    step: int
    total: int
    epoch: int | None = None
    loss: float | None = None
    metrics: dict | None = None
    message: str = ""


@dataclass
class TrainResult:
    """A finished run: its folder, the card written there, and the split it trained on."""

    model_dir: Path
    card: ModelCard
    split: object  # splits.DataSplit

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    @property
    def thresholds(self) -> Thresholds:
        return self.card.thresholds

    @property
    def metrics(self) -> dict:
        """The test evaluation (metrics.evaluate); empty when the run had no test reports."""
        return self.card.evaluation or {}

    @property
    def history(self) -> list[dict]:
        return list(self.card.history)


class TrainingCancelled(Exception):
    """Raised by train_model when should_cancel() said yes; nothing is left in the output folder."""


@dataclass
class TrainingRun:
    """One run's context: the options as asked, what it trains on, where it reports, and its clock.

    ``options`` is the TrainOptions as given (the base model's recipe fills its ``None`` fields later, in
    training's set-up); ``parts`` holds the train, validation and test examples of ``split``. ``procedure`` is
    what the run does with ATT&CK's procedure examples (procedure_training.ProcedurePlan), None when nothing: a
    mix adds its examples to what the model trains on (``train_examples``), never to ``parts``.
    """

    options: object  # training.TrainOptions
    settings: object
    store: object
    output_dir: Path
    classes: list[str]
    split: object  # splits.DataSplit
    parts: dict[str, list]
    emit: Callable[[ProgressEvent], None]
    cancelled: Callable[[], bool]
    started: float
    timings: dict[str, float] = field(default_factory=dict)
    procedure: object | None = None  # procedure_training.ProcedurePlan

    def check_cancelled(self) -> None:
        """Raise TrainingCancelled once should_cancel() says yes."""
        if self.cancelled():
            raise TrainingCancelled("training was cancelled")

    def train_examples(self) -> list:
        """What the model trains on: the train part, plus the procedure examples a mix adds."""
        mixed = self.procedure.train if self.procedure is not None and self.procedure.stage == "mix" else []
        return list(self.parts["train"]) + list(mixed)

    def texts(self, part: str) -> list[str]:
        return [e.text for e in self.parts[part]]

    def true_labels(self, part: str) -> list[set[str]]:
        """Each example's techniques within the label space."""
        return [set(e.labels) & set(self.classes) for e in self.parts[part]]

    def report_ids(self, part: str) -> list[int]:
        return [e.report_id for e in self.parts[part]]
