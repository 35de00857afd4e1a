"""The BERT encoder: embeddings, self-attention, encoder blocks, ``BertModel``.

Module and parameter names mirror Hugging Face's ``modeling_bert.py``
(``embeddings.word_embeddings``, ``encoder.layer.N.attention.self.query``,
...), so real checkpoints load with ``load_state_dict(strict=True)`` and no
rename table. Task heads live in :mod:`bertlib.heads`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import PreTrainedMixin
from .config import BertConfig

__all__ = [
    "BertModel", "BertModelOutput", "BertEmbeddings", "BertSelfAttention", "BertLayer",
    "BertEncoder", "BertPreTrainedModel", "scaled_dot_product_attention", "extended_attention_mask",
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
        last_hidden_state: (B, T, H) contextual vector of every token.
        pooler_output: (B, H) tanh(dense([CLS] vector)), the input of the NSP and
            sentence classification heads; None when the model has no pooler.
        hidden_states: the embeddings then every layer's output, L + 1 tensors of
            shape (B, T, H); only with ``output_hidden_states=True``.
        attentions: one (B, heads, T, T) tensor per layer, rows summing to 1;
            only with ``output_attentions=True``. Ready for bertviz.
    """

    last_hidden_state: torch.Tensor
    pooler_output: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


def extended_attention_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Turn a (B, T) mask of 1 = real token, 0 = padding into an additive (B, 1, 1, T) mask.

    Padding keys get the most negative number the dtype holds, so after the
    softmax their weight is exactly 0 (``-1e9`` would overflow in float16),
    and a row with no real key at all becomes uniform instead of NaN.
    """
    mask = attention_mask[:, None, None, :].to(dtype)  # (B, 1, 1, T): broadcast over heads and queries
    return (1.0 - mask) * torch.finfo(dtype).min


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
    dropout: nn.Module | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / √d + mask) v, the explicit path (Vaswani et al. 2017, eq. 1).

    Args:
        q, k, v: (B, heads, T, d) queries, keys and values.
        mask: additive mask broadcastable to (B, heads, T, T), or None.
        dropout: applied to the weights before they mix the values (training only).

    Returns:
        (output (B, heads, T, d), weights (B, heads, T, T)).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, nh, T, T)
    if mask is not None:
        scores = scores + mask
    weights = scores.softmax(dim=-1)  # each query's weights over the keys sum to 1
    mixed = dropout(weights) if dropout is not None else weights
    return mixed @ v, weights


class BertEmbeddings(nn.Module):
    """Token + segment + position embeddings, summed, then LayerNorm and dropout (paper, fig. 2)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        # Not saved in checkpoints (as in Hugging Face): 0..max_len-1 is rebuilt here.
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T) token ids and segment ids -> (B, T, H) input vectors."""
        T = input_ids.size(1)
        c = self.config
        if T > c.max_position_embeddings:
            raise ValueError(
                f"The input has {T} tokens but this model has only {c.max_position_embeddings} position "
                f"embeddings (learned positions cap the length). Truncate the input, e.g. "
                f"tokenizer.encode(..., max_length={c.max_position_embeddings}), or use a model built with a "
                f"larger max_position_embeddings."
            )
        if input_ids.numel() and (int(input_ids.max()) >= c.vocab_size or int(input_ids.min()) < 0):
            raise ValueError(
                f"Token id {int(input_ids.max())} is outside this model's vocabulary of {c.vocab_size} ids. "
                f"The tokenizer does not match the model: build the model with "
                f"BertConfig(vocab_size=tokenizer.vocab_size) or use the tokenizer saved with the checkpoint."
            )
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        elif token_type_ids.shape != input_ids.shape:
            raise ValueError(f"token_type_ids has shape {tuple(token_type_ids.shape)}, input_ids {tuple(input_ids.shape)}; they must match.")
        elif token_type_ids.numel() and int(token_type_ids.max()) >= c.type_vocab_size:
            raise ValueError(f"Segment id {int(token_type_ids.max())} is out of range: this model has {c.type_vocab_size} segment types (0 = sentence A, 1 = sentence B).")
        x = (self.word_embeddings(input_ids)
             + self.token_type_embeddings(token_type_ids)
             + self.position_embeddings(self.position_ids[:, :T]))  # (B, T, H); positions broadcast over the batch
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    """Multi-head self-attention with two paths that compute the same thing.

    ``eager`` is the explicit softmax(QKᵀ/√d)V that the book teaches and the only
    one that can return the weights; ``sdpa`` calls PyTorch's fused
    ``scaled_dot_product_attention`` (faster, no weights).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.head_size
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.attn_implementation = config.attn_implementation

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False):
        B, T, H = x.shape
        nh, hs = self.num_attention_heads, self.attention_head_size
        # Project, then split H into heads: (B, T, H) -> (B, T, nh, hs) -> (B, nh, T, hs)
        q = self.query(x).view(B, T, nh, hs).transpose(1, 2)
        k = self.key(x).view(B, T, nh, hs).transpose(1, 2)
        v = self.value(x).view(B, T, nh, hs).transpose(1, 2)
        if output_attentions or self.attn_implementation == "eager":
            out, weights = scaled_dot_product_attention(q, k, v, mask, self.dropout)
        else:
            p = self.dropout.p if self.training else 0.0
            out, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p), None
        return out.transpose(1, 2).reshape(B, T, H), weights  # heads joined back: (B, T, H)


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

    def forward(self, x, mask=None, output_attentions=False):
        a, weights = self.attention(x, mask, output_attentions)
        return self.output(self.intermediate(a), a), weights


class BertEncoder(nn.Module):
    """L blocks with separate weights; each maps (B, T, H) to (B, T, H), so they stack."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))


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

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def forward(
        self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None, output_attentions: bool = False,
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
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be a (batch, seq_len) tensor, got shape {tuple(input_ids.shape)}; "
                             f"for one sentence use input_ids[None] or the tokenizer's return_tensors='pt'.")
        x = self.embeddings(input_ids, token_type_ids)
        mask = None
        if attention_mask is not None:
            if attention_mask.shape != input_ids.shape:
                raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)}, input_ids {tuple(input_ids.shape)}; they must match.")
            mask = extended_attention_mask(attention_mask, x.dtype)
        hidden, attentions = [x], []
        for layer in self.encoder.layer:
            x, weights = layer(x, mask, output_attentions)
            hidden.append(x)
            attentions.append(weights)
        return BertModelOutput(
            last_hidden_state=x,
            pooler_output=self.pooler(x) if self.pooler is not None else None,
            hidden_states=tuple(hidden) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
        )
