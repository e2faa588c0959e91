"""Which exceptions are a user's bad input (shown as one clear line) rather than a bug (shown as a traceback).

Every error a user can cause (a bad file, row, option, ID or request) subclasses ``UserError``, so the CLI, the
worker and the pages tell the two apart with one ``isinstance`` and no list of classes to keep in step.
"""

from __future__ import annotations


class UserError(Exception):
    """Base class for bad input: a file, a row, an option. The message says what and where."""


class CommandError(UserError):
    """Bad input on the command line (flags that contradict each other, a missing argument): exit code 2."""


def is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, UserError)
