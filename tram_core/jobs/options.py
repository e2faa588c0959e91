"""What a training job holds: its TrainOptions as the JSON of a job row (checked when queued) and back, and the
split a finished run records; ``JobError`` for a job that cannot be queued or run as asked."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tram_core.errors import UserError
from tram_core.ml.device import device_name


class JobError(UserError):
    """A job that cannot be queued or run as asked (bad option, nothing to train on)."""


def options_dict(options: Any) -> dict:
    """TrainOptions (or a dict of its fields) as a JSON-serialisable dict, checked against TrainOptions."""
    from tram_core.ml.training import TrainOptions

    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        values = dataclasses.asdict(options)
    elif isinstance(options, dict):
        values = {k: v for k, v in options.items() if v is not None or k == "base"}
    else:
        raise JobError(f"Training options must be TrainOptions or a dict, not {type(options).__name__}")
    known = {f.name for f in dataclasses.fields(TrainOptions)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise JobError(f"Unknown training option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if values.get("device") is not None:
        values["device"] = device_name(values["device"])  # a typo is refused now; availability is the worker's call
    for key, value in list(values.items()):
        if isinstance(value, tuple):
            values[key] = list(value)
        elif isinstance(value, Path):
            values[key] = str(value)
    from tram_core.ml.training_options import check_procedure_options

    check_procedure_options(TrainOptions(**values))  # bad values are refused now, not in the worker
    return values


def train_options(params: dict):
    """The TrainOptions a training job was queued with."""
    from tram_core.ml.training import TrainOptions

    values = dict(params.get("options", {}))
    known = {f.name for f in dataclasses.fields(TrainOptions)}
    for f in dataclasses.fields(TrainOptions):
        if f.name in values and isinstance(values[f.name], list) and "tuple" in str(f.type):
            values[f.name] = tuple(values[f.name])
    return TrainOptions(**{k: v for k, v in values.items() if k in known})


def split_dict(split: Any) -> dict | None:
    """A run's split (splits.DataSplit) as the dict a model row keeps under options['split']."""
    if split is None:
        return None
    if dataclasses.is_dataclass(split):
        return dataclasses.asdict(split)
    return dict(split) if isinstance(split, dict) else None
