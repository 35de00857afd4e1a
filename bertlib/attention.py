"""Self-attention: the padding mask, the attention formula, the multi-head module.

``BertSelfAttention`` has two paths that compute the same thing: an explicit
one that returns the attention weights (for the visualizations) and PyTorch's
fused ``scaled_dot_product_attention``. :class:`KeptRows` lets the last layer
ask queries only at the positions the heads read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import BertConfig

__all__ = ["BertSelfAttention", "KeptRows", "extended_attention_mask", "scaled_dot_product_attention"]


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


@dataclass
class KeptRows:
    """The positions whose final vectors the heads read, laid out for the last layer.

    Built by :meth:`from_mask` from a (B, T) bool mask. The last layer computes
    queries, attention output and feed-forward only for these rows (keys and
    values still come from every token).

    Attributes:
        index: (B, Tq) positions of each sequence's kept tokens, in order, then filler
            positions up to Tq = the most kept in one sequence (computed, then dropped).
        valid: (B, Tq) True where ``index`` is a kept token, not filler.
        flat: (N,) the kept positions in the flattened (B * T) batch, row-major.
        total: B * T, the rows of a full pass (dropout draws its numbers for all of them).
    """

    index: torch.Tensor
    valid: torch.Tensor
    flat: torch.Tensor
    total: int

    @classmethod
    def from_mask(cls, keep: torch.Tensor) -> KeptRows:
        counts = keep.sum(1)  # (B,)
        # A stable sort of "not kept" puts each sequence's kept positions first, in order.
        order = torch.sort((~keep).to(torch.uint8), dim=1, stable=True).indices  # (B, T)
        Tq = int(counts.max()) if keep.numel() else 0
        valid = torch.arange(Tq, device=keep.device) < counts[:, None]  # (B, Tq)
        return cls(order[:, :Tq], valid, keep.flatten().nonzero().squeeze(1), keep.numel())


def dropout_rows(dropout: nn.Dropout, x: torch.Tensor, rows: KeptRows | None) -> torch.Tensor:
    """Dropout on the kept rows (N, H), with the mask a full (B * T, H) pass would draw.

    Drawing the numbers for every row and keeping ours leaves the random stream,
    and so every later number of a seeded run, exactly as without row selection.
    """
    if rows is None or not dropout.training or dropout.p == 0:
        return dropout(x)
    if dropout.p == 1:
        return x * 0.0
    noise = x.new_empty(rows.total, x.size(-1)).bernoulli_(1 - dropout.p)  # what F.dropout draws on CPU
    return x * noise[rows.flat].div_(1 - dropout.p)


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

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        queries: torch.Tensor | None = None,
    ):
        """x: (B, T, H). ``queries``: (B, Tq, H) rows of x that ask (default all of x); output (B, Tq, H)."""
        B, T, H = x.shape
        nh, hs = self.num_attention_heads, self.attention_head_size
        xq = x if queries is None else queries
        Tq = xq.size(1)
        # Project, then split H into heads: (B, T, H) -> (B, T, nh, hs) -> (B, nh, T, hs)
        q = self.query(xq).view(B, Tq, nh, hs).transpose(1, 2)  # (B, nh, Tq, hs)
        k = self.key(x).view(B, T, nh, hs).transpose(1, 2)
        v = self.value(x).view(B, T, nh, hs).transpose(1, 2)
        if output_attentions or self.attn_implementation == "eager":
            out, weights = scaled_dot_product_attention(q, k, v, mask, self.dropout)
        else:
            p = self.dropout.p if self.training else 0.0
            out, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p), None
        return out.transpose(1, 2).reshape(B, Tq, H), weights  # heads joined back: (B, Tq, H)
