"""The pretraining heads on top of the encoder: masked-token prediction (MLM) and next sentence prediction.

Parameter names follow Hugging Face (``cls.predictions.decoder``,
``cls.seq_relationship``), so checkpoints move between the two libraries
unchanged. The fine-tuning heads are in :mod:`bertlib.task_heads`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import sparse_last_layer
from .config import BertConfig
from .constants import IGNORE_INDEX
from .losses import check_labels
from .model import ACT2FN, BertModel, BertPreTrainedModel
from .objectives.mlm import masked_logits, mlm_loss
from .objectives.sentence_pairs import sentence_pair_loss

__all__ = ["BertForPreTraining", "BertForPreTrainingOutput"]


@dataclass
class BertForPreTrainingOutput:
    """What :class:`BertForPreTraining` returns.

    Attributes:
        loss: mlm_loss + nsp_loss (whichever labels were given), or None.
        mlm_loss, nsp_loss: the two parts, each a scalar, or None.
        prediction_logits: (B, T, V) vocabulary scores at every position; None when
            the head ran only at the labelled positions (the default with labels).
        masked_logits: (N, V) scores at the N labelled positions, in row-major order.
        masked_labels: (N,) the true token ids at those positions.
        seq_relationship_logits: (B, 2) NSP scores; index 0 = IsNext, 1 = NotNext.
        last_hidden_state, pooler_output, hidden_states, attentions: as in BertModelOutput;
            ``last_hidden_state`` is None after a training-mode step with the masked head
            (the last layer then ran only at [CLS] and the labelled positions).
    """

    loss: torch.Tensor | None = None
    mlm_loss: torch.Tensor | None = None
    nsp_loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    masked_logits: torch.Tensor | None = None
    masked_labels: torch.Tensor | None = None
    seq_relationship_logits: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACT2FN[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(h)))


class BertLMPredictionHead(nn.Module):
    """dense + GELU + LayerNorm, then scores over the vocabulary.

    The decoder's weight is the word-embedding matrix itself (tied), so a
    token's input vector and its output vector are the same row; the bias is
    the head's own.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias  # one tensor under two names, as in Hugging Face

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(h))  # (..., H) -> (..., V)


class BertPreTrainingHeads(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)


class BertForPreTraining(BertPreTrainedModel):
    """BERT with both pretraining heads: masked-token prediction and next sentence prediction.

    The losses are those of :mod:`bertlib.objectives.mlm` and :mod:`bertlib.objectives.sentence_pairs`.

    In training mode with the masked head (the default with labels) the last encoder
    layer runs only where the heads read it: [CLS] (for NSP) and the labelled positions
    (:mod:`bertlib.sparse_last_layer`; ``BertConfig(sparse_last_layer=False)`` runs it
    everywhere; loss and gradients agree to float rounding, tests/test_parity.py).
    """

    _tied_weights = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertPreTrainingHeads(config)
        self.post_init()

    def tie_weights(self) -> None:
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight
        self.cls.predictions.decoder.bias = self.cls.predictions.bias

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        logits_at: str | None = None,
    ) -> BertForPreTrainingOutput:
        """Run the encoder and both heads; with labels, also the losses (paper, section 3.1).

        Args:
            input_ids, token_type_ids, attention_mask: as in :meth:`BertModel.forward`.
            labels: (B, T) original token ids at the positions to predict, -100 elsewhere.
            next_sentence_label: (B,) 0 when sentence B follows A (IsNext), 1 when it is random.
            logits_at: "masked" runs the vocabulary projection only where labels != -100
                (same loss and gradients, several times faster: the projection over
                every position is most of a small BERT's work); "all" scores every
                position. Default: "masked" when labels are given, else "all". In training
                mode, "masked" also runs the last layer only at [CLS] and the labelled
                positions (same loss and gradients), unless hidden states or attention
                weights are asked for; ``last_hidden_state`` is then None.
        """
        logits_at = self._checked_inputs(input_ids, labels, next_sentence_label, logits_at)
        if logits_at == "masked" and sparse_last_layer.applies(self, output_attentions, output_hidden_states):
            keep = labels != IGNORE_INDEX  # (B, T): the MLM head's rows...
            keep[:, 0] = True  # ... and [CLS], which the pooler (NSP) reads
            hidden, out = sparse_last_layer.encode_kept(self.bert, input_ids, token_type_ids, attention_mask, keep)
            hidden_labels = labels[keep]  # (N + [CLS] rows,), in the order of ``hidden``
        else:
            out = self.bert(input_ids, token_type_ids, attention_mask, output_attentions, output_hidden_states)
            hidden, hidden_labels = out.last_hidden_state, labels
        res = BertForPreTrainingOutput(
            seq_relationship_logits=self.cls.seq_relationship(out.pooler_output),
            last_hidden_state=out.last_hidden_state,
            pooler_output=out.pooler_output,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
        )
        if logits_at == "masked":
            res.masked_logits, res.masked_labels = masked_logits(self.cls.predictions, hidden, hidden_labels)
            res.mlm_loss = mlm_loss(res.masked_logits, res.masked_labels)
        else:
            res.prediction_logits = self.cls.predictions(hidden)  # (B, T, V)
            if labels is not None:
                res.mlm_loss = mlm_loss(res.prediction_logits, labels)
        if next_sentence_label is not None:
            res.nsp_loss = sentence_pair_loss(res.seq_relationship_logits, next_sentence_label)
        parts = [x for x in (res.mlm_loss, res.nsp_loss) if x is not None]
        res.loss = sum(parts) if parts else None
        return res

    def _checked_inputs(self, input_ids, labels, next_sentence_label, logits_at: str | None) -> str:
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
        if next_sentence_label is not None:
            check_labels(next_sentence_label, 2, "NSP label", "0 (IsNext) or 1 (NotNext)")
        return logits_at
