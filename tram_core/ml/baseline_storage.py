"""A baseline model folder on disk: saved as safetensors arrays plus JSON, loaded back only after checking it all.

A baseline model folder holds only data, never code (format 2):

- ``manifest.json``: kind, format, classes (column order), thresholds, training options, and ``features``: per
  part of the feature union, in column order, its name, type (``tfidf_vectorizer`` or ``word_char_tfidf``), the
  settings that rebuild it and its number of columns;
- ``vocabulary.json``: per feature part, its vocabulary (term -> column) and, for ``word_char_tfidf``, the
  words that add no character n-grams (``skipped_words``);
- ``baseline.safetensors``: the arrays: per feature part ``<part>.idf`` (n_features,) and ``<part>.weights``
  (n_features, n_classes), that part's rows of the logistic-regression weights; then ``bias``, ``constant``
  (float) and ``trained`` (bool), one entry per class.

Loading rebuilds the scikit-learn objects from those files and checks them (keys, dtypes, shapes against the class
list and the vocabulary sizes); anything wrong is a ``BaselineError`` naming the folder and the problem.

The rule for the old format (``baseline.joblib``, a pickle: loading a crafted one runs arbitrary code): it is
never unpickled, whoever wrote it. This installation writes no joblib/pickle file any more, and older ones never
recorded a hash that would prove a file is their own, so there is no safe way to tell a genuine old model from a
planted file: a folder holding one is refused with a one-line "retrain it" message (``LEGACY_MESSAGE``). The
worker retrains a quick model saved that way by itself (``jobs.should_retrain_quick_model``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from tram_core.errors import UserError
from tram_core.ml.baseline_features import WordCharTfidf
from tram_core.ml.thresholds import Thresholds, ThresholdsError
from tram_core.text_format import error_line

MANIFEST = "manifest.json"
ARRAYS = "baseline.safetensors"
VOCABULARY = "vocabulary.json"
LEGACY_PICKLE = "baseline.joblib"  # format 1: refused, never unpickled (see the module docstring)
KIND = "baseline"
FORMAT = 2
LEGACY_MESSAGE = ("{folder}: this quick model was saved in the old pickle format, which can run code when loaded; "
                  "retrain it (python -m tram_core train --base baseline)")


class BaselineError(UserError):
    """A baseline model folder that cannot be loaded, or training data that cannot train one."""


FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# TfidfVectorizer settings kept in the manifest; the rest (dtype apart) are callables or a fixed vocabulary,
# which a data-only file cannot hold, so save refuses a vectorizer that sets them.
_VECTORIZER_SETTINGS = ("analyzer", "binary", "decode_error", "encoding", "input", "lowercase", "max_df",
                        "max_features", "min_df", "ngram_range", "norm", "smooth_idf", "stop_words",
                        "strip_accents", "sublinear_tf", "token_pattern", "use_idf")
_WORD_CHAR_SETTINGS = ("ngram_range", "min_df", "max_features", "skip_df")
_TFIDF_SETTINGS = ("norm", "use_idf", "smooth_idf", "sublinear_tf")


def saved_with_pickle(directory: str | Path) -> bool:
    """Whether ``directory`` holds a format-1 model (``baseline.joblib``, a pickle) and no format-2 arrays."""
    directory = Path(directory)
    return (directory / LEGACY_PICKLE).exists() and not (directory / ARRAYS).exists()


def save_baseline(model, directory: str | Path) -> Path:
    """Write ``model``'s ``manifest.json``, ``vocabulary.json`` and ``baseline.safetensors`` into ``directory``."""
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if model.features.transformer_weights:
        raise BaselineError("Cannot save a feature union with transformer weights: the format has no place "
                            "for them.")
    weights = model.weights.toarray() if sparse.issparse(model.weights) else np.asarray(model.weights)
    parts, vocabularies, arrays, offset = [], {}, {}, 0
    for name, part in model.features.transformer_list:
        spec, vocabulary, idf = _part_to_data(name, part)
        parts.append(spec)
        vocabularies[name] = vocabulary
        # each part's rows of the weights under its own name: a reordered manifest cannot misalign them
        arrays[f"{name}.idf"] = idf
        arrays[f"{name}.weights"] = weights[offset:offset + spec["n_features"]]
        offset += spec["n_features"]
    if offset != weights.shape[0]:
        raise BaselineError(f"Cannot save: the features have {offset} columns but the weights "
                            f"{weights.shape[0]} rows.")
    arrays.update(bias=np.asarray(model.bias), trained=np.asarray(model.trained, dtype=bool),
                  constant=np.asarray(model.constant))
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(directory / ARRAYS))
    # json's default ensure_ascii: a lone surrogate in some report text must not make the file unwritable
    (directory / VOCABULARY).write_text(json.dumps(vocabularies, separators=(",", ":")), encoding="utf-8")
    manifest = {"kind": model.kind, "format": FORMAT, "classes": list(model.classes),
                "thresholds": model.thresholds.to_json(), "options": model.options,
                "trained_classes": [c for c, t in zip(model.classes, model.trained) if t], "features": parts}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    (directory / LEGACY_PICKLE).unlink(missing_ok=True)  # an old pickle left here would make it look legacy
    return directory


