"""Self-attention: the padding mask, the attention formula, the multi-head module.

``BertSelfAttention`` has two paths that compute the same thing: an explicit
one that returns the attention weights (for the visualizations) and PyTorch's
fused ``scaled_dot_product_attention``. With rotary positions (RoPE) both paths
rotate the queries and keys first (:mod:`bertlib.rotary`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import BertConfig
from .rotary import rotate

__all__ = ["BertSelfAttention", "extended_attention_mask", "scaled_dot_product_attention"]


def extended_attention_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Turn a (B, T) mask of 1 = real token, 0 = padding into an additive (B, 1, 1, T) mask.

    Padding keys get the most negative number the dtype holds, so after the
    softmax their weight is exactly 0 (``-1e9`` would overflow in float16),
    and a row with no real key at all becomes uniform instead of NaN.
    """
    mask = attention_mask[:, None, None, :].to(dtype)  # (B, 1, 1, T): broadcast over heads and queries
    return (1.0 - mask) * torch.finfo(dtype).min


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
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
        # RoPE's angle base, or None with learned absolute positions (added by the embeddings).
        self.rotary_base = config.rotary_base if config.position_embedding_type == "rotary" else None

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (B, T, H) -> (output (B, T, H), weights (B, nh, T, T) or None on the fused path)."""
        return self.attend(self.query(x), self.key(x), self.value(x), mask, output_attentions)

    def attend(
        self,
        xq: torch.Tensor,
        xk: torch.Tensor,
        xv: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        query_positions: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Projected queries (B, Tq, H), keys and values (B, T, H) -> (B, Tq, H), weights or None.

        ``query_positions`` (B, Tq) are the queries' positions among the T keys when they are
        not 0..Tq-1 (the sparse last layer's kept rows); only rotary positions read them.
        """
        B, Tq, H = xq.shape
        T = xk.size(1)
        nh, hs = self.num_attention_heads, self.attention_head_size
        # Split H into heads: (B, T, H) -> (B, T, nh, hs) -> (B, nh, T, hs)
        q = xq.view(B, Tq, nh, hs).transpose(1, 2)  # (B, nh, Tq, hs)
        k = xk.view(B, T, nh, hs).transpose(1, 2)
        v = xv.view(B, T, nh, hs).transpose(1, 2)
        if self.rotary_base is not None:  # RoPE: turn queries and keys by their positions
            keys_at = torch.arange(T, device=xk.device)
            q = rotate(q, keys_at[:Tq] if query_positions is None else query_positions, self.rotary_base)
            k = rotate(k, keys_at, self.rotary_base)
        if output_attentions or self.attn_implementation == "eager":
            out, weights = scaled_dot_product_attention(q, k, v, mask, self.dropout)
        else:
            p = self.dropout.p if self.training else 0.0
            out, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p), None
        return out.transpose(1, 2).reshape(B, Tq, H), weights  # heads joined back: (B, Tq, H)
