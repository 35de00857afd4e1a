"""ELECTRA's two models (Clark et al. 2020): a generator (a small MLM) and a discriminator.

Both are a BERT encoder (:class:`bertlib.model.BertEncoder`, unchanged) under embeddings
of their own width, ``embedding_size``, projected to ``hidden_size`` when the two differ.
Module and parameter names are those of Hugging Face's ``ElectraForMaskedLM`` and
``ElectraForPreTraining`` (``electra.embeddings...``, ``electra.embeddings_project``,
``electra.encoder...``, ``generator_predictions``, ``generator_lm_head``,
``discriminator_predictions``), so their state dicts load unchanged. How the two train
together, replaced-token detection, is :mod:`bertlib.objectives.replaced_tokens`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import BertConfig
from .constants import IGNORE_INDEX
from .electra_config import ElectraConfig
from .model import ACT2FN, BertEmbeddings, BertEncoder, BertModelOutput, BertPreTrainedModel
from .model_inputs import additive_mask, check_batch_shape
from .objectives.mlm import masked_logits, mlm_loss

__all__ = [
    "ElectraModel",
    "ElectraForMaskedLM",
    "ElectraForPreTraining",
    "ElectraMaskedLMOutput",
    "ElectraForPreTrainingOutput",
]


class ElectraModel(BertPreTrainedModel):
    """The ELECTRA encoder: embeddings (width E), a projection to H when E != H, BERT's blocks; no pooler."""

    base_model_prefix = "electra"

    config_class = ElectraConfig

    def __init__(self, config: ElectraConfig):
        super().__init__(_checked_config(config))
        self.embeddings = BertEmbeddings(config.embedding_config())
        if config.embedding_size != config.hidden_size:
            self.embeddings_project = nn.Linear(config.embedding_size, config.hidden_size)
        self.encoder = BertEncoder(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BertModelOutput:
        """As :meth:`BertModel.forward`; ``pooler_output`` is None."""
        x = self.embeddings(check_batch_shape(input_ids), token_type_ids)  # (B, T, E)
        if hasattr(self, "embeddings_project"):
            x = self.embeddings_project(x)  # (B, T, H)
        mask = additive_mask(attention_mask, input_ids, x.dtype)
        return self.encoder(x, mask, output_attentions, output_hidden_states)


@dataclass
class ElectraMaskedLMOutput:
    """What :class:`ElectraForMaskedLM` returns.

    Attributes:
        loss: the MLM loss, or None without labels.
        logits: (B, T, V) scores at every position; None when only the masked ones were scored.
        masked_logits, masked_labels: (N, V) scores and (N,) true ids at the N labelled positions.
        hidden_states, attentions: as in BertModelOutput.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    masked_logits: torch.Tensor | None = None
    masked_labels: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class ElectraGeneratorPredictions(nn.Module):
    """dense (H -> E), GELU, LayerNorm: back to the embedding width, where the vocabulary is scored."""

    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(F.gelu(self.dense(h)))


class ElectraForMaskedLM(BertPreTrainedModel):
    """ELECTRA's generator: an MLM whose output layer is the word-embedding matrix (tied)."""

    base_model_prefix = "electra"
    _tied_weights = {"generator_lm_head.weight": "electra.embeddings.word_embeddings.weight"}

    config_class = ElectraConfig

    def __init__(self, config: ElectraConfig):
        super().__init__(_checked_config(config))
        self.electra = ElectraModel(config)
        self.generator_predictions = ElectraGeneratorPredictions(config)
        self.generator_lm_head = nn.Linear(config.embedding_size, config.vocab_size)
        self.post_init()

    def tie_weights(self) -> None:
        self.generator_lm_head.weight = self.electra.embeddings.word_embeddings.weight

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., H) final vectors -> (..., V) vocabulary scores."""
        return self.generator_lm_head(self.generator_predictions(hidden))

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        logits_at: str | None = None,
    ) -> ElectraMaskedLMOutput:
        """Scores, and with ``labels`` (original ids, -100 elsewhere) the MLM loss.

        ``logits_at``: "masked" scores only the labelled positions (the default with labels),
        "all" every position, as in :meth:`bertlib.BertForPreTraining.forward`.
        """
        logits_at = _where_to_score(logits_at, labels, input_ids, self.config.vocab_size)
        out = self.electra(input_ids, token_type_ids, attention_mask, output_attentions, output_hidden_states)
        res = ElectraMaskedLMOutput(hidden_states=out.hidden_states, attentions=out.attentions)
        if logits_at == "masked":
            res.masked_logits, res.masked_labels = masked_logits(self.scores, out.last_hidden_state, labels)
            res.loss = mlm_loss(res.masked_logits, res.masked_labels)
        else:
            res.logits = self.scores(out.last_hidden_state)
            res.loss = mlm_loss(res.logits, labels) if labels is not None else None
        return res


@dataclass
class ElectraForPreTrainingOutput:
    """What :class:`ElectraForPreTraining` returns.

    Attributes:
        loss: binary cross-entropy of "replaced?" over the positions that count, or None.
        logits: (B, T) scores, > 0 meaning "replaced".
        hidden_states, attentions: as in BertModelOutput.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class ElectraDiscriminatorPredictions(nn.Module):
    """dense (H -> H), activation, dense_prediction (H -> 1): one "replaced?" score per token."""

    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation: Callable[[torch.Tensor], torch.Tensor] = ACT2FN[config.hidden_act]
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.dense_prediction(self.activation(self.dense(h))).squeeze(-1)  # (B, T)