def read_baseline(directory: str | Path) -> dict:
    """BaselineModel's fields (kind apart) as saved by ``save_baseline``, all checked; else a ``BaselineError``
    naming ``directory`` and the problem."""
    directory = Path(directory)
    if saved_with_pickle(directory):
        raise BaselineError(LEGACY_MESSAGE.format(folder=directory))
    manifest = _read_manifest(directory)
    vocabularies = _read_json_object(directory, VOCABULARY)
    arrays = _read_arrays(directory)
    classes = manifest["classes"]
    specs = manifest["features"]
    expected = {f"{spec['name']}.{kind}" for spec in specs for kind in ("idf", "weights")} \
        | {"bias", "trained", "constant"}
    if set(arrays) != expected:
        raise BaselineError(f"{directory}: {ARRAYS} holds {sorted(arrays)}, expected {sorted(expected)}.")
    parts = [(spec["name"], _part_from_data(directory, spec, vocabularies.get(spec["name"]),
                                            arrays[f"{spec['name']}.idf"])) for spec in specs]
    n_classes = len(classes)
    for spec in specs:
        _check_array(directory, f"{spec['name']}.weights", arrays[f"{spec['name']}.weights"],
                     (spec["n_features"], n_classes), FLOAT_DTYPES)
    weights = np.concatenate([arrays[f"{spec['name']}.weights"] for spec in specs], axis=0)
    for key in ("bias", "constant"):
        _check_array(directory, key, arrays[key], (n_classes,), FLOAT_DTYPES)
    _check_array(directory, "trained", arrays["trained"], (n_classes,), (np.dtype(bool),))
    return dict(classes=classes, features=FeatureUnion(parts), weights=weights, bias=arrays["bias"],
                trained=arrays["trained"], constant=arrays["constant"], thresholds=manifest["thresholds"],
                options=manifest["options"])


def _part_to_data(name: str, part) -> tuple[dict, dict, np.ndarray]:
    """(manifest entry, vocabulary.json entry, idf array) of one fitted part of the feature union."""
    if isinstance(part, WordCharTfidf):
        tfidf = part.tfidf_
        if not tfidf.use_idf:
            raise BaselineError(f"Cannot save feature part {name!r}: it has no idf weights.")
        spec = {"name": name, "type": "word_char_tfidf",
                "params": {k: _json_setting(getattr(part, k)) for k in _WORD_CHAR_SETTINGS},
                "tfidf": {k: getattr(tfidf, k) for k in _TFIDF_SETTINGS}, "n_features": len(part.vocabulary_)}
        vocabulary = {"vocabulary": _in_column_order(part.vocabulary_),
                      "skipped_words": sorted(getattr(part, "skipped_words_", ()))}
        return spec, vocabulary, np.asarray(tfidf.idf_)
    if isinstance(part, TfidfVectorizer):
        params = part.get_params()
        if any(params[k] is not None for k in ("preprocessor", "tokenizer", "vocabulary")) \
                or not isinstance(params["analyzer"], str) or not part.use_idf:
            raise BaselineError(f"Cannot save feature part {name!r}: callables, a fixed vocabulary or no idf.")
        settings = {k: _json_setting(params[k]) for k in _VECTORIZER_SETTINGS}
        settings["dtype"] = np.dtype(params["dtype"]).name
        spec = {"name": name, "type": "tfidf_vectorizer", "params": settings, "n_features": len(part.vocabulary_)}
        return spec, {"vocabulary": _in_column_order(part.vocabulary_)}, np.asarray(part.idf_)
    raise BaselineError(f"Cannot save feature part {name!r} of type {type(part).__name__}.")


