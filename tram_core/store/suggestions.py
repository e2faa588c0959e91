"""Suggestions: each model's scores per sentence and technique, written in bulk and read best first."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import delete, insert, select

from tram_core.store.base import StoreBase
from tram_core.store.records import NotFoundError
from tram_core.store.schema import SuggestionRow, TrainedModelRow


class SuggestionsMixin(StoreBase):
    def replace_suggestions(self, model_id: int, scores: dict[int, dict[str, float]]) -> int:
        """Replace ``model_id``'s suggestions for the given sentences with ``{sentence_id: {tech: score}}``.

        Returns the number of suggestion rows written.
        """
        ids = list(scores)
        rows = [{"sentence_id": int(sid), "model_id": model_id, "technique_id": tech, "score": float(score)}
                for sid, techs in scores.items() for tech, score in techs.items()]
        with self.session() as s:
            if s.get(TrainedModelRow, model_id) is None:
                raise NotFoundError(f"No trained model with id {model_id}")
            for i in range(0, len(ids), 900):
                chunk = ids[i : i + 900]
                s.execute(delete(SuggestionRow).where(SuggestionRow.model_id == model_id,
                                                      SuggestionRow.sentence_id.in_(chunk)))
            for i in range(0, len(rows), 5000):
                s.execute(insert(SuggestionRow), rows[i : i + 5000])
        return len(rows)

    def suggestions_for(self, sentence_ids: Sequence[int], model_id: int | None = None
                        ) -> dict[int, list[tuple[str, float]]]:
        """``{sentence_id: [(technique, score), ...]}`` best first, from ``model_id`` (the promoted model by default).

        Every asked-for sentence is a key; with no promoted model every list is empty.
        """
        out: dict[int, list[tuple[str, float]]] = {int(sid): [] for sid in sentence_ids}
        with self.session() as s:
            if model_id is None:
                model_id = s.scalar(select(TrainedModelRow.id).where(TrainedModelRow.promoted.is_(True))
                                    .order_by(TrainedModelRow.id.desc()).limit(1))
                if model_id is None:
                    return out
            ids = list(out)
            for i in range(0, len(ids), 900):
                chunk = ids[i : i + 900]
                for sid, tech, score in s.execute(
                    select(SuggestionRow.sentence_id, SuggestionRow.technique_id, SuggestionRow.score)
                    .where(SuggestionRow.model_id == model_id, SuggestionRow.sentence_id.in_(chunk))
                ):
                    out[sid].append((tech, score))
        for sid in out:
            out[sid].sort(key=lambda pair: (-pair[1], pair[0]))
        return out
