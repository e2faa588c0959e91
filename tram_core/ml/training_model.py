"""The classifier that is fine-tuned: a BERT-family encoder with a multi-label head, mean-pooled (our head file) or
CLS-pooled (a plain BertForSequenceClassification), built from a base folder with its head grown to a new label
space."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from tram_core.ml.model_card import ModelCard

HEAD_FILE = "classifier_head.safetensors"


def _build_classes_module():
    import torch
    from torch import nn

    class MeanPoolClassifier(nn.Module):
        """Encoder (AutoModel) + mean of token vectors over the attention mask + dropout + Linear."""

        def __init__(self, encoder, num_labels: int, dropout: float = 0.1):
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self.classifier(self.dropout(pooled))

    class ClsClassifier(nn.Module):
        """A BertForSequenceClassification-style model (pooler + dropout + Linear), returning logits."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        @property
        def classifier(self):
            return self.model.classifier

        @property
        def encoder(self):
            return self.model.base_model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    return torch, MeanPoolClassifier, ClsClassifier


def mean_pool_classifier(encoder, num_labels: int, dropout: float = 0.1):
    _, MeanPoolClassifier, _ = _build_classes_module()
    return MeanPoolClassifier(encoder, num_labels, dropout)


def label_attention_classifier(encoder, num_labels: int, dropout: float = 0.1):
    """Encoder + a label-attention head: each technique's own query attends over the sentence's tokens, and that
    technique's weight vector scores what it attended to (as in label-wise attention networks for multi-label
    text). The head's parameters are ``query``, ``weight`` and ``bias`` (one row per technique)."""
    import math

    import torch
    from torch import nn

    class LabelAttentionHead(nn.Module):
        def __init__(self, hidden: int, labels: int):
            super().__init__()
            self.query = nn.Parameter(torch.empty(labels, hidden).normal_(0.0, 0.02))
            self.weight = nn.Parameter(torch.zeros(labels, hidden))
            self.bias = nn.Parameter(torch.zeros(labels))
            self.scale = 1.0 / math.sqrt(hidden)

        @property
        def out_features(self) -> int:
            return self.weight.shape[0]

        def forward(self, hidden, attention_mask):
            scores = torch.einsum("blh,ch->bcl", hidden, self.query) * self.scale
            scores = scores.masked_fill(attention_mask[:, None, :] == 0, torch.finfo(scores.dtype).min)
            attended = torch.einsum("bcl,blh->bch", scores.softmax(-1), hidden)
            return (attended * self.weight).sum(-1) + self.bias

    class LabelAttentionClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            self.classifier = LabelAttentionHead(encoder.config.hidden_size, num_labels)

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.classifier(self.dropout(hidden), attention_mask)

    return LabelAttentionClassifier()


def head_classifier(pooling: str, encoder, num_labels: int, dropout: float = 0.1):
    """The encoder with the head of a pooling that keeps its head in HEAD_FILE ('mean' or 'label_attention')."""
    if pooling == "label_attention":
        return label_attention_classifier(encoder, num_labels, dropout)
    return mean_pool_classifier(encoder, num_labels, dropout)


def cls_classifier(model):
    _, _, ClsClassifier = _build_classes_module()
    return ClsClassifier(model)


def grow_head(old_weight, old_bias, old_classes: Sequence[str] | None, new_classes: Sequence[str], init_std: float,
              generator=None):
    """A new (weight, bias) for ``new_classes``: rows of shared classes copied bit for bit, new rows initialised."""
    import torch

    hidden = old_weight.shape[1]
    weight = torch.empty(len(new_classes), hidden, dtype=old_weight.dtype)
    weight.normal_(0.0, init_std, generator=generator)
    bias = torch.zeros(len(new_classes), dtype=old_weight.dtype)
    old_index = {c: j for j, c in enumerate(old_classes or ())}
    for i, tech in enumerate(new_classes):
        j = old_index.get(tech)
        if j is not None:
            weight[i] = old_weight[j].detach().clone()
            bias[i] = old_bias[j].detach().clone()
    return weight, bias