def _json_setting(value):
    """Tuples (n-gram ranges) and frozensets (stop words) as JSON lists; numpy scalars as plain numbers."""
    if isinstance(value, (tuple, list, frozenset, set)):
        return sorted(value) if isinstance(value, (frozenset, set)) else list(value)
    return value.item() if isinstance(value, np.generic) else value


def _in_column_order(vocabulary: Mapping[str, int]) -> dict[str, int]:
    """term -> column, written in column order so the file reads like the matrix."""
    return {term: int(column) for term, column in sorted(vocabulary.items(), key=lambda item: item[1])}


def _read_json_object(directory: Path, name: str) -> dict:
    path = directory / name
    if not path.is_file():
        raise BaselineError(f"{directory} is not a baseline model folder: {name} is missing.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # RecursionError: "[[[[..."
        raise BaselineError(f"{directory}: {name} is not valid JSON ({error_line(exc)}).") from exc
    if not isinstance(data, dict):
        raise BaselineError(f"{directory}: {name} should hold a JSON object.")
    return data


def _read_manifest(directory: Path) -> dict:
    """The manifest with every key ``load`` uses checked: types, unique classes, thresholds, parts."""
    manifest = _read_json_object(directory, MANIFEST)
    if manifest.get("kind") != KIND:
        raise BaselineError(f"{directory}: {MANIFEST} describes a {manifest.get('kind')!r} model, not a baseline.")
    if manifest.get("format") != FORMAT:
        raise BaselineError(f"{directory}: {MANIFEST} has format {manifest.get('format')!r}; this version reads "
                            f"format {FORMAT}. Retrain the model (python -m tram_core train --base baseline).")
    missing = {"classes", "features"} - set(manifest)
    if missing:
        raise BaselineError(f"{directory}: {MANIFEST} lacks {', '.join(sorted(missing))}.")
    classes = manifest["classes"]
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) \
            or len(set(classes)) != len(classes):
        raise BaselineError(f"{directory}: {MANIFEST} 'classes' should be a list of distinct technique IDs.")
    try:  # any layout a manifest held, the flat {'global': g, technique: t} of older ones included
        manifest["thresholds"] = Thresholds.from_json(manifest.get("thresholds"))
    except ThresholdsError as exc:
        raise BaselineError(f"{directory}: {MANIFEST} 'thresholds' should map techniques to numbers "
                            f"({error_line(exc)}).") from exc
    if not isinstance(manifest.get("options", {}), dict):
        raise BaselineError(f"{directory}: {MANIFEST} 'options' should be a JSON object.")
    manifest.setdefault("options", {})
    specs = manifest["features"]
    if not isinstance(specs, list) or not specs or not all(
            isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("params"), dict)
            and isinstance(s.get("n_features"), int) and not isinstance(s.get("n_features"), bool)
            and s["n_features"] >= 0 for s in specs):
        raise BaselineError(f"{directory}: {MANIFEST} 'features' should list the feature parts, each with a "
                            "name, params and n_features.")
    names = [s["name"] for s in specs]
    if len(set(names)) != len(names) or any(n in ("bias", "trained", "constant") for n in names):
        raise BaselineError(f"{directory}: {MANIFEST} 'features' has clashing part names {names}.")
    return manifest


def _read_arrays(directory: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    path = directory / ARRAYS
    if not path.is_file():
        raise BaselineError(f"{directory} is not a baseline model folder: {ARRAYS} is missing.")
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for a damaged file
        raise BaselineError(f"{directory}: {ARRAYS} is damaged or truncated ({error_line(exc)}).") from exc


def _check_array(directory: Path, key: str, array: np.ndarray, shape: tuple[int, ...],
                 dtypes: tuple[np.dtype, ...]) -> None:
    if array.dtype not in dtypes:
        raise BaselineError(f"{directory}: {ARRAYS} '{key}' has dtype {array.dtype}, expected "
                            f"{' or '.join(d.name for d in dtypes)}.")
    if array.shape != shape:
        raise BaselineError(f"{directory}: {ARRAYS} '{key}' has shape {array.shape}, expected {shape} "
                            f"(from {MANIFEST} and {VOCABULARY}).")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise BaselineError(f"{directory}: {ARRAYS} '{key}' holds NaN or infinite values.")


def _checked_vocabulary(directory: Path, name: str, entry, n_features: int) -> dict[str, int]:
    """The part's term -> column map; its columns must be exactly 0 .. n_features - 1."""
    vocabulary = entry.get("vocabulary") if isinstance(entry, dict) else None
    if not isinstance(vocabulary, dict):
        raise BaselineError(f"{directory}: {VOCABULARY} has no vocabulary for feature part {name!r}.")
    columns = list(vocabulary.values())
    if not all(type(c) is int for c in columns) or len(columns) != n_features or \
            not np.array_equal(np.sort(np.asarray(columns, dtype=np.int64)), np.arange(n_features)):
        raise BaselineError(f"{directory}: the {name!r} vocabulary in {VOCABULARY} should number its "
                            f"{n_features} terms 0 to {n_features - 1} (as {MANIFEST} says), once each.")
    return vocabulary


def _part_from_data(directory: Path, spec: dict, entry, idf: np.ndarray):
    """A fitted feature part rebuilt from its manifest entry, vocabulary entry and idf array."""
    name, params, n_features = spec["name"], dict(spec["params"]), spec["n_features"]
    vocabulary = _checked_vocabulary(directory, name, entry, n_features)
    _check_array(directory, f"{name}.idf", idf, (n_features,), FLOAT_DTYPES)
    bad = f"{directory}: {MANIFEST} has unusable settings for feature part {name!r}"
    if spec.get("type") == "word_char_tfidf":
        skipped = entry.get("skipped_words", [])
        tfidf_params = spec.get("tfidf")
        if set(params) != set(_WORD_CHAR_SETTINGS) or not isinstance(tfidf_params, dict) \
                or set(tfidf_params) != set(_TFIDF_SETTINGS) or not _valid_ngram_range(params["ngram_range"]) \
                or not all(_whole_or_none(params[k]) for k in ("min_df", "max_features", "skip_df")) \
                or not isinstance(skipped, list) or not all(isinstance(w, str) for w in skipped):
            raise BaselineError(f"{bad}.")
        part = WordCharTfidf(**{**params, "ngram_range": tuple(params["ngram_range"])})
        part.vocabulary_ = vocabulary
        part.skipped_words_ = frozenset(skipped)
        part.tfidf_ = _validated(TfidfTransformer(**tfidf_params), bad)
        if not part.tfidf_.use_idf:
            raise BaselineError(f"{bad}: use_idf must be true.")
        part.tfidf_.idf_ = idf
        part.tfidf_.n_features_in_ = n_features  # as after fit: transform then checks the count matrix's width
        return part
    if spec.get("type") == "tfidf_vectorizer":
        if not set(params) <= {*_VECTORIZER_SETTINGS, "dtype"} or params.get("dtype") not in ("float32", "float64") \
                or params.get("input", "content") != "content" or not _valid_ngram_range(params.get("ngram_range")):
            # input="filename" would make transform open files named by the sentences: only text is accepted
            raise BaselineError(f"{bad}.")
        stop_words = params.get("stop_words")
        params.update(dtype=np.dtype(params["dtype"]).type, ngram_range=tuple(params["ngram_range"]),
                      stop_words=list(stop_words) if isinstance(stop_words, list) else stop_words)
        vectorizer = _validated(TfidfVectorizer(**params), bad)
        if not vectorizer.use_idf:
            raise BaselineError(f"{bad}: use_idf must be true.")
        vectorizer.vocabulary_ = vocabulary
        vectorizer.idf_ = idf  # TfidfVectorizer's setter builds its inner TfidfTransformer
        return vectorizer
    raise BaselineError(f"{directory}: {MANIFEST} names an unknown feature type {spec.get('type')!r} for {name!r}.")


def _valid_ngram_range(value) -> bool:
    # the upper bound only stops a crafted manifest from making every sentence cost millions of n-grams
    return isinstance(value, list) and len(value) == 2 and all(type(n) is int for n in value) \
        and 1 <= value[0] <= value[1] <= 20


def _whole_or_none(value) -> bool:
    return value is None or type(value) is int


def _validated(estimator, bad: str):
    """``estimator`` after scikit-learn's own check of its settings (types and allowed values)."""
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as exc:
        raise BaselineError(f"{bad}: {error_line(exc)}.") from exc
    return estimator

