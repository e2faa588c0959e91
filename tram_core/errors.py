"""Which exceptions are a user's bad input (shown as one clear line) rather than a bug (shown as a traceback)."""

from __future__ import annotations

_USER_ERROR_TYPES: list[type[BaseException]] = []


class UserError(Exception):
    """Base class for bad input: a file, a row, an option. The message says what and where."""


def register_user_error(kind: type[BaseException]) -> type[BaseException]:
    _USER_ERROR_TYPES.append(kind)
    return kind


def is_user_error(exc: BaseException) -> bool:
    from tram_core.attack import UnknownTechniqueError
    from tram_core.store import StoreError

    return isinstance(exc, (UserError, UnknownTechniqueError, StoreError, *_USER_ERROR_TYPES))
