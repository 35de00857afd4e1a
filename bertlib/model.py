"""The BERT encoder: embeddings, encoder blocks, ``BertModel`` (self-attention is in :mod:`bertlib.attention`).

Module and parameter names mirror Hugging Face's ``modeling_bert.py``
(``embeddings.word_embeddings``, ``encoder.layer.N.attention.self.query``,
...), so real checkpoints load with ``load_state_dict(strict=True)`` and no
rename table. Task heads live in :mod:`bertlib.heads`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import BertSelfAttention
from .config import BertConfig
from .model_inputs import additive_mask, check_batch_shape, check_token_ids, segment_ids
from .model_io import PreTrainedMixin

__all__ = [
    "BertModel",
    "BertModelOutput",
    "BertEmbeddings",
    "BertLayer",
    "BertEncoder",
    "BertPreTrainedModel",
]

ACT2FN = {
    "gelu": lambda x: F.gelu(x),  # exact erf GELU, as in BERT
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "tanh": torch.tanh,
}


@dataclass
class BertModelOutput:
    """What :class:`BertModel` returns.

    Attributes:
        last_hidden_state: (B, T, H) contextual vector of every token; None only when
            :mod:`bertlib.sparse_last_layer` ran the last layer at some positions.
        pooler_output: (B, H) tanh(dense([CLS] vector)), the input of the NSP and
            sentence classification heads; None when the model has no pooler.
        hidden_states: the embeddings then every layer's output, L + 1 tensors of
            shape (B, T, H); only with ``output_hidden_states=True``.
        attentions: one (B, heads, T, T) tensor per layer, rows summing to 1;
            only with ``output_attentions=True``. Ready for bertviz.
    """

    last_hidden_state: torch.Tensor | None
    pooler_output: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class BertEmbeddings(nn.Module):
    """Token + segment + position embeddings, summed, then LayerNorm and dropout (paper, fig. 2).

    With ``position_embedding_type="rotary"`` there is no position table: positions enter
    in every layer's attention instead (:mod:`bertlib.rotary`). ``size`` is the width of
    the vectors, ``hidden_size`` unless given (ALBERT's smaller embedding size E).
    """

    def __init__(self, config: BertConfig, size: int | None = None):
        super().__init__()
        self.config = config
        size = size or config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, size, padding_idx=config.pad_token_id)
        self.position_embeddings = None
        if config.position_embedding_type == "absolute":
            self.position_embeddings = nn.Embedding(config.max_position_embeddings, size)
            # Not saved in checkpoints (as in Hugging Face): 0..max_len-1 is rebuilt here.
            self.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, size)
        self.LayerNorm = nn.LayerNorm(size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T) token ids and segment ids -> (B, T, H) input vectors."""
        check_token_ids(input_ids, self.config)
        token_type_ids = segment_ids(token_type_ids, input_ids, self.config)
        if self.position_embeddings is None:  # rotary: positions are added in attention, not here
            return self.dropout(
                self.LayerNorm(self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids))
            )
        x = (
            self.word_embeddings(input_ids)
            + self.token_type_embeddings(token_type_ids)
            + self.position_embeddings(self.position_ids[:, : input_ids.size(1)])
        )  # (B, T, H); positions broadcast over the batch
        return self.dropout(self.LayerNorm(x))


class BertSelfOutput(nn.Module):
    """Project the heads' outputs, then residual + LayerNorm (post-LN, as in BERT)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, x, mask=None, output_attentions=False):
        h, weights = self.self(x, mask, output_attentions)
        return self.output(h, x), weights


class BertIntermediate(nn.Module):
    """First half of the feed-forward network: H -> intermediate_size, then GELU."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACT2FN[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class BertOutput(BertSelfOutput):
    """Second half of the feed-forward network: back to H, residual + LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)


class BertLayer(nn.Module):
    """One encoder block: attention sub-layer, then feed-forward sub-layer (each with residual + LN)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, H) -> (B, T, H), and the attention weights (B, heads, T, T) when asked for."""
        a, weights = self.attention(x, mask, output_attentions)  # sub-layer 1: LN(x + attention(x))
        return self.output(self.intermediate(a), a), weights  # sub-layer 2: LN(a + FFN(a))


class BertEncoder(nn.Module):
    """L blocks with separate weights; each maps (B, T, H) to (B, T, H), so they stack."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BertModelOutput:
        """Run the blocks in turn on (B, T, H) input vectors; ``mask`` is the additive (B, 1, 1, T) mask."""
        hidden, attentions = [x], []
        for layer in self.layer:
            x, weights = layer(x, mask, output_attentions)
            hidden.append(x)
            attentions.append(weights)
        return BertModelOutput(
            last_hidden_state=x,
            hidden_states=tuple(hidden) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
        )


class BertPooler(nn.Module):
    """tanh(dense(h_[CLS])): the sentence vector used by NSP and classification."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden[:, 0]))  # (B, H), the first token is [CLS]


class BertPreTrainedModel(PreTrainedMixin, nn.Module):
    """Base of every bertlib model: BERT's weight init, save_pretrained / from_pretrained."""

    base_model_prefix = "bert"

    def __init__(self, config: BertConfig):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"Expected a bertlib.BertConfig, got {type(config).__name__}.")
        self.config = config

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Normal(0, 0.02) weights, zero biases, unit LayerNorm, a zero [PAD] row (as BERT)."""
        std = self.config.initializer_range
        if any(p.is_meta for p in module.parameters(recurse=False)):
            return  # a model built on the meta device (to count parameters) has no values to set
        if isinstance(module, nn.Linear):
            module.weight.normal_(0.0, std)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.normal_(0.0, std)
            if module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.fill_(1.0)
            module.bias.zero_()

    def post_init(self) -> None:
        self.apply(self._init_weights)
        if hasattr(self, "tie_weights"):
            self.tie_weights()

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of (unique) parameters; tied weights count once."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


class BertModel(BertPreTrainedModel):
    """The bare encoder: embeddings, L blocks and (optionally) the pooler."""

    # A pretraining checkpoint (the small BERT, bert-base-uncased) brings its MLM and NSP heads along.
    _keys_to_ignore_on_load_unexpected = (r"^cls\.",)

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BertModelOutput:
        """Encode a batch.

        Args:
            input_ids: (B, T) token ids.
            token_type_ids: (B, T) segment ids, 0 for sentence A and 1 for B (default all 0).
            attention_mask: (B, T), 1 for real tokens and 0 for padding (default all 1).
            output_attentions: return every layer's (B, heads, T, T) weights (uses the explicit path).
            output_hidden_states: return the embeddings and every layer's output.
        """
        x = self.embeddings(check_batch_shape(input_ids), token_type_ids)
        out = self.encoder(
            x, additive_mask(attention_mask, input_ids, x.dtype), output_attentions, output_hidden_states
        )
        out.pooler_output = self.pooler(out.last_hidden_state) if self.pooler is not None else None
        return out