class ElectraForPreTraining(BertPreTrainedModel):
    """ELECTRA's discriminator: for every token, was it replaced by the generator?"""

    base_model_prefix = "electra"

    config_class = ElectraConfig

    def __init__(self, config: ElectraConfig):
        super().__init__(_checked_config(config))
        self.electra = ElectraModel(config)
        self.discriminator_predictions = ElectraDiscriminatorPredictions(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> ElectraForPreTrainingOutput:
        """Scores, and with ``labels`` (1 = replaced, 0 = original, -100 = does not count) the loss.

        Padding (``attention_mask`` 0) never counts, as in Hugging Face's class.
        """
        out = self.electra(input_ids, token_type_ids, attention_mask, output_attentions, output_hidden_states)
        logits = self.discriminator_predictions(out.last_hidden_state)
        res = ElectraForPreTrainingOutput(logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)
        if labels is not None:
            res.loss = discriminator_loss(logits, labels, attention_mask)
        return res


def discriminator_loss(logits: torch.Tensor, labels: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean binary cross-entropy over the real tokens whose label is not -100 (0 when there are none)."""
    if labels.shape != logits.shape:
        raise ValueError(f"labels {tuple(labels.shape)} must match input_ids {tuple(logits.shape)}: one per token.")
    counts = labels != IGNORE_INDEX
    if attention_mask is not None:
        counts &= attention_mask.bool()
    bad = labels[counts & (labels != 0) & (labels != 1)]
    if bad.numel():
        raise ValueError(f"Discriminator label {int(bad[0])}: use 1 (replaced), 0 (original) or -100 (ignored).")
    if not bool(counts.any()):
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[counts], labels[counts].to(logits.dtype))


def _checked_config(config: BertConfig) -> ElectraConfig:
    if not isinstance(config, ElectraConfig):
        raise TypeError(
            f"ELECTRA models need a bertlib.ElectraConfig (it adds embedding_size), got {type(config).__name__}."
        )
    return config


def _where_to_score(logits_at: str | None, labels: torch.Tensor | None, input_ids: torch.Tensor, vocab: int) -> str:
    logits_at = logits_at or ("masked" if labels is not None else "all")
    if logits_at not in ("masked", "all"):
        raise ValueError(f"logits_at must be 'masked' or 'all', got {logits_at!r}.")
    if logits_at == "masked" and labels is None:
        raise ValueError("logits_at='masked' needs labels: they say which positions are masked.")
    if labels is not None and labels.shape != input_ids.shape:
        raise ValueError(f"labels {tuple(labels.shape)} must match input_ids {tuple(input_ids.shape)}.")
    if labels is not None:
        valid = labels[labels != IGNORE_INDEX]
        if valid.numel() and (int(valid.min()) < 0 or int(valid.max()) >= vocab):
            raise ValueError(f"MLM labels must be token ids below vocab_size ({vocab}) or -100.")
    return logits_at
