"""Which server folders a user may point TRAM at: admins any, everyone else only the allowed folders (the models
folder and ``TRAM_MODEL_FOLDERS``), checked after symlinks and ``..`` are resolved.

A refusal never says whether the path exists: an outside path that exists and one that does not get the same words,
so the check cannot be used to probe the server's file system.
"""

from __future__ import annotations

import os
from pathlib import Path

from tram_core import access
from tram_core.errors import UserError

# Base-model specs that name no folder (resolve_base_model reads them as keywords, never as paths).
KEYWORD_BASES = ("embedded", "tram-scibert", "baseline")
TRAINED_PREFIX = "trained:"


class OutsideAllowedFolders(UserError):
    """A path typed by a user other than an admin lies outside the folders this server allows."""


def _real(path: Path) -> Path:
    """``path`` made absolute with every symlink and ``..`` resolved (the parts that do not exist are kept)."""
    return Path(os.path.realpath(path))


def allowed_folders(settings) -> tuple[Path, ...]:
    """The folders a user other than an admin may name: the models folder, then ``TRAM_MODEL_FOLDERS``, resolved."""
    folders = [_real(Path(settings.models_dir))] + [_real(Path(f)) for f in settings.model_folders]
    return tuple(dict.fromkeys(folders))


def may_use_any_path(user: str) -> bool:
    """Whether ``user`` may name any server path: an admin (in single-user mode every plain name is one)."""
    actor = access.actor_of(user)
    return actor is not None and actor.role == access.ADMIN


def folders_help(user: str, settings) -> str:
    """What the model-folder box says about where a folder may be."""
    if may_use_any_path(user):
        return "Any folder on the server (you are an admin)."
    return "The folder must lie inside one of: " + ", ".join(str(f) for f in allowed_folders(settings))


def _refusal(text: str, settings) -> OutsideAllowedFolders:
    allowed = ", ".join(str(f) for f in allowed_folders(settings))
    return OutsideAllowedFolders(f"'{text[:200]}' is outside the folders this server allows: {allowed}")


def confine_path(user: str, typed: str, settings) -> Path:
    """``typed`` resolved (``~``, symlinks and ``..``); for a user other than an admin it must lie inside one of
    ``allowed_folders``, else ``OutsideAllowedFolders``, worded the same whether the path exists or not."""
    text = (typed or "").strip()
    try:
        resolved = _real(Path(text).expanduser())
    except (OSError, ValueError, RuntimeError):  # a NUL byte, an unknown ~user: refused like any outside path
        if may_use_any_path(user):
            raise UserError(f"'{text[:200]}' is not a path this server can use") from None
        raise _refusal(text, settings) from None
    if may_use_any_path(user):
        return resolved
    if any(resolved == folder or folder in resolved.parents for folder in allowed_folders(settings)):
        return resolved
    raise _refusal(text, settings)


def _read_as_path(spec: str) -> bool:
    """Whether the worker would read ``spec`` as a folder (ml.base_models.resolve_base_model's order)."""
    if spec.startswith(("/", ".", "~")) or "\\" in spec or spec.count("/") > 1:
        return True
    try:
        return Path(spec).expanduser().exists()
    except (OSError, ValueError, RuntimeError):
        return True


def check_base_model(user: str, spec: str, settings) -> str:
    """A training run's base model as ``user`` may give it: a keyword, ``trained:<id>`` or a hub ID as is; a spec
    the worker would read as a folder is confined (``confine_path``) and returned resolved, so the worker reads
    the folder that was checked."""
    text = (spec or "").strip()
    if text in KEYWORD_BASES or text.startswith(TRAINED_PREFIX) or may_use_any_path(user):
        return text
    if _read_as_path(text):
        return str(confine_path(user, text, settings))
    return text
