"""`python -m tram_core`'s parser (tram_core.cli.build_parser) registers the data commands, then the engine commands
in their order: the training group (train, worker, jobs, cancel), then the trained-model group (models, promote,
suggest, evaluate, predict). The commands themselves are tested in test_data, test_training and test_models."""

from __future__ import annotations

from tram_core.cli import build_parser, data, models, training

ENGINE_COMMANDS = ["train", "worker", "jobs", "cancel", "models", "promote", "suggest", "evaluate", "predict"]


def test_the_engine_commands_follow_the_data_commands_in_order_with_their_handlers():
    sub = next(action for action in build_parser()._actions if action.dest == "command")
    commands = list(sub.choices)
    start = commands.index(ENGINE_COMMANDS[0])
    assert commands[start:start + len(ENGINE_COMMANDS)] == ENGINE_COMMANDS  # later groups (users, db) follow them
    assert "import" in commands[:start] and "export" in commands[:start]
    handlers = {name: sub.choices[name].get_default("handler") for name in commands}
    assert handlers["import"] is data.cmd_import
    assert handlers["train"] is training.cmd_train and handlers["predict"] is models.cmd_predict
