"""Deleting a report or a trained model: what would go, the refusals, the deletion and its audit row, in one place
for the pages' services and the command line.

The permission check comes first and is the caller's (``services.common.check_user``, ``cli.common.acting``), as
for ``accounts.audit``; ``user`` here is the checked name the audit row records.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tram_core.accounts import audit
from tram_core.errors import UserError
from tram_core.store import JOB_QUEUED, JOB_RUNNING, NotFoundError, Store, TrainedModel


class ModelInUse(UserError):
    """The model cannot be deleted now: it is promoted, or a queued or running job uses it."""


# --------------------------------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class ReportDeletion:
    """A report and what deleting it takes with it."""

    id: int
    title: str
    sentences: int
    labelled: int
    reviewed: int

    @property
    def summary(self) -> str:
        """'report #3 'Title': 120 sentences, 40 labelled, 2 reviewed'."""
        return (f"report #{self.id} '{self.title}': {self.sentences} sentences, {self.labelled} labelled, "
                f"{self.reviewed} reviewed")


def report_deletion(store: Store, report_id: int) -> ReportDeletion:
    """What deleting ``report_id`` would remove; ``NotFoundError`` for an unknown id."""
    found = next((r for r in store.list_reports() if r.id == report_id), None)
    if found is None:
        raise NotFoundError(f"No report with id {report_id}")
    return ReportDeletion(found.id, found.title, found.sentences, found.labelled, found.reviewed)


def delete_report(store: Store, user: str, report_id: int) -> ReportDeletion:
    """Delete a report with its sentences, labels and suggestions (its label history stays); one audit row."""
    gone = report_deletion(store, report_id)
    store.delete_report(report_id, user=user)
    audit(store, user, "delete report", f"report {report_id}",
          before={"title": gone.title, "sentences": gone.sentences, "labelled": gone.labelled,
                  "reviewed": gone.reviewed})
    return gone


# --------------------------------------------------------------------------------------------------- models


def _uses(job, model: TrainedModel) -> bool:
    """Whether a queued or running ``job`` needs ``model``: it predicts with it, or trains on top of it."""
    params = job.params or {}
    if job.kind == "predict":
        return params.get("model_id") == model.id
    base = str((params.get("options") or {}).get("base") or "").strip()
    if base == f"trained:{model.id}":
        return True
    return bool(model.path) and bool(base) and _same_path(base, model.path)


def _same_path(a: str, b: str) -> bool:
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except (OSError, ValueError, RuntimeError):
        return False


def find_model(store: Store, model_id: int | str) -> TrainedModel:
    """The model with id ``model_id``; ``NotFoundError`` naming the id otherwise."""
    try:
        return store.get_model(int(str(model_id).strip()))
    except (NotFoundError, ValueError):
        raise NotFoundError(f"No trained model with id {str(model_id)[:40]}") from None


def model_in_use(store: Store, model: TrainedModel) -> str:
    """Why ``model`` cannot be deleted now ('' when it can): it is promoted, or a queued or running job uses it."""
    if model.promoted:
        return (f"Model #{model.id} '{model.name}' is the promoted model, the source of suggestions: promote "
                "another model first")
    for job in store.list_jobs(limit=100_000, status=(JOB_QUEUED, JOB_RUNNING)):
        if _uses(job, model):
            return (f"Model #{model.id} '{model.name}' is used by {job.status} {job.kind} job {job.id}: wait for "
                    "it to end or cancel it first")
    return ""


@dataclass(frozen=True)
class ModelDeletion:
    """A deleted model and what happened to its folder."""

    model: TrainedModel
    folder_removed: Path | None = None
    folder_note: str = ""  # why the folder stayed, when it did

    @property
    def line(self) -> str:
        what = f"Deleted model #{self.model.id} '{self.model.name}' and its suggestions"
        if self.folder_removed is not None:
            return f"{what}; removed its folder {self.folder_removed}."
        return f"{what}{'; ' + self.folder_note if self.folder_note else ''}."


def _folder_to_remove(store: Store, models_dir: Path, model: TrainedModel) -> tuple[Path | None, str]:
    """The model's folder when it is a folder of its own inside ``models_dir``, else None and why it stays."""
    if not model.path:
        return None, ""
    root = models_dir.expanduser().resolve()
    folder = Path(model.path).expanduser()
    folder = (folder if folder.is_absolute() else root / folder).resolve()  # a relative path is the models folder's
    if root not in folder.parents:
        return None, f"its folder {model.path} is outside the models folder and stays"
    if any(other.id != model.id and other.path and _same_path(other.path, str(folder))
           for other in store.list_models()):
        return None, f"its folder {folder} stays: another model row points at it"
    if not folder.is_dir():
        return None, f"its folder {folder} was already gone"
    return folder, ""


def delete_model(store: Store, settings, user: str, model_id: int) -> ModelDeletion:
    """Delete a model row (with its suggestions) and its folder under the models folder; one audit row.

    Refused (``ModelInUse``, nothing changed) for the promoted model and a model a queued or running job uses;
    an unknown id is a ``NotFoundError``.
    """
    model = find_model(store, model_id)
    reason = model_in_use(store, model)
    if reason:
        raise ModelInUse(reason)
    folder, note = _folder_to_remove(store, Path(settings.models_dir), model)
    store.delete_model(model.id, unless_promoted=True)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():  # the next worker start removes a leftover folder of a deleted model
            folder, note = None, (f"its folder {model.path} could not be removed: see python -m tram_core "
                                  "models --check")
    audit(store, user, "delete model", f"model {model.id}",
          before={"name": model.name, "kind": model.kind, "path": model.path},
          after={"folder removed": folder is not None})
    return ModelDeletion(model, folder, note)
