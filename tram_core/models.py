"""Base models' old address: re-exports of base_models and the modules it draws on (types, folders, hub, checkpoint)."""

# Each name lives in the module it is imported from; this module only keeps the old imports working while
# callers move to the new modules, and can go once none is left.

from tram_core.base_model_types import (
    OFFLINE_ALTERNATIVES,
    TOKENIZER_FILES,
    WEIGHT_FILES,
    BaseModelError,
    DownloadProgress,
    ModelUnavailableError,
    ProgressCallback,
    ResolvedBase,
)
from tram_core.base_models import (
    HUB_ID,
    SCIBERT_HUB_ID,
    BaseModelSpec,
    embedded_model_path,
    list_base_models,
    resolve_base_model,
)
from tram_core.checkpoint_download import (
    COMPLETE_MARKER,
    TRAM_SCIBERT_FILES,
    TRAM_SCIBERT_TOKENIZER,
    TRAM_SCIBERT_URL,
    download_tram_scibert,
    resolve_tram_scibert,
    tram_scibert_dir,
    tram_scibert_downloaded,
    tram_scibert_url,
)
from tram_core.hub_models import HUB_IGNORE, TOKENIZER_PATTERNS, resolve_hub_model
from tram_core.local_base_model import BASELINE_MANIFEST, resolve_local_folder

__all__ = [
    "OFFLINE_ALTERNATIVES", "TOKENIZER_FILES", "WEIGHT_FILES", "BaseModelError", "DownloadProgress",
    "ModelUnavailableError", "ProgressCallback", "ResolvedBase", "HUB_ID", "SCIBERT_HUB_ID", "BaseModelSpec",
    "embedded_model_path", "list_base_models", "resolve_base_model", "COMPLETE_MARKER", "TRAM_SCIBERT_FILES",
    "TRAM_SCIBERT_TOKENIZER", "TRAM_SCIBERT_URL", "download_tram_scibert", "resolve_tram_scibert", "tram_scibert_dir",
    "tram_scibert_downloaded", "tram_scibert_url", "HUB_IGNORE", "TOKENIZER_PATTERNS", "resolve_hub_model",
    "BASELINE_MANIFEST", "resolve_local_folder",
]
