"""Loading trained model folders and scoring: class order, plain-transformers compatibility, batching by length."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tram_core.errors import UserError
from tram_core.ml.trained import load_trained
from tram_core.ml.training import TrainOptions, train_model
from tram_core.ml.training_model import HEAD_FILE

from .test_training import FAST, settings_for, toy_examples

TEXTS = ["A PowerShell command 7 decoded the base64 stager.",
         "Persistence was set via the Run key under HKCU 8.",
         "Thank you to our partners 9.",
         "The actor ran PowerShell scripts to download the payload 10, then the registry run key launched it at logon."]


@pytest.fixture(scope="module")
def folders(tiny_bert_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trained")
    out = {}
    for pooling in ("mean", "cls", "label_attention"):
        options = TrainOptions(base=str(tiny_bert_dir), pooling=pooling, **{**FAST, "epochs": 6})
        out[pooling] = train_model(toy_examples(), options, settings_for(tmp), tmp / pooling).model_dir
    return out


@pytest.mark.parametrize("pooling", ["mean", "cls", "label_attention"])
def test_scores_have_one_column_per_class_in_order(folders, pooling):
    predictor = load_trained(folders[pooling])
    info = json.loads((folders[pooling] / "tram_model.json").read_text())
    assert predictor.classes == info["classes"] == ["T1059.001", "T1547.001"]
    assert predictor.kind == "transformer" and predictor.card.pooling == pooling
    assert predictor.thresholds["global"] == info["thresholds"]["global"]
    assert set(predictor.thresholds.per_technique) == {"T1059.001", "T1547.001"}
    scores = predictor.predict_scores(TEXTS)
    assert scores.shape == (4, 2) and ((scores >= 0) & (scores <= 1)).all()
    if pooling != "cls":  # the longer-trained models have learned the toy topics
        assert scores[0, 0] > scores[0, 1] and scores[1, 1] > scores[1, 0]
        assert predictor.predict_sets(TEXTS[:2]) == [{"T1059.001"}, {"T1547.001"}]


def test_batched_scores_equal_one_at_a_time(folders):
    predictor = load_trained(folders["mean"])
    together = predictor.predict_scores(TEXTS, batch_size=3)
    alone = np.vstack([predictor.predict_scores([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert predictor.predict_scores([]).shape == (0, 2)


def test_cls_folder_loads_with_plain_transformers(folders):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = folders["cls"]
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    with torch.no_grad():
        batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=32, return_tensors="pt")
        plain = torch.sigmoid(model(**batch).logits).numpy()
    np.testing.assert_allclose(load_trained(folder).predict_scores(TEXTS), plain, atol=1e-5)


def test_mean_folder_rebuilds_as_its_readme_says(folders):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    folder = folders["mean"]
    assert "AutoModel" in (folder / "README.md").read_text()
    encoder = AutoModel.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    head = torch.nn.Linear(encoder.config.hidden_size, 2)
    head.load_state_dict(load_file(str(folder / HEAD_FILE)))
    with torch.no_grad():
        batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=32, return_tensors="pt")
        hidden = encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        plain = torch.sigmoid(head((hidden * mask).sum(1) / mask.sum(1))).numpy()
    np.testing.assert_allclose(load_trained(folder).predict_scores(TEXTS), plain, atol=1e-5)


def test_a_folder_without_model_info_is_refused(tmp_path):
    with pytest.raises(UserError, match="tram_model.json"):
        load_trained(tmp_path)


def test_a_label_attention_model_keeps_its_queries_and_grows_them_for_new_techniques(folders):
    import torch
    from safetensors.torch import load_file

    from tram_core.ml.training_model import build_model

    folder = folders["label_attention"]
    assert set(load_file(str(folder / HEAD_FILE))) == {"query", "weight", "bias"}
    assert "AutoModel.from_pretrained(folder)" not in (folder / "README.md").read_text()  # not the mean recipe
    old = build_model(folder, "label_attention", ["T1059.001", "T1547.001"], 0.1, seed=1)
    new = build_model(folder, "label_attention", ["T1003.001", "T1547.001", "T1059.001"], 0.1, seed=1)
    for name in ("query", "weight"):
        before, after = getattr(old.classifier, name), getattr(new.classifier, name)
        assert torch.equal(after[1], before[1]) and torch.equal(after[2], before[0])
        assert not torch.equal(after[0], before[0])
