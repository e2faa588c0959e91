"""Every error a user can cause is a UserError: shown as one line by the CLI, the worker and the pages."""

from __future__ import annotations

import pytest

from tram_core import errors
from tram_core.attack import UnknownTechniqueError
from tram_core.errors import CommandError, UserError, is_user_error
from tram_core.io.dataset_checks import DatasetError
from tram_core.io.extract_common import IngestError
from tram_core.io.importer import UnreadableFileError, UnsupportedFileError
from tram_core.io.limits import LimitError
from tram_core.io.url_fetch import UrlFetchError, UrlRefusedError
from tram_core.jobs.options import JobError
from tram_core.ml.base_model_types import BaseModelError, ModelUnavailableError
from tram_core.ml.baseline_storage import BaselineError
from tram_core.ml.splits import SplitError
from tram_core.settings import SettingsError
from tram_core.store import ConflictError, NotFoundError, StoreError
from tram_core.views.annotation import AnnotationError

USER_ERRORS = [AnnotationError, UnknownTechniqueError, BaselineError, CommandError, DatasetError,
               UnreadableFileError, UnsupportedFileError, IngestError, JobError, LimitError, BaseModelError,
               ModelUnavailableError, SettingsError, SplitError, ConflictError, NotFoundError, StoreError,
               UrlFetchError, UrlRefusedError]


@pytest.mark.parametrize("kind", USER_ERRORS, ids=lambda kind: kind.__name__)
def test_every_error_a_user_causes_is_a_user_error_and_not_a_value_error(kind):
    assert issubclass(kind, UserError)
    # An `except ValueError` meant for a parse failure must not swallow a refusal the user should see.
    assert not issubclass(kind, ValueError)


def test_a_bug_is_not_a_user_error():
    assert is_user_error(NotFoundError("No report 3"))
    assert not is_user_error(ValueError("a bug")) and not is_user_error(KeyError("x"))
    assert not hasattr(errors, "register_user_error")  # one base class, no list to keep in step


def test_the_command_line_prints_a_store_error_as_one_line(tram_home, capsys):
    from tram_core.cli import main

    assert main(["label", "424242", "T1055"]) == 2
    lines = capsys.readouterr().err.splitlines()  # who the command acts as, then the one-line error
    assert lines[0].startswith("acting as local admin") and len(lines) == 2
    assert lines[1].startswith("error: ") and "424242" in lines[1]
