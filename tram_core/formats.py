"""The dataset formats' old address: re-exports of the dataset_* parsers and checks, and of the exporters."""

# Each name lives in the module it is imported from; this module only keeps the old imports working while
# callers move to the new modules, and can go once none is left.

from tram_core.dataset_checks import (
    KIND_CSV,
    KIND_MJSON,
    KIND_MULTILABEL,
    KIND_REPORT_EXPORT,
    KIND_SINGLE_LABEL,
    MAX_LISTED_PROBLEMS,
    OTHER_DOMAIN,
    DatasetError,
    ImportOptions,
    ImportResult,
    ParsedDataset,
    ParsedReport,
    load_json,
)
from tram_core.dataset_csv import parse_csv
from tram_core.dataset_mjson import parse_mjson
from tram_core.dataset_parsers import detect_json_kind, parse_dataset, parse_json_object, store_dataset
from tram_core.dataset_reports import locate_sentences
from tram_core.dataset_tram_json import parse_multilabel, parse_report_export, parse_single_label
from tram_core.exporters import EXPORT_FORMATS, export_data
from tram_core.navigator_layer import (
    NAVIGATOR_COMMENT_CHARS,
    NAVIGATOR_COMMENT_SENTENCES,
    NAVIGATOR_MODEL_COLOR,
    NAVIGATOR_VERSIONS,
)

__all__ = [
    "KIND_CSV", "KIND_MJSON", "KIND_MULTILABEL", "KIND_REPORT_EXPORT", "KIND_SINGLE_LABEL", "MAX_LISTED_PROBLEMS",
    "OTHER_DOMAIN", "DatasetError", "ImportOptions", "ImportResult", "ParsedDataset", "ParsedReport", "load_json",
    "parse_csv", "parse_mjson", "detect_json_kind", "parse_dataset", "parse_json_object", "store_dataset",
    "locate_sentences", "parse_multilabel", "parse_report_export", "parse_single_label", "EXPORT_FORMATS",
    "export_data", "NAVIGATOR_COMMENT_CHARS", "NAVIGATOR_COMMENT_SENTENCES", "NAVIGATOR_MODEL_COLOR",
    "NAVIGATOR_VERSIONS",
]
