"""What every way of getting a base model shares: its errors, the resolved-model record, file lists, progress."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tram_core.errors import UserError

TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")
OFFLINE_ALTERNATIVES = (
    "Offline, use 'embedded' (the built-in all-MiniLM-L6-v2), a local folder in save_pretrained layout, "
    "or a trained model ('trained:<id>')."
)


class ModelUnavailableError(UserError):
    """A base model that cannot be had now: offline, unreachable, missing, or a corrupt download."""


class BaseModelError(UserError):
    """A base model spec or folder that is wrong (bad layout, unknown name)."""


@dataclass(frozen=True)
class ResolvedBase:
    """A base model on disk: weights and config in ``path``, a tokenizer at ``tokenizer_path``.

    ``classes`` is the output order of a checkpoint that already has a multi-label head (TRAM's SciBERT, a
    trained model), else None. ``pooling_hint``: 'mean' for sentence-embedding models, 'cls' otherwise.
    """

    path: Path
    tokenizer_path: str | Path
    classes: list[str] | None
    kind: str
    name: str
    pooling_hint: str = "cls"


@dataclass(frozen=True)
class DownloadProgress:
    """One progress report of a download: bytes of ``filename`` done out of ``total`` (None when unknown)."""

    filename: str
    done: int
    total: int | None

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None

    @property
    def message(self) -> str:
        mb = self.done / 1e6
        if self.total:
            return f"downloading {self.filename}: {mb:.1f} of {self.total / 1e6:.1f} MB"
        return f"downloading {self.filename}: {mb:.1f} MB"


ProgressCallback = Callable[[DownloadProgress], None]
