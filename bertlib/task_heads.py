"""The fine-tuning heads: sequence (and pair) classification, token classification, answer spans.

Each head returns its own output class with Hugging Face's field names
(``SequenceClassifierOutput``, ``TokenClassifierOutput``,
``QuestionAnsweringModelOutput``), and its parameters are named as in Hugging Face
(``classifier``, ``qa_outputs``), so checkpoints move between the two libraries
unchanged. Which head serves which kind of task is :mod:`bertlib.task_kinds`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import sparse_last_layer
from .config import BertConfig
from .losses import check_labels, mean_loss
from .model import BertModel, BertModelOutput, BertPreTrainedModel

__all__ = [
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertForQuestionAnswering",
    "SequenceClassifierOutput",
    "TokenClassifierOutput",
    "QuestionAnsweringModelOutput",
]


@dataclass
class SequenceClassifierOutput:
    """What :class:`BertForSequenceClassification` returns (Hugging Face's field names).

    Attributes:
        loss: cross-entropy (MSE when num_labels == 1) with labels, else None.
        logits: (B, num_labels) class scores.
        hidden_states, attentions: as in :class:`bertlib.BertModelOutput`, when asked for.
        last_hidden_state: (B, T, H) the encoder's output (a bertlib extra); None in training
            mode, where the last layer runs only at [CLS] (:mod:`bertlib.sparse_last_layer`).
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
    last_hidden_state: torch.Tensor | None = None


@dataclass
class TokenClassifierOutput:
    """What :class:`BertForTokenClassification` returns (Hugging Face's field names).

    Attributes:
        loss: cross-entropy over the labelled tokens with labels, else None.
        logits: (B, T, num_labels) tag scores of every token.
        hidden_states, attentions: as in :class:`bertlib.BertModelOutput`, when asked for.
        last_hidden_state: (B, T, H) the encoder's output (a bertlib extra).
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
    last_hidden_state: torch.Tensor | None = None


@dataclass
class QuestionAnsweringModelOutput:
    """What :class:`BertForQuestionAnswering` returns (Hugging Face's field names).

    Attributes:
        loss: mean of the start and end cross-entropies with positions, else None.
        start_logits, end_logits: (B, T) scores of each token as the answer's first and last.
        hidden_states, attentions: as in :class:`bertlib.BertModelOutput`, when asked for.
        last_hidden_state: (B, T, H) the encoder's output (a bertlib extra).
    """

    loss: torch.Tensor | None = None
    start_logits: torch.Tensor | None = None
    end_logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
    last_hidden_state: torch.Tensor | None = None


class BertForSequenceClassification(BertPreTrainedModel):
    """A linear classifier on the pooled [CLS] vector (sentiment, NLI, ...); MSE when num_labels == 1.

    In training mode the last encoder layer runs only at [CLS], the one position the
    classifier reads (:mod:`bertlib.sparse_last_layer`; ``BertConfig(sparse_last_layer=False)``
    turns this off).
    """

    # Expected on loading an encoder or pretraining checkpoint: a fresh head, unused pretraining heads.
    _keys_to_ignore_on_load_missing = (r"^classifier\.",)
    _keys_to_ignore_on_load_unexpected = (r"^cls\.",)

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids,
        token_type_ids=None,
        attention_mask=None,
        labels=None,
        output_attentions=False,
        output_hidden_states=False,
    ) -> SequenceClassifierOutput:
        """labels: (B,) class ids (or floats when num_labels == 1). Returns logits (B, num_labels).

        In training mode without hidden states or attention weights asked for, the last
        layer runs only at [CLS] and ``last_hidden_state`` is None.
        """
        if sparse_last_layer.applies(self, output_attentions, output_hidden_states):
            keep = torch.zeros_like(input_ids, dtype=torch.bool)
            keep[:, 0] = True  # (B, T): only [CLS]
            _, out = sparse_last_layer.encode_kept(self.bert, input_ids, token_type_ids, attention_mask, keep)
        else:
            out = self.bert(input_ids, token_type_ids, attention_mask, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(out.pooler_output))
        loss = None
        if labels is not None:
            B = input_ids.size(0)
            if labels.shape not in ((B,), (B, 1)):
                raise ValueError(
                    f"labels has shape {tuple(labels.shape)} for a batch of {B}: pass one label per example, "
                    f"shape ({B},)."
                )
            labels = labels.view(B)
            if self.num_labels == 1:
                loss = F.mse_loss(logits.squeeze(-1), labels.float())
            else:
                check_labels(labels, self.num_labels)
                loss = F.cross_entropy(logits, labels.view(-1))
        return SequenceClassifierOutput(loss=loss, logits=logits, **_encoder_extras(out))


class BertForTokenClassification(BertPreTrainedModel):
    """A linear classifier on every token's vector (named-entity-style tagging)."""

    # Expected: a fresh head; unused pretraining heads, and the pooler this model has no use for.
    _keys_to_ignore_on_load_missing = (r"^classifier\.",)
    _keys_to_ignore_on_load_unexpected = (r"^cls\.", r"^bert\.pooler\.")

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids,
        token_type_ids=None,
        attention_mask=None,
        labels=None,
        output_attentions=False,
        output_hidden_states=False,
    ) -> TokenClassifierOutput:
        """labels: (B, T) tag ids, -100 on positions that do not count. Returns logits (B, T, num_labels)."""
        out = self.bert(input_ids, token_type_ids, attention_mask, output_attentions, output_hidden_states)
        logits = self.classifier(self.dropout(out.last_hidden_state))
        loss = None
        if labels is not None:
            check_labels(labels, self.num_labels)
            loss = mean_loss(logits.flatten(0, 1), labels.flatten())
        return TokenClassifierOutput(loss=loss, logits=logits, **_encoder_extras(out))


class BertForQuestionAnswering(BertPreTrainedModel):
    """Extractive QA: a start score and an end score for every token (SQuAD-style span heads)."""

    # Expected: fresh span heads; unused pretraining heads, and the pooler this model has no use for.
    _keys_to_ignore_on_load_missing = (r"^qa_outputs\.",)
    _keys_to_ignore_on_load_unexpected = (r"^cls\.", r"^bert\.pooler\.")

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(
        self,
        input_ids,
        token_type_ids=None,
        attention_mask=None,
        start_positions=None,
        end_positions=None,
        output_attentions=False,
        output_hidden_states=False,
    ) -> QuestionAnsweringModelOutput:
        """start_positions / end_positions: (B,) token indices of the answer span (inclusive)."""
        out = self.bert(input_ids, token_type_ids, attention_mask, output_attentions, output_hidden_states)
        start_logits, end_logits = self.qa_outputs(out.last_hidden_state).unbind(-1)  # (B, T) each
        loss = None
        if start_positions is not None and end_positions is not None:
            T = input_ids.size(1)
            for name, pos in (("start_positions", start_positions), ("end_positions", end_positions)):
                if pos.numel() and (int(pos.min()) < 0 or int(pos.max()) >= T):
                    raise ValueError(
                        f"{name} must be token indices in [0, {T}); got {pos.tolist()}. "
                        "Was the answer truncated away? Increase max_length."
                    )
            loss = (F.cross_entropy(start_logits, start_positions) + F.cross_entropy(end_logits, end_positions)) / 2
        return QuestionAnsweringModelOutput(
            loss=loss, start_logits=start_logits, end_logits=end_logits, **_encoder_extras(out)
        )


def _encoder_extras(out: BertModelOutput) -> dict:
    """The encoder's outputs every task output passes on: last layer, and what was asked for."""
    return {
        "last_hidden_state": out.last_hidden_state,
        "hidden_states": out.hidden_states,
        "attentions": out.attentions,
    }
