"""Trained model records: adding, looking up, promoting (the one source of suggestions) and deleting them.

A model's folder is stored relative to the models folder (``TRAM_MODELS_DIR``) when it lies inside it, so every
machine that mounts that folder, wherever, finds it; an absolute path (older rows, folders elsewhere) is kept as is.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tram_core.store.base import StoreBase
from tram_core.store.records import NotFoundError, StoreError, TrainedModel
from tram_core.store.schema import SuggestionRow, TrainedModelRow, utcnow


def stored_model_path(path: str, models_dir: Path | None) -> str:
    """How a model folder is stored: relative to ``models_dir`` (with ``/``) when inside it, else as given."""
    if not path or models_dir is None:
        return path
    folder = Path(path)
    for inside, root in ((folder, models_dir), (folder.resolve(), models_dir.resolve())):
        try:
            relative = inside.relative_to(root)
        except ValueError:
            continue
        if relative.parts and ".." not in relative.parts:
            return relative.as_posix()
    return path


def model_folder(stored: str, models_dir: Path | None) -> str:
    """A stored model path as a folder on this machine: a relative one under ``models_dir``, an absolute as is."""
    if not stored or models_dir is None or Path(stored).is_absolute():
        return stored
    return str(models_dir.joinpath(*PurePosixPath(stored).parts))


def model_record(row: TrainedModelRow, models_dir: Path | None = None) -> TrainedModel:
    return TrainedModel(row.id, row.name, row.kind, model_folder(row.path, models_dir), row.base_model,
                        tuple(row.classes or ()), dict(row.thresholds or {}), dict(row.metrics or {}),
                        dict(row.options or {}), row.job_id, bool(row.promoted), row.created_at)


def imported_model_id(s: Session, name: str) -> int:
    """The model record that holds suggestions which came in with an imported file (created on first use)."""
    model_id = s.scalar(select(TrainedModelRow.id).where(TrainedModelRow.kind == "imported",
                                                         TrainedModelRow.name == name))
    if model_id is None:
        row = TrainedModelRow(name=name, kind="imported", path="", base_model="")
        s.add(row)
        s.flush()
        model_id = row.id
    return model_id


class ModelsMixin(StoreBase):
    def add_model(self, name: str, kind: str, path: str, base_model: str, classes: Sequence[str],
                  thresholds: dict, metrics: dict, options: dict, job_id: int | None = None) -> int:
        """A new model row; ``thresholds`` is stored as given: the JSON layout of its Thresholds record (to_json).
        ``path`` is stored relative to the models folder when it lies inside it."""
        with self.session() as s:
            row = TrainedModelRow(name=name[:300], kind=kind, path=stored_model_path(str(path), self.models_dir),
                                  base_model=base_model, classes=list(classes), thresholds=dict(thresholds),
                                  metrics=dict(metrics), options=dict(options), job_id=job_id, promoted=False,
                                  created_at=utcnow())
            s.add(row)
            s.flush()
            return row.id

    def list_models(self, include_imported: bool = True) -> list[TrainedModel]:
        """Trained models, newest first (imported-suggestion holders too unless ``include_imported`` is False)."""
        with self.session() as s:
            query = select(TrainedModelRow).order_by(TrainedModelRow.id.desc())
            if not include_imported:
                query = query.where(TrainedModelRow.kind != "imported")
            return [model_record(r, self.models_dir) for r in s.scalars(query)]

    def get_model(self, id_or_name: int | str) -> TrainedModel:
        """A model by id (an int or a string of digits) or by exact name."""
        with self.session() as s:
            row = None
            if isinstance(id_or_name, int) or str(id_or_name).strip().isdigit():
                row = s.get(TrainedModelRow, int(id_or_name))
            if row is None and isinstance(id_or_name, str):
                row = s.scalars(select(TrainedModelRow).where(TrainedModelRow.name == id_or_name)
                                .order_by(TrainedModelRow.id.desc()).limit(1)).first()
            if row is None:
                raise NotFoundError(f"No trained model with id or name '{id_or_name}'")
            return model_record(row, self.models_dir)

    def promote_model(self, model_id: int) -> TrainedModel:
        """Make ``model_id`` the one promoted model (the source of suggestions); every other is demoted."""
        with self.session() as s:
            row = s.get(TrainedModelRow, model_id)
            if row is None:
                raise NotFoundError(f"No trained model with id {model_id}")
            if row.kind == "imported":
                raise StoreError(f"Model {model_id} ('{row.name}') only holds imported suggestions; "
                                 "promote a trained model")
            s.execute(update(TrainedModelRow).where(TrainedModelRow.id != model_id).values(promoted=False))
            row.promoted = True
            return model_record(row, self.models_dir)

    def promoted_model(self) -> TrainedModel | None:
        with self.session() as s:
            row = s.scalars(select(TrainedModelRow).where(TrainedModelRow.promoted.is_(True))
                            .order_by(TrainedModelRow.id.desc()).limit(1)).first()
            return model_record(row, self.models_dir) if row is not None else None

    def delete_model(self, model_id: int, unless_promoted: bool = False) -> TrainedModel:
        """Delete a model record and its suggestions; returns the record (its folder is the caller's to remove).

        ``unless_promoted``: refuse (``StoreError``) when the model is the promoted one, checked in the same
        transaction as the delete, so a promotion made meanwhile is never lost.
        """
        with self.session() as s:
            row = s.get(TrainedModelRow, model_id, with_for_update=unless_promoted)  # PostgreSQL: locks the row
            if row is None:
                raise NotFoundError(f"No trained model with id {model_id}")
            record = model_record(row, self.models_dir)
            if unless_promoted and row.promoted:
                raise StoreError(f"Model {model_id} ('{row.name}') is the promoted model, the source of "
                                 "suggestions: promote another model first")
            s.execute(delete(SuggestionRow).where(SuggestionRow.model_id == model_id))
            s.delete(row)
            return record
