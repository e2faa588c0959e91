"""Command-line commands for the engine: registers the training group and the trained-model group, in that order."""

from __future__ import annotations

import argparse

from tram_core import commands_models, commands_training
# The commands and helpers live in commands_training and commands_models; here for callers that import them here.
from tram_core.commands_models import (
    cmd_evaluate,
    cmd_models,
    cmd_models_check,
    cmd_predict,
    cmd_promote,
    evaluation_data,
    read_prediction_input,
)
from tram_core.commands_training import (
    cmd_cancel,
    cmd_jobs,
    cmd_train,
    cmd_worker,
    follow_job,
    parse_report_ids,
    read_class_list,
)

__all__ = ["cmd_cancel", "cmd_evaluate", "cmd_jobs", "cmd_models", "cmd_models_check", "cmd_predict", "cmd_promote",
           "cmd_train", "cmd_worker", "evaluation_data", "follow_job", "parse_report_ids", "read_class_list",
           "read_prediction_input", "register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the engine commands to the ``python -m tram_core`` parser: train, worker, jobs, cancel, then models,
    promote, evaluate, predict."""
    commands_training.register(sub)
    commands_models.register(sub)
