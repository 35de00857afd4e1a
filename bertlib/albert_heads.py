"""ALBERT's pretraining heads: masked-token prediction (MLM) and sentence-order prediction (SOP).

SOP (Lan et al. 2020, section 3.1) replaces BERT's next sentence prediction. Its
positives are two consecutive sentences in order, its negatives the *same* two
sentences swapped, so topic cannot give the answer away: only order can.
Parameter names follow Hugging Face's ``AlbertForPreTraining`` (``predictions.dense``,
``predictions.decoder``, ``sop_classifier.classifier``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .albert import AlbertModel, AlbertPreTrainedModel
from .albert_config import AlbertConfig
from .constants import IGNORE_INDEX
from .losses import check_labels, mean_loss
from .model import ACT2FN

__all__ = ["AlbertForPreTraining", "AlbertForPreTrainingOutput"]


@dataclass
class AlbertForPreTrainingOutput:
    """What :class:`AlbertForPreTraining` returns.

    Attributes:
        loss: mlm_loss + sop_loss (whichever labels were given), or None.
        losses: the parts by name, {"mlm": ..., "sop": ...}, for those computed (the
            Trainer's history records each).
        mlm_loss, sop_loss: the same parts as attributes, or None.
        prediction_logits: (B, T, V) vocabulary scores at every position; None when the
            head ran only at the labelled positions (the default with labels).
        masked_logits: (N, V) scores at the N labelled positions, in row-major order.
        masked_labels: (N,) the true token ids at those positions.
        sop_logits: (B, 2) sentence-order scores; index 0 = in order, 1 = swapped.
        last_hidden_state, pooler_output, hidden_states, attentions: as in AlbertModel.
    """

    loss: torch.Tensor | None = None
    losses: dict[str, torch.Tensor] = field(default_factory=dict)
    mlm_loss: torch.Tensor | None = None
    sop_loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    masked_logits: torch.Tensor | None = None
    masked_labels: torch.Tensor | None = None
    sop_logits: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class AlbertMLMHead(nn.Module):
    """H -> E (dense, activation, LayerNorm), then scores over the vocabulary with the tied E-wide embeddings."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)
        self.decoder = nn.Linear(config.embedding_size, config.vocab_size)
        self.decoder.bias = self.bias  # one tensor under two names, as in Hugging Face
        self.activation = ACT2FN[config.hidden_act]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.LayerNorm(self.activation(self.dense(h))))  # (..., H) -> (..., V)


class AlbertSOPHead(nn.Module):
    """dropout, then a linear classifier on the pooled [CLS] vector: in order (0) or swapped (1)."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(pooled))  # (B, H) -> (B, 2)


class AlbertForPreTraining(AlbertPreTrainedModel):
    """ALBERT with both pretraining heads: masked-token prediction and sentence-order prediction.

    Takes the batches of :class:`bertlib.PretrainingDataset`: the order label may come as
    ``next_sentence_label`` (bertlib's batch key) or as ``sentence_order_label`` (Hugging
    Face's); either way 0 means in order and 1 swapped.
    """

    _tied_weights = {
        "predictions.decoder.weight": "albert.embeddings.word_embeddings.weight",
        "predictions.decoder.bias": "predictions.bias",
    }

    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        if config.num_labels != 2:
            raise ValueError(
                f"Sentence-order prediction has two classes (0 = in order, 1 = swapped), but num_labels is "
                f"{config.num_labels}: build AlbertForPreTraining with num_labels=2."
            )
        self.albert = AlbertModel(config)
        self.predictions = AlbertMLMHead(config)
        self.sop_classifier = AlbertSOPHead(config)
        self.post_init()

    def tie_weights(self) -> None:
        self.predictions.decoder.weight = self.albert.embeddings.word_embeddings.weight
        self.predictions.decoder.bias = self.predictions.bias

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        sentence_order_label: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        logits_at: str | None = None,
    ) -> AlbertForPreTrainingOutput:
        """Run the encoder and both heads; with labels, also the losses.

        Args:
            input_ids, token_type_ids, attention_mask: as in :meth:`bertlib.BertModel.forward`.
            labels: (B, T) original token ids at the positions to predict, -100 elsewhere.
            next_sentence_label, sentence_order_label: (B,) the order label under either name
                (give one): 0 when sentence A comes before B as in the text, 1 when swapped.
            logits_at: "masked" runs the vocabulary projection only where labels != -100 (same
                loss and gradients, faster); "all" scores every position. Default: "masked" when
                labels are given, else "all".
        """
        order = self._order_labels(next_sentence_label, sentence_order_label)
        logits_at = self._checked_inputs(input_ids, labels, order, logits_at)
        out = self.albert(input_ids, token_type_ids, attention_mask, output_attentions, output_hidden_states)
        res = AlbertForPreTrainingOutput(
            sop_logits=self.sop_classifier(out.pooler_output),
            last_hidden_state=out.last_hidden_state,
            pooler_output=out.pooler_output,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
        )
        if logits_at == "masked":
            selected = labels != IGNORE_INDEX  # (B, T)
            res.masked_logits, res.masked_labels = self.predictions(out.last_hidden_state[selected]), labels[selected]
            res.mlm_loss = mean_loss(res.masked_logits, res.masked_labels)
        else:
            res.prediction_logits = self.predictions(out.last_hidden_state)  # (B, T, V)
            if labels is not None:
                res.mlm_loss = mean_loss(res.prediction_logits.flatten(0, 1), labels.flatten())
        if order is not None:
            res.sop_loss = F.cross_entropy(res.sop_logits, order.view(-1))
        res.losses = {k: v for k, v in (("mlm", res.mlm_loss), ("sop", res.sop_loss)) if v is not None}
        res.loss = sum(res.losses.values()) if res.losses else None
        return res

    @staticmethod
    def _order_labels(next_sentence_label, sentence_order_label) -> torch.Tensor | None:
        if next_sentence_label is not None and sentence_order_label is not None:
            raise ValueError(
                "Give the sentence-order label once: as next_sentence_label (bertlib's batches) or as "
                "sentence_order_label (Hugging Face's name), not both."
            )
        return sentence_order_label if sentence_order_label is not None else next_sentence_label

    def _checked_inputs(self, input_ids, labels, order, logits_at: str | None) -> str:
        """Clear errors for labels that do not fit; returns where to score ("masked" or "all")."""
        logits_at = logits_at or ("masked" if labels is not None else "all")
        if logits_at not in ("masked", "all"):
            raise ValueError(f"logits_at must be 'masked' or 'all', got {logits_at!r}.")
        if logits_at == "masked" and labels is None:
            raise ValueError("logits_at='masked' needs labels: they say which positions are masked.")
        if labels is not None and labels.shape != input_ids.shape:
            raise ValueError(
                f"labels has shape {tuple(labels.shape)} but input_ids has {tuple(input_ids.shape)}; "
                "MLM labels give a token id (or -100) for every input position."
            )
        if labels is not None:
            check_labels(labels, self.config.vocab_size, "MLM label", "a token id of this model's vocabulary")
        if order is not None:
            if order.shape != input_ids.shape[:1]:
                raise ValueError(
                    f"The sentence-order label has shape {tuple(order.shape)}; it needs one label per "
                    f"sequence, shape ({input_ids.size(0)},)."
                )
            check_labels(order, 2, "SOP label", "0 (in order) or 1 (swapped)")
        return logits_at