def build_model(base_path: Path, pooling: str, classes: list[str], dropout: float, seed: int,
                base_classes: list[str] | None = None):
    """The classifier to fine-tune, from a base folder (plain encoder, BertForSequenceClassification, or ours).

    When the base already has a classifier for ``base_classes``, rows of shared classes are kept unchanged.
    """
    import torch
    from transformers import AutoConfig

    base_path = Path(base_path)
    config = AutoConfig.from_pretrained(base_path)
    loaded, old_head = _load_base(base_path, config, pooling, len(classes), base_classes)
    hidden = loaded.config.hidden_size
    generator = torch.Generator().manual_seed(seed)
    weight, bias = grow_head(old_head[0] if old_head else torch.zeros(len(classes), hidden),
                             old_head[1] if old_head else torch.zeros(len(classes)),
                             old_head[2] if old_head else None, classes,
                             getattr(config, "initializer_range", 0.02), generator)
    if pooling == "cls":
        return cls_classifier(_with_multi_label_head(loaded, classes, weight, bias))
    model = head_classifier(pooling, loaded, len(classes), dropout)
    model.classifier.weight.data.copy_(weight)
    model.classifier.bias.data.copy_(bias)
    if pooling == "label_attention":
        old_query = _head_tensors(base_path).get("query")
        if old_query is not None and old_head is not None:  # a label-attention base: its queries too
            query, _ = grow_head(old_query, torch.zeros(len(old_query)), old_head[2], classes, 0.02, generator)
            model.classifier.query.data.copy_(query)
    return model


def _head_tensors(base_path: Path) -> dict:
    from safetensors.torch import load_file

    head_file = Path(base_path) / HEAD_FILE
    return load_file(str(head_file)) if head_file.is_file() else {}


def _load_base(base_path: Path, config, pooling: str, num_labels: int, base_classes: list[str] | None):
    """(model, old head): a sequence classifier for cls pooling, else the encoder; and the base's classifier as
    (weight, bias, classes), or None when the base has none."""
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoModelForSequenceClassification

    base_card = ModelCard.read_if_present(base_path)
    card_classes = list(base_card.classes) if base_card is not None else None
    old_head = None
    head_file = base_path / HEAD_FILE
    if head_file.is_file():  # our mean-pooling head
        tensors = load_file(str(head_file))
        old_head = (tensors["weight"], tensors["bias"], card_classes or base_classes)
    if any(a.endswith("ForSequenceClassification") for a in (config.architectures or [])):
        full = AutoModelForSequenceClassification.from_pretrained(base_path)
        old_classes = base_classes or [config.id2label[i] for i in range(config.num_labels)]
        old_head = (full.classifier.weight.data, full.classifier.bias.data, old_classes)
        return (full if pooling == "cls" else full.base_model), old_head
    if pooling == "cls":
        return AutoModelForSequenceClassification.from_pretrained(base_path, num_labels=num_labels), old_head
    if config.model_type == "bert":
        return AutoModel.from_pretrained(base_path, add_pooling_layer=False), old_head
    return AutoModel.from_pretrained(base_path), old_head


def _with_multi_label_head(model, classes: list[str], weight, bias):
    """``model`` (a ...ForSequenceClassification) with a new Linear head over ``classes`` set to (weight, bias)."""
    import torch

    hidden = model.config.hidden_size
    model.classifier = torch.nn.Linear(hidden, len(classes))
    model.classifier.weight.data.copy_(weight)
    model.classifier.bias.data.copy_(bias)
    id2label = dict(enumerate(classes))
    model.config.num_labels = len(classes)
    model.config.id2label = id2label
    model.config.label2id = {c: i for i, c in id2label.items()}
    model.config.problem_type = "multi_label_classification"
    model.num_labels = len(classes)
    return model


def freeze_word_embeddings(model) -> None:
    """Keep the token embedding matrix fixed: less work per step (no dense 30k x hidden gradient or AdamW update)."""
    for p in model.encoder.get_input_embeddings().parameters():
        p.requires_grad_(False)
