"""The engine commands of `python -m tram_core` are registered in their order: the training group (train, worker,
jobs, cancel), then the trained-model group (models, promote, evaluate, predict). The commands themselves are tested
in test_commands_training and test_commands_models."""

from __future__ import annotations

import argparse

from tram_core import commands_engine, commands_models, commands_training

ENGINE_COMMANDS = ["train", "worker", "jobs", "cancel", "models", "promote", "evaluate", "predict"]


def test_the_engine_commands_are_registered_in_order_with_their_handlers():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    commands_engine.register(sub)
    assert list(sub.choices) == ENGINE_COMMANDS
    handlers = {name: sub.choices[name].get_default("handler") for name in ENGINE_COMMANDS}
    assert handlers["train"] is commands_training.cmd_train and handlers["predict"] is commands_models.cmd_predict
    assert all(handler is getattr(commands_engine, handler.__name__) for handler in handlers.values())
