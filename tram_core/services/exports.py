"""Reports and Evaluate pages' ATT&CK exports: a STIX 2.1 bundle of a report or the corpus (labelled sentences, a
model's findings, or both), a trained model's coverage as a Navigator layer, and the ATT&CK version in use."""

from __future__ import annotations

from dataclasses import dataclass

from tram_core.errors import UserError
from tram_core.io.navigator_coverage import COVERAGE_KINDS
from tram_core.io.stix_export import STIX_CONTENTS
from tram_core.services.common import Context, ModelChoices, check_user, model_choices

STIX_CONTENT_NAMES = {
    "labelled": "Labelled sentences",
    "model": "The model's findings (one report)",
    "both": "Labelled sentences and the model's findings (one report)",
}
COVERAGE_NAMES = {
    "f1": "Test F1 per technique",
    "support": "Training sentences per technique",
}


@dataclass(frozen=True)
class ExportFile:
    """A prepared download: its bytes, suggested file name and media type."""

    content: bytes
    filename: str
    mime: str = "application/json"

    @property
    def button(self) -> str:
        return f"Download {self.filename} ({len(self.content) / 1024:,.0f} KB)"


def attack_version(ctx: Context) -> str:
    """The ATT&CK catalog in use, as a caption: ``ATT&CK v18.1 (embedded)`` or ``ATT&CK v19.0 (from FILE)``."""
    return ctx.catalog.description


def stix_possible(content: str, report_id: int | None) -> bool:
    """A model's findings go into a bundle of one report; labelled sentences into any."""
    return content == "labelled" or report_id is not None


def stix_export(ctx: Context, user: str, report_id: int | None, content: str = "labelled",
                model_id: int | None = None) -> ExportFile:
    """The STIX 2.1 bundle of one report (``report_id``) or every report (None): its labelled sentences, the
    findings of ``model_id`` (default: the promoted model) in the one report, or both (``content``)."""
    from tram_core.views.report_export import export_with_findings

    check_user(user, "export")
    if content not in STIX_CONTENTS:
        raise UserError(f"Unknown STIX content '{content}'; use one of {', '.join(STIX_CONTENTS)}")
    data, filename = export_with_findings(ctx.store, "stix", report_id, model_findings=content != "labelled",
                                          model_id=model_id, labelled=content != "model")
    return ExportFile(data, filename)


def coverage_models(ctx: Context) -> ModelChoices:
    """The trained models whose coverage a layer can show (imported suggestion holders left out)."""
    return model_choices(ctx.store.list_models(include_imported=False))


def coverage_layer(ctx: Context, user: str, model_id: int, by: str = "f1") -> ExportFile:
    """The Navigator layer of model ``model_id``'s label space scored ``by`` test F1 or training support."""
    from tram_core.io.exporters import export_model_coverage

    check_user(user, "export")
    if by not in COVERAGE_KINDS:
        raise UserError(f"Unknown coverage '{by}'; use one of {', '.join(COVERAGE_KINDS)}")
    data, filename = export_model_coverage(ctx.store, model_id, by)
    return ExportFile(data, filename)
